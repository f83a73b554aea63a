"""The whole user lifecycle over the local AWS, each change shown by a plan first: disable
and re-enable, prune (opt-in only), rotate, reset a changed env: password; and adopting
a pool built by hand as the console runbook describes."""

from __future__ import annotations

import os

import pytest
import yaml
from botocore.exceptions import ClientError
from conftest import ROOT, as_admin

from cognito_runbook import adopt
from cognito_runbook.aws import STACK_TAG
from cognito_runbook.backend import Backend
from cognito_runbook.errors import UsageError
from cognito_runbook.passwords import PasswordStore, secret_name
from cognito_runbook.runbook import Runbook
from cognito_runbook.sign_ins import Outcome
from cognito_runbook.tokens import TokenRequestFailed, get_tokens


def changes(results, action="all"):
    results = results if isinstance(results, list) else [results]
    return [(c.action, c.resource, c.name) for r in results for c in r.changes if action in ("all", c.action)]


def users_of(raw_users, **edits):
    """The params users with per-user field changes, e.g. appuser={"enabled": False}."""
    return [{**u, **edits.get(u["name"], {})} for u in raw_users]


def sign_in(rb, user: str, password: str) -> dict:
    cognito = as_admin(rb).client("cognito-idp")
    return cognito.admin_initiate_auth(
        UserPoolId=rb.pool()["Id"],
        ClientId=rb.client_id(),
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )["AuthenticationResult"]


def refused(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_disable_and_enable_a_user(provisioned, make_stack, local_params_raw):
    rb, out = provisioned
    password = PasswordStore(rb.ctx).existing(rb.params.users[1])
    disabled = users_of(local_params_raw["users"], appuser={"enabled": False})

    plan = make_stack(plan=True, users=disabled)
    assert changes(plan.run_stage("users"), "update") == [("update", "user", "appuser")]
    assert sum(plan.backend.log.writes.values()) == 0

    stack = make_stack(users=disabled)
    stack.run_stage("users")
    pool_id = out.pool_id
    assert as_admin(rb).client("cognito-idp").admin_get_user(UserPoolId=pool_id, Username="appuser")["Enabled"] is False
    with pytest.raises(TokenRequestFailed) as caught:
        get_tokens(out.token_url, "appuser", password)
    assert caught.value.status == 401
    assert changes(make_stack(plan=True, users=disabled).run_stage("users"), "update") == []  # converged

    make_stack().run_stage("users")  # enabled again (the default)
    assert get_tokens(out.token_url, "appuser", password).id_token


def test_prune_deletes_only_when_asked_and_the_plan_lists_exactly_what_goes(provisioned, make_stack):
    rb, out = provisioned
    cognito = as_admin(rb).client("cognito-idp")
    cognito.admin_create_user(UserPoolId=out.pool_id, Username="handmade", MessageAction="SUPPRESS")
    cognito.create_group(UserPoolId=out.pool_id, GroupName="OLDGROUP")
    cognito.admin_add_user_to_group(UserPoolId=out.pool_id, Username="db2dba", GroupName="OLDGROUP")
    cognito.admin_add_user_to_group(UserPoolId=out.pool_id, Username="handmade", GroupName="DB2USERS")

    # Not asked: nothing is deleted and nothing counts as drift.
    plain = make_stack(plan=True).provision()
    assert [c for c in changes(plain) if c[0] in ("delete", "create", "update")] == []

    planned = make_stack(plan=True, prune=True).provision()
    assert changes(planned, "delete") == [("delete", "user", "handmade"), ("delete", "group", "OLDGROUP")]
    details = {c.name: c.detail for r in planned for c in r.changes if c.action == "delete"}
    assert "leaves DB2USERS" in details["handmade"]
    assert "members: db2dba" in details["OLDGROUP"]

    make_stack(prune=True).provision()
    names = [u["Username"] for u in cognito.list_users(UserPoolId=out.pool_id)["Users"]]
    assert sorted(names) == ["appuser", "db2dba"]
    groups = [
        g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=out.pool_id, Username="db2dba")["Groups"]
    ]
    assert sorted(groups) == ["DB2ADMIN", "DB2USERS"]


def test_pruning_a_generated_user_removes_its_secret(provisioned, make_stack, local_params_raw):
    rb, _ = provisioned
    only_dba = [u for u in local_params_raw["users"] if u["name"] == "db2dba"]
    memberships = {"db2dba": local_params_raw["memberships"]["db2dba"]}
    make_stack(users=only_dba, memberships=memberships, prune=True).provision()
    secrets = as_admin(rb).client("secretsmanager").list_secrets()["SecretList"]
    assert secret_name(rb.params.stack, "appuser") not in [s["Name"] for s in secrets]
    assert secret_name(rb.params.stack, "db2dba") in [s["Name"] for s in secrets]


def test_rotate_refuses_the_old_password_and_the_old_refresh_token(provisioned, make_stack):
    rb, out = provisioned
    user = rb.params.users[0]
    old_password = PasswordStore(rb.ctx).existing(user)
    old = sign_in(rb, user.name, old_password)

    plan = make_stack(plan=True)
    planned = plan.rotate([user.name])
    assert changes(planned) == [
        ("update", "secret", secret_name(rb.params.stack, user.name)),
        ("update", "password", user.name),
        ("update", "refresh tokens", user.name),
    ]
    assert sum(plan.backend.log.writes.values()) == 0
    assert PasswordStore(rb.ctx).existing(user) == old_password

    stack = make_stack()
    stack.rotate([user.name])
    new_password = PasswordStore(stack.ctx).existing(user)
    assert new_password != old_password
    [check] = stack.sign_in([user.name])
    assert check.outcome is Outcome.VERIFIED, check.status

    cognito = as_admin(rb).client("cognito-idp")
    assert refused(lambda: sign_in(rb, user.name, old_password)) == "NotAuthorizedException"
    refresh = lambda: cognito.initiate_auth(
        ClientId=out.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": old["RefreshToken"]}
    )
    assert refused(refresh) == "NotAuthorizedException"
    previous = (
        as_admin(rb)
        .client("secretsmanager")
        .get_secret_value(SecretId=secret_name(rb.params.stack, user.name), VersionStage="AWSPREVIOUS")
    )
    assert previous["SecretString"] == old_password  # kept by Secrets Manager, as after any rotation


def test_rotate_refuses_passwords_it_does_not_keep(make_stack, local_params_raw):
    users = users_of(local_params_raw["users"], appuser={"password": "env:APPUSER_PW"})
    stack = make_stack(users=users)
    with pytest.raises(UsageError, match=r"APPUSER_PW and run with --reset-passwords"):
        stack.rotate(["appuser"])
    with pytest.raises(UsageError, match="no user nobody in the params"):
        stack.rotate(["nobody"])


def test_reset_passwords_sets_a_changed_env_password_only_when_asked(make_stack, local_params_raw, monkeypatch):
    users = users_of(local_params_raw["users"], appuser={"password": "env:APPUSER_PW"})
    monkeypatch.setenv("APPUSER_PW", "First-Passw0rd!")
    stack = make_stack(users=users)
    try:
        stack.provision(["user_pool", "users"])
        monkeypatch.setenv("APPUSER_PW", "Second-Passw0rd!")
        assert changes(make_stack(users=users).run_stage("users"), "update") == []  # not asked

        asked = make_stack(plan=True, users=users)
        asked.ctx.reset_passwords = True
        assert changes(asked.run_stage("users"), "update") == [("update", "user", "appuser")]

        reset = make_stack(users=users)
        reset.ctx.reset_passwords = True
        reset.run_stage("users")
        assert sign_in(reset, "appuser", "Second-Passw0rd!")["IdToken"]
        again = make_stack(users=users)
        again.ctx.reset_passwords = True
        assert changes(again.run_stage("users"), "update") == []  # the password signs in now
    finally:
        make_stack().teardown()


# -- adopting a pool built by hand ------------------------------------------------------------


def build_by_hand(backend: Backend, suffix: str) -> dict:
    """What IBM's console runbook makes: a pool, a domain, a public client with the
    implicit grant, a user with a permanent password in a group. No tags anywhere."""
    cognito = backend.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="DB2UserPool")["UserPool"]
    cognito.create_user_pool_domain(UserPoolId=pool["Id"], Domain=f"console-{suffix}")
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="db2client",
        GenerateSecret=False,
        ExplicitAuthFlows=[
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ALLOW_CUSTOM_AUTH",
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
        AllowedOAuthFlows=["implicit"],
        AllowedOAuthScopes=["phone", "openid", "email"],
        AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=["http://localhost"],
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]
    cognito.admin_create_user(
        UserPoolId=pool["Id"], Username="test1", TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(UserPoolId=pool["Id"], Username="test1", Password="*U7y6t5r!", Permanent=True)
    cognito.create_group(UserPoolId=pool["Id"], GroupName="DB2ADMIN", Description="made by hand")
    cognito.admin_add_user_to_group(UserPoolId=pool["Id"], Username="test1", GroupName="DB2ADMIN")
    return {"pool_id": pool["Id"], "client_id": client["ClientId"], "domain": f"console-{suffix}"}


def test_adopting_a_console_built_pool(local_aws, tmp_path):
    suffix = f"adopt{os.getpid() % 10000}"
    backend = Backend("local", "us-east-1", endpoint_url=local_aws, admin=True)
    built = build_by_hand(backend, suffix)
    params_file = tmp_path / "stack.yaml"
    text = (ROOT / "params" / "local.yaml").read_text()
    text = text.replace("stack: db2-local ", f"stack: {suffix} ").replace("db2-local-demo", f"{suffix}-demo")
    text = text.replace("# name: generateToken ", f"name: {suffix}-fn ")
    params_file.write_text(text)

    def runbook(plan=False):
        return Runbook(
            Runbook.open(params_file).params, Backend("local", "us-east-1", endpoint_url=local_aws, plan=plan)
        )

    rb = runbook()
    assert rb.pool() is None  # untagged: never found
    survey = adopt.survey(rb, params_file, built["pool_id"])
    assert survey.mismatches == {
        "user_pool.domain_prefix": (f"{suffix}-demo", built["domain"]),
        "app_client.name": ("db2-app-client", "db2client"),
    }
    assert ["user", "test1", "no", "CONFIRMED"] in survey.directory
    assert ["membership", "test1 -> DB2ADMIN", "no", ""] in survey.directory
    with pytest.raises(UsageError, match=r"app_client\.name: the params say 'db2-app-client', AWS has 'db2client'"):
        adopt.adopt(survey)  # the params would not find them: refused, nothing changed
    assert backend.client("cognito-idp").describe_user_pool(UserPoolId=built["pool_id"])["UserPool"].get(
        "UserPoolTags"
    ) in (None, {})

    survey = adopt.survey(rb, params_file, built["pool_id"], write_params=True)
    next_run = {(c.action, c.resource, c.name) for c in survey.next_run}
    assert ("create", "user", "db2dba") in next_run and ("create", "group", "DB2USERS") in next_run
    assert not [c for c in survey.next_run if c.action == "delete"]
    adopt.adopt(survey)

    written = params_file.read_text()
    assert "# The embedded default" in written and "# tags everything this runbook creates" in written  # comments kept
    raw = yaml.safe_load(written)
    assert {"name": "test1", "password": "prompt"} in raw["users"]
    assert raw["memberships"]["test1"] == ["DB2ADMIN"]
    assert raw["app_client"]["name"] == "db2client" and raw["user_pool"]["domain_prefix"] == built["domain"]

    stack = runbook()
    assert stack.pool()["Id"] == built["pool_id"]
    assert stack.pool()["UserPoolTags"][STACK_TAG] == suffix
    stack.provision(["user_pool", "users", "groups", "memberships"])
    pools = [
        p
        for p in backend.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        if p["Id"] == built["pool_id"]
    ]
    assert len(pools) == 1 and stack.client_id() == built["client_id"]
    assert sign_in(stack, "test1", "*U7y6t5r!")["IdToken"]  # the CONFIRMED user's password untouched
    assert sign_in(stack, "db2dba", PasswordStore(stack.ctx).existing(stack.params.users[0]))["IdToken"]
    groups = backend.client("cognito-idp").admin_list_groups_for_user(UserPoolId=built["pool_id"], Username="test1")
    assert [g["GroupName"] for g in groups["Groups"]] == ["DB2ADMIN"]
    quiet = runbook(plan=True)
    assert [
        c for r in quiet.provision(["user_pool", "users", "groups", "memberships"]) for c in r.changes if c.is_change
    ] == []
    stack.teardown()


def test_the_adopt_and_rotate_commands(local_aws, tmp_path, capsys):
    from cognito_runbook.cli import main

    suffix = f"cli{os.getpid() % 10000}"
    built = build_by_hand(Backend("local", "us-east-1", endpoint_url=local_aws, admin=True), suffix)
    params_file = tmp_path / "cli.yaml"
    text = (ROOT / "params" / "local.yaml").read_text().replace("stack: db2-local ", f"stack: {suffix} ")
    params_file.write_text(text.replace("db2-local-demo", f"console-{suffix}"))

    assert main(["adopt", str(params_file), "--pool-id", "us-east-1_nothere"]) == 2
    assert "--pool-id: no user pool us-east-1_nothere" in capsys.readouterr().err

    assert main(["adopt", str(params_file), "--pool-id", built["pool_id"], "--write-params"]) == 0
    shown = capsys.readouterr().out
    assert "Nothing was changed. Re-run with --yes to adopt." in shown and "+  name: db2client" in shown
    assert params_file.read_text() == text.replace("db2-local-demo", f"console-{suffix}")  # not confirmed

    assert main(["adopt", str(params_file), "--pool-id", built["pool_id"], "--write-params", "--yes"]) == 0
    assert f"tagged cognito-runbook:stack={suffix}" in capsys.readouterr().out
    assert main(["provision", str(params_file), "user_pool", "users", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()

    assert main(["rotate", str(params_file), "--user", "test1"]) == 2  # a password the runbook does not keep
    assert "'prompt'" in capsys.readouterr().err
    assert main(["rotate", str(params_file), "--user", "db2dba"]) == 0
    out = capsys.readouterr().out
    assert "update  refresh tokens  db2dba" in out and "stay valid for Db2 until they expire" in out
    main(["teardown", str(params_file)])

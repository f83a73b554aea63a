"""The whole runbook through the library against the local AWS, over real HTTP."""

import base64
import json
import urllib.error
import urllib.request

import pytest
from conftest import as_admin

from cognito_runbook.errors import ParamsError
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.stages.app_client import EXPLICIT_AUTH_FLOWS
from cognito_runbook.tokens import TokenVerifier, get_tokens


def record_requests(rb) -> dict:
    sent = {}
    rb.backend.session.events.register(
        "provide-client-params.*.*", lambda params, model, **_: sent.setdefault(model.name, []).append(dict(params))
    )
    return sent


def http_get(url, authorization=None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_every_user_gets_verified_tokens_with_groups(provisioned):
    rb, out = provisioned
    verifier = TokenVerifier.for_stack(out)
    store = PasswordStore(rb.ctx)
    for user in rb.params.users:
        tokens = get_tokens(out.token_url, user.name, store.existing(user))
        id_claims = verifier.verify(tokens.id_token, "id")
        access_claims = verifier.verify(tokens.access_token, "access")
        assert id_claims["cognito:username"] == user.name and access_claims["username"] == user.name
        assert sorted(id_claims["cognito:groups"]) == sorted(rb.params.memberships[user.name])
        assert sorted(access_claims["cognito:groups"]) == sorted(rb.params.memberships[user.name])
    assert verifier.jwks.fetches == 1


def test_rerun_changes_nothing_and_makes_no_write(provisioned, make_stack):
    _rb, out = provisioned
    again = make_stack()
    results = again.provision()
    assert all(r.counts()["create"] + r.counts()["update"] + r.counts()["delete"] == 0 for r in results)
    assert sum(again.backend.log.writes.values()) == 0, again.backend.log.writes
    assert again.outputs() == out


def test_plan_on_a_provisioned_stack_reports_no_drift(provisioned, make_stack):
    plan = make_stack(plan=True)
    results = plan.provision()
    assert all(set(c.action for c in r.changes) == {"unchanged"} for r in results)


def test_drift_is_put_back_with_the_full_config(provisioned, make_stack, by_hand):
    rb, out = provisioned
    cognito = as_admin(rb).client("cognito-idp")
    by_hand.overwrite_app_client(
        cognito,
        out.pool_id,
        out.client_id,
        ClientName="db2-app-client",
        CallbackURLs=["https://evil.example"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"],
        AllowedOAuthFlowsUserPoolClient=True,
    )  # everything else on the client is reset to Cognito's defaults by this call
    plan = make_stack(plan=True)
    changes = plan.run_stage("user_pool").changes
    assert [(c.action, c.resource) for c in changes if c.action != "unchanged"] == [("update", "app client")]
    assert sum(plan.backend.log.writes.values()) == 0
    fix = make_stack()
    sent = record_requests(fix)
    fix.run_stage("user_pool")
    client = cognito.describe_user_pool_client(UserPoolId=out.pool_id, ClientId=out.client_id)["UserPoolClient"]
    assert client["CallbackURLs"] == ["http://localhost"]
    assert sorted(client["ExplicitAuthFlows"]) == sorted(EXPLICIT_AUTH_FLOWS)
    assert set(sent["UpdateUserPoolClient"][0]) >= {
        "ExplicitAuthFlows",
        "AllowedOAuthScopes",
        "SupportedIdentityProviders",
    }


def test_requests_carry_the_runbook_settings(make_stack):
    rb = make_stack()
    sent = record_requests(rb)
    try:
        rb.provision()
        pool = sent["CreateUserPool"][0]
        assert pool["MfaConfiguration"] == "OFF"
        assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
        assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
        assert pool["EmailConfiguration"] == {"EmailSendingAccount": "COGNITO_DEFAULT"}
        client = sent["CreateUserPoolClient"][0]
        assert client["GenerateSecret"] is False
        assert sorted(client["ExplicitAuthFlows"]) == sorted(EXPLICIT_AUTH_FLOWS)
        assert client["AllowedOAuthFlows"] == ["implicit", "code"]
        assert client["AllowedOAuthScopes"] == ["phone", "openid", "email"]
        assert client["CallbackURLs"] == ["http://localhost"] and client["SupportedIdentityProviders"] == ["COGNITO"]
        assert client["AllowedOAuthFlowsUserPoolClient"] is True
        assert all(u["MessageAction"] == "SUPPRESS" for u in sent["AdminCreateUser"])
        assert all(p["Permanent"] is True for p in sent["AdminSetUserPassword"])
        fn = sent["CreateFunction"][0]
        assert (fn["Runtime"], fn["Handler"]) == ("python3.13", "generate_token.lambda_handler")
        assert set(fn["Environment"]["Variables"]) == {"USER_POOL_ID", "CLIENT_ID", "RETURN_REFRESH_TOKEN"}
        policy = json.loads(sent["PutRolePolicy"][0]["PolicyDocument"])
        actions = [a for s in policy["Statement"] for a in s["Action"]]
        assert actions == [
            "cognito-idp:AdminInitiateAuth",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ]
        assert policy["Statement"][0]["Resource"].endswith(f":userpool/{rb.pool()['Id']}")
        trust = json.loads(sent["CreateRole"][0]["AssumeRolePolicyDocument"])
        assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        integration = sent["CreateIntegration"][0]
        assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
        assert sent["CreateRoute"][0]["RouteKey"] == "GET /token"
        stage = sent["CreateStage"][0]
        assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
        assert set(stage["DefaultRouteSettings"]) == {"ThrottlingBurstLimit", "ThrottlingRateLimit"}
        permission = sent["AddPermission"][0]
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["SourceArn"].endswith(f":{rb.outputs().api_id}/*/GET/token")
    finally:
        rb.teardown()


def test_teardown_removes_the_stack_and_spares_a_foreign_pool(make_stack):
    rb = make_stack()
    cognito = as_admin(rb).client("cognito-idp")
    foreign = cognito.create_user_pool(PoolName=rb.params.user_pool.name)["UserPool"]["Id"]
    rb.provision()
    out = rb.outputs()
    result = make_stack().teardown()
    assert {c.resource for c in result.changes} >= {"user pool", "HTTP API", "Lambda function", "IAM role", "secret"}
    after = make_stack().outputs()
    assert (after.pool_id, after.api_id, after.function_arn, after.role_arn) == (None, None, None, None)
    assert cognito.describe_user_pool(UserPoolId=foreign)["UserPool"]["Id"] == foreign
    assert make_stack().teardown().changes == []  # twice is harmless
    assert http_get(out.token_url)[0] == 404
    cognito.delete_user_pool(UserPoolId=foreign)


def test_bad_params_stop_before_any_aws_call(make_stack):
    with pytest.raises(ParamsError) as err:
        make_stack(groups=[{"name": "PUBLIC"}], memberships={})
    assert "groups[0].name" in str(err.value)


def test_token_endpoint_errors_are_4xx_never_5xx(provisioned):
    _, out = provisioned
    cases = [
        (None, 401),
        ("Basic " + base64.b64encode(b"db2dba:wrong-Password1").decode(), 401),
        ("Basic " + base64.b64encode(b"ghost:whatever-1A").decode(), 401),
        ("Basic %%%", 400),
        ("Bearer x", 401),
    ]
    for authorization, status in cases:
        got, headers, body = http_get(out.token_url, authorization)
        assert got == status, (authorization, got, body)
        if got == 401:
            assert headers["WWW-Authenticate"].startswith("Basic")
        assert b"Traceback" not in body and b"wrong-Password1" not in body


def test_execute_api_routes_like_api_gateway(provisioned):
    rb, out = provisioned
    assert http_get(out.invoke_url + "/other")[0] == 404
    assert http_get(out.invoke_url.rsplit("/", 1)[0] + "/nosuchapi/token")[0] == 404
    lam = as_admin(rb).client("lambda")
    sid = f"{rb.params.stack}-invoke-{out.api_id}"
    lam.remove_permission(FunctionName=rb.params.token_function.name, StatementId=sid)
    assert http_get(out.token_url)[0] == 500  # as API Gateway does without the permission
    rb.run_stage("token_api")
    assert http_get(out.token_url)[0] == 401


def test_user_left_in_force_change_password_is_confirmed_on_rerun(provisioned, make_stack):
    rb, out = provisioned
    cognito = as_admin(rb).client("cognito-idp")
    user = rb.params.users[1]
    password = PasswordStore(rb.ctx).existing(user)
    cognito.admin_set_user_password(UserPoolId=out.pool_id, Username=user.name, Password=password, Permanent=False)
    assert cognito.admin_get_user(UserPoolId=out.pool_id, Username=user.name)["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    make_stack().run_stage("users")
    assert cognito.admin_get_user(UserPoolId=out.pool_id, Username=user.name)["UserStatus"] == "CONFIRMED"


def test_weak_env_password_is_refused_before_creating_the_user(make_stack, monkeypatch):
    monkeypatch.setenv("WEAK_PW", "short")
    rb = make_stack(users=[{"name": "weakling", "password": "env:WEAK_PW"}], memberships={})
    try:
        rb.run_stage("user_pool")
        from cognito_runbook.errors import StageError

        with pytest.raises(StageError, match=r"users\[0\].password: .*does not meet the pool's policy"):
            rb.run_stage("users")
        users = as_admin(rb).client("cognito-idp").list_users(UserPoolId=rb.pool()["Id"])["Users"]
        assert users == []
    finally:
        rb.teardown()


def test_email_sign_in_pool_is_idempotent_and_issues_uuid_authids(make_stack):
    users = [{"name": "ann@example.com", "password": "generate"}, {"name": "ben@example.com", "password": "generate"}]
    rb = make_stack(
        user_pool={"name": "DB2UserPool", "domain_prefix": "email-pool-test", "sign_in": "email"},
        users=users,
        memberships={"ann@example.com": ["DB2ADMIN"], "ben@example.com": ["DB2USERS"]},
    )
    try:
        rb.provision()
        again = make_stack(
            user_pool={"name": "DB2UserPool", "domain_prefix": "email-pool-test", "sign_in": "email"},
            users=users,
            memberships={"ann@example.com": ["DB2ADMIN"], "ben@example.com": ["DB2USERS"]},
        )
        again.provision()
        assert sum(again.backend.log.writes.values()) == 0, again.backend.log.writes
        out = again.outputs()
        tokens = get_tokens(out.token_url, "ann@example.com", PasswordStore(again.ctx).existing(again.params.users[0]))
        claims = TokenVerifier.for_stack(out).verify(tokens.id_token, "id")
        assert claims["email"] == "ann@example.com" and claims["cognito:groups"] == ["DB2ADMIN"]
        assert claims["cognito:username"] != "ann@example.com"  # a UUID: the preflight warns about it
    finally:
        rb.teardown()


def test_headless_memberships_form_applies_the_params_including_removals(provisioned, make_stack, tmp_path):
    from cognito_runbook.notebook import NotebookRunbook

    rb, out = provisioned
    narrowed = make_stack(memberships={"db2dba": ["DB2ADMIN"], "appuser": ["DB2USERS"]})  # db2dba leaves DB2USERS
    narrowed.run_dir = tmp_path / "run"
    facade = NotebookRunbook(narrowed, tmp_path / "params" / "x.yaml", "")
    form = facade.memberships_form()
    assert form.values() == {"db2dba": ["DB2ADMIN"], "appuser": ["DB2USERS"]}
    facade.apply_memberships(form)
    assert [s["stage"] for s in json.loads((tmp_path / "run" / "summary.json").read_text())["stages"]] == [
        "memberships"
    ]
    groups = (
        as_admin(rb)
        .client("cognito-idp")
        .admin_list_groups_for_user(UserPoolId=out.pool_id, Username="db2dba")["Groups"]
    )
    assert [g["GroupName"] for g in groups] == ["DB2ADMIN"]


def test_plan_for_new_users_needs_no_password(make_stack, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    plan = make_stack(plan=True, users=[{"name": "newbie", "password": "env:NOT_SET_ANYWHERE"}], memberships={})
    results = plan.provision()
    assert ("create", "user", "newbie") in [(c.action, c.resource, c.name) for r in results for c in r.changes]
    assert sum(plan.backend.log.writes.values()) == 0


def test_a_second_stack_cannot_take_names_the_first_holds(provisioned, make_stack):
    from cognito_runbook.errors import StageError

    rb, _ = provisioned
    taken = {"name": rb.params.token_function.name}
    second = make_stack(stack="second-stack", token_function=taken)  # make_stack's own prefix, same function name
    second.params = second.params.model_copy(update={"user_pool": rb.params.user_pool})  # and the same domain prefix
    with pytest.raises(StageError) as err:
        second.provision()
    message = str(err.value)
    assert (
        f"Lambda function '{taken['name']}' belongs to stack {rb.params.stack}; change token_function.name" in message
    )
    assert f"hosted-UI domain prefix '{rb.params.domain_prefix}' belongs to stack {rb.params.stack}" in message
    assert sum(second.backend.log.writes.values()) == 0
    claims = {c.resource: c.holder for c in rb.name_claims()}
    assert claims["Lambda function"] == claims["hosted-UI domain prefix"] == rb.params.stack


def test_a_lost_or_changed_password_fails_the_token_check_with_the_fix(provisioned, make_stack, tmp_path):
    from cognito_runbook.errors import StageError
    from cognito_runbook.notebook import NotebookRunbook

    rb, out = provisioned
    first, second = rb.params.users[0].name, rb.params.users[1].name
    cognito, secrets = as_admin(rb).client("cognito-idp"), as_admin(rb).client("secretsmanager")
    cognito.admin_set_user_password(
        UserPoolId=out.pool_id, Username=first, Password="Changed-by-hand-1", Permanent=True
    )
    secrets.delete_secret(SecretId=f"cognito-runbook/{rb.params.stack}/{second}", ForceDeleteWithoutRecovery=True)

    plan = make_stack(plan=True)
    missing = [c for c in plan.run_stage("users").changes if c.action == "missing"]
    assert [c.name for c in missing] == [f"cognito-runbook/{rb.params.stack}/{second}"]
    assert "Delete the user in the pool" in missing[0].detail

    again = make_stack()
    again.run_dir = tmp_path / "run"
    facade = NotebookRunbook(again, tmp_path / "params" / "p.yaml", "")
    with pytest.raises(StageError) as err:
        facade.require_tokens(facade.tokens_via_api())
    message = str(err.value)
    assert f"{first}: failed: GET /token answered 401" in message and "changed outside the runbook" in message
    assert f"{second}: skipped" in message and "is missing" in message


def test_production_token_endpoint_logs_access_and_keeps_the_refresh_token_back(make_stack):
    rb = make_stack(
        token_api={
            "name": "getToken",
            "return_refresh_token": False,
            "access_logs": True,
            "throttling": {"burst_limit": 1000, "rate_limit": 1000},
        }
    )
    rb.provision()
    out = rb.outputs()
    user = rb.params.users[0]
    password = PasswordStore(rb.ctx).existing(user)
    tokens = get_tokens(out.token_url, user.name, password)
    assert tokens.id_token and not tokens.refresh_token
    status, _, body = http_get(out.token_url, "Basic " + base64.b64encode(f"{user.name}:{password}".encode()).decode())
    assert status == 200 and "RefreshToken" not in json.loads(body)["AuthenticationResult"]
    http_get(out.token_url)  # a 401, logged too

    logs = as_admin(rb).client("logs")
    group = f"/aws/vendedlogs/cognito-runbook/{rb.params.stack}/getToken-access"
    assert (
        logs.list_tags_for_resource(
            resourceArn=logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(":*")
        )["tags"]
        == rb.ctx.tags
    )
    lines = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group)["events"]]
    assert [line["status"] for line in lines][-2:] == ["200", "401"]
    assert all(
        line["requestId"] and line["sourceIp"] == "127.0.0.1" and line["routeKey"] == "GET /token" for line in lines
    )
    text = json.dumps(lines)
    assert password not in text and "Basic" not in text and "authorization" not in text.lower()

    rb.teardown()
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []

"""Safe on a real account: updates keep what the runbook does not manage, and the local
AWS refuses and delays what AWS refuses and delays (each behaviour as a user meets it)."""

import base64
import json
import time
import urllib.error
import urllib.request

import jwt
import pytest
from botocore.exceptions import ClientError
from conftest import ByHand, as_admin

from cognito_runbook import oauth
from cognito_runbook.aws import update_request
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.tokens import TokenRequestFailed, TokenVerifier, get_tokens

TRIGGER = "arn:aws:lambda:us-east-1:123456789012:function:company-pre-token-generation"


def changes_of(results, action):
    return [(c.resource, c.name, c.detail) for r in results for c in r.changes if c.action == action]


def outside_the_runbook(rb, out):
    """What a company does in the console: each change read-merge-written, as the console does."""
    cognito, lam = as_admin(rb).client("cognito-idp"), as_admin(rb).client("lambda")

    def edit(pool):
        pool["Policies"]["PasswordPolicy"]["MinimumLength"] = 14  # managed: drift
        pool["DeletionProtection"] = "ACTIVE"  # the params leave it to the account (local default)
        pool["LambdaConfig"] = {"PreTokenGeneration": TRIGGER}

    ByHand.change_user_pool(cognito, out.pool_id, edit)
    ByHand.change_app_client(
        cognito, out.pool_id, out.client_id, LogoutURLs=["https://intranet.example.com/signed-out"]
    )
    config = lam.get_function_configuration(FunctionName=rb.params.token_function.name)
    variables = {**config["Environment"]["Variables"], "COMPANY_TRACE": "on"}
    lam.update_function_configuration(FunctionName=rb.params.token_function.name, Environment={"Variables": variables})


def test_a_drift_fix_keeps_every_setting_made_outside_the_runbook(provisioned, make_stack):
    rb, out = provisioned
    outside_the_runbook(rb, out)

    plan = make_stack(plan=True)
    planned = plan.provision()
    assert sum(plan.backend.log.writes.values()) == 0
    assert changes_of(planned, "update") == [("user pool", "DB2UserPool", "Policies.PasswordPolicy.MinimumLength")]
    kept = {(resource, detail.split(" = ")[0]) for resource, _, detail in changes_of(planned, "kept")}
    assert kept == {
        ("user pool setting", "DeletionProtection"),
        ("user pool setting", "LambdaConfig.PreTokenGeneration"),
        ("app client setting", "LogoutURLs"),
        ("Lambda setting", "Environment.COMPANY_TRACE"),
    }

    fix = make_stack()
    fixed = fix.provision()
    assert [r for r, _, _ in changes_of(fixed, "update")] == ["user pool"]
    cognito = as_admin(rb).client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=out.pool_id)["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == rb.params.user_pool.password_policy.min_length
    assert pool["DeletionProtection"] == "ACTIVE"
    assert pool["LambdaConfig"] == {"PreTokenGeneration": TRIGGER}
    client = cognito.describe_user_pool_client(UserPoolId=out.pool_id, ClientId=out.client_id)["UserPoolClient"]
    assert client["LogoutURLs"] == ["https://intranet.example.com/signed-out"]
    config = as_admin(rb).client("lambda").get_function_configuration(FunctionName=rb.params.token_function.name)
    assert config["Environment"]["Variables"]["COMPANY_TRACE"] == "on"
    assert make_stack(plan=True).run_stage("user_pool").counts()["update"] == 0  # converged

    # Deletion protection refuses a delete, as on AWS; the confirmed teardown lifts it first.
    with pytest.raises(ClientError, match="deletion protection"):
        cognito.delete_user_pool(UserPoolId=out.pool_id)
    torn = make_stack().teardown()
    assert ("update", "user pool") in [(c.action, c.resource) for c in torn.changes]
    assert make_stack().outputs().pool_id is None


def test_aws_default_deletion_protection_and_teardown_confirmation(local_params_raw):
    from cognito_runbook.errors import UsageError
    from cognito_runbook.params import parse_params
    from cognito_runbook.runbook import Runbook

    aws = parse_params({**local_params_raw, "backend": "aws"})
    assert aws.deletion_protection is True and parse_params(local_params_raw).deletion_protection is None

    class AwsBackend:
        kind, plan = "aws", False

    with pytest.raises(UsageError, match="--yes db2-local"):
        Runbook(aws, AwsBackend()).teardown()


def test_a_new_domain_is_creating_then_active(make_stack):
    rb = make_stack()
    cognito = as_admin(rb).client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="bare")["UserPool"]["Id"]
    prefix = f"{rb.params.domain_prefix}-raw"
    cognito.create_user_pool_domain(Domain=prefix, UserPoolId=pool)
    assert cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["Status"] == "CREATING"
    with pytest.raises(ClientError, match="already exists"):
        cognito.create_user_pool_domain(Domain=prefix, UserPoolId=pool)
    cognito.delete_user_pool_domain(Domain=prefix, UserPoolId=pool)
    assert cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["Status"] == "DELETING"
    cognito.delete_user_pool(UserPoolId=pool)

    messages = []
    rb.ctx.progress = messages.append
    rb.run_stage("user_pool")  # waits for ACTIVE before the stage ends
    status = cognito.describe_user_pool_domain(Domain=rb.params.domain_prefix)["DomainDescription"]
    assert status["Status"] == "ACTIVE" and status["ManagedLoginVersion"] == 1
    assert any("waiting for ACTIVE" in m for m in messages)


def test_id_and_access_tokens_are_signed_with_two_keys(provisioned):
    rb, out = provisioned
    user = rb.params.users[0]
    tokens = get_tokens(out.token_url, user.name, PasswordStore(rb.ctx).existing(user))
    id_kid = jwt.get_unverified_header(tokens.id_token)["kid"]
    access_kid = jwt.get_unverified_header(tokens.access_token)["kid"]
    assert id_kid != access_kid
    with urllib.request.urlopen(out.jwks_url) as resp:
        assert {id_kid, access_kid} <= {k["kid"] for k in json.loads(resp.read())["keys"]}
    verifier = TokenVerifier.for_stack(out)
    assert verifier.verify(tokens.id_token, "id") and verifier.verify(tokens.access_token, "access")


def test_a_client_without_the_admin_flow_gets_a_clear_503(provisioned):
    rb, out = provisioned
    cognito = as_admin(rb).client("cognito-idp")
    user = rb.params.users[0]
    password = PasswordStore(rb.ctx).existing(user)
    narrow = _client_with_flows(cognito, out, ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    with pytest.raises(ClientError, match="Auth flow not enabled"):
        cognito.admin_initiate_auth(
            UserPoolId=out.pool_id,
            ClientId=narrow,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.name, "PASSWORD": password},
        )
    _restrict_flows(cognito, out, ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    status, headers, body = _get(out.token_url, user.name, password)
    assert status == 503 and headers.get("Retry-After")
    assert json.loads(body)["error"] == "not_configured" and password not in body.decode()


def test_the_function_may_sign_in_only_to_its_own_pool_once_its_policy_applies(provisioned):
    rb, out = provisioned
    iam = as_admin(rb).client("iam")
    from cognito_runbook.stages.token_function import INLINE_POLICY, role_name

    role = role_name(rb.ctx)
    policy = json.loads(json.dumps(iam.get_role_policy(RoleName=role, PolicyName=INLINE_POLICY)["PolicyDocument"]))
    narrowed = json.loads(json.dumps(policy))
    narrowed["Statement"][0]["Resource"] = out.pool_arn.replace(out.pool_id, "us-east-1_someother")
    iam.put_role_policy(RoleName=role, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(narrowed))
    user = rb.params.users[0]
    password = PasswordStore(rb.ctx).existing(user)
    time.sleep(1.2)  # past the propagation delay: the narrow policy is in effect
    assert _get(out.token_url, user.name, password)[0] == 503
    iam.put_role_policy(RoleName=role, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(policy))
    assert _get(out.token_url, user.name, password)[0] == 503  # not in effect yet
    with pytest.raises(TokenRequestFailed):
        get_tokens(out.token_url, user.name, password, wait=0)
    assert get_tokens(out.token_url, user.name, password).id_token  # waits it out


def test_cognito_refuses_what_aws_refuses(make_stack):
    rb = make_stack()
    cognito = as_admin(rb).client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="strict")["UserPool"]["Id"]
    with pytest.raises(ClientError, match="not a valid redirect URI"):
        cognito.create_user_pool_client(
            UserPoolId=pool,
            ClientName="c",
            CallbackURLs=["http://example.com/cb"],
            AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=["openid"],
            AllowedOAuthFlowsUserPoolClient=True,
        )
    with pytest.raises(ClientError, match="AllowedOAuthFlowsUserPoolClient must be true"):
        cognito.create_user_pool_client(UserPoolId=pool, ClientName="c", AllowedOAuthFlows=["implicit"])
    with pytest.raises(ClientError, match="TemporaryPasswordValidityDays"):
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        cognito.update_user_pool(**update_request(cognito, "UpdateUserPool", described, {}, UserPoolId=pool))
    cognito.delete_user_pool(UserPoolId=pool)


def test_a_rerun_right_after_teardown_restores_or_waits_for_held_names(make_stack):
    rb = make_stack()
    rb.provision()
    make_stack().teardown()
    again = make_stack()
    again.provision()  # prefix DELETING and secret names held a moment: waited out, not failed
    out = again.outputs()
    user = again.params.users[0]
    assert get_tokens(out.token_url, user.name, PasswordStore(again.ctx).existing(user)).id_token
    secrets = as_admin(again).client("secretsmanager")
    secrets.delete_secret(SecretId=f"cognito-runbook/{again.params.stack}/{user.name}", RecoveryWindowInDays=7)
    make_stack().teardown()
    third = make_stack()
    results = third.provision()
    restored = [c for r in results for c in r.changes if c.resource == "secret" and c.action == "update"]
    assert restored and "recovery window" in restored[0].detail
    make_stack().teardown()


def test_hosted_ui_access_tokens_carry_the_requested_scopes(provisioned):
    rb, out = provisioned
    user = rb.params.users[0]
    sign_in = oauth.SignIn(out.hosted_ui_url, out.client_id, "http://localhost", "code", ("openid", "email"))
    redirect = oauth.scripted_sign_in(sign_in.login_url, user.name, PasswordStore(rb.ctx).existing(user))
    tokens = sign_in.finish(redirect)
    claims = TokenVerifier.for_stack(out).verify(tokens.access_token, "access")
    assert claims["scope"].split() == ["openid", "email"]


def _client_with_flows(cognito, out, flows):
    client = cognito.describe_user_pool_client(UserPoolId=out.pool_id, ClientId=out.client_id)["UserPoolClient"]
    made = cognito.create_user_pool_client(
        UserPoolId=out.pool_id, ClientName="narrow-" + client["ClientName"], ExplicitAuthFlows=flows
    )
    return made["UserPoolClient"]["ClientId"]


def _restrict_flows(cognito, out, flows):
    ByHand.change_app_client(cognito, out.pool_id, out.client_id, ExplicitAuthFlows=flows)


def _get(url, user, password):
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Basic {basic}"})) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_a_group_keeps_its_iam_role_when_its_description_is_put_back(provisioned, make_stack):
    rb, out = provisioned
    cognito = as_admin(rb).client("cognito-idp")
    group = rb.params.groups[0].name
    role = "arn:aws:iam::123456789012:role/company-db2-admins"
    cognito.update_group(UserPoolId=out.pool_id, GroupName=group, Description="changed by hand", RoleArn=role)
    make_stack().run_stage("groups")
    found = cognito.get_group(UserPoolId=out.pool_id, GroupName=group)["Group"]
    assert found["Description"] == rb.params.groups[0].description and found["RoleArn"] == role
    cognito.update_group(UserPoolId=out.pool_id, GroupName=group, Description="only this")  # AWS resets the rest
    assert "RoleArn" not in cognito.get_group(UserPoolId=out.pool_id, GroupName=group)["Group"]


def test_a_role_that_never_becomes_usable_gets_a_clear_message(monkeypatch):
    from types import SimpleNamespace

    from cognito_runbook import aws
    from cognito_runbook.errors import StageError
    from cognito_runbook.stages import token_function

    class Lambda:
        calls = 0

        def create_function(self, **_):
            Lambda.calls += 1
            error = {
                "Error": {
                    "Code": "InvalidParameterValueException",
                    "Message": "The role defined for the function cannot be assumed by Lambda.",
                }
            }
            raise ClientError(error, "CreateFunction")

    monkeypatch.setattr(aws.time, "sleep", lambda _: None)
    said = []
    ctx = SimpleNamespace(
        stack="s1", params=SimpleNamespace(token_function=SimpleNamespace(name="fn")), progress=said.append
    )
    with pytest.raises(StageError, match=r"cannot assume role s1-fn .* trust policy"):
        token_function._create_when_role_ready(ctx, Lambda(), {})
    assert Lambda.calls == token_function.ROLE_READY_ATTEMPTS and "IAM propagation" in said[0]

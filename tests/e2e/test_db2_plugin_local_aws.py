"""IBM's AWS security plugin against the local AWS: user names matched as Cognito matches
them (what Db2's upper-cased group lookup depends on), and the preflight's verdict per rule
on real stacks. Cognito: "When case sensitivity is set to False (case insensitive), users can
sign in with any combination of capital and lowercase letters"
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UsernameConfigurationType.html)."""

import json

import jwt
import pytest
from botocore.exceptions import ClientError
from conftest import as_admin
from cryptography.hazmat.primitives.asymmetric import rsa

from cognito_runbook import db2, oauth
from cognito_runbook.backend import Backend
from cognito_runbook.errors import ParamsError
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.preflight import ACCEPTS, SERVER, UNSAFE, WARNING, db2_preflight
from cognito_runbook.tokens import JwksCache, TokenVerifier, get_tokens

PASSWORD = "Correct-Horse-1"
COGNITO_STAGES = ("user_pool", "users", "groups", "memberships")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def rule(pre, prefix):
    return next(f for f in pre.findings if f.rule.startswith(prefix))


# -- the local AWS matches user names as Cognito does -------------------------------------------


def pool_with_db2dba(cognito, case_sensitive: bool) -> tuple[str, str]:
    pool = cognito.create_user_pool(PoolName="case-test", UsernameConfiguration={"CaseSensitive": case_sensitive})
    pool_id = pool["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="db2dba", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="db2dba", Password=PASSWORD, Permanent=True)
    cognito.create_group(UserPoolId=pool_id, GroupName="DB2ADMIN")
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="db2dba", GroupName="DB2ADMIN")
    return pool_id, client


def sign_in(cognito, pool_id, client, name):
    return cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]


def test_a_case_insensitive_pool_finds_the_upper_cased_name_a_case_sensitive_one_does_not(local_aws):
    cognito = Backend("local", "us-east-1", endpoint_url=local_aws, admin=True).client("cognito-idp")
    pool_id, client = pool_with_db2dba(cognito, case_sensitive=False)
    try:
        assert cognito.admin_get_user(UserPoolId=pool_id, Username="DB2DBA")["Username"] == "db2dba"
        groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="DB2DBA")["Groups"]
        assert [g["GroupName"] for g in groups] == ["DB2ADMIN"]
        tokens = sign_in(cognito, pool_id, client, "Db2Dba")
        assert claims(tokens["AccessToken"])["username"] == "db2dba"  # the user as stored, not as typed
        assert claims(tokens["IdToken"])["cognito:username"] == "db2dba"
        # "Amazon Cognito treats any variation in case as the same user"
        with pytest.raises(ClientError, match="UsernameExistsException"):
            cognito.admin_create_user(UserPoolId=pool_id, Username="DB2DBA", MessageAction="SUPPRESS")
    finally:
        cognito.delete_user_pool(UserPoolId=pool_id)

    pool_id, client = pool_with_db2dba(cognito, case_sensitive=True)
    try:
        for call in (
            lambda: cognito.admin_get_user(UserPoolId=pool_id, Username="DB2DBA"),
            lambda: cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="DB2DBA"),
            lambda: sign_in(cognito, pool_id, client, "DB2DBA"),
        ):
            with pytest.raises(ClientError, match="UserNotFoundException"):
                call()
        assert claims(sign_in(cognito, pool_id, client, "db2dba")["AccessToken"])["username"] == "db2dba"
        made = cognito.admin_create_user(UserPoolId=pool_id, Username="DB2DBA", MessageAction="SUPPRESS")
        assert made["User"]["Username"] == "DB2DBA"  # another user
    finally:
        cognito.delete_user_pool(UserPoolId=pool_id)


def test_get_token_and_the_hosted_ui_take_the_upper_cased_name(provisioned):
    rb, out = provisioned
    user = rb.params.users[0]
    password = PasswordStore(rb.ctx).existing(user)
    tokens = get_tokens(out.token_url, user.name.upper(), password)  # curl -u 'DB2DBA:<password>' …/token
    verifier = TokenVerifier.for_stack(out)
    assert verifier.verify(tokens.access_token, "access")["username"] == "db2dba"
    login = oauth.SignIn(out.hosted_ui_url, out.client_id, "http://localhost", "code")
    redirect = oauth.scripted_sign_in(login.login_url, user.name.upper(), password)
    assert verifier.verify(login.finish(redirect).id_token, "id")["cognito:username"] == "db2dba"


# -- the preflight's verdict per rule on real stacks -----------------------------------------------


@pytest.fixture
def cognito_stack(make_stack):
    """A stack's Cognito part (pool, users, groups, memberships): enough for Db2's rules."""
    made = []

    def make(**changes):
        rb = make_stack(**changes)
        made.append(rb)
        rb.provision(COGNITO_STAGES)
        return rb, rb.outputs()

    yield make
    for rb in made:
        rb.teardown()


def sign_in_as(rb, out, name: str) -> str:
    user = next(u for u in rb.params.users if u.name == name)
    result = (
        as_admin(rb)
        .client("cognito-idp")
        .admin_initiate_auth(
            UserPoolId=out.pool_id,
            ClientId=out.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PasswordStore(rb.ctx).existing(user)},
        )
    )
    return result["AuthenticationResult"]["AccessToken"]


def test_a_case_insensitive_pool_gives_lower_case_users_their_groups_through_the_upper_cased_name(cognito_stack):
    rb, out = cognito_stack()
    for name, groups in rb.params.memberships.items():
        pre = db2_preflight(sign_in_as(rb, out, name), out, rb.backend)
        assert pre.accepted, pre.table()
        assert pre.authid == name and pre.groups == sorted(groups)
        found = rule(pre, "groups")
        assert found.verdict == ACCEPTS and f"groups of '{name.upper()}'" in found.db2
        assert rule(pre, "userid:token").verdict == ACCEPTS
        assert [f.verdict for f in pre.findings].count(SERVER) == 2  # DB2_HOME and the key egress


def test_a_case_sensitive_pool_with_a_mixed_case_user_is_refused_or_connects_without_groups(cognito_stack, make_stack):
    users = [{"name": "AppUser", "password": "generate"}]
    settings = {
        "user_pool": {"name": "DB2UserPool", "case_sensitive_usernames": True},
        "users": users,
        "memberships": {"AppUser": ["DB2USERS"]},
    }
    with pytest.raises(ParamsError, match="'AppUser' is not all upper case and the pool is case-sensitive"):
        make_stack(**settings)
    rb, out = cognito_stack(**settings, db2={"group_authorities": False})
    pre = db2_preflight(sign_in_as(rb, out, "AppUser"), out, rb.backend)
    groups = rule(pre, "groups")
    assert pre.accepted and pre.authid == "AppUser" and pre.groups == []  # Db2 connects it, with no groups
    assert groups.verdict == WARNING and "groups of 'APPUSER'" in groups.db2 and "no such user" in groups.db2
    assert rule(pre, "userid:token").verdict == WARNING  # 'appuser' never matches 'AppUser'


def test_a_user_in_100_groups_gets_only_what_one_page_holds(cognito_stack):
    rb, out = cognito_stack()
    cognito, name = as_admin(rb).client("cognito-idp"), rb.params.users[1].name
    extra = [f"G{i:03d}" for i in range(100 - len(rb.params.memberships[name]))]
    for group in extra:
        cognito.create_group(UserPoolId=out.pool_id, GroupName=group)
        cognito.admin_add_user_to_group(UserPoolId=out.pool_id, Username=name, GroupName=group)
    page = cognito.admin_list_groups_for_user(UserPoolId=out.pool_id, Username=name.upper())
    assert "NextToken" in page and len(page["Groups"]) < 100  # Cognito's page holds at most 60
    pre = db2_preflight(sign_in_as(rb, out, name), out, rb.backend)
    assert rule(pre, "groups").verdict == WARNING and "more groups than one page holds" in rule(pre, "groups").db2
    assert pre.groups == sorted(g["GroupName"] for g in page["Groups"]) and pre.accepted


def test_a_token_with_a_future_iat_is_accepted_and_warned(cognito_stack):
    rb, out = cognito_stack()
    token = sign_in_as(rb, out, "db2dba")
    behind = claims(token)["iat"] - 120  # a clock two minutes behind Cognito's
    pre = db2_preflight(token, out, rb.backend, now=behind)
    expiry = rule(pre, "expiry")
    assert pre.accepted and expiry.verdict == WARNING and "iat is 120 s ahead" in expiry.db2


def test_an_issuer_with_a_foreign_host_is_reported(cognito_stack):
    rb, out = cognito_stack()
    real = claims(sign_in_as(rb, out, "db2dba"))
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {**real, "iss": f"https://keys.attacker.example/{out.pool_id}"}, attacker, "RS256", {"kid": "attacker-key"}
    )
    pre = db2_preflight(forged, out, rb.backend)
    issuer = rule(pre, "issuer")
    assert issuer.verdict == UNSAFE and not pre.accepted and "should NOT" in str(pre.table())
    assert "keys.attacker.example" in issuer.db2 and "cognito-idp.us-east-1.amazonaws.com" in issuer.action
    assert rule(pre, "signature").verdict == SERVER  # keys from that host are never fetched here


def test_the_generated_plugin_commands_fit_the_pool(cognito_stack, tmp_path):
    _rb, out = cognito_stack()
    files = db2.write_artefacts(tmp_path, out, JwksCache(out.jwks_url).jwks())
    script = files["plugin-commands.sh"].read_text()
    assert f"user pool {out.pool_id} (us-east-1)" in script
    assert 'mkdir -p "$CFG_DIR"' in script and 'export DB2_HOME="$SQLLIB"' in script
    assert "db2set DB2AUTH=OSAUTHDB,ALLOW_LOCAL_FALLBACK,PLUGIN_AUTO_RELOAD" in script
    assert "cognito-idp.us-east-1.amazonaws.com" in script  # the outbound HTTPS the server needs, and only that
    assert json.loads(files["cognito_userpools.json"].read_text())["UserPools"]["ID"] == out.pool_id

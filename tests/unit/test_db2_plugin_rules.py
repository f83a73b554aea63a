"""IBM's AWS security plugin, rule by rule, without the network: the preflight's verdicts on
tokens the local AWS cannot make, the params check that stops a silent loss of group
authorities, and plugin-commands.sh run against stand-in db2 commands."""

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.utils import to_base64url_uint

from cognito_runbook import db2, preflight
from cognito_runbook.errors import ParamsError
from cognito_runbook.params import parse_params
from cognito_runbook.preflight import ACCEPTS, NOT_REACHED, REFUSES, SERVER, UNSAFE, WARNING, db2_preflight

REGION = "eu-north-1"
POOL = "eu-north-1_Db2Pool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
CLIENT = "3n4b5urk1ft4fl3mg5e62d9ado"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS = {
    "keys": [
        {
            "kid": "pool-key",
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": to_base64url_uint(KEY.public_key().public_numbers().n).decode(),
            "e": to_base64url_uint(KEY.public_key().public_numbers().e).decode(),
        }
    ]
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(key=KEY, kid="pool-key", **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "token_use": "access", "client_id": CLIENT, "username": "db2dba"}
    body.update({"iat": now, "exp": now + 3600}, **claims)
    body = {k: v for k, v in body.items() if v is not None}
    signing_input = f"{b64(json.dumps({'kid': kid, 'alg': 'RS256'}).encode())}.{b64(json.dumps(body).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


class FakeCognito:
    """Answers as Cognito does, for the three calls the plugin (and the preflight) makes."""

    def __init__(self, users=None, clients=(CLIENT,), client_page=60, group_page=60, case_sensitive=False):
        self.users = {"db2dba": ["DB2ADMIN", "DB2USERS"]} if users is None else users
        self.clients, self.client_page, self.group_page = list(clients), client_page, group_page
        self.case_sensitive = case_sensitive
        self.asked_for = []

    def describe_user_pool(self, UserPoolId):
        return {"UserPool": {"Id": UserPoolId, "UsernameConfiguration": {"CaseSensitive": self.case_sensitive}}}

    def list_user_pool_clients(self, UserPoolId, NextToken=None, MaxResults=None):
        start = int(NextToken or 0)
        page = {"UserPoolClients": [{"ClientId": c} for c in self.clients[start : start + self.client_page]]}
        if start + self.client_page < len(self.clients):
            page["NextToken"] = str(start + self.client_page)
        return page

    def can_paginate(self, operation):
        return False

    def admin_list_groups_for_user(self, UserPoolId, Username):
        self.asked_for.append(Username)
        match = [u for u in self.users if u == Username or (not self.case_sensitive and u.lower() == Username.lower())]
        if not match:
            raise ClientError({"Error": {"Code": "UserNotFoundException", "Message": "User does not exist."}}, "x")
        groups = self.users[match[0]]
        page = {"Groups": [{"GroupName": g} for g in groups[: self.group_page]]}
        if len(groups) > self.group_page:
            page["NextToken"] = "more"
        return page


class FakeBackend:
    region = REGION

    def __init__(self, cognito=None):
        self.cognito = cognito or FakeCognito()

    def client(self, service):
        assert service == "cognito-idp"
        return self.cognito

    def jwks_url(self, pool_id):
        return f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}/.well-known/jwks.json"


class Outputs:
    pool_id = POOL


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """The pool's key set, as Cognito publishes it, without fetching it."""
    fetched = []

    def jwks(cache):
        fetched.append(cache.url)
        return JWKS

    monkeypatch.setattr(preflight.JwksCache, "jwks", jwks)
    return fetched


def check(tok, backend=None, **kwargs):
    pre = db2_preflight(tok, Outputs(), backend or FakeBackend(), **kwargs)
    assert {f.verdict for f in pre.findings} <= set(preflight.VERDICTS)
    return pre


def finding(pre, prefix):
    return next(f for f in pre.findings if f.rule.startswith(prefix))


# -- the preflight: one finding per plugin rule ------------------------------------------------


def test_a_good_token_gets_one_row_per_rule_each_with_db2s_verdict():
    pre = check(token())
    rules = [f.rule.split(" (")[0] for f in pre.findings]
    assert rules == [
        "token type",
        "issuer",
        "signature",
        "expiry",
        "app client",
        "authorization id",
        "userid:token form",
        "groups",
        "DB2_HOME",
        "key source",
    ]
    assert pre.accepted and pre.authid == "db2dba" and pre.groups == ["DB2ADMIN", "DB2USERS"]
    assert [f.verdict for f in pre.findings] == [ACCEPTS] * 8 + [SERVER, SERVER]
    assert "cognito-idp.eu-north-1.amazonaws.com" in finding(pre, "key source").action  # the mitigation, named
    table = str(pre.table())
    assert table.startswith("Db2 would accept this token: authorization id 'db2dba', groups DB2ADMIN, DB2USERS")


def test_groups_are_asked_for_the_upper_cased_name_as_db2_asks():
    cognito = FakeCognito()
    pre = check(token(), FakeBackend(cognito))
    assert cognito.asked_for == ["DB2DBA"]
    assert "'DB2DBA'" in finding(pre, "groups").db2 and "case-insensitive" in finding(pre, "groups").db2


def test_a_case_sensitive_pool_gives_a_lower_case_user_no_groups_without_refusing():
    pre = check(token(), FakeBackend(FakeCognito(case_sensitive=True)))
    groups = finding(pre, "groups")
    assert groups.verdict == WARNING and pre.groups == [] and pre.accepted  # Db2 connects, without the groups
    assert "no such user" in groups.db2 and "'db2dba', not 'DB2DBA'" in groups.db2
    assert "case-insensitive" in groups.action and "upper case" in groups.action


def test_a_case_sensitive_pool_with_the_upper_cased_name_as_another_user_is_unsafe():
    cognito = FakeCognito(users={"db2dba": ["DB2USERS"], "DB2DBA": ["DB2ADMIN"]}, case_sensitive=True)
    pre = check(token(), FakeBackend(cognito))
    assert finding(pre, "groups").verdict == UNSAFE and pre.groups == ["DB2ADMIN"] and not pre.accepted
    assert "ANOTHER user" in finding(pre, "groups").db2


def test_a_page_of_100_groups_gives_none_and_a_second_page_is_never_read():
    many = [f"G{i:03d}" for i in range(100)]
    pre = check(token(), FakeBackend(FakeCognito(users={"db2dba": many}, group_page=100)))
    assert finding(pre, "groups").verdict == WARNING and pre.groups == []
    assert "drops the list" in finding(pre, "groups").db2
    pre = check(token(), FakeBackend(FakeCognito(users={"db2dba": many}, group_page=60)))
    assert finding(pre, "groups").verdict == WARNING and pre.groups == many[:60]
    assert "only the first 60" in finding(pre, "groups").db2


def test_only_exp_counts_a_future_iat_is_accepted_and_warned():
    now = int(time.time())
    pre = check(token(iat=now + 300, nbf=now + 300), now=now)
    assert finding(pre, "expiry").verdict == WARNING and pre.accepted
    assert "iat is 300 s ahead" in finding(pre, "expiry").db2 and "NTP" in finding(pre, "expiry").action
    expired = check(token(exp=now), now=now)  # exp == now: the plugin refuses (current time >= exp)
    assert expired.verdict("expiry (exp only)") == REFUSES and not expired.accepted
    assert check(token(exp=now + 1.5), now=now).verdict("expiry (exp only)") == REFUSES  # not a JSON integer


def test_an_issuer_with_a_foreign_host_is_unsafe_and_its_keys_are_not_fetched(no_network):
    forged = token(key=OTHER_KEY, iss=f"https://attacker.example/{POOL}")
    pre = check(forged)
    assert finding(pre, "issuer").verdict == UNSAFE and finding(pre, "signature").verdict == SERVER
    assert not pre.accepted and "should NOT" in pre.caption()
    assert "attacker.example" in finding(pre, "issuer").db2 and "outbound HTTPS" in finding(pre, "issuer").action
    assert no_network == []  # the preflight never fetches keys from a host a token names


def test_the_issuer_is_compared_only_after_its_last_slash():
    other_pool = check(token(iss=f"https://cognito-idp.{REGION}.amazonaws.com/eu-north-1_Other"))
    assert other_pool.verdict("issuer (iss)") == REFUSES and not other_pool.accepted
    pre = check(token(), configured_pool_id="eu-north-1_Other")
    assert pre.verdict("issuer (iss)") == REFUSES
    assert "cognito_userpools.json names eu-north-1_Other" in finding(pre, "issuer").db2


def test_altered_unknown_key_and_other_key_tokens_are_refused():
    good = token()
    head, body, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    altered = ".".join([head, b64(json.dumps({**claims, "username": "x"}).encode()), sig])
    assert check(altered).verdict("signature (kid, RS256)") == REFUSES
    assert check(token(kid="rotated-key")).verdict("signature (kid, RS256)") == REFUSES
    assert check(token(key=OTHER_KEY)).verdict("signature (kid, RS256)") == REFUSES


def test_the_app_client_must_be_on_the_first_page():
    clients = [f"client{i:02d}" for i in range(70)] + [CLIENT]
    pre = check(token(), FakeBackend(FakeCognito(clients=clients, client_page=60)))
    assert pre.verdict("app client (ListUserPoolClients, one page)") == REFUSES
    assert "not on the first page" in finding(pre, "app client").db2
    assert check(token(client_id="someone-else")).verdict("app client (ListUserPoolClients, one page)") == REFUSES


@pytest.mark.parametrize("user", [None, "u" * 256])
def test_a_missing_or_over_long_user_claim_gives_an_empty_authorization_id(user):
    pre = check(token(username=user))
    assert pre.authid is None and finding(pre, "authorization id").verdict == WARNING
    assert "EMPTY authorization id" in finding(pre, "authorization id").db2
    assert finding(pre, "groups").verdict == NOT_REACHED and "EMPTY" in pre.caption()


def test_an_authorization_id_is_kept_as_written_and_checked_against_db2s_names():
    pre = check(token(username="a" * 129), FakeBackend(FakeCognito(users={"A" * 129: ["DB2USERS"]})))
    assert pre.authid == "a" * 129 and "truncates" in finding(pre, "authorization id").db2
    uuid = "0b6c4c5e-8d57-4c34-9f0a-4a1c34b6e3d2"
    assert "UUID" in finding(check(token(username=uuid)), "authorization id").db2


def test_userid_token_form_never_works_for_a_name_with_upper_case_letters():
    pre = check(token(username="DB2dba"), FakeBackend(FakeCognito(users={"db2dba": ["DB2USERS"]})))
    form = finding(pre, "userid:token")
    assert form.verdict == WARNING and "bare token" in form.action and pre.authid == "DB2dba"
    assert finding(check(token()), "userid:token").verdict == ACCEPTS


def test_id_tokens_take_aud_and_cognito_username_and_other_token_uses_are_refused():
    pre = check(token(token_use="id", client_id=None, username=None, aud=CLIENT, **{"cognito:username": "db2dba"}))
    assert pre.accepted and pre.authid == "db2dba"
    pre = check(token(token_use="refresh"))
    assert pre.verdict("token type (token_use)") == REFUSES and not pre.accepted
    assert check("not-a-jwt").findings[0].verdict == REFUSES


# -- params: what would silently fail in Db2 is refused before any write ----------------------

CASE_SENSITIVE = {"stack": "s", "user_pool": {"case_sensitive_usernames": True}}


def test_a_case_sensitive_pool_refuses_users_whose_names_are_not_all_upper_case():
    raw = {**CASE_SENSITIVE, "users": [{"name": "AppUser"}, {"name": "DB2DBA"}], "groups": [{"name": "DB2USERS"}]}
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    message = str(err.value)
    assert "users[0].name: 'AppUser' is not all upper case and the pool is case-sensitive" in message
    assert "groups of 'APPUSER'" in message and "without any of its groups' authorities" in message
    assert "case_sensitive_usernames: false" in message and "name the user 'APPUSER'" in message
    assert "db2.group_authorities: false" in message and "users[1]" not in message


def test_the_refusal_is_lifted_only_by_saying_groups_grant_nothing():
    raw = {**CASE_SENSITIVE, "users": [{"name": "AppUser"}]}
    assert parse_params({**raw, "db2": {"group_authorities": False}}).db2.group_authorities is False
    with pytest.raises(ParamsError, match="not all upper case"):
        parse_params({**raw, "db2": {"group_authorities": True}})
    assert parse_params({"stack": "s", "users": [{"name": "AppUser"}]}).db2.group_authorities  # case-insensitive
    with pytest.raises(ParamsError, match=r"db2\.groups: is not a known setting"):
        parse_params({"stack": "s", "db2": {"groups": False}})


def test_a_case_sensitive_email_pool_is_refused_its_user_names_are_uuids():
    raw = {"stack": "s", "user_pool": {"sign_in": "email", "case_sensitive_usernames": True}}
    with pytest.raises(ParamsError, match="lower-case UUIDs"):
        parse_params({**raw, "users": [{"name": "ann@example.com"}]})


# -- plugin-commands.sh --------------------------------------------------------------------------


def test_plugin_commands_do_what_ibms_script_does_and_what_it_leaves_out():
    script = db2.plugin_commands(POOL)
    assert 'CFG_DIR="$SQLLIB/security64/plugin/cfg"' in script and 'mkdir -p "$CFG_DIR"' in script
    assert 'cp cognito_userpools.json "$CFG_DIR/cognito_userpools.json"' in script
    assert 'export DB2_HOME="$SQLLIB"' in script and "AWS_REGION=eu-north-1" in script
    assert "db2set DB2AUTH=OSAUTHDB,ALLOW_LOCAL_FALLBACK,PLUGIN_AUTO_RELOAD" in script  # IBM's configSecPlugin.sh
    for setting in (
        "SRVCON_GSSPLUGIN_LIST AWSIAMauth",
        "SRVCON_AUTH GSS_SERVER_ENCRYPT",
        "LOCAL_GSSPLUGIN AWSIAMauth",
        "AUTHENTICATION GSSPLUGIN",
        "GROUP_PLUGIN AWSIAMauthgroup",
        "AUTHENTICATION SERVER",  # -remove, as IBM's
        "SRVCON_AUTH NOT_SPECIFIED",
        "SRVCON_GSSPLUGIN_LIST NULL",
        "GROUP_PLUGIN NULL",
        "SRVCON_PW_PLUGIN NULL",
    ):
        assert f"db2ok update dbm cfg using {setting}\n" in script
    assert "cognito-idp.eu-north-1.amazonaws.com" in script  # the egress mitigation
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0


STUB = """#!/bin/sh
echo "$(basename "$0") $*" >>"$STUB_LOG"
if [ "$(basename "$0")" = db2set ] && [ $# -eq 0 ]; then printf 'DB2COMM=TCPIP\\nDB2AUTH=OSAUTHDB\\n'; fi
if [ "$(basename "$0")" = db2start ]; then env >"$STUB_LOG.engine"; fi
exit 0
"""


def run_script(tmp_path: Path, *args) -> tuple[str, str]:
    bin_dir, home, work = tmp_path / "bin", tmp_path / "home", tmp_path / "work"
    for folder in (bin_dir, home / "sqllib", work):
        folder.mkdir(parents=True, exist_ok=True)
    for command in ("db2", "db2set", "db2stop", "db2start", "pgrep"):
        (bin_dir / command).write_text(STUB)
        (bin_dir / command).chmod(0o755)
    (work / "cognito_userpools.json").write_text(json.dumps(db2.cognito_userpools_json(POOL, "DB2UserPool")))
    (work / "plugin-commands.sh").write_text(db2.plugin_commands(POOL))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "STUB_LOG": str(tmp_path / "log")}
    done = subprocess.run(["sh", "plugin-commands.sh", *args], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "log").read_text()
    (tmp_path / "log").unlink()
    return log, done.stderr


def test_plugin_commands_set_up_and_undo_an_instance(tmp_path):
    log, _ = run_script(tmp_path)
    cfg = tmp_path / "home" / "sqllib" / "security64" / "plugin" / "cfg"
    assert json.loads((cfg / "cognito_userpools.json").read_text())["UserPools"]["ID"] == POOL
    profile = (tmp_path / "home" / "sqllib" / "userprofile").read_text()
    assert profile.count('export DB2_HOME="$HOME/sqllib"') == 1
    engine = (tmp_path / "log.engine").read_text()  # what db2start (so the engine) started with
    assert f"DB2_HOME={tmp_path / 'home' / 'sqllib'}\n" in engine and "AWS_REGION=eu-north-1\n" in engine
    assert "db2set DB2AUTH=OSAUTHDB,ALLOW_LOCAL_FALLBACK,PLUGIN_AUTO_RELOAD" in log
    assert "db2 update dbm cfg using GROUP_PLUGIN AWSIAMauthgroup" in log and "db2stop" in log and "db2start" in log
    assert (cfg / "DB2AUTH.before").read_text() == "OSAUTHDB\n"  # kept for -remove

    run_script(tmp_path)  # again: one userprofile line, the first DB2AUTH kept
    assert (tmp_path / "home" / "sqllib" / "userprofile").read_text().count("DB2_HOME") == 1

    log, _ = run_script(tmp_path, "-remove")
    assert "db2 update dbm cfg using AUTHENTICATION SERVER" in log and "GROUP_PLUGIN NULL" in log
    assert "db2set DB2AUTH=OSAUTHDB\n" in log  # as it was before the set-up
    assert "DB2_HOME" not in (tmp_path / "home" / "sqllib" / "userprofile").read_text()
    assert not (cfg / "DB2AUTH.before").exists()


def test_client_snippets_use_the_bare_token_and_say_when_userid_token_fails():
    snippets = db2.client_snippets()
    assert 'db2 connect to <database> accesstoken "$TOKEN"\n' in snippets
    assert "upper-case" in snippets and "'<user>:<token>'" in snippets

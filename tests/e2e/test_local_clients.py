"""The local AWS met with the clients people bring: pycognito's SRP sign-in (the password
proof is checked, as Cognito checks it), the hosted UI's ID token only with ``openid``,
and the README's "Using your own clients against the local AWS" snippets, run as written."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request

import pycognito
import pytest
import yaml
from botocore.exceptions import ClientError
from conftest import ROOT

from cognito_runbook import oauth
from cognito_runbook.backend import Backend
from cognito_runbook.params import parse_params
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.runbook import Runbook
from cognito_runbook.tokens import TokenError, decode_unverified

STACK = f"clients-{os.getpid() % 10000}"


@pytest.fixture(scope="module")
def stack(local_aws):
    """One stack for the module: the pool, its domain and app client (the seed's, which
    allows ALLOW_USER_SRP_AUTH) and users with generated passwords; torn down afterwards."""
    raw = yaml.safe_load((ROOT / "params" / "local.yaml").read_text())
    raw["stack"] = STACK
    raw["user_pool"] = {**raw["user_pool"], "domain_prefix": STACK}
    raw["token_function"] = {**raw["token_function"], "name": f"generateToken-{STACK}"}

    def runbook() -> Runbook:
        return Runbook(parse_params(raw), Backend("local", raw["region"], endpoint_url=local_aws))

    rb = runbook()
    rb.provision(("user_pool", "users", "groups", "memberships"))
    yield rb, rb.outputs(), raw
    runbook().teardown()


class Credentials(tuple):
    """(user name, password) that never shows the password (pytest prints fixture values)."""

    def __repr__(self) -> str:
        return f"Credentials({self[0]!r}, '***')"


@pytest.fixture(scope="module")
def user(stack):
    rb, _out, _raw = stack
    first = rb.params.users[0]
    return Credentials((first.name, PasswordStore(rb.ctx).existing(first)))


@pytest.fixture
def pycognito_env(stack, local_aws, monkeypatch):
    """What the README tells pycognito users to set: the endpoint for boto3, and the pool's
    keys in COGNITO_JWKS (pycognito checks ``iss`` against the AWS address it derives)."""
    _rb, out, _raw = stack
    with urllib.request.urlopen(out.jwks_url, timeout=10) as resp:
        monkeypatch.setenv("COGNITO_JWKS", resp.read().decode())
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    return out


def cognito_user(out, username):
    return pycognito.Cognito(out.pool_id, out.client_id, username=username)


# -- item 12: SRP sign-in checks the password ------------------------------------------


def test_pycognito_srp_sign_in_with_the_right_password_gets_verified_tokens(pycognito_env, user):
    name, password = user
    signed_in = cognito_user(pycognito_env, name)
    signed_in.authenticate(password=password)  # verifies both tokens against COGNITO_JWKS and the AWS issuer
    assert signed_in.id_claims["cognito:username"] == name
    assert signed_in.access_claims["username"] == name and signed_in.refresh_token


def test_pycognito_srp_sign_in_with_a_wrong_password_is_not_authorized(pycognito_env, user):
    name, password = user
    with pytest.raises(ClientError) as refused:
        cognito_user(pycognito_env, name).authenticate(password=password + "x")
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert refused.value.response["Error"]["Message"] == "Incorrect username or password."


def test_srp_challenge_carries_a_real_group_element_salt_and_secret_block(pycognito_env, user, local_aws):
    from pycognito.aws_srp import AWSSRP, N_HEX

    name, password = user
    srp = AWSSRP(name, password, pycognito_env.pool_id, pycognito_env.client_id, client=_cognito(local_aws))
    challenge = srp.client.initiate_auth(
        ClientId=pycognito_env.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params()
    )
    params = challenge["ChallengeParameters"]
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    assert 1 < int(params["SRP_B"], 16) < int(N_HEX, 16)
    assert int(params["SALT"], 16) > 0
    assert len(base64.b64decode(params["SECRET_BLOCK"], validate=True)) >= 32
    assert params["USER_ID_FOR_SRP"] == name and params["USERNAME"] == name


def _cognito(local_aws):
    import boto3

    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=local_aws,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _srp_proof(out, local_aws, name, password):
    """(client, challenge responses) of a pycognito SRP sign-in, not yet sent."""
    from pycognito.aws_srp import AWSSRP

    client = _cognito(local_aws)
    srp = AWSSRP(name, password, out.pool_id, out.client_id, client=client)
    auth_params = srp.get_auth_params()
    challenge = client.initiate_auth(ClientId=out.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=auth_params)
    return client, srp.process_challenge(challenge["ChallengeParameters"], auth_params)


def _respond(client, out, responses):
    return client.respond_to_auth_challenge(
        ClientId=out.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )


def _refused_code(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def test_a_password_proof_is_single_use_and_names_its_user(stack, local_aws, user):
    rb, out, _raw = stack
    name, password = user
    client, responses = _srp_proof(out, local_aws, name, password)
    other = rb.params.users[1].name
    # The proof of one user's password is no sign-in for another user.
    assert _refused_code(lambda: _respond(client, out, {**responses, "USERNAME": other})) == "NotAuthorizedException"
    client, responses = _srp_proof(out, local_aws, name, password)
    assert _respond(client, out, responses)["AuthenticationResult"]["IdToken"]
    assert _refused_code(lambda: _respond(client, out, responses)) == "NotAuthorizedException"  # replayed


def test_a_tampered_timestamp_or_signature_is_not_authorized(stack, local_aws, user):
    _rb, out, _raw = stack
    name, password = user
    client, responses = _srp_proof(out, local_aws, name, password)
    later = responses["TIMESTAMP"].replace(responses["TIMESTAMP"][-4:], str(int(responses["TIMESTAMP"][-4:]) + 1))
    assert _refused_code(lambda: _respond(client, out, {**responses, "TIMESTAMP": later})) == "NotAuthorizedException"
    client, responses = _srp_proof(out, local_aws, name, password)
    forged = base64.b64encode(bytes(32)).decode()
    assert (
        _refused_code(lambda: _respond(client, out, {**responses, "PASSWORD_CLAIM_SIGNATURE": forged}))
        == "NotAuthorizedException"
    )


def test_srp_with_a_temporary_password_asks_for_a_new_one(stack, local_aws):
    _rb, out, _raw = stack
    admin = _cognito(local_aws)
    admin.admin_create_user(
        UserPoolId=out.pool_id, Username="newcomer", TemporaryPassword="Temp-pass-1", MessageAction="SUPPRESS"
    )
    client, responses = _srp_proof(out, local_aws, "newcomer", "Temp-pass-1")
    assert _respond(client, out, responses)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    client, responses = _srp_proof(out, local_aws, "newcomer", "Temp-pass-2")
    assert _refused_code(lambda: _respond(client, out, responses)) == "NotAuthorizedException"


# -- item 13: no ID token without the openid scope -------------------------------------


def _hosted_sign_in(out, user, flow, scopes):
    name, password = user
    sign_in = oauth.SignIn(out.hosted_ui_url, out.client_id, "http://localhost", flow, scopes)
    return sign_in, oauth.scripted_sign_in(sign_in.login_url, name, password)


def test_implicit_grant_without_openid_returns_no_id_token(stack, user):
    _rb, out, _raw = stack
    _sign_in, redirect = _hosted_sign_in(out, user, "implicit", ("email", "phone"))
    parsed = oauth.parse_redirect(redirect)
    assert "id_token" not in parsed
    assert decode_unverified(parsed["access_token"])["scope"].split() == ["email", "phone"]
    _sign_in, redirect = _hosted_sign_in(out, user, "implicit", ("openid", "email"))
    assert "id_token" in oauth.parse_redirect(redirect)


def test_code_grant_without_openid_returns_no_id_token_now_or_on_refresh(stack, user):
    _rb, out, _raw = stack
    sign_in, redirect = _hosted_sign_in(out, user, "code", ("email",))
    with pytest.raises(TokenError, match="no ID token"):
        sign_in.finish(redirect)  # the runbook's client says what is missing
    sign_in, redirect = _hosted_sign_in(out, user, "code", ("email",))
    body = _token_request(
        out,
        grant_type="authorization_code",
        client_id=out.client_id,
        code=oauth.parse_redirect(redirect)["code"],
        redirect_uri="http://localhost",
        code_verifier=sign_in.code_verifier,
    )
    assert "id_token" not in body and body["access_token"] and body["refresh_token"]
    refreshed = _token_request(
        out, grant_type="refresh_token", client_id=out.client_id, refresh_token=body["refresh_token"]
    )
    assert "id_token" not in refreshed and decode_unverified(refreshed["access_token"])["scope"] == "email"
    sign_in, redirect = _hosted_sign_in(out, user, "code", ("openid",))
    tokens = sign_in.finish(redirect)
    refreshed = _token_request(
        out, grant_type="refresh_token", client_id=out.client_id, refresh_token=tokens.refresh_token
    )
    assert decode_unverified(refreshed["id_token"])["token_use"] == "id"


def _token_request(out, **form) -> dict:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(f"{out.hosted_ui_url}/oauth2/token", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


# -- item 14: the README's snippets for clients people bring, run as they stand ---------

README_SECTION = "## Using your own clients against the local AWS"
PRINTS = re.compile(r"# prints: (.+)$", re.M)


def _readme_snippets() -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """(the setup blocks, {subsection title: its blocks}); a block is (language, code)."""
    section = (ROOT / "README.md").read_text().split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", section, flags=re.M)

    def blocks(text: str) -> list[tuple[str, str]]:
        return re.findall(r"^```(bash|python)\n(.*?)^```", text, flags=re.M | re.S)

    return blocks(parts[0]), {parts[i]: blocks(parts[i + 1]) for i in range(1, len(parts), 2)}


SETUP_BLOCKS, CLIENT_BLOCKS = _readme_snippets()


def _run_block(language: str, code: str, env: dict, cwd, stdin: str = "") -> dict:
    """Runs one README block in ``cwd`` (a checkout's layout: params/, .venv/) and checks
    what its ``# prints:`` comments promise; returns the environment after a bash block."""
    env_file = cwd / ".env-after"
    if language == "bash":
        argv = ["bash", "-c", f"set -euo pipefail\n{code}\nenv -0 > {env_file}"]
    else:
        argv = [str(cwd / ".venv" / "bin" / "python"), "-"]
        stdin = code
    done = subprocess.run(argv, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{language} block failed:\n{code}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    for promised in PRINTS.findall(code):
        assert promised.strip() in done.stdout, f"expected {promised!r} in the output of:\n{code}\ngot: {done.stdout}"
    if language != "bash":
        return env
    return dict(item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)


@pytest.fixture(scope="module")
def readme_shell(stack, user, tmp_path_factory):
    """A folder laid out like a checkout (params/local.yaml naming the module's stack, .venv
    the running interpreter's) and the environment after the README's setup block, which
    reads the password from stdin as a person types it."""
    _rb, _out, raw = stack
    folder = tmp_path_factory.mktemp("readme")
    (folder / "params").mkdir()
    (folder / "params" / "local.yaml").write_text(yaml.safe_dump(raw))
    (folder / ".venv").symlink_to(sys.prefix)
    if not (folder / ".venv" / "bin" / "cognito-runbook").exists():
        pytest.fail(f"the README's snippets use .venv/bin/cognito-runbook, not in {sys.prefix}: pip install -e .")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("COGNITO_JWKS",)}
    for language, code in SETUP_BLOCKS:
        env = _run_block(language, code, env, folder, stdin=user[1] + "\n")
    assert env["DB2_USER"] == user[0] and env["DB2_PASSWORD"] == user[1] and env["STACK"] == STACK
    return folder, env


@pytest.mark.parametrize("client", list(CLIENT_BLOCKS))
def test_readme_client_snippets_run_as_written(readme_shell, client):
    folder, env = readme_shell
    if "aws CLI" in client and shutil.which("aws", path=env.get("PATH")) is None:
        pytest.skip("the aws CLI is not installed here (pip install awscli)")
    assert CLIENT_BLOCKS[client], f"no code blocks under '### {client}'"
    for language, code in CLIENT_BLOCKS[client]:
        env = _run_block(language, code, env, folder)


def test_the_readme_shows_each_client_the_issue_names():
    assert {"boto3 (and PyJWT to verify)", "The aws CLI", "curl", "pycognito (SRP)", "cognitojwt"} <= set(CLIENT_BLOCKS)

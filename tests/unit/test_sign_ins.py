"""Whether a user can sign in has one definition (``sign_ins``): the same outcome and fix
for notebook 07, ``cognito-runbook verify``, the check after ``rotate`` and the
``--reset-passwords`` test. Unit tests first (no network: fake AWS clients and a fake
GET /token), then one end-to-end test over the local AWS."""

from __future__ import annotations

import types

import pytest
from botocore.exceptions import ClientError

from cognito_runbook import sign_ins
from cognito_runbook.errors import UsageError
from cognito_runbook.params import parse_params
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.sign_ins import Outcome
from cognito_runbook.tokens import TokenRequestFailed, Tokens, WrongIssuer

STACK = "unit"
USERS = [
    {"name": "gen", "password": "generate"},
    {"name": "envy", "password": "env:ENVY_PW"},
    {"name": "typed", "password": "prompt"},
    {"name": "off", "password": "generate", "enabled": False},
]


def not_found(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, operation)


class FakeSecrets:
    """Secrets Manager holding the stack's generated passwords; counts the reads."""

    def __init__(self, passwords: dict[str, str]):
        self.passwords = {f"cognito-runbook/{STACK}/{u}": p for u, p in passwords.items()}
        self.reads: list[str] = []

    def can_paginate(self, operation):
        return False

    def list_secrets(self, **_):
        return {"SecretList": [{"Name": n} for n in self.passwords]}

    def get_secret_value(self, SecretId):
        self.reads.append(SecretId)
        if SecretId not in self.passwords:
            raise not_found("GetSecretValue")
        return {"SecretString": self.passwords[SecretId]}


class FakeCognito:
    """AdminInitiateAuth that knows one password per user."""

    def __init__(self, passwords: dict[str, str]):
        self.passwords = passwords
        self.calls: list[str] = []

    def admin_initiate_auth(self, AuthParameters, **_):
        user = AuthParameters["USERNAME"]
        self.calls.append(user)
        if self.passwords.get(user) != AuthParameters["PASSWORD"]:
            raise ClientError(
                {"Error": {"Code": "NotAuthorizedException", "Message": "Incorrect username or password."}},
                "AdminInitiateAuth",
            )
        return {"AuthenticationResult": {"IdToken": "x", "AccessToken": "y"}}


def context(secrets: dict[str, str], cognito: dict[str, str] | None = None):
    """What ``sign_ins`` uses of a run's context: the params, the stack, typed passwords, clients."""
    params = parse_params({"stack": STACK, "users": USERS, "groups": [], "memberships": {}})
    clients = {"secretsmanager": FakeSecrets(secrets), "cognito-idp": FakeCognito(cognito or {})}
    return types.SimpleNamespace(params=params, stack=STACK, passwords={}, client=clients.__getitem__, clients=clients)


def user(name: str):
    return next(u for u in parse_params({"stack": STACK, "users": USERS}).users if u.name == name)


OUTPUTS = types.SimpleNamespace(
    token_url="https://api.example/token", client_id="client", issuer="https://issuer", jwks_url="https://jwks"
)


class FakeVerifier:
    def __init__(self, bad_issuer: set[str] = frozenset()):
        self.bad_issuer = bad_issuer

    def verify(self, token, token_use):
        user, _ = token.split("/")
        if user in self.bad_issuer:
            raise WrongIssuer("iss check failed: the token was issued by another pool")
        return {"token_use": token_use, "cognito:groups": ["DB2USERS"], "cognito:username": user}


@pytest.fixture
def token_api(monkeypatch):
    """GET /token that knows one password per user (401 otherwise); records who asked."""
    known: dict[str, str] = {}
    asked: list[str] = []

    def get_tokens(url, name, password):
        asked.append(name)
        if known.get(name) != password:
            raise TokenRequestFailed(401, "Incorrect username or password.")
        return Tokens(f"{name}/id", f"{name}/access")

    monkeypatch.setattr(sign_ins, "get_tokens", get_tokens)
    return types.SimpleNamespace(known=known, asked=asked)


# -- classification ------------------------------------------------------------------------


def test_a_refused_password_names_where_it_lives_and_both_ways_out():
    generated = sign_ins.refused(STACK, user("gen"), "GET /token answered 401")
    assert generated.outcome is Outcome.FAILED
    assert f"The password in the secret cognito-runbook/{STACK}/gen no longer signs in" in generated.fix
    assert (
        "changed outside the runbook" in generated.fix
        and "cognito-runbook rotate <params file> --user gen" in generated.fix
    )
    from_env = sign_ins.refused(STACK, user("envy"), "GET /token answered 401")
    assert "The password in $ENVY_PW no longer signs in" in from_env.fix and "--reset-passwords" in from_env.fix
    assert "rotate" not in from_env.fix  # the runbook rotates only the passwords it generates
    typed = sign_ins.refused(STACK, user("typed"), "GET /token answered 401")
    assert "reset_passwords = True" in typed.fix


def test_a_401_from_get_token_is_a_refused_password_and_other_failures_are_the_apis():
    as_401 = sign_ins.failed(STACK, user("envy"), TokenRequestFailed(401, "Incorrect username or password."))
    assert as_401.fix == sign_ins.refused(STACK, user("envy"), "").fix
    assert as_401.status == "failed: GET /token answered 401: Incorrect username or password."
    as_500 = sign_ins.failed(STACK, user("envy"), TokenRequestFailed(500, "Internal Server Error"))
    assert as_500.outcome is Outcome.FAILED and as_500.fix == sign_ins.OTHER_FAILURE_FIX
    not_verified = sign_ins.failed(STACK, user("gen"), WrongIssuer("iss check failed"))
    assert not_verified.status == "failed: iss check failed" and "notebooks 05 and 06" in not_verified.fix


def test_no_password_says_where_to_get_one():
    assert sign_ins.no_password(STACK, user("envy")).fix == "Export ENVY_PW with the user's password before the run."
    lost = sign_ins.no_password(STACK, user("gen"))
    assert lost.status == "skipped: no password available from 'generate'"
    assert f"Its secret cognito-runbook/{STACK}/gen is missing. Delete the user in the pool" in lost.fix
    assert "users form" in sign_ins.no_password(STACK, user("typed")).fix


def test_the_status_texts_are_the_ones_notebook_07_shows():
    assert sign_ins.verified(user("gen")).status == "verified"
    assert sign_ins.disabled(user("off")).status == "not asked: disabled (enabled: false): Cognito refuses its sign-in"


def test_problems_leave_out_disabled_and_typed_users_only():
    results = [
        sign_ins.verified(user("gen")),
        sign_ins.disabled(user("off")),
        sign_ins.no_password(STACK, user("typed")),
        sign_ins.refused(STACK, user("typed"), "GET /token answered 401"),
        sign_ins.no_password(STACK, user("envy")),
        sign_ins.refused(STACK, user("gen"), "GET /token answered 401"),
    ]
    assert [(r.user, r.outcome) for r in sign_ins.problems(results)] == [
        ("envy", Outcome.SKIPPED),
        ("gen", Outcome.FAILED),
    ]
    with pytest.raises(sign_ins.SignInsFailed) as err:
        sign_ins.require(results)
    lines = str(err.value).splitlines()
    assert lines[0] == "2 user(s) cannot get tokens:"
    assert (
        lines[1]
        == "  - envy: skipped: no password available from 'env:ENVY_PW'. Export ENVY_PW with the user's password before the run."
    )
    assert lines[2].startswith("  - gen: failed: GET /token answered 401. The password in the secret")
    sign_ins.require(results[:4])  # verified, disabled and typed users: nothing to fail on


# -- signing in, with fakes ---------------------------------------------------------------------


def test_sign_in_asks_each_enabled_user_with_a_password_and_verifies_both_tokens(token_api, monkeypatch):
    monkeypatch.setenv("ENVY_PW", "Env-Passw0rd!")
    token_api.known.update(gen="Gen-Passw0rd!", envy="Changed-Passw0rd!")
    ctx = context({"gen": "Gen-Passw0rd!", "off": "Off-Passw0rd!"})
    results = sign_ins.sign_in(ctx, OUTPUTS, verifier=FakeVerifier())
    assert [(r.user, r.outcome) for r in results] == [
        ("gen", Outcome.VERIFIED),
        ("envy", Outcome.FAILED),
        ("typed", Outcome.SKIPPED),
        ("off", Outcome.DISABLED),
    ]
    assert token_api.asked == ["gen", "envy"]  # never a disabled user, nor one without a password
    gen = results[0]
    assert gen.tokens.id_token == "gen/id" and gen.groups == ["DB2USERS"] and gen.access_claims["token_use"] == "access"
    assert "Gen-Passw0rd" not in repr(gen) and "gen/id" not in repr(gen)
    assert results[1].fix == sign_ins.refused(STACK, user("envy"), "").fix
    assert ctx.clients["secretsmanager"].reads == [f"cognito-runbook/{STACK}/gen"]  # the disabled user's: not read


def test_sign_in_picks_named_users_and_refuses_unknown_names(token_api):
    token_api.known.update(gen="Gen-Passw0rd!", old="Old-Passw0rd!")
    ctx = context({"gen": "Gen-Passw0rd!", "old": "Old-Passw0rd!"})
    assert [r.user for r in sign_ins.sign_in(ctx, OUTPUTS, ["gen"], verifier=FakeVerifier())] == ["gen"]
    with pytest.raises(UsageError, match="no user old in the params"):
        sign_ins.sign_in(ctx, OUTPUTS, ["old"], verifier=FakeVerifier())
    # stored: the users only a generated secret knows (added by a form, not in the params file)
    stored = sign_ins.sign_in(ctx, OUTPUTS, ["old"], stored=True, verifier=FakeVerifier())
    assert [(r.user, str(r.source), r.outcome) for r in stored] == [("old", "generate", Outcome.VERIFIED)]


def test_sign_in_needs_the_token_api(token_api):
    no_api = types.SimpleNamespace(**{**vars(OUTPUTS), "token_url": None})
    with pytest.raises(sign_ins.NoTokenApi, match="run notebook 06 first"):
        sign_ins.sign_in(context({}), no_api)
    assert token_api.asked == []


def test_a_token_that_fails_verification_is_a_failure_of_the_api_not_the_password(token_api):
    token_api.known.update(gen="Gen-Passw0rd!")
    [result] = sign_ins.sign_in(context({"gen": "Gen-Passw0rd!"}), OUTPUTS, ["gen"], verifier=FakeVerifier({"gen"}))
    assert result.outcome is Outcome.FAILED and result.fix == sign_ins.OTHER_FAILURE_FIX and result.tokens is None


def test_the_reset_passwords_check_gives_the_verdict_get_token_gives(token_api, monkeypatch):
    """The same password refused by GET /token and by AdminInitiateAuth: the same outcome and fix."""
    monkeypatch.setenv("ENVY_PW", "Env-Passw0rd!")
    token_api.known.update(envy="Changed-Passw0rd!")
    ctx = context({}, cognito={"envy": "Changed-Passw0rd!", "gen": "Gen-Passw0rd!"})
    store = PasswordStore(ctx)
    checked = sign_ins.check_password(ctx, "pool", "client", user("envy"), store)
    [through_api] = sign_ins.sign_in(ctx, OUTPUTS, ["envy"], verifier=FakeVerifier())
    assert checked.outcome is through_api.outcome is Outcome.FAILED
    assert checked.fix == through_api.fix
    assert checked.reason == "Cognito refused the password (NotAuthorizedException: Incorrect username or password.)"

    ctx.passwords["gen"] = "Gen-Passw0rd!"
    assert sign_ins.check_password(ctx, "pool", "client", user("gen"), store).outcome is Outcome.VERIFIED
    assert sign_ins.check_password(ctx, "pool", "client", user("off"), store).outcome is Outcome.DISABLED
    assert sign_ins.check_password(ctx, "pool", None, user("typed"), store).outcome is Outcome.SKIPPED
    assert ctx.clients["cognito-idp"].calls == ["envy", "gen"]  # one AdminInitiateAuth per user with a password


def test_the_reset_passwords_check_lets_other_aws_errors_through():
    ctx = context({"gen": "Gen-Passw0rd!"})

    def throttled(**_):
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "AdminInitiateAuth")

    ctx.clients["cognito-idp"].admin_initiate_auth = throttled
    with pytest.raises(ClientError):
        sign_ins.check_password(ctx, "pool", "client", user("gen"), PasswordStore(ctx))


# -- end to end: one definition, one verdict ---------------------------------------------------------

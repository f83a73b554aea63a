"""Whether a user can sign in, decided in one place.

Every caller that asks "can this user sign in?" gets a ``SignIn``: notebook 07 (through
the facade), ``cognito-runbook verify``, the check after ``rotate``, the Db2 preflight, and
the users stage's ``--reset-passwords`` test. Each result carries its ``Outcome``, the
reason, and the fix a person can act on; a run fails on the results ``problems`` picks.

- ``sign_in``: ``GET /token`` as each user, as ``curl -u`` does, then both tokens verified
  against the pool's keys. The password comes from the ``PasswordStore``.
- ``check_password``: one ``AdminInitiateAuth`` (what ``--reset-passwords`` sends), classified
  the same way, so "this password no longer signs in" has one meaning and one fix.

A service module: it reads secrets and signs in, and never imports the runbook or a stage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from .aws import error_code, error_message
from .errors import ParamsError, StageError, UsageError, aws_errors
from .oauth import SignIn as HostedUiSession
from .oauth import scripted_sign_in
from .params import PasswordSource, UserParams
from .passwords import PasswordStore, secret_name
from .tokens import TokenError, TokenRequestFailed, Tokens, TokenVerifier, get_tokens

# What a verifier and GET /token need from the stack outputs (fewer look-ups than all of them).
TOKEN_KEYS = ("client_id", "issuer", "jwks_url", "token_url")
# Cognito's answers to AdminInitiateAuth that mean: this password does not sign in.
REFUSED_CODES = ("NotAuthorizedException", "PasswordResetRequiredException")
LOST_PASSWORD_FIX = (
    "Delete the user in the pool (the next run recreates it with a new generated password), or set a new "
    "password with `aws cognito-idp admin-set-user-password --permanent` and store it in the user's secret"
)
OTHER_FAILURE_FIX = "See the message above; re-run notebooks 05 and 06 if the token API itself fails."


class Outcome(enum.Enum):
    VERIFIED = "verified"  # the password signed in (through GET /token: both tokens verified)
    FAILED = "failed"  # asked, and refused or not verified
    SKIPPED = "skipped"  # not asked: the runbook has no password for the user
    DISABLED = "disabled"  # not asked: enabled: false, Cognito refuses the user's sign-in


@dataclass(frozen=True)
class SignIn:
    """One user's sign-in: the outcome, why, what to do, and (verified through GET /token)
    the tokens and their verified claims. ``repr`` never shows a token."""

    user: str
    source: PasswordSource
    outcome: Outcome
    reason: str = ""
    fix: str = ""
    tokens: Tokens | None = field(default=None, repr=False)
    id_claims: dict = field(default_factory=dict, repr=False)
    access_claims: dict = field(default_factory=dict, repr=False)

    @property
    def verified(self) -> bool:
        return self.outcome is Outcome.VERIFIED

    @property
    def status(self) -> str:
        """One line for a table: ``verified``, or the outcome and its reason."""
        if self.outcome is Outcome.VERIFIED:
            return "verified"
        if self.outcome is Outcome.DISABLED:
            return f"not asked: {self.reason}"
        return f"{self.outcome.value}: {self.reason}"

    @property
    def groups(self) -> list[str]:
        """The user's groups as the verified ID token carries them (what Db2 sees)."""
        return sorted(self.id_claims.get("cognito:groups", []))


# -- classification: the one definition of each outcome and its fix ------------------------


def verified(user: UserParams, tokens: Tokens | None = None, id_claims=None, access_claims=None) -> SignIn:
    return SignIn(user.name, user.password, Outcome.VERIFIED, "", "", tokens, id_claims or {}, access_claims or {})


def disabled(user: UserParams) -> SignIn:
    return SignIn(user.name, user.password, Outcome.DISABLED, "disabled (enabled: false): Cognito refuses its sign-in")


def no_password(stack: str, user: UserParams) -> SignIn:
    """The runbook has no password for the user: an unset variable, a lost secret, nothing typed."""
    source = user.password
    if source.kind == "env":
        fix = f"Export {source.var} with the user's password before the run."
    elif source.generated:
        fix = f"Its secret {secret_name(stack, user.name)} is missing. {LOST_PASSWORD_FIX}."
    else:
        fix = (
            "Its password is typed (prompt): type it in the users form (notebook 02) in the same session; "
            "headless runs do not sign in as the user."
        )
    return SignIn(user.name, source, Outcome.SKIPPED, f"no password available from '{source}'", fix)


def refused(stack: str, user: UserParams, reason: str) -> SignIn:
    """Cognito refused the password the runbook has: it was changed outside the runbook."""
    source, name = user.password, user.name
    changed = "no longer signs in: it was changed outside the runbook (admin-set-user-password, the console)"
    if source.generated:
        fix = (
            f"The password in the secret {secret_name(stack, name)} {changed}. Set it back to that value, or store "
            f"the new one there, or give the user a new generated password: "
            f"`cognito-runbook rotate <params file> --user {name}`."
        )
    elif source.kind == "env":
        fix = (
            f"The password in ${source.var} {changed}. Set it back to that value, or store the new one there, or "
            f"make Cognito take the one in ${source.var} again: `cognito-runbook run <params file> --reset-passwords`."
        )
    else:
        fix = (
            f"The typed password {changed}. Type the current one, or set the typed one again "
            "(notebook 02 with reset_passwords = True)."
        )
    return SignIn(name, source, Outcome.FAILED, reason, fix)


def failed(stack: str, user: UserParams, err: TokenError) -> SignIn:
    """GET /token or a token check failed: a 401 is the password refused, anything else the API's."""
    if isinstance(err, TokenRequestFailed) and err.status == 401:
        return refused(stack, user, str(err))
    return SignIn(user.name, user.password, Outcome.FAILED, str(err), OTHER_FAILURE_FIX)


def problems(results: list[SignIn]) -> list[SignIn]:
    """The results a run must fail on: every user that did not get verified tokens, except
    users not asked because they are disabled, and users whose password is typed (``prompt``:
    a headless run has none, and a person sees the table)."""
    return [r for r in results if r.outcome in (Outcome.FAILED, Outcome.SKIPPED) and r.source.kind != "prompt"]


class SignInsFailed(StageError):
    """Users the runbook should sign in as cannot get tokens; names each one and its fix."""

    def __init__(self, failing: list[SignIn]):
        self.failing = failing
        lines = "\n".join(f"  - {r.user}: {r.status.rstrip('.')}. {r.fix}" for r in failing)
        super().__init__(f"{len(failing)} user(s) cannot get tokens:\n{lines}")


def require(results: list[SignIn]) -> None:
    """Raise ``SignInsFailed`` (naming each user and the fix) if any result is a problem."""
    failing = problems(results)
    if failing:
        raise SignInsFailed(failing)


# -- signing in ------------------------------------------------------------------------------


class NoTokenApi(StageError):
    """The stack has no getToken API yet: nothing can be signed in through GET /token."""


NOT_CHECKED = "not checked: no getToken API yet (notebook 06)"  # where a caller may go on without it


def sign_in(
    ctx,
    outputs,
    names: list[str] | None = None,
    stored: bool = False,
    verifier: TokenVerifier | None = None,
) -> list[SignIn]:
    """``GET /token`` as each params user (``names``: only those), with the password the
    runbook has, then both tokens verified against the pool's keys.

    ``outputs``: the stack outputs (at least ``TOKEN_KEYS``). ``stored``: also the users whose
    generated password this stack keeps but the params do not list. ``verifier``: one kept
    between calls (its JWKS and verified-token caches), else one for ``outputs``."""
    if not outputs.token_url:
        raise NoTokenApi("token_api: no getToken API found; run notebook 06 first")
    if not outputs.client_id:
        raise StageError("no app client found; run notebook 01 first")
    verifier = verifier or TokenVerifier.for_stack(outputs)
    store = PasswordStore(ctx)
    results = []
    for user in _users(ctx, store, names, stored):
        if not user.enabled:
            results.append(disabled(user))
            continue
        with aws_errors(f"reading the password of {user.name}"):
            password = store.existing(user)
        if password is None:
            results.append(no_password(ctx.stack, user))
            continue
        try:
            tokens = get_tokens(outputs.token_url, user.name, password)
            id_claims = verifier.verify(tokens.id_token, "id")
            access_claims = verifier.verify(tokens.access_token, "access")
        except TokenError as err:
            results.append(failed(ctx.stack, user, err))
            continue
        results.append(verified(user, tokens, id_claims, access_claims))
    return results


def _users(ctx, store: PasswordStore, names: list[str] | None, stored: bool) -> list[UserParams]:
    """The params users (then, with ``stored``, those only a generated secret knows), in that
    order; ``names`` picks some of them and must name no one else."""
    users = list(ctx.params.users)
    if stored:
        listed = {u.name for u in users}
        with aws_errors("reading passwords"):
            users += [UserParams(name=n, password="generate") for n in store.generated_users() if n not in listed]
    if not names:
        return users
    unknown = [n for n in names if n not in {u.name for u in users}]
    if unknown:
        raise UsageError(
            f"user: no user {', '.join(unknown)} in the params; users are {', '.join(u.name for u in users)}"
        )
    return [u for u in users if u.name in names]


def check_password(ctx, pool_id: str, client_id: str | None, user: UserParams, store: PasswordStore) -> SignIn:
    """Whether the password the runbook has for a CONFIRMED user still signs in: one
    ``AdminInitiateAuth`` (only when asked, as ``--reset-passwords``: a failed sign-in counts
    towards Cognito's lock-out of the user). ``verified`` here means the password signed in;
    the tokens are not kept. A refusal is classified as ``sign_in`` classifies a 401."""
    if not user.enabled:
        return disabled(user)  # a disabled user cannot sign in whatever the password
    password = store.existing(user)
    if password is None:
        return no_password(ctx.stack, user)  # nothing to compare with
    if client_id is None:
        raise StageError("users: --reset-passwords needs the app client to test passwords; run notebook 01 first")
    try:
        ctx.client("cognito-idp").admin_initiate_auth(
            UserPoolId=pool_id,
            ClientId=client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.name, "PASSWORD": password},
        )
    except ClientError as err:
        if error_code(err) in REFUSED_CODES:
            return refused(ctx.stack, user, f"Cognito refused the password ({error_code(err)}: {error_message(err)})")
        raise
    return verified(user)


def hosted_ui_session(params, outputs, flow: str = "") -> HostedUiSession:
    """A hosted-UI sign-in for the stack's app client: ``flow`` "implicit", "code", or ""
    for code + PKCE when the client allows it; refused, naming the params field, when the
    client does not allow the flow."""
    allowed = params.app_client.oauth_flows
    flow = flow or ("code" if "code" in allowed else allowed[0])
    if not outputs.hosted_ui_url or not outputs.client_id:
        raise StageError("the pool has no hosted-UI domain or app client; run notebook 01 first")
    if flow not in allowed:
        raise ParamsError(
            [
                f"app_client.oauth_flows: the app client does not allow '{flow}'; add it to the params and re-run notebook 01, or use flow={allowed[0]!r}"
            ]
        )
    client = params.app_client
    return HostedUiSession(
        outputs.hosted_ui_url, outputs.client_id, client.callback_urls[0], flow, tuple(client.oauth_scopes)
    )


def hosted_ui_redirect(ctx, login_url: str, name: str | None = None) -> str | None:
    """Headless: sign in at the hosted UI's login page as the first enabled params user (or
    the one named) whose password the runbook can read; the redirect URL it lands on, or
    None when the runbook has no such password."""
    store = PasswordStore(ctx)
    for user in ctx.params.users:
        if name in (None, user.name) and user.enabled:
            with aws_errors(f"reading the password of {user.name}"):
                password = store.existing(user)
            if password:
                return scripted_sign_in(login_url, user.name, password)
    return None

"""What Db2 with IBM's AWS security plugin will do with a token, rule by rule, before anyone
tries it on Db2.

Each rule is the plugin's code as it behaves, read and run from its source (IBM
db2-samples ``aws/security_plugins/db2-aws-iam/src``), including where the code is weaker
or stranger than one would assume: shared/reference/db2-facts.md, last section, lists the
rules and where each lives in the source. The preflight asks Cognito exactly what the
plugin asks (with the runbook's credentials, not the Db2 host's: the upper-cased user name,
one page; later pages only to explain a miss) and says, per rule, what Db2 will do and what
to do about it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from .aws import error_code
from .db2 import MAX_AUTH_NAME_BYTES, db2_name_problems, plugin_signature_check
from .display import Table
from .tokens import JwksCache, TokenError, decode_unverified

ACCEPTS, REFUSES, WARNING, UNSAFE, SERVER, NOT_REACHED = (
    "accepts",  # Db2 passes this rule as it should
    "REFUSES",  # Db2 refuses the connection on this rule
    "warning",  # Db2 connects, but not as one would expect: read what to do
    "UNSAFE",  # Db2 would accept what it should not
    "on the server",  # decided by the Db2 server's set-up, which the runbook cannot see
    "not reached",  # the plugin stops at an earlier rule
)
VERDICTS = (ACCEPTS, REFUSES, WARNING, UNSAFE, SERVER, NOT_REACHED)
_SEVERITY = {REFUSES: 5, UNSAFE: 4, WARNING: 3, SERVER: 2, NOT_REACHED: 1, ACCEPTS: 0}

MAX_CLAIM_BYTES = 255  # DB2SEC_MAX_USERID_LENGTH: a longer iss or user claim reads as absent
GROUP_LIST_DROPPED_AT = 100  # FindGroups keeps a page of fewer groups than this
JWKS_PATH = "/.well-known/jwks.json"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
USER_CLAIM = {"id": "cognito:username", "access": "username"}
CLIENT_CLAIM = {"id": "aud", "access": "client_id"}


@dataclass
class Finding:
    rule: str
    verdict: str  # one of VERDICTS
    db2: str  # what Db2 (the plugin) does with this token
    action: str = ""  # what the DBA should do about it


@dataclass
class Preflight:
    findings: list[Finding]
    authid: str | None  # the authorization id as the plugin returns it (the claim, as written)
    groups: list[str]  # the groups Db2 gets from the group plugin

    def verdict(self, rule: str) -> str:
        return next(f.verdict for f in self.findings if f.rule == rule)

    @property
    def refused_by(self) -> list[str]:
        return [f.rule for f in self.findings if f.verdict == REFUSES]

    @property
    def unsafe(self) -> list[str]:
        return [f.rule for f in self.findings if f.verdict == UNSAFE]

    @property
    def accepted(self) -> bool:
        """Db2 would accept this token, and should."""
        return not self.refused_by and not self.unsafe

    def caption(self) -> str:
        if self.refused_by:
            return f"Db2 would REFUSE this token ({', '.join(self.refused_by)})"
        who = f"authorization id {self.authid!r}" if self.authid else "an EMPTY authorization id"
        groups = ", ".join(self.groups) or "none"
        if self.unsafe:
            return f"Db2 may accept this token, and should NOT ({', '.join(self.unsafe)}): {who}, groups {groups}"
        return f"Db2 would accept this token: {who}, groups {groups}"

    def table(self) -> Table:
        return Table(
            ["plugin rule", "verdict", "what Db2 does", "what to do"],
            [[f.rule, f.verdict, f.db2, f.action] for f in self.findings],
            caption=self.caption(),
        )


@dataclass
class _Ask:
    """What the rules read: the token, the configured pool, Cognito, the clock."""

    token: str
    claims: dict
    pool_id: str
    backend: object
    now: float

    @property
    def use(self):
        return self.claims.get("token_use")

    @property
    def region(self) -> str:
        return self.pool_id.split("_", 1)[0]

    def cognito(self):
        return self.backend.client("cognito-idp")


def db2_preflight(token: str, outputs, backend, configured_pool_id: str | None = None, now: float | None = None):
    """The plugin's verdict on ``token``, one finding per rule, in the plugin's order.
    ``configured_pool_id``: the ID in the Db2 server's cognito_userpools.json (default: the
    stack's pool); ``now``: the Db2 server's clock (default: this machine's)."""
    try:
        claims = decode_unverified(token)
    except TokenError as err:
        return Preflight([Finding("token format", REFUSES, f"the plugin cannot read the token: {err}")], None, [])
    ask = _Ask(token, claims, configured_pool_id or outputs.pool_id, backend, time.time() if now is None else now)
    findings = [_token_use(ask), _issuer(ask), _signature(ask), _expiry(ask), _app_client(ask)]
    user_rule, authid = _authorization_id(ask)
    groups_rule, groups = _groups(ask, authid)
    findings += [user_rule, _userid_form(ask, authid), groups_rule, _db2_home(), _key_egress(ask)]
    return Preflight(findings, authid, groups)


def _worst(rule: str, parts: list[tuple[str, str, str]]) -> Finding:
    """One finding from several (verdict, what Db2 does, what to do) parts: the worst verdict."""
    verdict = max((p[0] for p in parts), key=_SEVERITY.__getitem__)
    return Finding(rule, verdict, "; ".join(p[1] for p in parts if p[1]), " ".join(p[2] for p in parts if p[2]))


# -- the rules, in the plugin's order ---------------------------------------------------------


def _token_use(ask: _Ask) -> Finding:
    rule = "token type (token_use)"
    if ask.use in USER_CLAIM:
        return Finding(
            rule, ACCEPTS, f"{ask.use} token: client '{CLIENT_CLAIM[ask.use]}', user '{USER_CLAIM[ask.use]}'"
        )
    return Finding(
        rule,
        REFUSES,
        f"token_use is {ask.use!r}: the plugin reads only id and access tokens",
        "send the ID or access token that GET /token returns",
    )


def _cognito_issuer(pool: str) -> str:
    return f"https://cognito-idp.{pool.split('_', 1)[0]}.amazonaws.com/{pool}"


def _issuer(ask: _Ask) -> Finding:
    rule = "issuer (iss)"
    iss = ask.claims.get("iss")
    if not isinstance(iss, str) or not iss or len(iss.encode()) > MAX_CLAIM_BYTES or "/" not in iss:
        return Finding(rule, REFUSES, f"iss {iss!r} is missing, not a URL or over {MAX_CLAIM_BYTES} bytes")
    pool = iss.rsplit("/", 1)[1]
    if pool != ask.pool_id:
        return Finding(
            rule,
            REFUSES,
            f"iss ends in {pool}; cognito_userpools.json names {ask.pool_id} (one pool per Db2 instance)",
            "get the token from the pool cognito_userpools.json names, or deploy this stack's file",
        )
    if iss == _cognito_issuer(pool):
        return Finding(rule, ACCEPTS, f"iss is Cognito's issuer of pool {pool}, the one cognito_userpools.json names")
    host = iss.split("/")[2] if iss.count("/") >= 3 else iss
    return Finding(
        rule,
        UNSAFE,
        f"iss is {iss}, not Cognito's ({_cognito_issuer(pool)}); the plugin compares only what follows the "
        f"last '/', so it takes this issuer and fetches its keys from {iss}{JWKS_PATH}: Cognito did not issue this "
        f"token, and a Db2 server that can reach {host} accepts whatever that host signed",
        f"allow the Db2 server's outbound HTTPS only to cognito-idp.{ask.region}.amazonaws.com: it then refuses this token",
    )


def _jwks_url(ask: _Ask) -> str | None:
    """Where the preflight can read the keys the plugin would fetch: Cognito's issuer only
    (the preflight never fetches from a host a token names)."""
    iss = ask.claims.get("iss")
    if not isinstance(iss, str) or "/" not in iss:
        return None
    pool = iss.rsplit("/", 1)[1]
    if iss != _cognito_issuer(pool):
        return None
    backend = ask.backend
    if getattr(backend, "region", None) == pool.split("_", 1)[0]:
        return backend.jwks_url(pool)  # locally, the local AWS serves the pool's keys
    return iss + JWKS_PATH


def _signature(ask: _Ask) -> Finding:
    rule = "signature (kid, RS256)"
    url = _jwks_url(ask)
    if not isinstance(ask.claims.get("iss"), str):
        return Finding(rule, NOT_REACHED, "no issuer to fetch keys from")
    if url is None:
        return Finding(
            rule,
            SERVER,
            f"the plugin verifies with the keys at {ask.claims.get('iss')}{JWKS_PATH}; the preflight does not fetch "
            "keys from a host other than Cognito",
            f"allow the Db2 server's outbound HTTPS only to cognito-idp.{ask.region}.amazonaws.com",
        )
    try:
        header, problem = plugin_signature_check(ask.token, JwksCache(url).jwks())
    except (OSError, ValueError) as err:
        return Finding(rule, WARNING, f"not checked: the key set at {url} could not be read ({err})")
    if problem:
        return Finding(rule, REFUSES, problem, "get a new token from this stack's GET /token")
    return Finding(
        rule,
        ACCEPTS,
        f"RS256 signature matches the pool's key {header.get('kid')}; the plugin keeps the key set in memory "
        "until a token names a key it does not hold: after Cognito rotates its keys, one connection per Db2 "
        "process fails and the next one works",
    )


def _expiry(ask: _Ask) -> Finding:
    rule = "expiry (exp only)"
    exp = ask.claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        return Finding(rule, REFUSES, f"exp is {exp!r}, not a JSON integer: the plugin reads 0 and refuses the token")
    if ask.now >= exp:
        return Finding(
            rule,
            REFUSES,
            f"expired at {_utc(exp)}, {int(ask.now - exp)} s ago by this clock (the plugin allows no clock skew)",
            "get a new token (they last as long as the app client's token validity)",
        )
    left = f"valid until {_utc(exp)} (in {int(exp - ask.now) // 60} min); the plugin checks only exp, not nbf or iat"
    ahead = {c: ask.claims[c] - ask.now for c in ("iat", "nbf") if _number(ask.claims.get(c)) > ask.now}
    if ahead:
        skew = ", ".join(f"{claim} is {int(s)} s ahead of this clock" for claim, s in ahead.items())
        return Finding(
            rule,
            WARNING,
            f"{left}: Db2 accepts it, although {skew} (a clock is off, here or at Cognito)",
            "keep the Db2 server's clock on NTP: it alone decides when a token expires, so a Db2 clock that is "
            "behind accepts tokens after they expire.",
        )
    return Finding(rule, ACCEPTS, left)


def _number(value) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("-inf")


def _utc(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _app_client(ask: _Ask) -> Finding:
    rule = "app client (ListUserPoolClients, one page)"
    if ask.use not in CLIENT_CLAIM:
        return Finding(rule, NOT_REACHED, "the plugin stops at token_use")
    field = CLIENT_CLAIM[ask.use]
    client = ask.claims.get(field)
    if not isinstance(client, str) or not client:
        return Finding(rule, REFUSES, f"the token has no '{field}' string: the plugin refuses it")
    cognito = ask.cognito()
    try:
        page = cognito.list_user_pool_clients(UserPoolId=ask.pool_id)  # as the plugin asks: no MaxResults
        first = [c["ClientId"] for c in page.get("UserPoolClients", [])]
        every, more = list(first), page.get("NextToken")
        while more and client not in every:  # the later pages, which the plugin never reads
            later = cognito.list_user_pool_clients(UserPoolId=ask.pool_id, NextToken=more)
            every, more = every + [c["ClientId"] for c in later.get("UserPoolClients", [])], later.get("NextToken")
    except ClientError as err:
        return Finding(
            rule,
            WARNING,
            f"not checked: Cognito answered {error_code(err)} to the runbook",
            "the Db2 host needs db2-host-policy.json: without ListUserPoolClients Db2 refuses every token",
        )
    if client in first:
        return Finding(
            rule,
            ACCEPTS,
            f"{client} is on the one ListUserPoolClients page the plugin reads (app clients: {len(first)})",
        )
    if client in every:
        return Finding(
            rule,
            REFUSES,
            f"{client} is an app client of the pool, but not on the first page ({len(first)} of {len(every)} "
            "clients): the plugin reads one page only",
            "delete the pool's unused app clients so that all of them fit on one page",
        )
    return Finding(rule, REFUSES, f"{client} is not an app client of pool {ask.pool_id}")


def _authorization_id(ask: _Ask) -> tuple[Finding, str | None]:
    rule = "authorization id (user claim)"
    if ask.use not in USER_CLAIM:
        return Finding(rule, NOT_REACHED, "the plugin stops at token_use"), None
    claim = USER_CLAIM[ask.use]
    user = ask.claims.get(claim)
    if not isinstance(user, str) or not user or len(user.encode()) > MAX_CLAIM_BYTES:
        what = "no" if not isinstance(user, str) or not user else f"a {len(user.encode())}-byte"
        return Finding(
            rule,
            WARNING,
            f"the token has {what} '{claim}' (the plugin reads at most {MAX_CLAIM_BYTES} bytes): the plugin does not "
            "refuse it, it returns success with an EMPTY authorization id and leaves the decision to Db2",
            "never let such a token reach Db2: the runbook's users always have a short name",
        ), None
    parts = [
        (
            ACCEPTS,
            f"'{user}', exactly as '{claim}' has it (the plugin keeps its case); Db2 passes it upper-cased, "
            f"{user.upper()}, to the group plugin",
            "",
        )
    ]
    size = len(user.encode())
    if UUID_RE.match(user):
        parts.append((WARNING, "a UUID: the pool signs in with e-mail", "use a user-name pool (sign_in: username)."))
    elif size > MAX_AUTH_NAME_BYTES:
        parts.append((WARNING, f"{size} bytes: Db2 truncates it to {MAX_AUTH_NAME_BYTES} (with a warning)", ""))
    elif db2_name_problems(user):
        problems = "; ".join(db2_name_problems(user))
        parts.append((WARNING, f"Db2's naming rules refuse it: {problems}", "rename the Cognito user."))
    return _worst(rule, parts), user


def _userid_form(ask: _Ask, authid: str | None) -> Finding:
    rule = "userid:token form"
    if authid is None:
        return Finding(rule, NOT_REACHED, "no authorization id to compare with")
    if re.search(r"[A-Z]", authid):
        return Finding(
            rule,
            WARNING,
            f"never works for this user: the plugin lower-cases the user id before ':' and compares it byte for "
            f"byte with '{authid}'; on the mismatch it logs an error and returns success with an EMPTY authorization id",
            "connect with the bare token (ACCESSTOKEN <token>), never '<user>:<token>'",
        )
    return Finding(rule, ACCEPTS, f"works with the user id in any case (the plugin lower-cases it to '{authid}')")


def _pool_case_sensitive(ask: _Ask) -> bool:
    try:
        pool = ask.cognito().describe_user_pool(UserPoolId=ask.pool_id)["UserPool"]
    except ClientError:
        return True  # unknown: the API's default
    return (pool.get("UsernameConfiguration") or {}).get("CaseSensitive", True) is not False


def _groups(ask: _Ask, authid: str | None) -> tuple[Finding, list[str]]:
    rule = "groups (AdminListGroupsForUser, upper-cased name, one page)"
    if authid is None:
        return Finding(rule, NOT_REACHED, "no authorization id: Db2 gets no groups"), []
    asked = authid.upper()
    case_sensitive = _pool_case_sensitive(ask)
    how = f"Db2 asks Cognito for the groups of '{asked}'"
    try:
        page = ask.cognito().admin_list_groups_for_user(UserPoolId=ask.pool_id, Username=asked)  # one page
    except ClientError as err:
        return _no_groups(rule, how, error_code(err), authid, case_sensitive), []
    names = sorted(g["GroupName"] for g in page.get("Groups", []))  # Db2 gets a set: no order
    parts = [
        (ACCEPTS, how + ("" if case_sensitive or asked == authid else " (case-insensitive pool: the same user)"), "")
    ]
    if case_sensitive and asked != authid:
        other = (
            f"in this case-sensitive pool '{asked}' is ANOTHER user than '{authid}': this connection gets its groups"
        )
        parts.append((UNSAFE, other, "make the pool case-insensitive, or delete one of the two users."))
    if len(names) >= GROUP_LIST_DROPPED_AT:
        parts.append((WARNING, f"the page holds {len(names)} groups: the plugin drops the list, Db2 gets none", ""))
        names = []
    elif page.get("NextToken"):
        parts.append(
            (
                WARNING,
                f"the user is in more groups than one page holds: Db2 gets only the first {len(names)}, the "
                "others grant nothing",
                "keep each user in fewer groups than one page holds (Cognito returns at most 60).",
            )
        )
    if not page.get("Groups"):
        parts.append((WARNING, "the user is in no group: Db2 gets none", "add the user to the groups Db2 grants to."))
    elif names:
        parts.append((ACCEPTS, f"Db2 gets {', '.join(names)}", ""))
    bad = {n: db2_name_problems(n) for n in names if db2_name_problems(n)}
    if bad:
        text = "; ".join(f"{n}: {', '.join(p)}" for n, p in bad.items())
        parts.append((WARNING, f"Db2 cannot use {text}", "rename those groups as Db2 groups."))
    return _worst(rule, parts), names


def _no_groups(rule: str, how: str, code: str, authid: str, case_sensitive: bool) -> Finding:
    if code == "UserNotFoundException":
        differs = case_sensitive and authid != authid.upper()
        why = f"; this case-sensitive pool has '{authid}', not '{authid.upper()}'" if differs else ""
        return Finding(
            rule,
            WARNING,
            f"{how}: Cognito has no such user{why}. Db2 gets NO groups and connects the user without any "
            "group's authorities (no error)",
            "make the pool case-insensitive (a new pool: the setting is fixed at creation) or name the user in "
            "upper case",
        )
    return Finding(
        rule,
        WARNING,
        f"{how}: Cognito answered {code}; the plugin logs it and Db2 gets no groups",
        "the Db2 host needs db2-host-policy.json (AdminListGroupsForUser on the pool)",
    )


def _db2_home() -> Finding:
    return Finding(
        "DB2_HOME (engine environment)",
        SERVER,
        "the plugin reads $DB2_HOME/security64/plugin/cfg/cognito_userpools.json (or $DB2_HOME/$AWS_USERPOOL_CFG_ENV) "
        "and fetches keys only when DB2_HOME is set: without it in the Db2 engine's environment every token is refused",
        "run plugin-commands.sh: it sets DB2_HOME for the engine and checks the running engine has it",
    )


def _key_egress(ask: _Ask) -> Finding:
    return Finding(
        "key source (outbound HTTPS)",
        SERVER,
        f"the plugin trusts the keys at <iss>{JWKS_PATH} for any iss that ends in {ask.pool_id}, on any host: "
        "it cannot protect against a token minted by whoever controls such a URL",
        f"allow the Db2 server's outbound HTTPS only to cognito-idp.{ask.region}.amazonaws.com (firewall, proxy "
        "allow-list or security-group egress rules)",
    )

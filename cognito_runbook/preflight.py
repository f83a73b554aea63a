"""What Db2 with IBM's AWS security plugin would do with a token, before trying it on Db2.

Follows the plugin's documented rules (shared/reference/db2-facts.md): the authid comes
from ``cognito:username`` (ID token) or ``username`` (access token); the part of ``iss``
after its last ``/`` must be the configured pool ID; RS256 signature with the JWKS key
of the token's ``kid``; ``exp`` in the future; the client (``aud`` / ``client_id``) must
be one of the pool's app clients; groups come from Cognito (AdminListGroupsForUser),
not from the token. Also flags what a DBA would otherwise only find in db2diag.log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import ClientError

from .aws import error_code, paginate
from .db2 import MAX_AUTH_NAME_BYTES, db2_name_problems
from .display import Table
from .tokens import JwksCache, TokenError, TokenVerifier, authid_claim, decode_unverified

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PASS, FAIL, WARN = "pass", "FAIL", "warn"


@dataclass
class Finding:
    check: str
    result: str  # pass | FAIL | warn
    detail: str


@dataclass
class Preflight:
    findings: list[Finding]
    authid: str | None
    groups: list[str]

    @property
    def accepted(self) -> bool:
        return all(f.result != FAIL for f in self.findings)

    def table(self) -> Table:
        verdict = "Db2 would accept this token" if self.accepted else "Db2 would REJECT this token"
        return Table(
            ["check", "result", "detail"],
            [[f.check, f.result, f.detail] for f in self.findings],
            caption=f"{verdict} (authid {self.authid}, groups {', '.join(self.groups) or 'none'})",
        )


def db2_preflight(token: str, outputs, backend, configured_pool_id: str | None = None) -> Preflight:
    findings: list[Finding] = []
    pool_id = configured_pool_id or outputs.pool_id
    try:
        claims = decode_unverified(token)
    except TokenError as err:
        return Preflight([Finding("token format", FAIL, str(err))], None, [])
    use = claims.get("token_use")
    claim = authid_claim(claims)
    user = claims.get(claim)
    findings.append(
        Finding(
            "token type",
            PASS if use in ("id", "access") else FAIL,
            f"{use} token: the user comes from '{claim}'"
            if use in ("id", "access")
            else f"token_use {use!r} is neither id nor access",
        )
    )
    authid = _authid_findings(findings, user, claim, _case_sensitive(backend, pool_id))
    iss_pool = str(claims.get("iss", "")).rsplit("/", 1)[-1]
    findings.append(
        Finding(
            "issuer pool",
            PASS if iss_pool == pool_id else FAIL,
            f"iss ends in {iss_pool}" + ("" if iss_pool == pool_id else f"; cognito_userpools.json names {pool_id}"),
        )
    )
    client = claims.get("aud") if use == "id" else claims.get("client_id")
    verifier = TokenVerifier(backend.issuer(iss_pool), str(client), JwksCache(backend.jwks_url(iss_pool)))
    try:
        verifier.verify(token)
        findings.append(
            Finding("signature and expiry", PASS, "RS256 signature matches the pool's JWKS key; not expired")
        )
    except TokenError as err:
        findings.append(Finding("signature and expiry", FAIL, str(err)))
    clients = _pool_clients(backend, pool_id)
    findings.append(
        Finding(
            "app client",
            PASS if client in clients else FAIL,
            f"{client} is {'one' if client in clients else 'NOT one'} of the pool's app clients (ListUserPoolClients)",
        )
    )
    groups = _groups_findings(findings, backend, pool_id, claims)
    return Preflight(findings, authid, groups)


def _case_sensitive(backend, pool_id: str) -> bool:
    try:
        pool = backend.client("cognito-idp").describe_user_pool(UserPoolId=pool_id)["UserPool"]
    except ClientError:
        return True  # unknown: assume the risky case
    return bool((pool.get("UsernameConfiguration") or {}).get("CaseSensitive", True))


def _authid_findings(findings: list[Finding], user, claim: str, case_sensitive: bool) -> str | None:
    if not user:
        findings.append(Finding("authorization id", FAIL, f"the token has no '{claim}' claim"))
        return None
    authid = str(user).upper()
    if UUID_RE.match(str(user)):
        findings.append(
            Finding(
                "authorization id",
                WARN,
                f"{claim} is a UUID ({user}): the pool signs in with e-mail, so Db2 users would be UUIDs; use a user-name pool",
            )
        )
    elif len(str(user).encode()) > MAX_AUTH_NAME_BYTES:
        findings.append(
            Finding(
                "authorization id",
                WARN,
                f"{len(str(user).encode())} bytes: Db2 truncates authorization ids longer than {MAX_AUTH_NAME_BYTES} (with a warning)",
            )
        )
    elif db2_name_problems(str(user)):
        findings.append(
            Finding(
                "authorization id",
                FAIL,
                f"'{user}' is not a valid Db2 authorization id: {'; '.join(db2_name_problems(str(user)))}",
            )
        )
    else:
        findings.append(Finding("authorization id", PASS, f"Db2 sees {authid}"))
    if str(user) != authid and not UUID_RE.match(str(user)):
        if case_sensitive:
            findings.append(
                Finding(
                    "authid case",
                    WARN,
                    f"Db2 upper-cases '{user}' to {authid}, but the pool is case-sensitive: '{user}' and '{authid}' could be two Cognito users that Db2 sees as one",
                )
            )
        else:
            findings.append(
                Finding(
                    "authid case",
                    PASS,
                    f"Db2 upper-cases '{user}' to {authid}; the pool is case-insensitive, so both name the same user",
                )
            )
    return authid


def _pool_clients(backend, pool_id: str) -> set[str]:
    try:
        listing = paginate(
            backend.client("cognito-idp"), "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id
        )
    except ClientError:
        return set()
    return {c["ClientId"] for c in listing}


def _groups_findings(findings: list[Finding], backend, pool_id: str, claims: dict) -> list[str]:
    username = claims.get("cognito:username") or claims.get("username")
    if not username:
        findings.append(Finding("groups", FAIL, "no user name in the token: Cognito cannot be asked for groups"))
        return []
    try:
        listing = paginate(
            backend.client("cognito-idp"), "admin_list_groups_for_user", "Groups", UserPoolId=pool_id, Username=username
        )
    except ClientError as err:
        findings.append(Finding("groups", FAIL, f"Cognito cannot list the user's groups: {error_code(err)}"))
        return []
    groups = sorted(g["GroupName"] for g in listing)
    if not groups:
        findings.append(Finding("groups", WARN, "the user is in no Cognito group: Db2 grants nothing through groups"))
    for group in groups:
        problems = db2_name_problems(group)
        findings.append(
            Finding(
                f"group {group}",
                FAIL if problems else PASS,
                "; ".join(problems) if problems else f"Db2 group {group.upper()}",
            )
        )
    return groups

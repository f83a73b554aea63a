"""Stage 1: the user pool, its hosted-UI domain and the public app client.

Console runbook: "Create user pool" (user-name sign-in, no MFA, no self-registration,
Cognito e-mail, hosted UI with a Cognito domain, public client, callback
http://localhost, all auth flows, implicit grant).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..aws import error_code, owned_by, paginate, same_items
from ..errors import StageError
from .common import Context

STAGE = "user_pool"
EXPLICIT_AUTH_FLOWS = [
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


# -- desired configuration ------------------------------------------------------


def pool_updatable_config(ctx: Context) -> dict:
    """Everything UpdateUserPool takes that we manage. UpdateUserPool resets omitted
    settings to their defaults, so every update sends all of it."""
    policy = ctx.params.user_pool.password_policy
    return {
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": policy.min_length,
                "RequireUppercase": policy.require_uppercase,
                "RequireLowercase": policy.require_lowercase,
                "RequireNumbers": policy.require_numbers,
                "RequireSymbols": policy.require_symbols,
                "TemporaryPasswordValidityDays": 7,
            }
        },
        "MfaConfiguration": "OFF",
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},  # no self-registration
        "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
        "UserPoolTags": ctx.tags,
        **({"AutoVerifiedAttributes": ["email"]} if ctx.params.user_pool.sign_in == "email" else {}),
    }


def pool_creation_config(ctx: Context) -> dict:
    """Settings Cognito fixes at creation."""
    pool = ctx.params.user_pool
    config = {
        "PoolName": pool.name,
        "UsernameConfiguration": {"CaseSensitive": pool.case_sensitive_usernames},
    }
    if pool.sign_in == "email":
        config["UsernameAttributes"] = ["email"]
    elif pool.preferred_username_alias:
        config["AliasAttributes"] = ["preferred_username"]
    return config


def client_config(ctx: Context) -> dict:
    """The public app client, everything UpdateUserPoolClient takes (it too resets omissions)."""
    client = ctx.params.app_client
    return {
        "ClientName": client.name,
        "RefreshTokenValidity": 30,
        "AccessTokenValidity": 60,
        "IdTokenValidity": 60,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
        "ExplicitAuthFlows": list(EXPLICIT_AUTH_FLOWS),
        "SupportedIdentityProviders": ["COGNITO"],
        "CallbackURLs": list(client.callback_urls),
        "AllowedOAuthFlows": list(client.oauth_flows),
        "AllowedOAuthScopes": list(client.oauth_scopes),
        "AllowedOAuthFlowsUserPoolClient": True,
        "PreventUserExistenceErrors": "ENABLED",
        "EnableTokenRevocation": True,
    }


# -- look-ups -------------------------------------------------------------------


def find_pool(ctx: Context) -> dict | None:
    """Our pool: the configured name *and* our stack tag (pool names are not unique)."""
    cognito = ctx.client("cognito-idp")
    ours = []
    for summary in paginate(cognito, "list_user_pools", "UserPools", PaginationConfig={"PageSize": 60}):
        if summary["Name"] != ctx.params.user_pool.name:
            continue
        pool = cognito.describe_user_pool(UserPoolId=summary["Id"])["UserPool"]
        if owned_by(pool.get("UserPoolTags"), ctx.stack):
            ours.append(pool)
    if len(ours) > 1:
        ids = ", ".join(p["Id"] for p in ours)
        raise StageError(
            f"user pool '{ctx.params.user_pool.name}': {len(ours)} pools carry stack tag {ctx.stack} ({ids}); delete the extra ones in the Cognito console, then re-run"
        )
    return ours[0] if ours else None


def find_client(ctx: Context, pool_id: str) -> dict | None:
    cognito = ctx.client("cognito-idp")
    matches = [
        c
        for c in paginate(cognito, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id)
        if c["ClientName"] == ctx.params.app_client.name
    ]
    if not matches:
        return None
    if len(matches) > 1:
        raise StageError(
            f"app_client.name: pool {pool_id} has {len(matches)} app clients named '{ctx.params.app_client.name}'; delete the extra ones, then re-run"
        )
    return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=matches[0]["ClientId"])["UserPoolClient"]


# -- drift ------------------------------------------------------------------------


def _pool_drift(pool: dict, want: dict) -> list[str]:
    drift = []
    have_policy = pool.get("Policies", {}).get("PasswordPolicy", {})
    for key, value in want["Policies"]["PasswordPolicy"].items():
        if have_policy.get(key) != value:
            drift.append(f"PasswordPolicy.{key}")
    if pool.get("MfaConfiguration", "OFF") != "OFF":
        drift.append("MfaConfiguration")
    if not pool.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly"):
        drift.append("AllowAdminCreateUserOnly")
    if pool.get("EmailConfiguration", {}).get("EmailSendingAccount", "COGNITO_DEFAULT") != "COGNITO_DEFAULT":
        drift.append("EmailSendingAccount")
    if pool.get("AccountRecoverySetting") and pool["AccountRecoverySetting"] != want["AccountRecoverySetting"]:
        drift.append("AccountRecoverySetting")
    if sorted(pool.get("AutoVerifiedAttributes") or []) != sorted(want.get("AutoVerifiedAttributes", [])):
        drift.append("AutoVerifiedAttributes")
    return drift


def _creation_drift(pool: dict, ctx: Context) -> list[str]:
    want = ctx.params.user_pool
    problems = []
    case = (pool.get("UsernameConfiguration") or {}).get("CaseSensitive")
    if case is not None and case != want.case_sensitive_usernames:
        problems.append(
            f"user_pool.case_sensitive_usernames is {want.case_sensitive_usernames} but the pool has {case}"
        )
    email = "email" in (pool.get("UsernameAttributes") or [])
    if email != (want.sign_in == "email"):
        problems.append(
            f"user_pool.sign_in is {want.sign_in} but the pool signs in with {'email' if email else 'username'}"
        )
    return problems


def _client_drift(client: dict, want: dict) -> list[str]:
    drift = []
    for key, value in want.items():
        have = client.get(key)
        if isinstance(value, list):
            if not same_items(have, value):
                drift.append(key)
        elif isinstance(value, dict):
            if any((have or {}).get(k) != v for k, v in value.items()):
                drift.append(key)
        elif have != value:
            drift.append(key)
    return drift


# -- ensure / delete ----------------------------------------------------------------


def ensure_user_pool(ctx: Context, pool: dict | None, client: dict | None) -> dict | None:
    """Pool, domain and app client as the params describe them, given the pool and client
    as found (``find_pool``, ``find_client``; None when missing). Returns the pool (None in
    a plan for a new pool)."""
    cognito = ctx.client("cognito-idp")
    name = ctx.params.user_pool.name
    want = pool_updatable_config(ctx)
    if pool is None:
        client = None  # a new pool has no client yet
        created = ctx.apply(
            STAGE, "create", "user pool", name, cognito.create_user_pool, **pool_creation_config(ctx), **want
        )
        pool = created["UserPool"] if created else None
    else:
        problems = _creation_drift(pool, ctx)
        if problems:
            raise StageError(
                f"user pool {pool['Id']}: "
                + "; ".join(problems)
                + ". Cognito fixes these at creation: change the params back, or tear the stack down and re-run"
            )
        drift = _pool_drift(pool, want)
        if drift:
            ctx.apply(
                STAGE,
                "update",
                "user pool",
                name,
                cognito.update_user_pool,
                detail=", ".join(drift),
                UserPoolId=pool["Id"],
                **want,
            )
        else:
            ctx.unchanged(STAGE, "user pool", name, pool["Id"])
    _ensure_domain(ctx, pool)
    _ensure_client(ctx, pool, client)
    return pool


def _ensure_domain(ctx: Context, pool: dict | None) -> None:
    cognito = ctx.client("cognito-idp")
    prefix = ctx.params.domain_prefix
    current = (pool or {}).get("Domain")
    if current == prefix:
        ctx.unchanged(STAGE, "hosted-UI domain", prefix)
        return
    owner = cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription", {}).get("UserPoolId")
    if owner and (pool is None or owner != pool["Id"]):
        raise StageError(
            f"user_pool.domain_prefix: '{prefix}' is already used by user pool {owner}; prefixes are unique per region across all AWS accounts, so choose another"
        )
    if current and pool is not None:
        ctx.apply(
            STAGE,
            "delete",
            "hosted-UI domain",
            current,
            cognito.delete_user_pool_domain,
            detail=f"replaced by {prefix}",
            Domain=current,
            UserPoolId=pool["Id"],
        )
    try:
        ctx.apply(
            STAGE,
            "create",
            "hosted-UI domain",
            prefix,
            cognito.create_user_pool_domain,
            Domain=prefix,
            UserPoolId=pool["Id"] if pool else "",
        )
    except ClientError as err:
        if error_code(err) == "InvalidParameterException" and "already" in str(err).lower():
            raise StageError(
                f"user_pool.domain_prefix: '{prefix}' is taken (possibly by another AWS customer); choose another prefix"
            ) from None
        raise


def _ensure_client(ctx: Context, pool: dict | None, client: dict | None) -> None:
    cognito = ctx.client("cognito-idp")
    want = client_config(ctx)
    if client is None:
        ctx.apply(
            STAGE,
            "create",
            "app client",
            want["ClientName"],
            cognito.create_user_pool_client,
            UserPoolId=pool["Id"] if pool else "",
            GenerateSecret=False,
            **want,
        )
        return
    drift = _client_drift(client, want)
    if drift:
        ctx.apply(
            STAGE,
            "update",
            "app client",
            want["ClientName"],
            cognito.update_user_pool_client,
            detail=", ".join(drift),
            UserPoolId=pool["Id"],
            ClientId=client["ClientId"],
            **want,
        )
    else:
        ctx.unchanged(STAGE, "app client", want["ClientName"], client["ClientId"])


def delete_user_pool(ctx: Context) -> None:
    """Delete our pool (users, groups and clients go with it) and its domain.
    A pool of the same name without our stack tag is not ours and stays."""
    cognito = ctx.client("cognito-idp")
    pool = find_pool(ctx)
    if pool is None:
        return
    if pool.get("Domain"):
        ctx.apply(
            STAGE,
            "delete",
            "hosted-UI domain",
            pool["Domain"],
            cognito.delete_user_pool_domain,
            Domain=pool["Domain"],
            UserPoolId=pool["Id"],
        )
    ctx.apply(
        STAGE, "delete", "user pool", pool["Name"], cognito.delete_user_pool, detail=pool["Id"], UserPoolId=pool["Id"]
    )

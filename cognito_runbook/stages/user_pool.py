"""Stage 1: the user pool, its hosted-UI domain and the public app client.

Console runbook: "Create user pool" (user-name sign-in, no MFA, no self-registration,
Cognito e-mail, hosted UI with a Cognito domain, public client, callback
http://localhost, all auth flows, implicit grant).

Every update is read-merge-write: UpdateUserPool and UpdateUserPoolClient reset each
setting they are not sent, so the request is the settings as read with only the managed
fields changed. Settings someone made outside the runbook (triggers, add-ons, logout
URLs, ...) are sent back as they were, and listed as "kept".
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from ..aws import (
    NOT_FOUND,
    error_code,
    fit_to_shape,
    get_or_none,
    managed_drift,
    owned_by,
    owner,
    paginate,
    request_shape,
    unmanaged_settings,
    update_request,
)
from ..errors import StageError
from ..params import CLASSIC_HOSTED_UI, CONSOLE_AUTH_FLOWS
from .common import FOREIGN, UNTAGGED, Context, NameClaim

STAGE = "user_pool"
EXPLICIT_AUTH_FLOWS = list(CONSOLE_AUTH_FLOWS)  # the default of app_client.auth_flows

# What Cognito fills in by itself on every pool and client: not worth listing as "kept".
POOL_FILLED_BY_AWS = (
    "VerificationMessageTemplate",
    "SmsVerificationMessage",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "SmsAuthenticationMessage",
    "AdminCreateUserConfig.InviteMessageTemplate",
    "AdminCreateUserConfig.UnusedAccountValidityDays",
    "UserAttributeUpdateSettings",
    "Policies.SignInPolicy",  # ["PASSWORD"] unless choice-based sign-in is set up
)
CLIENT_FILLED_BY_AWS = ("AuthSessionValidity", "RefreshTokenRotation.RetryGracePeriodSeconds")
# Legacy copies of VerificationMessageTemplate's fields. DescribeUserPool returns both;
# the template alone is sent back (it carries the same values).
LEGACY_MESSAGE_FIELDS = ("SmsVerificationMessage", "EmailVerificationMessage", "EmailVerificationSubject")
DOMAIN_WAIT_SECONDS = 600  # a new prefix domain is usually ACTIVE within a minute or two


# -- desired configuration ------------------------------------------------------


def managed_pool_settings(ctx: Context) -> dict:
    """The pool settings the runbook manages (UpdateUserPool's names). Everything else
    on the pool is left as found."""
    pool, policy = ctx.params.user_pool, ctx.params.user_pool.password_policy
    settings = {
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
        "UserPoolTags": ctx.tags,  # our tag only: other tags stay
        "AutoVerifiedAttributes": ["email"] if pool.sign_in == "email" else [],
        "UserPoolTier": pool.tier,
    }
    if ctx.params.deletion_protection is not None:
        settings["DeletionProtection"] = "ACTIVE" if ctx.params.deletion_protection else "INACTIVE"
    return settings


# What DescribeUserPool means by leaving a field out.
POOL_DEFAULTS = {
    "MfaConfiguration": "OFF",
    "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
    "AutoVerifiedAttributes": [],
    "DeletionProtection": "INACTIVE",
    "UserPoolTier": "ESSENTIALS",
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
    """The app client settings the runbook manages (UpdateUserPoolClient's names)."""
    client = ctx.params.app_client
    return {
        "ClientName": client.name,
        "RefreshTokenValidity": client.refresh_token_days,
        "AccessTokenValidity": client.access_token_minutes,
        "IdTokenValidity": client.id_token_minutes,
        "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
        "ExplicitAuthFlows": list(client.auth_flows),
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
        # With the operator policy (iam-policy), pools of other stacks cannot be described:
        # a pool we may not read is not ours.
        described = get_or_none(
            cognito.describe_user_pool, UserPoolId=summary["Id"], missing=NOT_FOUND | {"AccessDeniedException"}
        )
        pool = described["UserPool"] if described else {}
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


def name_claims(ctx: Context) -> list[NameClaim]:
    """The hosted-UI prefix is unique per region across every AWS account."""
    cognito, prefix = ctx.client("cognito-idp"), ctx.params.domain_prefix
    domain = cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription", {})
    holder = None
    if domain.get("UserPoolId") and domain.get("Status") != "DELETING":
        pool = get_or_none(
            cognito.describe_user_pool, UserPoolId=domain["UserPoolId"], missing=NOT_FOUND | {"AccessDeniedException"}
        )
        holder = FOREIGN if pool is None else (owner(pool["UserPool"].get("UserPoolTags")) or UNTAGGED)
    return [NameClaim("hosted-UI domain prefix", prefix, holder, "user_pool.domain_prefix")]


# -- drift ------------------------------------------------------------------------


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


def pool_update_request(cognito, pool: dict, managed: dict) -> dict:
    """UpdateUserPool's request: the pool as read, the managed settings laid over it."""
    request = update_request(cognito, "UpdateUserPool", pool, managed, UserPoolId=pool["Id"])
    if "VerificationMessageTemplate" in request:
        for legacy in LEGACY_MESSAGE_FIELDS:
            request.pop(legacy, None)
    if request.get("Policies", {}).get("PasswordPolicy", {}).get("TemporaryPasswordValidityDays") is not None:
        # Cognito refuses the deprecated UnusedAccountValidityDays next to it, although
        # DescribeUserPool returns both ("Please use TemporaryPasswordValidityDays ...").
        request.get("AdminCreateUserConfig", {}).pop("UnusedAccountValidityDays", None)
    return request


def _report_kept(ctx: Context, resource: str, name: str, found: list) -> None:
    for path, value in found:
        ctx.kept(STAGE, resource, name, f"{path} = {_short(value)}")


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- ensure / delete ----------------------------------------------------------------


def ensure_user_pool(ctx: Context, pool: dict | None, client: dict | None) -> dict | None:
    """Pool, domain and app client as the params describe them, given the pool and client
    as found (``find_pool``, ``find_client``; None when missing). Returns the pool (None in
    a plan for a new pool)."""
    cognito = ctx.client("cognito-idp")
    name = ctx.params.user_pool.name
    managed = managed_pool_settings(ctx)
    if pool is None:
        client = None  # a new pool has no client yet
        created = ctx.apply(
            STAGE, "create", "user pool", name, cognito.create_user_pool, **pool_creation_config(ctx), **managed
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
        drift = managed_drift(pool, managed, POOL_DEFAULTS)
        if drift:
            ctx.apply(
                STAGE,
                "update",
                "user pool",
                name,
                cognito.update_user_pool,
                detail=", ".join(drift),
                **pool_update_request(cognito, pool, managed),
            )
        else:
            ctx.unchanged(STAGE, "user pool", name, pool["Id"])
        fitted = fit_to_shape(pool, request_shape(cognito, "UpdateUserPool"))
        _report_kept(ctx, "user pool setting", name, unmanaged_settings(fitted, managed, POOL_FILLED_BY_AWS))
    _ensure_domain(ctx, pool)
    _ensure_client(ctx, pool, client)
    return pool


def _ensure_domain(ctx: Context, pool: dict | None) -> None:
    cognito = ctx.client("cognito-idp")
    prefix = ctx.params.domain_prefix
    current = (pool or {}).get("Domain")
    if current == prefix:
        _converge_domain(ctx, pool, prefix)
        return
    existing = cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription", {})
    if existing.get("Status") == "DELETING" and not ctx.plan:
        _wait_until_deleted(ctx, prefix)  # a teardown moments ago: the prefix is free once it is gone
        existing = {}
    owner = existing.get("UserPoolId")
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
            ManagedLoginVersion=CLASSIC_HOSTED_UI,
        )
    except ClientError as err:
        if error_code(err) == "InvalidParameterException" and "already" in str(err).lower():
            raise StageError(
                f"user_pool.domain_prefix: '{prefix}' is taken (possibly by another AWS customer, or still being "
                "deleted after a teardown: that takes a minute or two); choose another prefix, or re-run shortly"
            ) from None
        raise
    wait_for_domain(ctx, prefix)


def _converge_domain(ctx: Context, pool: dict, prefix: str) -> None:
    """Our domain exists: the hosted-UI version is the managed setting (read-merge-write)."""
    cognito = ctx.client("cognito-idp")
    domain = cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription", {})
    managed = {"ManagedLoginVersion": CLASSIC_HOSTED_UI}
    drift = managed_drift(domain, managed, {"ManagedLoginVersion": CLASSIC_HOSTED_UI})
    if drift:
        request = update_request(cognito, "UpdateUserPoolDomain", domain, managed, Domain=prefix, UserPoolId=pool["Id"])
        ctx.apply(
            STAGE,
            "update",
            "hosted-UI domain",
            prefix,
            cognito.update_user_pool_domain,
            detail=", ".join(drift),
            **request,
        )
    else:
        ctx.unchanged(STAGE, "hosted-UI domain", prefix, domain.get("Status", ""))
    if domain.get("Status", "ACTIVE") != "ACTIVE" or drift:
        wait_for_domain(ctx, prefix)


def wait_for_domain(ctx: Context, prefix: str, timeout: float = DOMAIN_WAIT_SECONDS) -> None:
    """A new or changed domain is CREATING / UPDATING for a while; its hosted UI answers
    only once it is ACTIVE. Wait (bounded), saying what is going on."""
    if ctx.plan:
        return
    cognito = ctx.client("cognito-idp")
    started, delay, status = time.monotonic(), 0.5, ""
    while time.monotonic() - started < timeout:
        status = cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription", {}).get("Status", "")
        if status == "ACTIVE":
            return
        if status == "FAILED":
            raise StageError(f"hosted-UI domain {prefix}: Cognito reports FAILED; delete it in the console and re-run")
        if ctx.progress:
            ctx.progress(
                f"hosted-UI domain {prefix} is {status or 'not visible yet'}; waiting for ACTIVE "
                f"({time.monotonic() - started:.0f} s)"
            )
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
    raise StageError(
        f"hosted-UI domain {prefix}: still {status or 'missing'} after {timeout:.0f} s; re-run this stage later "
        "(nothing is lost: it will find the domain and wait again)"
    )


def _wait_until_deleted(ctx: Context, prefix: str, timeout: float = DOMAIN_WAIT_SECONDS) -> None:
    cognito = ctx.client("cognito-idp")
    started, delay = time.monotonic(), 0.5
    while time.monotonic() - started < timeout:
        if cognito.describe_user_pool_domain(Domain=prefix).get("DomainDescription", {}).get("Status") != "DELETING":
            return
        if ctx.progress:
            ctx.progress(
                f"hosted-UI domain {prefix} is still DELETING (an earlier teardown); waiting to reuse the prefix"
            )
        time.sleep(delay)
        delay = min(delay * 2, 10.0)
    raise StageError(f"user_pool.domain_prefix: '{prefix}' is still being deleted after {timeout:.0f} s; re-run later")


def _ensure_client(ctx: Context, pool: dict | None, client: dict | None) -> None:
    cognito = ctx.client("cognito-idp")
    managed = client_config(ctx)
    if client is None:
        ctx.apply(
            STAGE,
            "create",
            "app client",
            managed["ClientName"],
            cognito.create_user_pool_client,
            UserPoolId=pool["Id"] if pool else "",
            GenerateSecret=False,
            **managed,
        )
        return
    drift = managed_drift(client, managed)
    if drift:
        request = update_request(
            cognito, "UpdateUserPoolClient", client, managed, UserPoolId=pool["Id"], ClientId=client["ClientId"]
        )
        ctx.apply(
            STAGE,
            "update",
            "app client",
            managed["ClientName"],
            cognito.update_user_pool_client,
            detail=", ".join(drift),
            **request,
        )
    else:
        ctx.unchanged(STAGE, "app client", managed["ClientName"], client["ClientId"])
    fitted = fit_to_shape(client, request_shape(cognito, "UpdateUserPoolClient"))
    for identity in ("UserPoolId", "ClientId"):
        fitted.pop(identity, None)
    _report_kept(
        ctx, "app client setting", managed["ClientName"], unmanaged_settings(fitted, managed, CLIENT_FILLED_BY_AWS)
    )


def delete_user_pool(ctx: Context) -> None:
    """Delete our pool (users, groups and clients go with it) and its domain.
    A pool of the same name without our stack tag is not ours and stays."""
    cognito = ctx.client("cognito-idp")
    pool = find_pool(ctx)
    if pool is None:
        return
    if pool.get("DeletionProtection") == "ACTIVE":
        # Teardown was confirmed (on AWS by naming the stack): lift the protection first.
        managed = {"DeletionProtection": "INACTIVE"}
        ctx.apply(
            STAGE,
            "update",
            "user pool",
            pool["Name"],
            cognito.update_user_pool,
            detail="DeletionProtection: ACTIVE -> INACTIVE, to delete it",
            **pool_update_request(cognito, pool, managed),
        )
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

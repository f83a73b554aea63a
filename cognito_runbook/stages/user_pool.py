"""Stage 1: the user pool; its hosted-UI domain (``domain``) and public app client
(``app_client``) are ensured and deleted with it, as one stage.

Console runbook: "Create user pool" (user-name sign-in, no MFA, no self-registration,
Cognito e-mail, hosted UI with a Cognito domain, public client, callback
http://localhost, all auth flows, implicit grant).

Every update is read-merge-write: UpdateUserPool resets each setting it is not sent, so
the request is the settings as read with only the managed fields changed. Settings
someone made outside the runbook (triggers, add-ons, ...) are sent back as they were,
and listed as "kept".
"""

from __future__ import annotations

from ..aws import (
    NOT_FOUND,
    fit_to_shape,
    get_or_none,
    managed_drift,
    owned_by,
    paginate,
    request_shape,
    unmanaged_settings,
    update_request,
)
from ..errors import StageError
from . import app_client, domain
from .common import Context, NameClaim, report_kept

STAGE = "user_pool"

# What Cognito fills in by itself on every pool: not worth listing as "kept".
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
# Legacy copies of VerificationMessageTemplate's fields. DescribeUserPool returns both;
# the template alone is sent back (it carries the same values).
LEGACY_MESSAGE_FIELDS = ("SmsVerificationMessage", "EmailVerificationMessage", "EmailVerificationSubject")


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


def name_claims(ctx: Context) -> list[NameClaim]:
    """Pool names are not unique; the hosted-UI domain prefix is."""
    return domain.name_claims(ctx)


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


# -- ensure / delete ----------------------------------------------------------------


def ensure_user_pool(ctx: Context, pool: dict | None, client: dict | None) -> dict | None:
    """Pool, domain and app client as the params describe them, given the pool and client
    as found (``find_pool``, ``app_client.find_client``; None when missing). Returns the
    pool (None in a plan for a new pool)."""
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
        _converge_pool(ctx, pool, managed)
    domain.ensure_domain(ctx, pool)
    app_client.ensure_client(ctx, pool, client)
    return pool


def _converge_pool(ctx: Context, pool: dict, managed: dict) -> None:
    cognito = ctx.client("cognito-idp")
    name = ctx.params.user_pool.name
    problems = _creation_drift(pool, ctx)
    if problems:
        raise StageError(
            f"user pool {pool['Id']}: "
            + "; ".join(problems)
            + ". Cognito fixes these at creation: change the params back, or tear the stack down and re-run"
        )
    ctx.converge(
        STAGE,
        "user pool",
        name,
        managed_drift(pool, managed, POOL_DEFAULTS),
        cognito.update_user_pool,
        unchanged=pool["Id"],
        **pool_update_request(cognito, pool, managed),
    )
    fitted = fit_to_shape(pool, request_shape(cognito, "UpdateUserPool"))
    report_kept(ctx, STAGE, "user pool setting", name, unmanaged_settings(fitted, managed, POOL_FILLED_BY_AWS))


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
    domain.delete_domain(ctx, pool)
    ctx.apply(
        STAGE, "delete", "user pool", pool["Name"], cognito.delete_user_pool, detail=pool["Id"], UserPoolId=pool["Id"]
    )

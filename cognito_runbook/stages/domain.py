"""Stage 1, the user pool's hosted-UI domain (a Cognito prefix domain).

Console runbook: "Create user pool" (hosted UI with a Cognito domain). Part of the
user-pool stage: ``user_pool.ensure_user_pool`` and ``delete_user_pool`` call it.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..aws import NOT_FOUND, error_code, get_or_none, managed_drift, owner, update_request, wait_until
from ..errors import StageError
from ..params import CLASSIC_HOSTED_UI
from .common import FOREIGN, UNTAGGED, Context, NameClaim

STAGE = "user_pool"  # its changes are the user-pool stage's
DOMAIN_WAIT_SECONDS = 600  # a new prefix domain is usually ACTIVE within a minute or two


def describe_domain(ctx: Context, prefix: str) -> dict:
    """The domain's description ({} when no pool holds the prefix)."""
    return ctx.client("cognito-idp").describe_user_pool_domain(Domain=prefix).get("DomainDescription", {})


def name_claims(ctx: Context) -> list[NameClaim]:
    """The hosted-UI prefix is unique per region across every AWS account."""
    prefix = ctx.params.domain_prefix
    domain = describe_domain(ctx, prefix)
    holder = None
    if domain.get("UserPoolId") and domain.get("Status") != "DELETING":
        pool = get_or_none(
            ctx.client("cognito-idp").describe_user_pool,
            UserPoolId=domain["UserPoolId"],
            missing=NOT_FOUND | {"AccessDeniedException"},
        )
        holder = FOREIGN if pool is None else (owner(pool["UserPool"].get("UserPoolTags")) or UNTAGGED)
    return [NameClaim("hosted-UI domain prefix", prefix, holder, "user_pool.domain_prefix")]


def ensure_domain(ctx: Context, pool: dict | None) -> None:
    """The pool's domain on ``domain_prefix``: kept, converged, or (re)placed and waited for."""
    cognito = ctx.client("cognito-idp")
    prefix = ctx.params.domain_prefix
    current = (pool or {}).get("Domain")
    if current == prefix:
        _converge_domain(ctx, pool, prefix)
        return
    _check_prefix_free(ctx, pool, prefix)
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
    _create_domain(ctx, pool, prefix)
    wait_for_domain(ctx, prefix)


def _check_prefix_free(ctx: Context, pool: dict | None, prefix: str) -> None:
    existing = describe_domain(ctx, prefix)
    if existing.get("Status") == "DELETING" and not ctx.plan:
        _wait_until_deleted(ctx, prefix)  # a teardown moments ago: the prefix is free once it is gone
        existing = {}
    holder = existing.get("UserPoolId")
    if holder and (pool is None or holder != pool["Id"]):
        raise StageError(
            f"user_pool.domain_prefix: '{prefix}' is already used by user pool {holder}; prefixes are unique per region across all AWS accounts, so choose another"
        )


def _create_domain(ctx: Context, pool: dict | None, prefix: str) -> None:
    try:
        ctx.apply(
            STAGE,
            "create",
            "hosted-UI domain",
            prefix,
            ctx.client("cognito-idp").create_user_pool_domain,
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


def _converge_domain(ctx: Context, pool: dict, prefix: str) -> None:
    """Our domain exists: the hosted-UI version is the managed setting (read-merge-write)."""
    cognito = ctx.client("cognito-idp")
    domain = describe_domain(ctx, prefix)
    managed = {"ManagedLoginVersion": CLASSIC_HOSTED_UI}
    drift = managed_drift(domain, managed, {"ManagedLoginVersion": CLASSIC_HOSTED_UI})
    request = update_request(cognito, "UpdateUserPoolDomain", domain, managed, Domain=prefix, UserPoolId=pool["Id"])
    changed = ctx.converge(
        STAGE,
        "hosted-UI domain",
        prefix,
        drift,
        cognito.update_user_pool_domain,
        unchanged=domain.get("Status", ""),
        **request,
    )
    if domain.get("Status", "ACTIVE") != "ACTIVE" or changed:
        wait_for_domain(ctx, prefix)


def wait_for_domain(ctx: Context, prefix: str, timeout: float = DOMAIN_WAIT_SECONDS) -> None:
    """A new or changed domain is CREATING / UPDATING for a while; its hosted UI answers
    only once it is ACTIVE. Wait (bounded), saying what is going on."""
    if ctx.plan:
        return

    def status() -> str:
        found = describe_domain(ctx, prefix).get("Status", "")
        if found == "FAILED":
            raise StageError(f"hosted-UI domain {prefix}: Cognito reports FAILED; delete it in the console and re-run")
        return found

    def waiting(found: str, elapsed: float) -> None:
        if ctx.progress:
            ctx.progress(
                f"hosted-UI domain {prefix} is {found or 'not visible yet'}; waiting for ACTIVE ({elapsed:.0f} s)"
            )

    wait_until(
        status,
        done=lambda found: found == "ACTIVE",
        waiting=waiting,
        timeout=timeout,
        max_delay=10.0,
        timed_out=lambda found: StageError(
            f"hosted-UI domain {prefix}: still {found or 'missing'} after {timeout:.0f} s; re-run this stage later "
            "(nothing is lost: it will find the domain and wait again)"
        ),
    )


def _wait_until_deleted(ctx: Context, prefix: str, timeout: float = DOMAIN_WAIT_SECONDS) -> None:
    def waiting(_status: str, _elapsed: float) -> None:
        if ctx.progress:
            ctx.progress(
                f"hosted-UI domain {prefix} is still DELETING (an earlier teardown); waiting to reuse the prefix"
            )

    wait_until(
        lambda: describe_domain(ctx, prefix).get("Status"),
        done=lambda status: status != "DELETING",
        waiting=waiting,
        timeout=timeout,
        max_delay=10.0,
        timed_out=lambda _status: StageError(
            f"user_pool.domain_prefix: '{prefix}' is still being deleted after {timeout:.0f} s; re-run later"
        ),
    )


def delete_domain(ctx: Context, pool: dict) -> None:
    """Delete the pool's domain, if it has one: Cognito refuses to delete a pool that has one."""
    if pool.get("Domain"):
        ctx.apply(
            STAGE,
            "delete",
            "hosted-UI domain",
            pool["Domain"],
            ctx.client("cognito-idp").delete_user_pool_domain,
            Domain=pool["Domain"],
            UserPoolId=pool["Id"],
        )

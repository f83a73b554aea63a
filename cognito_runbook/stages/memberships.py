"""Stage 4: which user is in which group.

Adds what the params list and removes memberships the params no longer list, but only
between users *and* groups this stack manages: a group someone added by hand to a
user we do not manage is left alone.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..aws import error_code, error_message, paginate
from ..errors import StageError
from .common import Context, sign_in_name

STAGE = "memberships"


def ensure_memberships(ctx: Context, pool: dict | None) -> None:
    try:
        _ensure(ctx, pool)
    except ClientError as err:
        code = error_code(err)
        if code in ("ResourceNotFoundException", "UserNotFoundException"):
            what = "a group" if code == "ResourceNotFoundException" else "a user"
            raise StageError(
                f"memberships: {what} of the params does not exist in the pool yet ({error_message(err)}); "
                "run the users and groups stages (notebooks 02 and 03) first"
            ) from None
        raise


def _ensure(ctx: Context, pool: dict | None) -> None:
    cognito = ctx.client("cognito-idp")
    fold = (lambda s: s) if ctx.params.user_pool.case_sensitive_usernames else str.lower
    managed_users = {fold(u.name): u.name for u in ctx.params.users}

    def converge(group) -> None:
        wanted = {fold(user) for user, groups in ctx.params.memberships.items() if group.name in groups}
        members = set()
        if pool and not _group_missing(ctx, group.name):
            members = {fold(u) for u in group_members(ctx, pool["Id"], group.name)}
        for user in sorted(wanted - members):
            ctx.apply(
                STAGE,
                "create",
                "membership",
                f"{managed_users[user]} -> {group.name}",
                cognito.admin_add_user_to_group if pool else None,
                UserPoolId=pool["Id"] if pool else "",
                Username=managed_users[user],
                GroupName=group.name,
            )
        for user in sorted((members & managed_users.keys()) - wanted):
            ctx.apply(
                STAGE,
                "delete",
                "membership",
                f"{managed_users[user]} -> {group.name}",
                cognito.admin_remove_user_from_group,
                UserPoolId=pool["Id"],
                Username=managed_users[user],
                GroupName=group.name,
            )
        for user in sorted(wanted & members):
            ctx.unchanged(STAGE, "membership", f"{managed_users[user]} -> {group.name}")

    ctx.each(list(ctx.params.groups), converge, "memberships (by group)")


def group_members(ctx: Context, pool_id: str, group: str) -> list[str]:
    """Sign-in names of the group's members (one paginated listing)."""
    listing = paginate(ctx.client("cognito-idp"), "list_users_in_group", "Users", UserPoolId=pool_id, GroupName=group)
    return [sign_in_name(ctx, u) for u in listing]


def pool_memberships(ctx: Context, pool_id: str, groups: list[str]) -> dict[str, list[str]]:
    """Each user's groups among ``groups`` (groups that exist in the pool), as Cognito reports them to Db2."""
    current: dict[str, list[str]] = {}
    for group in groups:
        for user in group_members(ctx, pool_id, group):
            current.setdefault(user, []).append(group)
    return current


def _group_missing(ctx: Context, group: str) -> bool:
    # In a plan, groups the groups stage "would create" do not exist yet.
    return any(c.stage == "groups" and c.action == "create" and c.name == group for c in ctx.changes) and ctx.plan

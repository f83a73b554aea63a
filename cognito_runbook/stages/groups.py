"""Stage 3: groups, named exactly as the Db2 groups they stand for.

The Db2 group plugin asks Cognito for a user's groups (AdminListGroupsForUser) and
uses the names as Db2 group names, so ``DB2ADMIN`` here is ``DB2ADMIN`` in
``GRANT ... TO GROUP``.
"""

from __future__ import annotations

from ..aws import managed_drift, paginate, update_request
from .common import Context, sign_in_name

STAGE = "groups"


def pool_groups(ctx: Context, pool_id: str) -> dict[str, dict]:
    """All groups of the pool by name."""
    return {g["GroupName"]: g for g in paginate(ctx.client("cognito-idp"), "list_groups", "Groups", UserPoolId=pool_id)}


def ensure_groups(ctx: Context, pool: dict | None) -> None:
    cognito = ctx.client("cognito-idp")
    existing = pool_groups(ctx, pool["Id"]) if pool else {}
    for group in ctx.params.groups:
        want = {"Description": group.description}
        if group.precedence is not None:
            want["Precedence"] = group.precedence
        have = existing.get(group.name)
        if have is None:
            ctx.apply(
                STAGE,
                "create",
                "group",
                group.name,
                cognito.create_group if pool else None,
                UserPoolId=pool["Id"] if pool else "",
                GroupName=group.name,
                **want,
            )
        else:
            # UpdateGroup resets what it is not sent (a group's IAM role, say): send it back as read.
            request = update_request(cognito, "UpdateGroup", have, want, UserPoolId=pool["Id"], GroupName=group.name)
            drift = managed_drift(have, want, {"Description": ""})
            ctx.converge(STAGE, "group", group.name, drift, cognito.update_group, **request)
    if pool and ctx.params.prune:
        _prune(ctx, pool, existing)


def _prune(ctx: Context, pool: dict, existing: dict[str, dict]) -> None:
    """``prune: true``: delete the pool's groups the params do not list (Db2 then no longer
    sees them for any user). Each row names the members who lose the group."""
    cognito = ctx.client("cognito-idp")
    listed = {g.name for g in ctx.params.groups}
    for name in sorted(set(existing) - listed):
        members = paginate(cognito, "list_users_in_group", "Users", UserPoolId=pool["Id"], GroupName=name)
        who = f"; members: {', '.join(sorted(sign_in_name(ctx, u) for u in members))}" if members else ""
        ctx.apply(
            STAGE,
            "delete",
            "group",
            name,
            cognito.delete_group,
            detail=f"not in the params (prune: true){who}",
            UserPoolId=pool["Id"],
            GroupName=name,
        )

"""Stage 2: users with permanent passwords, CONFIRMED.

Console runbook: "Create user", then ``aws cognito-idp admin-set-user-password
--permanent`` so the user is CONFIRMED instead of FORCE_CHANGE_PASSWORD (Db2 clients
cannot answer a new-password challenge).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from .. import sign_ins
from ..aws import error_code, error_message, owner, paginate
from ..errors import StageError, UsageError
from ..passwords import (
    PasswordStore,
    delete_secret,
    delete_stack_secrets,
    foreign_secrets,
    generate_password,
    owned_secrets,
    secret_name,
)
from ..sign_ins import LOST_PASSWORD_FIX
from .common import UNTAGGED, Context, NameClaim, sign_in_name

STAGE = "users"
ROTATE = "rotate"  # what rotation's changes are recorded under


def pool_users(ctx: Context, pool_id: str) -> dict[str, dict]:
    """All users of the pool by user name, in one paginated listing (no per-user reads)."""
    users = paginate(ctx.client("cognito-idp"), "list_users", "Users", UserPoolId=pool_id)
    return {user_key(ctx, sign_in_name(ctx, u)): u for u in users}


def user_key(ctx: Context, name: str) -> str:
    return name if ctx.params.user_pool.case_sensitive_usernames else name.lower()


def _email(user: dict) -> str | None:
    return next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "email"), None)


def ensure_users(ctx: Context, pool: dict | None, client_id: str | None = None) -> None:
    """Every params user CONFIRMED, with its e-mail and enabled state; with ``prune: true``
    the pool's other users deleted. ``client_id`` is needed only with ``ctx.reset_passwords``."""
    store = PasswordStore(ctx, stage=STAGE)
    existing = pool_users(ctx, pool["Id"]) if pool else {}
    if any(u.password.generated for u in ctx.params.users):
        store.has_secret("")  # the stack's secrets, listed once before the workers start

    def ensure(indexed) -> None:
        index, user = indexed
        have = existing.get(user_key(ctx, user.name))
        if have is None:
            _create(ctx, pool, user, index, store)
        else:
            _converge(ctx, pool, user, index, have, store, client_id)
        if have is not None and user.password.generated and not store.has_secret(user.name):
            ctx.missing(
                STAGE,
                "secret",
                secret_name(ctx.stack, user.name),
                f"{user.name}'s generated password is lost: nothing can get tokens for the user. {LOST_PASSWORD_FIX}",
            )

    ctx.each(list(enumerate(ctx.params.users)), ensure, "users")
    if pool and ctx.params.prune:
        _prune(ctx, pool, existing)
    if pool and not ctx.plan and any(c.is_change for c in ctx.changes_of(STAGE)):
        _check_confirmed(ctx, pool["Id"])


def _converge(ctx: Context, pool: dict, user, index: int, have: dict, store: PasswordStore, client_id) -> None:
    cognito = ctx.client("cognito-idp")
    changed = True
    if have["UserStatus"] != "CONFIRMED":
        # An interrupted run left the user with a temporary password: finish the job.
        _set_password(ctx, pool, user, index, store, f"{have['UserStatus']} -> CONFIRMED")
    elif ctx.reset_passwords and password_check(ctx, pool, user, store, client_id).outcome is sign_ins.Outcome.FAILED:
        _set_password(
            ctx, pool, user, index, store, f"the password from '{user.password}' no longer signs in: set again"
        )
    else:
        changed = False
    if user.email and _email(have) != user.email:
        changed = True
        _call(
            ctx,
            index,
            user.name,
            "update",
            cognito.admin_update_user_attributes,
            detail="email",
            UserPoolId=pool["Id"],
            Username=user.name,
            UserAttributes=[{"Name": "email", "Value": user.email}, {"Name": "email_verified", "Value": "true"}],
        )
    if have.get("Enabled", True) != user.enabled:
        changed = True
        _set_enabled(ctx, pool, user.name, user.enabled)
    if not changed:
        ctx.unchanged(STAGE, "user", user.name, "CONFIRMED" + ("" if user.enabled else ", disabled"))


def _set_password(ctx: Context, pool: dict, user, index: int, store: PasswordStore, detail: str) -> None:
    password = None if ctx.plan else store.resolve(user, index)
    _call(
        ctx,
        index,
        user.name,
        "update",
        ctx.client("cognito-idp").admin_set_user_password,
        detail=detail,
        UserPoolId=pool["Id"],
        Username=user.name,
        Password=password,
        Permanent=True,
    )


def _set_enabled(ctx: Context, pool: dict, name: str, enabled: bool) -> None:
    """AdminDisableUser: the user can no longer sign in (GET /token answers 401) and Cognito
    revokes the user's tokens for its own APIs; tokens already issued stay valid for Db2,
    which checks them offline, until they expire."""
    cognito = ctx.client("cognito-idp")
    call = cognito.admin_enable_user if enabled else cognito.admin_disable_user
    detail = "disabled -> enabled" if enabled else "enabled -> disabled (enabled: false)"
    ctx.apply(STAGE, "update", "user", name, call, detail=detail, UserPoolId=pool["Id"], Username=name)


def password_check(ctx: Context, pool: dict, user, store: PasswordStore, client_id: str | None) -> sign_ins.SignIn:
    """``--reset-passwords``' verdict on a CONFIRMED user: whether the password the runbook has
    still signs in (it may have been changed outside, or its env variable may now hold a new
    one). One AdminInitiateAuth, classified by ``sign_ins`` as every sign-in is: ``failed``
    means the password no longer signs in and is set again from its source."""
    return sign_ins.check_password(ctx, pool["Id"], client_id, user, store)


def _prune(ctx: Context, pool: dict, existing: dict[str, dict]) -> None:
    """``prune: true``: delete the pool's users the params do not list. Each row names the
    groups the user leaves; a generated password this stack kept for the user goes too."""
    cognito = ctx.client("cognito-idp")
    listed = {user_key(ctx, u.name) for u in ctx.params.users}
    ours = owned_secrets(ctx)
    for key in sorted(set(existing) - listed):
        have = existing[key]
        name = sign_in_name(ctx, have)
        groups = paginate(
            cognito, "admin_list_groups_for_user", "Groups", UserPoolId=pool["Id"], Username=have["Username"]
        )
        leaves = f"; leaves {', '.join(sorted(g['GroupName'] for g in groups))}" if groups else ""
        ctx.apply(
            STAGE,
            "delete",
            "user",
            name,
            cognito.admin_delete_user,
            detail=f"not in the params (prune: true){leaves}",
            UserPoolId=pool["Id"],
            Username=have["Username"],
        )
        secret = ours.get(secret_name(ctx.stack, name))
        if secret is not None:
            delete_secret(ctx, STAGE, secret)


def _create(ctx: Context, pool: dict | None, user, index: int, store: PasswordStore) -> None:
    cognito = ctx.client("cognito-idp")
    if pool is None or ctx.plan:  # a plan needs no password: nothing is created
        ctx.apply(STAGE, "create", "user", user.name, detail="" if user.enabled else "disabled (enabled: false)")
        return
    password = store.resolve(user, index)
    email = user.email or (user.name if ctx.params.user_pool.sign_in == "email" else None)
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}] if email else []
    try:
        ctx.apply(
            STAGE,
            "create",
            "user",
            user.name,
            cognito.admin_create_user,
            UserPoolId=pool["Id"],
            Username=user.name,
            UserAttributes=attributes,
            TemporaryPassword=password,
            MessageAction="SUPPRESS",
        )
    except ClientError as err:
        raise _user_error(err, index, user.name) from None
    try:
        cognito.admin_set_user_password(UserPoolId=pool["Id"], Username=user.name, Password=password, Permanent=True)
    except ClientError as err:
        # Leave nothing half-made: a user who can never sign in is worse than none.
        cognito.admin_delete_user(UserPoolId=pool["Id"], Username=user.name)
        raise _user_error(err, index, user.name) from None
    if not user.enabled:
        _set_enabled(ctx, pool, user.name, False)


def _call(ctx: Context, index: int, name: str, action: str, call, detail: str = "", **kwargs):
    try:
        return ctx.apply(STAGE, action, "user", name, call, detail=detail, **kwargs)
    except ClientError as err:
        raise _user_error(err, index, name) from None


def _user_error(err: ClientError, index: int, name: str) -> StageError:
    code, message = error_code(err), error_message(err)
    if code == "InvalidPasswordException":
        return StageError(
            f"users[{index}].password: the pool rejected the password for '{name}' ({message}); choose one that meets the policy. The user was not created"
        )
    if code in ("UsernameExistsException", "AliasExistsException"):
        return StageError(
            f"users[{index}].name: '{name}' already exists in the pool under another case or as an alias; rename it"
        )
    return StageError(f"users[{index}]: creating '{name}' failed: {code}: {message}")


def _check_confirmed(ctx: Context, pool_id: str) -> None:
    users = pool_users(ctx, pool_id)
    wanted = {user_key(ctx, u.name) for u in ctx.params.users}
    stuck = sorted(k for k, u in users.items() if k in wanted and u["UserStatus"] != "CONFIRMED")
    if stuck:
        raise StageError(
            f"users: {', '.join(stuck)} not CONFIRMED after setting a permanent password; re-run this stage"
        )


def name_claims(ctx: Context) -> list[NameClaim]:
    """Generated passwords are kept as secrets named after the stack."""
    foreign = foreign_secrets(ctx)
    if not foreign:
        return [NameClaim("secrets", f"{secret_name(ctx.stack, '')}*", None, "stack")]
    return [NameClaim("secret", s["Name"], owner(s.get("Tags")) or UNTAGGED, "stack") for s in foreign]


def delete_user_secrets(ctx: Context) -> None:
    """Teardown: the stack's generated passwords (the password store deletes them)."""
    delete_stack_secrets(ctx, STAGE)


# -- rotation ---------------------------------------------------------------------------


def users_to_rotate(ctx: Context, names: list[str] | None) -> list:
    """The params users to rotate (all generated ones when ``names`` is empty). Refuses,
    before any change, names the params do not list and passwords the runbook does not keep."""
    by_name = {u.name: u for u in ctx.params.users}
    unknown = [n for n in names or [] if n not in by_name]
    if unknown:
        raise UsageError(f"rotate: no user {', '.join(unknown)} in the params; users are {', '.join(by_name)}")
    chosen = [by_name[n] for n in names] if names else [u for u in ctx.params.users if u.password.generated]
    kept_elsewhere = [u for u in chosen if not u.password.generated]
    if kept_elsewhere:
        lines = "\n".join(
            f"  - {u.name}: its password comes from '{u.password}'; "
            + (
                f"put the new one in {u.password.var} and run with --reset-passwords"
                if u.password.kind == "env"
                else "type the new one in the users form (notebook 02) and run it with reset_passwords = True"
            )
            for u in kept_elsewhere
        )
        raise UsageError(f"rotate: the runbook only rotates generated passwords (nothing was changed):\n{lines}")
    if not chosen:
        raise UsageError("rotate: no params user has a generated password (password: generate)")
    return chosen


def rotate_passwords(ctx: Context, pool: dict, users: list) -> list[str]:
    """A new generated password for each user: stored in Secrets Manager first (the old one
    stays there as AWSPREVIOUS, and is put back if Cognito refuses the new one), set
    permanent in Cognito, then the user's refresh tokens revoked (AdminUserGlobalSignOut).
    ``users``: as ``users_to_rotate`` chose them. Returns the users rotated."""
    existing = pool_users(ctx, pool["Id"])
    absent = [u.name for u in users if user_key(ctx, u.name) not in existing]
    if absent:
        raise StageError(f"rotate: {', '.join(absent)} not in the pool yet; run the users stage (notebook 02) first")
    store = PasswordStore(ctx, stage=ROTATE)
    cognito = ctx.client("cognito-idp")
    for user in users:
        old = None if ctx.plan else store.existing(user)
        if not ctx.plan and old is None:
            raise StageError(
                f"rotate: {user.name}'s secret {secret_name(ctx.stack, user.name)} is missing. {LOST_PASSWORD_FIX}"
            )
        new = generate_password(ctx.params.user_pool.password_policy)
        store.replace(user.name, new, "new generated password")
        try:
            ctx.apply(
                ROTATE,
                "update",
                "password",
                user.name,
                cognito.admin_set_user_password,
                detail="set permanent",
                UserPoolId=pool["Id"],
                Username=user.name,
                Password=new,
                Permanent=True,
            )
        except ClientError as err:
            store.replace(user.name, old, "put back: Cognito refused the new password")
            raise StageError(
                f"rotate: {user.name}: {error_code(err)}: {error_message(err)}; the old password still works"
            ) from None
        ctx.apply(
            ROTATE,
            "update",
            "refresh tokens",
            user.name,
            cognito.admin_user_global_sign_out,
            detail="revoked (AdminUserGlobalSignOut)",
            UserPoolId=pool["Id"],
            Username=user.name,
        )
    return [u.name for u in users]

"""Stage 2: users with permanent passwords, CONFIRMED.

Console runbook: "Create user", then ``aws cognito-idp admin-set-user-password
--permanent`` so the user is CONFIRMED instead of FORCE_CHANGE_PASSWORD (Db2 clients
cannot answer a new-password challenge).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..aws import error_code, error_message, owned_by, owner, paginate
from ..errors import StageError
from ..passwords import PasswordStore, secret_name, stack_secrets
from .common import UNTAGGED, Context, NameClaim, sign_in_name

STAGE = "users"
LOST_PASSWORD_FIX = (
    "Delete the user in the pool (the next run recreates it with a new generated password), or set a new "
    "password with `aws cognito-idp admin-set-user-password --permanent` and store it in the user's secret"
)


def pool_users(ctx: Context, pool_id: str) -> dict[str, dict]:
    """All users of the pool by user name, in one paginated listing (no per-user reads)."""
    users = paginate(ctx.client("cognito-idp"), "list_users", "Users", UserPoolId=pool_id)
    return {_key(ctx, sign_in_name(ctx, u)): u for u in users}


def _key(ctx: Context, name: str) -> str:
    return name if ctx.params.user_pool.case_sensitive_usernames else name.lower()


def _email(user: dict) -> str | None:
    return next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "email"), None)


def ensure_users(ctx: Context, pool: dict | None) -> None:
    store = PasswordStore(ctx, stage=STAGE)
    existing = pool_users(ctx, pool["Id"]) if pool else {}
    for index, user in enumerate(ctx.params.users):
        have = existing.get(_key(ctx, user.name))
        if have is None:
            _create(ctx, pool, user, index, store)
        elif have["UserStatus"] != "CONFIRMED":
            # An interrupted run left the user with a temporary password: finish the job.
            password = None if ctx.plan else store.resolve(user, index)
            _call(
                ctx,
                index,
                user.name,
                "update",
                ctx.client("cognito-idp").admin_set_user_password,
                detail=f"{have['UserStatus']} -> CONFIRMED",
                UserPoolId=pool["Id"],
                Username=user.name,
                Password=password,
                Permanent=True,
            )
        elif user.email and _email(have) != user.email:
            _call(
                ctx,
                index,
                user.name,
                "update",
                ctx.client("cognito-idp").admin_update_user_attributes,
                detail="email",
                UserPoolId=pool["Id"],
                Username=user.name,
                UserAttributes=[{"Name": "email", "Value": user.email}, {"Name": "email_verified", "Value": "true"}],
            )
        else:
            ctx.unchanged(STAGE, "user", user.name, "CONFIRMED")
        if have is not None and user.password == "generate" and not store.has_secret(user.name):
            ctx.missing(
                STAGE,
                "secret",
                secret_name(ctx.stack, user.name),
                f"{user.name}'s generated password is lost: nothing can get tokens for the user. {LOST_PASSWORD_FIX}",
            )
    if pool and not ctx.plan and any(c.is_change for c in ctx.changes_of(STAGE)):
        _check_confirmed(ctx, pool["Id"])


def _create(ctx: Context, pool: dict | None, user, index: int, store: PasswordStore) -> None:
    cognito = ctx.client("cognito-idp")
    if pool is None or ctx.plan:  # a plan needs no password: nothing is created
        ctx.apply(STAGE, "create", "user", user.name)
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
    wanted = {_key(ctx, u.name) for u in ctx.params.users}
    stuck = sorted(k for k, u in users.items() if k in wanted and u["UserStatus"] != "CONFIRMED")
    if stuck:
        raise StageError(
            f"users: {', '.join(stuck)} not CONFIRMED after setting a permanent password; re-run this stage"
        )


def name_claims(ctx: Context) -> list[NameClaim]:
    """Generated passwords are kept as secrets named after the stack."""
    prefix = secret_name(ctx.stack, "")
    foreign = [s for s in stack_secrets(ctx) if not owned_by(s.get("Tags"), ctx.stack)]
    if not foreign:
        return [NameClaim("secrets", f"{prefix}*", None, "stack")]
    return [NameClaim("secret", s["Name"], owner(s.get("Tags")) or UNTAGGED, "stack") for s in foreign]


def delete_user_secrets(ctx: Context) -> None:
    """Generated passwords live in Secrets Manager; remove the ones this stack made."""
    secrets = ctx.client("secretsmanager")
    for secret in stack_secrets(ctx):
        if owned_by(secret.get("Tags"), ctx.stack):
            ctx.apply(
                STAGE,
                "delete",
                "secret",
                secret["Name"],
                secrets.delete_secret,
                SecretId=secret["ARN"],
                ForceDeleteWithoutRecovery=True,
            )

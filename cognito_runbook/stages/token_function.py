"""Stage 5: the generateToken Lambda function and its least-privilege role.

Console runbook: "Create function" (Python), paste the code, set CLIENT_ID and
USER_POOL_ID, then add an inline policy allowing cognito-idp:AdminInitiateAuth on
the pool ARN. Here the code is the package's ``lambda_src/generate_token.py``, zipped
byte-for-byte reproducibly so an unchanged handler never causes an update.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

from botocore.exceptions import ClientError

from ..aws import STACK_TAG, error_code, get_or_none, owned_by, owner, retry_while, tag_list
from ..errors import StageError
from .common import UNTAGGED, Context, NameClaim

STAGE = "token_function"
HANDLER_SOURCE = Path(__file__).resolve().parent.parent / "lambda_src" / "generate_token.py"
HANDLER = "generate_token.lambda_handler"
ROLE_READY_ATTEMPTS = 10  # about a minute and a half of back-off for IAM propagation
INLINE_POLICY = "cognito-admin-initiate-auth"
SIGN_IN_ACTION = "cognito-idp:AdminInitiateAuth"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def role_name(ctx: Context) -> str:
    return role_name_for(ctx.stack, ctx.params.token_function.name)


def role_name_for(stack: str, function: str) -> str:
    """The function's role: the function's name, prefixed with the stack unless it already is
    (role names are unique per account)."""
    return (function if function.startswith(f"{stack}-") else f"{stack}-{function}")[:64]


def role_policy(ctx: Context, pool_arn: str) -> dict:
    """AdminInitiateAuth on this one pool, and writing the function's own logs. Nothing else
    (AWSLambdaBasicExecutionRole would allow writing to every log group in the account)."""
    sign_in = {"Sid": "SignInToThisPool", "Effect": "Allow", "Action": [SIGN_IN_ACTION], "Resource": pool_arn}
    return {
        "Version": "2012-10-17",
        "Statement": [sign_in, *_own_logs(ctx.backend.region, ctx.backend.account_id, ctx.params.token_function.name)],
    }


def boundary_name_for(stack: str) -> str:
    return f"cognito-runbook-{stack}-function-boundary"


def boundary_arn_for(account: str, stack: str) -> str:
    return f"arn:aws:iam::{account}:policy/{boundary_name_for(stack)}"


def boundary_policy(region: str, account: str, stack: str, function: str) -> dict:
    """The role's permissions boundary: the most the function may ever do, whatever its
    inline policy says (effective rights are their intersection). Signing in to this
    stack's pools (by their stack tag: the pool's ID is not known before it exists) and
    writing the function's own logs. An administrator creates it once; the operator may
    create and change the role only with it, and never change it.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
    sign_in = {
        "Sid": "SignInToThisStacksPools",
        "Effect": "Allow",
        "Action": [SIGN_IN_ACTION],
        "Resource": f"arn:aws:cognito-idp:{region}:{account}:userpool/*",
        "Condition": {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack}},
    }
    return {"Version": "2012-10-17", "Statement": [sign_in, *_own_logs(region, account, function)]}


def _own_logs(region: str, account: str, function: str) -> list[dict]:
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function}"
    return [
        {"Sid": "CreateOwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": log_group},
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group}:*",
        },
    ]


def deployment_zip() -> bytes:
    """The handler as a zip with fixed timestamps and modes: same source, same bytes."""
    source = HANDLER_SOURCE.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as bundle:
        info = zipfile.ZipInfo("generate_token.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        bundle.writestr(info, source)
    return buffer.getvalue()


def code_sha256(blob: bytes) -> str:
    return base64.b64encode(hashlib.sha256(blob).digest()).decode()


def policy_document(raw) -> dict:
    # IAM returns documents URL-encoded JSON strings through some SDK paths, dicts through boto3.
    if isinstance(raw, str):
        from urllib.parse import unquote

        return json.loads(unquote(raw))
    return raw


# -- look-ups ----------------------------------------------------------------------


def find_function(ctx: Context, ours_only: bool = False) -> dict | None:
    """``GetFunction`` of the configured name (configuration and tags), or None.
    ``ours_only``: None as well when the function carries another stack's tag (or none)."""
    fn = get_or_none(ctx.client("lambda").get_function, FunctionName=ctx.params.token_function.name)
    if fn is not None and ours_only and not owned_by(fn.get("Tags"), ctx.stack):
        return None  # same name, not ours: never wire it to our API
    return fn


def find_role(ctx: Context) -> dict | None:
    found = get_or_none(ctx.client("iam").get_role, RoleName=role_name(ctx))
    return found["Role"] if found else None


def describe_inline_policy(ctx: Context) -> dict:
    """The role's inline policy as IAM holds it (not as the params say it should be); {} if none."""
    found = get_or_none(ctx.client("iam").get_role_policy, RoleName=role_name(ctx), PolicyName=INLINE_POLICY)
    return policy_document(found["PolicyDocument"]) if found else {}


def name_claims(ctx: Context) -> list[NameClaim]:
    """The function's and its role's names are unique per account (and region)."""
    claims = []
    fn = find_function(ctx)
    holder = (owner(fn.get("Tags")) or UNTAGGED) if fn else None
    claims.append(NameClaim("Lambda function", ctx.params.token_function.name, holder, "token_function.name"))
    role = find_role(ctx)
    tags = ctx.client("iam").list_role_tags(RoleName=role_name(ctx)).get("Tags", []) if role else None
    holder = (owner(tags) or UNTAGGED) if role else None
    claims.append(NameClaim("IAM role", role_name(ctx), holder, "token_function.name (the role is named after it)"))
    return claims


# -- ensure --------------------------------------------------------------------------


def ensure_role(ctx: Context, pool: dict | None, role: dict | None, policy: dict | None) -> str | None:
    iam = ctx.client("iam")
    name = role_name(ctx)
    boundary = boundary_arn_for(ctx.backend.account_id, ctx.stack)
    if role is None:
        _require_boundary(ctx, boundary)
        created = ctx.apply(
            STAGE,
            "create",
            "IAM role",
            name,
            iam.create_role,
            RoleName=name,
            Tags=tag_list(ctx.tags),
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description=f"generateToken for cognito-runbook stack {ctx.stack}",
            PermissionsBoundary=boundary,
        )
        arn = created["Role"]["Arn"] if created else None
    else:
        role_tags = iam.list_role_tags(RoleName=name).get("Tags", [])
        if not owned_by(role_tags, ctx.stack):
            raise StageError(
                f"IAM role {name} exists but was not made by stack {ctx.stack}{_made_by(role_tags)}; "
                "rename the stack or delete that role"
            )
        trust_changed = _ensure_trust(ctx, role)
        if not _ensure_boundary(ctx, role, boundary) and not trust_changed:
            ctx.unchanged(STAGE, "IAM role", name)
        arn = role["Arn"]
    _ensure_inline_policy(ctx, pool, (policy or None) if role else None)  # a new role has no policy yet
    return arn


def _ensure_trust(ctx: Context, role: dict) -> bool:
    """Lambda may assume the role, and nothing else may (changed by hand: put back)."""
    if policy_document(role["AssumeRolePolicyDocument"]) == TRUST_POLICY:
        return False
    update = ctx.client("iam").update_assume_role_policy
    _update_role(ctx, role, "trust policy", update, PolicyDocument=json.dumps(TRUST_POLICY))
    return True


def _ensure_boundary(ctx: Context, role: dict, boundary: str) -> bool:
    """The role carries the stack's permissions boundary (a role made before boundaries, or
    one whose boundary was removed by hand, gets it back; the operator may set no other)."""
    if (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") == boundary:
        return False
    _require_boundary(ctx, boundary)
    update = ctx.client("iam").put_role_permissions_boundary
    _update_role(ctx, role, "permissions boundary", update, PermissionsBoundary=boundary)
    return True


def _update_role(ctx: Context, role: dict, detail: str, call, **request) -> None:
    name = role["RoleName"]
    ctx.apply(STAGE, "update", "IAM role", name, call, detail=detail, RoleName=name, **request)


def _require_boundary(ctx: Context, boundary: str) -> None:
    """The boundary policy is an administrator's one-time set-up: say so before IAM refuses."""
    if get_or_none(ctx.client("iam").get_policy, PolicyArn=boundary) is None:
        raise StageError(
            f"the permissions boundary {boundary} does not exist; the function's role is created only "
            f"within it. An administrator creates it once for stack {ctx.stack}: "
            "`cognito-runbook iam-policy <params file> --admin-setup` prints the policy and the command"
        )


def _ensure_inline_policy(ctx: Context, pool: dict | None, have: dict | None) -> None:
    iam = ctx.client("iam")
    name = role_name(ctx)
    want = role_policy(ctx, pool["Arn"] if pool else "arn:aws:cognito-idp:(pool to be created)")
    if have == want:
        ctx.unchanged(STAGE, "inline policy", INLINE_POLICY)
        return
    ctx.apply(
        STAGE,
        "create" if have is None else "update",
        "inline policy",
        INLINE_POLICY,
        iam.put_role_policy,
        RoleName=name,
        PolicyName=INLINE_POLICY,
        PolicyDocument=json.dumps(want),
    )


def function_config(ctx: Context, pool: dict | None, client_id: str | None, role_arn: str | None) -> dict:
    fn = ctx.params.token_function
    return {
        "FunctionName": fn.name,
        "Runtime": fn.runtime,
        "Role": role_arn or "",
        "Handler": HANDLER,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory_mb,
        "Environment": {
            "Variables": {
                "USER_POOL_ID": pool["Id"] if pool else "",
                "CLIENT_ID": client_id or "",
                "RETURN_REFRESH_TOKEN": "true" if ctx.params.token_api.return_refresh_token else "false",
            }
        },
    }


def _create_when_role_ready(ctx: Context, lam, request: dict) -> dict:
    """CreateFunction, retried while IAM has not yet propagated the new role (bounded)."""

    def attempt():
        return lam.create_function(**request)

    try:
        return retry_while(_role_not_ready_and_say_so(ctx), attempt, attempts=ROLE_READY_ATTEMPTS, delay=1.0)
    except ClientError as err:
        if not _role_not_ready(err):
            raise
        raise StageError(
            f"token_function: Lambda still cannot assume role {role_name(ctx)} after about "
            f"{sum(1.5**i for i in range(ROLE_READY_ATTEMPTS - 1)):.0f} s. IAM usually needs seconds; check that the "
            "role's trust policy allows lambda.amazonaws.com, then re-run this stage"
        ) from None


def _role_not_ready_and_say_so(ctx: Context):
    def predicate(err: ClientError) -> bool:
        if _role_not_ready(err):
            if ctx.progress:
                ctx.progress("the new IAM role is not usable by Lambda yet (IAM propagation); retrying")
            return True
        return False

    return predicate


def _role_not_ready(err: ClientError) -> bool:
    # A new IAM role takes a few seconds to become assumable by Lambda (the local AWS does the same).
    return error_code(err) == "InvalidParameterValueException" and "cannot be assumed" in str(err)


def ensure_token_function(
    ctx: Context,
    pool: dict | None,
    client_id: str | None,
    *,
    function: dict | None,
    role: dict | None,
    policy: dict | None,
) -> str | None:
    """Role, policy and function as the params describe them, given what was found
    (``find_function``, ``find_role``, ``describe_inline_policy``; None when missing).
    Returns the function ARN."""
    lam = ctx.client("lambda")
    role_arn = ensure_role(ctx, pool, role, policy)
    want = function_config(ctx, pool, client_id, role_arn)
    blob = deployment_zip()
    name = want["FunctionName"]
    have = function
    if have is None:
        created = ctx.apply(
            STAGE,
            "create",
            "Lambda function",
            name,
            lambda **kw: _create_when_role_ready(ctx, lam, kw),
            **want,
            Code={"ZipFile": blob},
            Tags=ctx.tags,
            Description="Exchanges HTTP Basic credentials for Cognito tokens (cognito-runbook)",
        )
        if created and ctx.backend.kind == "aws":
            lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return created["FunctionArn"] if created else None
    config = have["Configuration"]
    if not owned_by(have.get("Tags"), ctx.stack):
        raise StageError(
            f"token_function.name: a Lambda function '{name}' exists but was not made by stack {ctx.stack}"
            f"{_made_by(have.get('Tags'))}; choose another name"
        )
    # UpdateFunctionConfiguration changes only what it is sent, but Environment replaces
    # all variables: send the variables as read, ours changed (read-merge-write).
    have_vars = (config.get("Environment") or {}).get("Variables", {})
    want_vars = want["Environment"]["Variables"]
    drift = [k for k in ("Runtime", "Role", "Handler", "Timeout", "MemorySize") if config.get(k) != want[k]]
    drift += [f"Environment.{k}" for k, v in want_vars.items() if have_vars.get(k) != v]
    request = {**want, "Environment": {"Variables": {**have_vars, **want_vars}}}
    # "unchanged" is said of the whole function below, once its code is checked too.
    if ctx.converge(
        STAGE, "Lambda configuration", name, drift, lam.update_function_configuration, unchanged=None, **request
    ):
        _wait_updated(ctx, name)
    for setting, value in unmanaged_function_settings(config, want_vars):
        ctx.kept(STAGE, "Lambda setting", name, f"{setting} = {value}")
    if config.get("CodeSha256") != code_sha256(blob):
        ctx.apply(STAGE, "update", "Lambda code", name, lam.update_function_code, FunctionName=name, ZipFile=blob)
        _wait_updated(ctx, name)
    if not drift and config.get("CodeSha256") == code_sha256(blob):
        ctx.unchanged(STAGE, "Lambda function", name)
    return config["FunctionArn"]


def unmanaged_function_settings(config: dict, managed_vars: dict) -> list[tuple[str, str]]:
    """Settings found on the function that the runbook leaves alone (never sent, so kept)."""
    found = [
        (f"Environment.{k}", "(set)")  # values may be secrets: name only
        for k in sorted((config.get("Environment") or {}).get("Variables", {}))
        if k not in managed_vars
    ]
    if config.get("Layers"):
        found.append(("Layers", ", ".join(layer["Arn"] for layer in config["Layers"])))
    if (config.get("VpcConfig") or {}).get("SubnetIds"):
        found.append(("VpcConfig.SubnetIds", ", ".join(config["VpcConfig"]["SubnetIds"])))
    if (config.get("DeadLetterConfig") or {}).get("TargetArn"):
        found.append(("DeadLetterConfig.TargetArn", config["DeadLetterConfig"]["TargetArn"]))
    if config.get("KMSKeyArn"):
        found.append(("KMSKeyArn", config["KMSKeyArn"]))
    if (config.get("TracingConfig") or {}).get("Mode") == "Active":
        found.append(("TracingConfig.Mode", "Active"))
    return found


def _wait_updated(ctx: Context, name: str) -> None:
    if ctx.backend.kind == "aws" and not ctx.plan:
        ctx.client("lambda").get_waiter("function_updated_v2").wait(FunctionName=name)


def delete_token_function(ctx: Context) -> None:
    lam, iam = ctx.client("lambda"), ctx.client("iam")
    name = ctx.params.token_function.name
    if find_function(ctx, ours_only=True):
        ctx.apply(STAGE, "delete", "Lambda function", name, lam.delete_function, FunctionName=name)
    role = role_name(ctx)
    tags = get_or_none(iam.list_role_tags, RoleName=role)
    if tags is None or not owned_by(tags.get("Tags"), ctx.stack):
        return
    for policy in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        ctx.apply(STAGE, "delete", "inline policy", policy, iam.delete_role_policy, RoleName=role, PolicyName=policy)
    ctx.apply(STAGE, "delete", "IAM role", role, iam.delete_role, RoleName=role)


def _made_by(tags) -> str:
    stack = owner(tags)
    return f" (it belongs to stack {stack})" if stack else " (it carries no stack tag: made by hand or another tool)"

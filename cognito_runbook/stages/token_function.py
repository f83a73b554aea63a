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

from ..errors import StageError
from .common import STACK_TAG, Context, error_code, retry_while

STAGE = "token_function"
HANDLER_SOURCE = Path(__file__).resolve().parent.parent / "lambda_src" / "generate_token.py"
HANDLER = "generate_token.lambda_handler"
INLINE_POLICY = "cognito-admin-initiate-auth"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def role_name(ctx: Context) -> str:
    return f"{ctx.stack}-{ctx.params.token_function.name}"[:64]


def role_policy(ctx: Context, pool_arn: str) -> dict:
    """AdminInitiateAuth on this one pool, and writing the function's own logs. Nothing else
    (AWSLambdaBasicExecutionRole would allow writing to every log group in the account)."""
    region, account, fn = ctx.backend.region, ctx.backend.account_id, ctx.params.token_function.name
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{fn}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SignInToThisPool", "Effect": "Allow", "Action": ["cognito-idp:AdminInitiateAuth"], "Resource": pool_arn},
            {"Sid": "CreateOwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": log_group},
            {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{log_group}:*"},
        ],
    }


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


def _policy_doc(raw) -> dict:
    # IAM returns documents URL-encoded JSON strings through some SDK paths, dicts through boto3.
    if isinstance(raw, str):
        from urllib.parse import unquote

        return json.loads(unquote(raw))
    return raw


def ensure_role(ctx: Context, pool: dict | None) -> str | None:
    iam = ctx.client("iam")
    name = role_name(ctx)
    tags = [{"Key": k, "Value": v} for k, v in ctx.tags.items()]
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as err:
        if error_code(err) != "NoSuchEntity":
            raise
        role = None
    if role is None:
        created = ctx.apply(STAGE, "create", "IAM role", name, iam.create_role, RoleName=name, Tags=tags,
                            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                            Description=f"generateToken for cognito-runbook stack {ctx.stack}")
        arn = created["Role"]["Arn"] if created else None
    else:
        role_tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name).get("Tags", [])}
        if role_tags.get(STACK_TAG) != ctx.stack:
            raise StageError(f"IAM role {name} exists but was not made by stack {ctx.stack}; rename the stack or delete that role")
        if _policy_doc(role["AssumeRolePolicyDocument"]) != TRUST_POLICY:
            ctx.apply(STAGE, "update", "IAM role", name, iam.update_assume_role_policy, detail="trust policy",
                      RoleName=name, PolicyDocument=json.dumps(TRUST_POLICY))
        else:
            ctx.unchanged(STAGE, "IAM role", name)
        arn = role["Arn"]
    _ensure_inline_policy(ctx, pool, exists=role is not None)
    return arn


def _ensure_inline_policy(ctx: Context, pool: dict | None, exists: bool) -> None:
    iam = ctx.client("iam")
    name = role_name(ctx)
    want = role_policy(ctx, pool["Arn"] if pool else "arn:aws:cognito-idp:(pool to be created)")
    have = None
    if exists:
        try:
            have = _policy_doc(iam.get_role_policy(RoleName=name, PolicyName=INLINE_POLICY)["PolicyDocument"])
        except ClientError as err:
            if error_code(err) != "NoSuchEntity":
                raise
    if have == want:
        ctx.unchanged(STAGE, "inline policy", INLINE_POLICY)
        return
    ctx.apply(STAGE, "create" if have is None else "update", "inline policy", INLINE_POLICY, iam.put_role_policy,
              RoleName=name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(want))


def function_config(ctx: Context, pool: dict | None, client_id: str | None, role_arn: str | None) -> dict:
    fn = ctx.params.token_function
    return {
        "FunctionName": fn.name,
        "Runtime": fn.runtime,
        "Role": role_arn or "",
        "Handler": HANDLER,
        "Timeout": fn.timeout,
        "MemorySize": fn.memory_mb,
        "Environment": {"Variables": {"USER_POOL_ID": pool["Id"] if pool else "", "CLIENT_ID": client_id or ""}},
    }


def _role_not_ready(err: ClientError) -> bool:
    # A new IAM role takes a few seconds to become assumable by Lambda (real AWS only).
    return error_code(err) == "InvalidParameterValueException" and "cannot be assumed" in str(err)


def ensure_token_function(ctx: Context, pool: dict | None, client_id: str | None) -> str | None:
    """Role, policy and function as the params describe them; returns the function ARN."""
    lam = ctx.client("lambda")
    role_arn = ensure_role(ctx, pool)
    want = function_config(ctx, pool, client_id, role_arn)
    blob = deployment_zip()
    name = want["FunctionName"]
    try:
        have = lam.get_function(FunctionName=name)
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
        have = None
    if have is None:
        created = ctx.apply(STAGE, "create", "Lambda function", name,
                            lambda **kw: retry_while(_role_not_ready, lambda: lam.create_function(**kw)),
                            **want, Code={"ZipFile": blob}, Tags=ctx.tags, Description="Exchanges HTTP Basic credentials for Cognito tokens (cognito-runbook)")
        if created and ctx.backend.kind == "aws":
            lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return created["FunctionArn"] if created else None
    config = have["Configuration"]
    tags = have.get("Tags") or {}
    if tags.get(STACK_TAG) != ctx.stack:
        raise StageError(f"token_function.name: a Lambda function '{name}' exists but was not made by stack {ctx.stack}; choose another name")
    drift = [k for k in ("Runtime", "Role", "Handler", "Timeout", "MemorySize") if config.get(k) != want[k]]
    if (config.get("Environment") or {}).get("Variables", {}) != want["Environment"]["Variables"]:
        drift.append("Environment")
    if drift:
        ctx.apply(STAGE, "update", "Lambda configuration", name, lam.update_function_configuration, detail=", ".join(drift), **want)
        _wait_updated(ctx, name)
    if config.get("CodeSha256") != code_sha256(blob):
        ctx.apply(STAGE, "update", "Lambda code", name, lam.update_function_code, FunctionName=name, ZipFile=blob)
        _wait_updated(ctx, name)
    if not drift and config.get("CodeSha256") == code_sha256(blob):
        ctx.unchanged(STAGE, "Lambda function", name)
    return config["FunctionArn"]


def _wait_updated(ctx: Context, name: str) -> None:
    if ctx.backend.kind == "aws" and not ctx.plan:
        ctx.client("lambda").get_waiter("function_updated_v2").wait(FunctionName=name)


def delete_token_function(ctx: Context) -> None:
    lam, iam = ctx.client("lambda"), ctx.client("iam")
    name = ctx.params.token_function.name
    try:
        fn = lam.get_function(FunctionName=name)
        if (fn.get("Tags") or {}).get(STACK_TAG) == ctx.stack:
            ctx.apply(STAGE, "delete", "Lambda function", name, lam.delete_function, FunctionName=name)
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
    role = role_name(ctx)
    try:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role).get("Tags", [])}
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return
        raise
    if tags.get(STACK_TAG) != ctx.stack:
        return
    for policy in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        ctx.apply(STAGE, "delete", "inline policy", policy, iam.delete_role_policy, RoleName=role, PolicyName=policy)
    ctx.apply(STAGE, "delete", "IAM role", role, iam.delete_role, RoleName=role)

"""Reads of moto's state, for the emulated parts of the local AWS.

The emulated parts (execute-api, Lambda execution, hosted UI, IAM evaluation) run in the
same process as moto's server and need a few things moto's public API does not give (a
function's code bytes, an HTTP API's routing table on every request). This module and the
``patches`` package (where moto is changed to fail the way AWS fails) are the only code
that touches moto's internals, so a moto upgrade touches only them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda.models import lambda_backends
from moto.cognitoidp.models import cognitoidp_backends

from ..constants import LOCAL_ACCOUNT_ID
from .patches.cognitoidp_domains import domain_status
from .patches.cognitoidp_tokens import remember_scopes, scopes_of
from .patches.originals import original

ACCOUNT = LOCAL_ACCOUNT_ID
_logs_lock = threading.Lock()  # one writer at a time to a log group's streams


def http_api(region: str, api_id: str):
    return apigatewayv2_backends[ACCOUNT][region].apis.get(api_id)


def find_api_region(api_id: str) -> str | None:
    for region, backend in apigatewayv2_backends[ACCOUNT].items():
        if api_id in backend.apis:
            return region
    return None


def stage_access_log(api, stage_name: str) -> dict[str, Any] | None:
    stage = api.stages.get(stage_name)
    return dict(stage.access_log_settings) if stage is not None and stage.access_log_settings else None


def put_access_log(region: str, destination_arn: str, stage_name: str, line: str) -> None:
    """Append one access-log line to the log group the stage names (if it exists, as on AWS:
    delivery to a missing group is dropped)."""
    from moto.logs.models import logs_backends

    group = destination_arn.split(":log-group:", 1)[-1].removesuffix(":*")
    backend = logs_backends[ACCOUNT][region]
    if group not in backend.groups:
        return
    stream = f"{stage_name.strip('$') or 'default'}-access"
    with _logs_lock:
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": line}])


def stage_settings(api, stage_name: str) -> dict[str, Any] | None:
    stage = api.stages.get(stage_name)
    return None if stage is None else dict(stage.default_route_settings or {})


def route_table(api) -> list[tuple[str, str | None]]:
    """(route key, target) pairs."""
    return [(r.route_key, r.target) for r in api.routes.values()]


def integration(api, integration_id: str) -> dict[str, Any] | None:
    integ = api.integrations.get(integration_id)
    if integ is None:
        return None
    return {
        "type": integ.integration_type,
        "uri": integ.integration_uri,
        "payload_format_version": getattr(integ, "payload_format_version", None),
        "timeout_ms": getattr(integ, "timeout_in_millis", None) or 30000,
    }


def lambda_function(region: str, name_or_arn: str):
    backend = lambda_backends[ACCOUNT][region]
    try:
        return backend.get_function(name_or_arn)
    except Exception:  # moto raises its own UnknownFunctionException
        return None


def function_snapshot(fn) -> dict[str, Any]:
    """What a Lambda container is built from: code, handler, env, limits."""
    return {
        "arn": fn.function_arn,
        "name": fn.function_name,
        "code_sha256": fn.code_sha_256,
        "code": fn.code_bytes,
        "handler": fn.handler,
        "runtime": fn.run_time,
        "environment": dict(fn.environment_vars or {}),
        "timeout": int(fn.timeout or 3),
    }


def function_policy(fn) -> list[dict[str, Any]]:
    return [dict(statement) for statement in fn.policy.statements]


def pool_by_domain(domain_prefix: str):
    """(region, pool) of the user pool that owns a hosted-UI domain prefix."""
    for region, backend in cognitoidp_backends[ACCOUNT].items():
        domain = backend.user_pool_domains.get(domain_prefix)
        if domain is not None:
            return region, backend.user_pools.get(domain.user_pool_id)
    return None, None


def cognito_backend(region: str):
    return cognitoidp_backends[ACCOUNT][region]


def app_client_config(pool, client_id: str) -> dict[str, Any] | None:
    client = pool.clients.get(client_id)
    return None if client is None else dict(client.extended_config)


def password_sign_in(
    region: str, pool_id: str, client_id: str, username: str, password: str, scopes: list[str] | None = None
) -> dict[str, Any] | None:
    """Hosted-UI sign-in: tokens for a correct user name and password of a CONFIRMED,
    enabled user, else None. The hosted UI needs no ExplicitAuthFlows (those govern the
    API sign-in flows only), and its access token carries the scopes asked for."""
    backend = cognito_backend(region)
    try:
        checked = original("admin_initiate_auth")(
            backend, pool_id, client_id, "ADMIN_USER_PASSWORD_AUTH", {"USERNAME": username, "PASSWORD": password}
        )
    except Exception:  # moto's NotAuthorized / UserNotFound
        return None
    if not scopes or "AuthenticationResult" not in checked:
        return checked.get("AuthenticationResult")
    pool = backend.describe_user_pool(pool_id)
    refresh_token, origin_jti = pool.create_refresh_token(client_id, username)
    remember_scopes(origin_jti, " ".join(scopes))
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
    return {
        "IdToken": id_token,
        "AccessToken": access_token,
        "RefreshToken": refresh_token,
        "ExpiresIn": expires_in,
        "TokenType": "Bearer",
    }


def refresh_sign_in(region: str, pool_id: str, client_id: str, refresh_token: str) -> dict[str, Any] | None:
    backend = cognito_backend(region)
    try:
        result = backend.admin_initiate_auth(pool_id, client_id, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})
    except Exception:
        return None
    return result.get("AuthenticationResult")


def refresh_token_scopes(region: str, pool_id: str, refresh_token: str) -> list[str] | None:
    """The OAuth scopes of the hosted-UI sign-in a refresh token belongs to (None: unknown
    token, or a sign-in through the API)."""
    pool = cognito_backend(region).user_pools.get(pool_id)
    entry = pool.refresh_tokens.get(refresh_token) if pool is not None else None
    return scopes_of(entry[2]) if entry else None


def domain_is_active(domain_prefix: str) -> bool:
    """Whether the hosted UI of this prefix answers (it does not while CREATING)."""
    for backend in cognitoidp_backends[ACCOUNT].values():
        domain = backend.user_pool_domains.get(domain_prefix)
        if domain is not None:
            return domain_status(domain) == "ACTIVE"
    return False


def role_arn_of(region: str, function_name: str) -> str | None:
    fn = lambda_function(region, function_name)
    return fn.role if fn is not None else None


def role_inline_policies(role_name: str) -> list[Any] | None:
    """The inline policy documents of an IAM role (JSON text, as IAM stores them); None if
    there is no such role."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[ACCOUNT]["global"].get_role(role_name)
    except Exception:  # moto's NoSuchEntity
        return None
    return list(role.policies.values())


def _iam():
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT]["global"]


def managed_policy_document(policy_arn: str) -> str | None:
    """The default version of a customer managed policy (JSON text); None if there is none."""
    policy = _iam().managed_policies.get(policy_arn)
    if policy is None:
        return None
    return next((v.document for v in policy.versions if v.is_default), None)


def role_boundary_arn(role_name: str) -> str | None:
    try:
        return _iam().get_role(role_name).permissions_boundary_arn or None
    except Exception:  # moto's NoSuchEntity
        return None


def role_boundary_policies(role_name: str) -> list[Any] | None:
    """The role's permissions boundary as a list of one document (None: no boundary; a
    boundary whose policy is gone allows nothing)."""
    arn = role_boundary_arn(role_name)
    if arn is None:
        return None
    document = managed_policy_document(arn)
    return [document] if document else []


def role_tags(role_name: str) -> dict[str, str]:
    try:
        role = _iam().get_role(role_name)
    except Exception:  # moto's NoSuchEntity
        return {}
    tags = role.tags.values() if isinstance(role.tags, dict) else role.tags
    return {t["Key"]: t["Value"] for t in tags}


def user_policies(user_name: str) -> tuple[list[Any], list[Any] | None] | None:
    """(identity policies, permissions boundary or None) of an IAM user: inline and attached
    managed policies; None if there is no such user."""
    try:
        user = _iam().get_user(user_name)
    except Exception:  # moto's NoSuchEntity
        return None
    documents = list(user.policies.values())
    documents += [managed_policy_document(p.arn) or "{}" for p in user.managed_policies.values()]
    boundary_arn = getattr(user, "permissions_boundary_arn", None) or None
    boundary = None if boundary_arn is None else [managed_policy_document(boundary_arn) or "{}"]
    return documents, boundary


def pool_tags(region: str, pool_id: str) -> dict[str, str] | None:
    pool = cognito_backend(region).user_pools.get(pool_id)
    return None if pool is None else dict(pool.extended_config.get("UserPoolTags") or {})


def api_tags(region: str, api_id: str) -> dict[str, str] | None:
    api = http_api(region, api_id)
    return None if api is None else dict(apigatewayv2_backends[ACCOUNT][region].get_tags(api.arn))


def function_tags(region: str, name_or_arn: str) -> dict[str, str] | None:
    fn = lambda_function(region, name_or_arn)
    return None if fn is None else dict(fn.tags or {})


def secret_arn_and_tags(region: str, secret_id: str) -> tuple[str, dict[str, str]] | None:
    from moto.secretsmanager.models import secretsmanager_backends

    secret = secretsmanager_backends[ACCOUNT][region].secrets.get(secret_id)
    if secret is None:
        return None
    return secret.arn, {t["Key"]: t["Value"] for t in (secret.tags or [])}

"""The only module that reads moto's in-memory models.

The emulated parts of the local AWS (execute-api, Lambda execution, hosted UI) run in
the same process as moto's server and need a few things moto's public API does not
give: a function's code bytes, and fast, consistent reads of an HTTP API's routing
table on every request. Keeping these reads here means a moto upgrade touches one file.
"""

from __future__ import annotations

from typing import Any

from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda.models import lambda_backends
from moto.cognitoidp.models import cognitoidp_backends

from ..constants import LOCAL_ACCOUNT_ID

ACCOUNT = LOCAL_ACCOUNT_ID


def http_api(region: str, api_id: str):
    return apigatewayv2_backends[ACCOUNT][region].apis.get(api_id)


def find_api_region(api_id: str) -> str | None:
    for region, backend in apigatewayv2_backends[ACCOUNT].items():
        if api_id in backend.apis:
            return region
    return None


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


def password_sign_in(region: str, pool_id: str, client_id: str, username: str, password: str) -> dict[str, Any] | None:
    """Tokens for a correct user name and password of a CONFIRMED, enabled user, else None."""
    backend = cognito_backend(region)
    try:
        result = backend.admin_initiate_auth(
            pool_id, client_id, "ADMIN_USER_PASSWORD_AUTH", {"USERNAME": username, "PASSWORD": password}
        )
    except Exception:  # moto's NotAuthorized / UserNotFound
        return None
    return result.get("AuthenticationResult")


def refresh_sign_in(region: str, pool_id: str, client_id: str, refresh_token: str) -> dict[str, Any] | None:
    backend = cognito_backend(region)
    try:
        result = backend.admin_initiate_auth(pool_id, client_id, "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})
    except Exception:
        return None
    return result.get("AuthenticationResult")


# UpdateUserPool on AWS changes only the updatable settings; moto rebuilds the pool's
# config from defaults plus the request, dropping creation-only settings (username
# attributes, case sensitivity, aliases, schema). Keep those, as AWS does.
CREATION_ONLY_POOL_KEYS = ("UsernameAttributes", "AliasAttributes", "UsernameConfiguration", "Schema")


def patch_moto() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    original = CognitoIdpBackend.update_user_pool
    if getattr(original, "_keeps_creation_settings", False):
        return

    def update_user_pool(self, user_pool_id, extended_config):
        pool = self.describe_user_pool(user_pool_id)
        kept = {k: pool.extended_config[k] for k in CREATION_ONLY_POOL_KEYS if k in pool.extended_config}
        original(self, user_pool_id, {**extended_config, **kept})

    update_user_pool._keeps_creation_settings = True
    CognitoIdpBackend.update_user_pool = update_user_pool


def speed_up_dispatch() -> None:
    """moto's server lists its own package folder (about 180 stat calls) on every request
    to map a host to a service, which is a third of a request's time here. The folder
    does not change while the server runs, so list it once."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules():
        return modules

    list_of_moto_modules._cached = True
    backends.list_of_moto_modules = list_of_moto_modules

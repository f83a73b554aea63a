"""The only module that touches moto's internals.

Reads: the emulated parts of the local AWS (execute-api, Lambda execution, hosted UI)
run in the same process as moto's server and need a few things moto's public API does
not give (a function's code bytes, an HTTP API's routing table on every request).

Behaviours (``patch_moto``): where moto accepts what AWS refuses, or answers at once
where AWS makes you wait, it is changed here to fail the way AWS fails. Each patch
cites the AWS page it follows. Waits last ``DELAY`` seconds (about a second by default,
settable with ``cognito-runbook local start --delay`` or COGNITO_RUNBOOK_LOCAL_DELAY).
Keeping all of this here means a moto upgrade touches one file.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
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
    with _LOCK:
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
        checked = _ORIGINAL["admin_initiate_auth"](
            backend, pool_id, client_id, "ADMIN_USER_PASSWORD_AUTH", {"USERNAME": username, "PASSWORD": password}
        )
    except Exception:  # moto's NotAuthorized / UserNotFound
        return None
    if not scopes or "AuthenticationResult" not in checked:
        return checked.get("AuthenticationResult")
    pool = backend.describe_user_pool(pool_id)
    refresh_token, origin_jti = pool.create_refresh_token(client_id, username)
    SCOPES_BY_SESSION[origin_jti] = " ".join(scopes)
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


# -- behaviours: AWS's refusals and waits ------------------------------------------------

DELAY = {"seconds": 1.0}  # settable: how long AWS's eventual consistency lasts here
_ORIGINAL: dict[str, Any] = {}
_LOCK = threading.Lock()
SCOPES_BY_SESSION: dict[str, str] = {}  # origin_jti -> scopes of a hosted-UI sign-in
_BORN: dict[str, float] = {}  # "role:<arn>" / "policy:<role>" -> when it was made (monotonic)
_HELD_SECRET_NAMES: dict[tuple[str, str], float] = {}  # (region, name) -> until
_DELETING_DOMAINS: dict[str, tuple[Any, float]] = {}  # prefix -> (domain, until)
ACCESS_KEY_ID = "ASIAKEYFORSIGNING2"  # the second pool signing key: access tokens (id tokens keep moto's)
_ACCESS_KEY: dict[str, Any] = {}

# Settings Cognito fixes at creation, which UpdateUserPool keeps.
CREATION_ONLY_POOL_KEYS = ("UsernameAttributes", "AliasAttributes", "UsernameConfiguration", "Schema")
DEFAULT_EXPLICIT_AUTH_FLOWS = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")
STANDARD_SCOPES = {"phone", "email", "openid", "profile", "aws.cognito.signin.user.admin"}
CLIENT_DEFAULTS = {
    "AllowedOAuthFlowsUserPoolClient": False,
    "AuthSessionValidity": 3,
    "EnablePropagateAdditionalUserContextData": False,
    "EnableTokenRevocation": True,
    "RefreshTokenValidity": 30,
}


def _young(key: str) -> bool:
    born = _BORN.get(key)
    return born is not None and time.monotonic() - born < DELAY["seconds"]


def patch_moto(delay: float | None = None) -> None:
    if delay is not None:
        DELAY["seconds"] = delay
    with _LOCK:
        if _ORIGINAL:
            return
        _patch_user_pools()
        _patch_clients()
        _patch_groups()
        _patch_auth()
        _patch_signing_keys()
        _patch_domains()
        _patch_iam_and_lambda()
        _patch_secrets()
        _patch_stage_updates()
        _patch_pool_tagging()


def _invalid(message: str):
    from moto.cognitoidp.exceptions import InvalidParameterException

    return InvalidParameterException(message)


# Pools ------------------------------------------------------------------------------


def _patch_user_pools() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    create, update, delete = (
        CognitoIdpBackend.create_user_pool,
        CognitoIdpBackend.update_user_pool,
        CognitoIdpBackend.delete_user_pool,
    )
    _ORIGINAL.update(create_user_pool=create, update_user_pool=update, delete_user_pool=delete)

    def create_user_pool(self, name, extended_config):
        _check_validity_days(extended_config)
        pool = create(self, name, extended_config)
        _mirror_validity_days(pool)
        return pool

    def update_user_pool(self, user_pool_id, extended_config):
        # UpdateUserPool resets every setting it is not sent (API reference: "If you don't
        # provide a value for an attribute, Amazon Cognito sets it to its default value"):
        # moto does that already, but also drops creation-only settings, which AWS keeps.
        # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html
        _check_validity_days(extended_config)
        pool = self.describe_user_pool(user_pool_id)
        kept = {k: pool.extended_config[k] for k in CREATION_ONLY_POOL_KEYS if k in pool.extended_config}
        update(self, user_pool_id, {**extended_config, **kept})
        _mirror_validity_days(pool)

    def delete_user_pool(self, user_pool_id):
        # Deletion protection: "you can't delete a user pool that has deletion protection
        # activated" (Developer Guide, "Managing user pools": deletion protection).
        pool = self.describe_user_pool(user_pool_id)
        if pool.extended_config.get("DeletionProtection") == "ACTIVE":
            raise _invalid(
                "The user pool cannot be deleted because deletion protection is activated. "
                "Deletion protection must be inactivated first."
            )
        domain = pool.domain
        delete(self, user_pool_id)
        if domain is not None:  # the domain goes with the pool, through DELETING
            self.delete_user_pool_domain(domain.domain)

    CognitoIdpBackend.create_user_pool = create_user_pool
    CognitoIdpBackend.update_user_pool = update_user_pool
    CognitoIdpBackend.delete_user_pool = delete_user_pool


def _patch_pool_tagging() -> None:
    """moto 5.2 has no TagResource, UntagResource or ListTagsForResource for user pools.
    As AWS: tags are the pool's UserPoolTags (DescribeUserPool shows them); TagResource adds
    or overwrites keys; an unknown pool ARN is ResourceNotFoundException.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TagResource.html"""
    from moto.cognitoidp.exceptions import ResourceNotFoundError
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult, EmptyResult

    def pool_of(response):
        arn = response._get_param("ResourceArn") or ""
        pool = response.backend.user_pools.get(arn.rsplit("/", 1)[-1])
        if pool is None or pool.arn != arn:
            raise ResourceNotFoundError(f"User pool {arn} does not exist.")
        return pool

    def tag_resource(self):
        pool = pool_of(self)
        tags = dict(pool.extended_config.get("UserPoolTags") or {})
        tags.update(self._get_param("Tags") or {})
        pool.extended_config["UserPoolTags"] = tags
        return EmptyResult()

    def untag_resource(self):
        pool = pool_of(self)
        keys = set(self._get_param("TagKeys") or [])
        tags = {k: v for k, v in (pool.extended_config.get("UserPoolTags") or {}).items() if k not in keys}
        pool.extended_config["UserPoolTags"] = tags
        return EmptyResult()

    def list_tags_for_resource(self):
        return ActionResult({"Tags": dict(pool_of(self).extended_config.get("UserPoolTags") or {})})

    CognitoIdpResponse.tag_resource = tag_resource
    CognitoIdpResponse.untag_resource = untag_resource
    CognitoIdpResponse.list_tags_for_resource = list_tags_for_resource


def _check_validity_days(config: dict) -> None:
    # Cognito refuses the deprecated AdminCreateUserConfig.UnusedAccountValidityDays next to
    # Policies.PasswordPolicy.TemporaryPasswordValidityDays, although DescribeUserPool returns
    # both: "Please use TemporaryPasswordValidityDays in PasswordPolicy instead of
    # UnusedAccountValidityDays" (seen by every SDK that sends a described pool back).
    # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUserConfigType.html
    temporary = (config.get("Policies") or {}).get("PasswordPolicy", {}).get("TemporaryPasswordValidityDays")
    if temporary is not None and "UnusedAccountValidityDays" in (config.get("AdminCreateUserConfig") or {}):
        raise _invalid(
            "Please use TemporaryPasswordValidityDays in PasswordPolicy instead of UnusedAccountValidityDays"
        )


def _mirror_validity_days(pool) -> None:
    temporary = (
        (pool.extended_config.get("Policies") or {}).get("PasswordPolicy", {}).get("TemporaryPasswordValidityDays")
    )
    admin = dict(pool.extended_config.get("AdminCreateUserConfig") or {})
    if temporary is not None:
        admin["UnusedAccountValidityDays"] = temporary  # what DescribeUserPool shows on AWS
        pool.extended_config["AdminCreateUserConfig"] = admin


# App clients -------------------------------------------------------------------------


def _patch_clients() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    create, update = CognitoIdpBackend.create_user_pool_client, CognitoIdpBackend.update_user_pool_client
    _ORIGINAL.update(create_user_pool_client=create, update_user_pool_client=update)

    def create_user_pool_client(self, user_pool_id, generate_secret, extended_config):
        _check_oauth(extended_config, generate_secret)
        return create(self, user_pool_id, generate_secret, extended_config)

    def update_user_pool_client(self, user_pool_id, client_id, extended_config):
        # "If you don't provide a value for an attribute, Amazon Cognito sets it to its
        # default value" (API reference, UpdateUserPoolClient); moto merged instead.
        # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPoolClient.html
        client = self.describe_user_pool_client(user_pool_id, client_id)
        _check_oauth(extended_config, client.generate_secret)
        client.extended_config = {**CLIENT_DEFAULTS, **extended_config}
        return client

    CognitoIdpBackend.create_user_pool_client = create_user_pool_client
    CognitoIdpBackend.update_user_pool_client = update_user_pool_client


def _check_oauth(config: dict, has_secret: bool) -> None:
    """App client OAuth settings as Cognito validates them.
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-client-apps.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html"""
    for key in ("CallbackURLs", "LogoutURLs"):
        for url in config.get(key) or []:
            # "Amazon Cognito requires HTTPS over HTTP except for http://localhost for testing
            # purposes only"; no fragment.
            if "#" in url or not (url.startswith("https://") or _is_localhost(url)):
                raise _invalid(f"{url} is not a valid redirect URI: use https://, or http://localhost for testing")
    flows = config.get("AllowedOAuthFlows") or []
    scopes = config.get("AllowedOAuthScopes") or []
    unknown = [f for f in flows if f not in ("code", "implicit", "client_credentials")]
    if unknown:
        raise _invalid(f"AllowedOAuthFlows: unknown flow(s) {', '.join(unknown)}")
    if "client_credentials" in flows and (len(flows) > 1 or not has_secret):
        raise _invalid(
            "client_credentials flow can not be selected if client does not have a client secret "
            "or together with code or implicit"
        )
    bad_scopes = [sc for sc in scopes if sc not in STANDARD_SCOPES and "/" not in sc]
    if bad_scopes:
        raise _invalid(f"AllowedOAuthScopes: invalid scope(s) {', '.join(bad_scopes)}")
    if config.get("AllowedOAuthFlowsUserPoolClient"):
        if not flows or not scopes:
            raise _invalid(
                "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is allowed "
                "to use OAuth flows"
            )
        if set(flows) & {"code", "implicit"} and not config.get("CallbackURLs"):
            raise _invalid("CallbackURLs are required for the code and implicit grants")
    elif flows:
        raise _invalid("AllowedOAuthFlowsUserPoolClient must be true to use AllowedOAuthFlows")


def _is_localhost(url: str) -> bool:
    rest = url.removeprefix("http://localhost")
    return url.startswith("http://localhost") and (rest == "" or rest[0] in ":/?")


# Groups -------------------------------------------------------------------------------


def _patch_groups() -> None:
    """UpdateGroup: "If you don't provide a value for an attribute, it will be set to the
    default value" (API reference, UpdateGroup); moto kept omitted values instead.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateGroup.html"""
    from moto.cognitoidp.models import CognitoIdpGroup
    from moto.core.utils import utcnow

    _ORIGINAL["group_update"] = CognitoIdpGroup.update

    def update(self, description, role_arn, precedence):
        self.description, self.role_arn, self.precedence = description, role_arn, precedence
        self.last_modified_date = utcnow()

    CognitoIdpGroup.update = update


# Sign-in flows ------------------------------------------------------------------------


def _patch_auth() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    admin, user = CognitoIdpBackend.admin_initiate_auth, CognitoIdpBackend.initiate_auth
    _ORIGINAL.update(admin_initiate_auth=admin, initiate_auth=user)

    def admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters):
        pool = self.describe_user_pool(user_pool_id)
        _check_flow_allowed(pool.clients.get(client_id), auth_flow)
        return admin(self, user_pool_id, client_id, auth_flow, auth_parameters)

    def initiate_auth(self, client_id, auth_flow, auth_parameters):
        client = next((p.clients[client_id] for p in self.user_pools.values() if client_id in p.clients), None)
        _check_flow_allowed(client, auth_flow)
        return user(self, client_id, auth_flow, auth_parameters)

    CognitoIdpBackend.admin_initiate_auth = admin_initiate_auth
    CognitoIdpBackend.initiate_auth = initiate_auth


def _check_flow_allowed(client, auth_flow: str) -> None:
    """ExplicitAuthFlows: a client signs users in only with the flows it allows
    ("Auth flow not enabled for this client"). Without the setting, Cognito allows
    ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH and ALLOW_CUSTOM_AUTH.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html#CognitoUserPools-CreateUserPoolClient-request-ExplicitAuthFlows"""
    if client is None:
        return  # moto answers ResourceNotFound itself
    allowed = client.extended_config.get("ExplicitAuthFlows") or DEFAULT_EXPLICIT_AUTH_FLOWS
    needed = {
        "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
    }.get(auth_flow, f"ALLOW_{auth_flow}")
    legacy = {"ALLOW_ADMIN_USER_PASSWORD_AUTH": "ADMIN_NO_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH": "USER_PASSWORD_AUTH"}
    if needed not in allowed and legacy.get(needed) not in allowed:
        raise _invalid("Auth flow not enabled for this client")


# Signing keys and scopes ----------------------------------------------------------------


def _patch_signing_keys() -> None:
    """Cognito signs ID tokens and access tokens with two different keys, both in the
    pool's JWKS (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html);
    and the access token of a hosted-UI sign-in carries the scopes asked for
    (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html)."""
    from joserfc import jwk
    from joserfc import jwt as jose_jwt
    from moto.cognitoidp.models import CognitoIdpUserPool
    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

    key = jwk.RSAKey.generate_key(2048, parameters={"kid": ACCESS_KEY_ID, "alg": "RS256", "use": "sig"})
    _ACCESS_KEY["key"] = key
    jwks = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    public = {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "n", "e", "kid", "alg", "use")}
    jwks["keys"] = [*jwks["keys"], public]
    CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps(jwks).encode()

    create_jwt, create_access = CognitoIdpUserPool.create_jwt, CognitoIdpUserPool.create_access_token
    _ORIGINAL.update(create_jwt=create_jwt, create_access_token=create_access)

    def signed_create_jwt(self, client_id, username, token_use, expires_in=60 * 60, extra_data=None):
        token, expires = create_jwt(self, client_id, username, token_use, expires_in, extra_data)
        if token_use != "access":
            return token, expires
        claims = jose_jwt.decode(token, self.json_web_key).claims
        return jose_jwt.encode({"kid": ACCESS_KEY_ID, "alg": "RS256"}, claims, _ACCESS_KEY["key"]), expires

    def create_access_token(self, client_id, username, origin_jti):
        token, expires = create_access(self, client_id, username, origin_jti)
        scope = SCOPES_BY_SESSION.get(origin_jti)
        if scope is None:
            return token, expires
        self.access_tokens.pop(token, None)
        claims = jose_jwt.decode(token, _ACCESS_KEY["key"]).claims
        claims["scope"] = scope
        token = jose_jwt.encode({"kid": ACCESS_KEY_ID, "alg": "RS256"}, claims, _ACCESS_KEY["key"])
        self.access_tokens[token] = (client_id, username)
        return token, expires

    CognitoIdpUserPool.create_jwt = signed_create_jwt
    CognitoIdpUserPool.create_access_token = create_access_token


# Hosted-UI domains ----------------------------------------------------------------------


def _patch_domains() -> None:
    """A new domain is CREATING before it is ACTIVE, a deleted one DELETING before its prefix
    is free again; a prefix is taken once per region and a pool has one domain.
    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DomainDescriptionType.html"""
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPoolDomain

    create, delete = CognitoIdpBackend.create_user_pool_domain, CognitoIdpBackend.delete_user_pool_domain
    describe, to_json = CognitoIdpBackend.describe_user_pool_domain, CognitoIdpUserPoolDomain.to_json
    _ORIGINAL.update(create_user_pool_domain=create, delete_user_pool_domain=delete)

    def create_user_pool_domain(self, user_pool_id, domain, custom_domain_config=None):
        _forget_deleted_domains()
        if domain in self.user_pool_domains or domain in _DELETING_DOMAINS:
            raise _invalid("Domain already exists.")
        if self.describe_user_pool(user_pool_id).domain is not None:
            raise _invalid(f"User pool {user_pool_id} already has a domain configured.")
        made = create(self, user_pool_id, domain, custom_domain_config=custom_domain_config)
        made.ready_at = time.monotonic() + DELAY["seconds"]
        made.managed_login_version = 1  # the request's own value is set by _patch_domain_responses
        return made

    def delete_user_pool_domain(self, domain):
        found = self.user_pool_domains.get(domain)
        delete(self, domain)
        _DELETING_DOMAINS[domain] = (found, time.monotonic() + DELAY["seconds"])

    def describe_user_pool_domain(self, domain):
        _forget_deleted_domains()
        if domain in _DELETING_DOMAINS:
            found = _DELETING_DOMAINS[domain][0]
            found.deleting = True
            return found
        return describe(self, domain)

    def domain_to_json(self, extended=True):
        out = to_json(self, extended)
        if extended:
            out["Status"] = domain_status(self)
            out["ManagedLoginVersion"] = getattr(self, "managed_login_version", 1)
        return out

    CognitoIdpBackend.create_user_pool_domain = create_user_pool_domain
    CognitoIdpBackend.delete_user_pool_domain = delete_user_pool_domain
    CognitoIdpBackend.describe_user_pool_domain = describe_user_pool_domain
    CognitoIdpUserPoolDomain.to_json = domain_to_json
    _patch_domain_responses()


def _patch_domain_responses() -> None:
    """moto's handlers do not pass ManagedLoginVersion through; read it from the request."""
    from moto.cognitoidp.responses import CognitoIdpResponse

    create, update = CognitoIdpResponse.create_user_pool_domain, CognitoIdpResponse.update_user_pool_domain

    def create_response(self):
        version = self._get_param("ManagedLoginVersion")
        result = create(self)
        if version is not None:
            made = self.backend.user_pool_domains.get(self._get_param("Domain"))
            if made is not None:
                made.managed_login_version = version
        return result

    def update_response(self):
        version = self._get_param("ManagedLoginVersion")
        made = self.backend.user_pool_domains.get(self._get_param("Domain"))
        if made is not None and version is not None and version != getattr(made, "managed_login_version", 1):
            made.managed_login_version = version
            made.ready_at, made.pending_status = time.monotonic() + DELAY["seconds"], "UPDATING"
        return update(self)

    CognitoIdpResponse.create_user_pool_domain = create_response
    CognitoIdpResponse.update_user_pool_domain = update_response


def domain_status(domain) -> str:
    if getattr(domain, "deleting", False):
        return "DELETING"
    if time.monotonic() < getattr(domain, "ready_at", 0.0):
        return getattr(domain, "pending_status", "CREATING")
    return "ACTIVE"


def _forget_deleted_domains() -> None:
    now = time.monotonic()
    for prefix, (_, until) in list(_DELETING_DOMAINS.items()):
        if now >= until:
            _DELETING_DOMAINS.pop(prefix, None)


def domain_is_active(domain_prefix: str) -> bool:
    """Whether the hosted UI of this prefix answers (it does not while CREATING)."""
    for backend in cognitoidp_backends[ACCOUNT].values():
        domain = backend.user_pool_domains.get(domain_prefix)
        if domain is not None:
            return domain_status(domain) == "ACTIVE"
    return False


# IAM propagation and the function's permissions ----------------------------------------


def _patch_iam_and_lambda() -> None:
    """IAM is eventually consistent: a new role cannot be assumed by Lambda for a few
    seconds ("The role defined for the function cannot be assumed by Lambda"), and a new
    or changed policy takes a moment to apply.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
    https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-deployment.html"""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend
    from moto.iam.models import IAMBackend

    create_role, put_policy = IAMBackend.create_role, IAMBackend.put_role_policy
    create_function = LambdaBackend.create_function
    _ORIGINAL.update(create_role=create_role, put_role_policy=put_policy, create_function=create_function)

    def iam_create_role(self, role_name, *args, **kwargs):
        role = create_role(self, role_name, *args, **kwargs)
        _BORN[f"role:{role.arn}"] = time.monotonic()
        return role

    def iam_put_role_policy(self, role_name, policy_name, policy_json):
        put_policy(self, role_name, policy_name, policy_json)
        _BORN[f"policy:{role_name}"] = time.monotonic()

    def lambda_create_function(self, spec):
        if _young(f"role:{spec.get('Role')}"):
            raise InvalidParameterValueException("The role defined for the function cannot be assumed by Lambda.")
        return create_function(self, spec)

    IAMBackend.create_role = iam_create_role
    IAMBackend.put_role_policy = iam_put_role_policy
    LambdaBackend.create_function = lambda_create_function


def function_may_call(region: str, function_name: str, action: str, resource: str) -> str | None:
    """Why the function's role may not call ``action`` on ``resource`` (None: it may).
    Follows IAM's evaluation for identity policies: an explicit Allow in an inline policy
    that is in effect, and no explicit Deny."""
    from moto.iam.models import iam_backends

    fn = lambda_function(region, function_name)
    if fn is None:
        return "the function does not exist"
    role_name = fn.role.rsplit("/", 1)[-1]
    try:
        role = iam_backends[ACCOUNT]["global"].get_role(role_name)
    except Exception:
        return f"its role {role_name} does not exist"
    if _young(f"policy:{role_name}"):
        return f"the policy of {role_name} was changed {DELAY['seconds']:.0f} s ago and is not in effect yet"
    allowed = False
    for document in role.policies.values():
        for statement in _statements(document):
            if _matches(statement.get("Action"), action.lower(), str.lower) and _matches(
                statement.get("Resource"), resource
            ):
                if statement.get("Effect") == "Deny":
                    return "an explicit Deny in its policy"
                allowed = allowed or statement.get("Effect") == "Allow"
    return None if allowed else "no identity-based policy allows the action"


def _statements(document) -> list[dict]:
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _matches(patterns, value: str, fold=lambda p: p) -> bool:
    """IAM wildcards (* and ?); actions compare case-insensitively, resources exactly."""
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value, fold(p)) for p in patterns)


def role_arn_of(region: str, function_name: str) -> str | None:
    fn = lambda_function(region, function_name)
    return fn.role if fn is not None else None


# HTTP API stages -----------------------------------------------------------------------


STAGE_FIELDS = {
    "defaultRouteSettings": "default_route_settings",
    "accessLogSettings": "access_log_settings",
    "autoDeploy": "auto_deploy",
    "description": "description",
    "routeSettings": "route_settings",
    "stageVariables": "stage_variables",
    "clientCertificateId": "client_certificate_id",
}


def _patch_stage_updates() -> None:
    """moto 5.2 has no UpdateStage (it answers 500). As AWS does: the fields sent replace
    their values (a structure as a whole), the others stay.
    https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html#UpdateStage"""
    from datetime import datetime
    from urllib.parse import unquote

    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def update_stage(self):
        api_id, stage_name = self.path.split("/")[-3], unquote(self.path.split("/")[-1])
        stage = self.apigatewayv2_backend.get_stage(api_id, stage_name)
        body = json.loads(self.body or "{}")
        for key, attribute in STAGE_FIELDS.items():
            if key in body:
                setattr(stage, attribute, body[key])
        stage.updated = datetime.now()
        return 200, {}, json.dumps(stage.to_json())

    ApiGatewayV2Response.update_stage = update_stage


# Secrets ---------------------------------------------------------------------------------


def _patch_secrets() -> None:
    """A deleted secret's name stays taken: during its recovery window ("You can't create
    this secret because a secret with this name is already scheduled for deletion"), and
    for a short while after a deletion without recovery, which AWS carries out
    asynchronously.
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html"""
    from moto.secretsmanager.exceptions import InvalidRequestException
    from moto.secretsmanager.models import SecretsManagerBackend

    create, delete = SecretsManagerBackend.create_secret, SecretsManagerBackend.delete_secret
    _ORIGINAL.update(create_secret=create, delete_secret=delete)

    def create_secret(self, name, *args, **kwargs):
        existing = self.secrets.get(name)
        held = _HELD_SECRET_NAMES.get((self.region_name, name), 0.0) > time.monotonic()
        if held or (existing is not None and existing.is_deleted()):
            raise InvalidRequestException(
                "You can't create this secret because a secret with this name is already scheduled for deletion."
            )
        return create(self, name, *args, **kwargs)

    def delete_secret(self, secret_id, recovery_window_in_days, force_delete_without_recovery):
        result = delete(self, secret_id, recovery_window_in_days, force_delete_without_recovery)
        if force_delete_without_recovery:
            _HELD_SECRET_NAMES[(self.region_name, result[1])] = time.monotonic() + DELAY["seconds"]
        return result

    SecretsManagerBackend.create_secret = create_secret
    SecretsManagerBackend.delete_secret = delete_secret

"""Cognito user pools, tags, app clients (OAuth checks), groups and sign-in flows, as AWS
has them where moto differs (part of the one place that touches moto's internals: see
``patches/__init__.py``). Hosted-UI domains and token signing have their own modules."""

from __future__ import annotations

from .originals import keep

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


def invalid_parameter(message: str):
    """Cognito's InvalidParameterException, as moto raises it."""
    from moto.cognitoidp.exceptions import InvalidParameterException

    return InvalidParameterException(message)


# Pools ------------------------------------------------------------------------------


def patch_user_pools() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    create, update, delete = (
        CognitoIdpBackend.create_user_pool,
        CognitoIdpBackend.update_user_pool,
        CognitoIdpBackend.delete_user_pool,
    )
    keep(create_user_pool=create, update_user_pool=update, delete_user_pool=delete)

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
            raise invalid_parameter(
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


def patch_pool_tagging() -> None:
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
        raise invalid_parameter(
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


def patch_clients() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    create, update = CognitoIdpBackend.create_user_pool_client, CognitoIdpBackend.update_user_pool_client
    keep(create_user_pool_client=create, update_user_pool_client=update)

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
                raise invalid_parameter(
                    f"{url} is not a valid redirect URI: use https://, or http://localhost for testing"
                )
    flows = config.get("AllowedOAuthFlows") or []
    scopes = config.get("AllowedOAuthScopes") or []
    unknown = [f for f in flows if f not in ("code", "implicit", "client_credentials")]
    if unknown:
        raise invalid_parameter(f"AllowedOAuthFlows: unknown flow(s) {', '.join(unknown)}")
    if "client_credentials" in flows and (len(flows) > 1 or not has_secret):
        raise invalid_parameter(
            "client_credentials flow can not be selected if client does not have a client secret "
            "or together with code or implicit"
        )
    bad_scopes = [sc for sc in scopes if sc not in STANDARD_SCOPES and "/" not in sc]
    if bad_scopes:
        raise invalid_parameter(f"AllowedOAuthScopes: invalid scope(s) {', '.join(bad_scopes)}")
    if config.get("AllowedOAuthFlowsUserPoolClient"):
        if not flows or not scopes:
            raise invalid_parameter(
                "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is allowed "
                "to use OAuth flows"
            )
        if set(flows) & {"code", "implicit"} and not config.get("CallbackURLs"):
            raise invalid_parameter("CallbackURLs are required for the code and implicit grants")
    elif flows:
        raise invalid_parameter("AllowedOAuthFlowsUserPoolClient must be true to use AllowedOAuthFlows")


def _is_localhost(url: str) -> bool:
    rest = url.removeprefix("http://localhost")
    return url.startswith("http://localhost") and (rest == "" or rest[0] in ":/?")


# Groups -------------------------------------------------------------------------------


def patch_groups() -> None:
    """UpdateGroup: "If you don't provide a value for an attribute, it will be set to the
    default value" (API reference, UpdateGroup); moto kept omitted values instead.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateGroup.html"""
    from moto.cognitoidp.models import CognitoIdpGroup
    from moto.core.utils import utcnow

    keep(group_update=CognitoIdpGroup.update)

    def update(self, description, role_arn, precedence):
        self.description, self.role_arn, self.precedence = description, role_arn, precedence
        self.last_modified_date = utcnow()

    CognitoIdpGroup.update = update


# User names ----------------------------------------------------------------------------


def patch_usernames() -> None:
    """A case-insensitive pool matches user names in any case. Cognito: with
    ``UsernameConfiguration.CaseSensitive`` false "users can sign in using username, USERNAME,
    or UserName. This option also enables both preferred_username and email alias to be
    case insensitive"; "Amazon Cognito treats any variation in case as the same user, and
    prevents a case variation from being assigned to the same attribute for a different
    user". A pool created without the setting is case sensitive (exact names), as before.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UsernameConfigurationType.html
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-case-sensitivity.html

    moto matched exactly in every pool. Every user operation (AdminGetUser,
    AdminListGroupsForUser, AdminInitiateAuth, AdminCreateUser's name check, the hosted UI's
    sign-in, ...) finds its user through the pool's one lookup, ``_get_user``: it is changed
    here, so they all follow. Tokens name the user as stored, not as typed (as on AWS, where
    an e-mail pool's tokens carry the user's sub whatever was typed): every sign-in makes its
    tokens through ``create_refresh_token``, which gets the stored name."""
    from moto.cognitoidp.models import CognitoIdpUserPool

    get_user, refresh, sign_out = (
        CognitoIdpUserPool._get_user,
        CognitoIdpUserPool.create_refresh_token,
        CognitoIdpUserPool.sign_out,
    )
    keep(pool_get_user=get_user, create_refresh_token=refresh, sign_out=sign_out)

    def _get_user(self, username):
        found = get_user(self, username)
        if found is not None or not isinstance(username, str) or _case_sensitive(self):
            return found
        return _stored_name(self, username)[0]

    def create_refresh_token(self, client_id, username):
        return refresh(self, client_id, _canonical(self, username))

    def sign_out_user(self, username):
        return sign_out(self, _canonical(self, username))

    CognitoIdpUserPool._get_user = _get_user
    CognitoIdpUserPool.create_refresh_token = create_refresh_token
    CognitoIdpUserPool.sign_out = sign_out_user


def _case_sensitive(pool) -> bool:
    # CreateUserPool without UsernameConfiguration: case sensitive (the API's default).
    return (pool.extended_config.get("UsernameConfiguration") or {}).get("CaseSensitive", True) is not False


def _stored_name(pool, typed: str):
    """(user, the name as stored) for ``typed`` in any case: the user name, or in a pool
    that signs in with e-mail or phone number, the attribute's stored value."""
    folded = typed.lower()
    for name, user in pool.users.items():
        if name.lower() == folded:
            return user, name
    for attribute in pool.extended_config.get("UsernameAttributes") or []:
        for user in pool.users.values():
            value = next((a["Value"] for a in user.attributes if a["Name"] == attribute), None)
            if isinstance(value, str) and value.lower() == folded:
                return user, value
    return None, typed


def _canonical(pool, typed):
    if not isinstance(typed, str) or _case_sensitive(pool) or typed in pool.users:
        return typed
    return _stored_name(pool, typed)[1]


# Sign-in flows ------------------------------------------------------------------------


def patch_auth() -> None:
    from moto.cognitoidp.models import CognitoIdpBackend

    admin, user = CognitoIdpBackend.admin_initiate_auth, CognitoIdpBackend.initiate_auth
    keep(admin_initiate_auth=admin, initiate_auth=user)

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
        raise invalid_parameter("Auth flow not enabled for this client")

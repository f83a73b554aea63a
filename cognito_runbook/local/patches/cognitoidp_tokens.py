"""Cognito's two signing keys and the scopes of hosted-UI access tokens (part of the one
place that touches moto's internals: see ``patches/__init__.py``)."""

from __future__ import annotations

import json

from .originals import keep

ACCESS_KEY_ID = "ASIAKEYFORSIGNING2"  # the second pool signing key: access tokens (id tokens keep moto's)
_scopes_by_session: dict[str, str] = {}  # origin_jti -> scopes of a hosted-UI sign-in


def remember_scopes(origin_jti: str, scope: str) -> None:
    """Access tokens of the sign-in session ``origin_jti`` carry ``scope`` (space-separated)."""
    _scopes_by_session[origin_jti] = scope


def scopes_of(origin_jti: str) -> list[str] | None:
    """The scopes remembered for the sign-in session ``origin_jti`` (None: not a hosted-UI one)."""
    scope = _scopes_by_session.get(origin_jti)
    return None if scope is None else scope.split()


def patch_signing_keys() -> None:
    """Cognito signs ID tokens and access tokens with two different keys, both in the
    pool's JWKS (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html);
    and the access token of a hosted-UI sign-in carries the scopes asked for
    (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html)."""
    from joserfc import jwk
    from joserfc import jwt as jose_jwt
    from moto.cognitoidp.models import CognitoIdpUserPool
    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

    key = jwk.RSAKey.generate_key(2048, parameters={"kid": ACCESS_KEY_ID, "alg": "RS256", "use": "sig"})
    jwks = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    public = {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "n", "e", "kid", "alg", "use")}
    jwks["keys"] = [*jwks["keys"], public]
    CognitoIdpJsonWebKeyResponse.json_web_key = json.dumps(jwks).encode()

    create_jwt, create_access = CognitoIdpUserPool.create_jwt, CognitoIdpUserPool.create_access_token
    keep(create_jwt=create_jwt, create_access_token=create_access)

    def signed_create_jwt(self, client_id, username, token_use, expires_in=60 * 60, extra_data=None):
        token, expires = create_jwt(self, client_id, username, token_use, expires_in, extra_data)
        if token_use != "access":
            return token, expires
        claims = jose_jwt.decode(token, self.json_web_key).claims
        return jose_jwt.encode({"kid": ACCESS_KEY_ID, "alg": "RS256"}, claims, key), expires

    def create_access_token(self, client_id, username, origin_jti):
        token, expires = create_access(self, client_id, username, origin_jti)
        scope = _scopes_by_session.get(origin_jti)
        if scope is None:
            return token, expires
        self.access_tokens.pop(token, None)
        claims = jose_jwt.decode(token, key).claims
        claims["scope"] = scope
        token = jose_jwt.encode({"kid": ACCESS_KEY_ID, "alg": "RS256"}, claims, key)
        self.access_tokens[token] = (client_id, username)
        return token, expires

    CognitoIdpUserPool.create_jwt = signed_create_jwt
    CognitoIdpUserPool.create_access_token = create_access_token

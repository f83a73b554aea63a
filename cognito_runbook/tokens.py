"""Getting tokens through ``GET /token``, and verifying and decoding them.

Verification follows what AWS's own aws-jwt-verify checks for Cognito tokens, with
PyJWT doing the cryptography: RS256 only, the ``kid`` must be in the pool's JWKS,
exact issuer, ``token_use``, client id per token type (``aud`` for ID tokens,
``client_id`` for access tokens), ``exp`` with an explicit leeway, and optionally a
required group. Each failed check raises its own exception class.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt
from joserfc import errors as jose_errors
from joserfc import jws as jose_jws
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from .errors import RunbookError

ALGORITHM = "RS256"
VERIFIED_CACHE_SIZE = 4096
JWKS_MIN_REFETCH_SECONDS = 10.0


# -- errors: one class per check --------------------------------------------------


class TokenError(RunbookError):
    """A token could not be obtained or did not pass verification."""


class TokenRequestFailed(TokenError):
    def __init__(self, status: int, message: str, retry_after: str | None = None):
        self.status = status
        try:
            self.retry_after = min(max(float(retry_after or 1), 0.2), 10.0)  # seconds, bounded
        except ValueError:
            self.retry_after = 1.0
        super().__init__(f"GET /token answered {status}: {message}")


class MalformedToken(TokenError):
    pass


class AlgorithmNotAllowed(TokenError):
    pass


class UnknownSigningKey(TokenError):
    pass


class BadSignature(TokenError):
    pass


class WrongIssuer(TokenError):
    pass


class WrongTokenUse(TokenError):
    pass


class WrongClient(TokenError):
    pass


class TokenExpired(TokenError):
    pass


class TokenNotYetValid(TokenError):
    pass


class MissingGroup(TokenError):
    pass


# -- tokens ---------------------------------------------------------------------------


def truncate(token: str | None, keep: int = 12) -> str:
    """A token shortened for display: enough to tell tokens apart, useless to an attacker."""
    if not token:
        return ""
    return token if len(token) <= 2 * keep else f"{token[:keep]}…{token[-6:]} ({len(token)} chars)"


@dataclass
class Tokens:
    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: int = 3600
    token_type: str = "Bearer"

    def __repr__(self) -> str:  # never the full tokens, and never the refresh token
        return (
            f"Tokens(id_token={truncate(self.id_token)!r}, access_token={truncate(self.access_token)!r}, "
            f"refresh_token={'<hidden>' if self.refresh_token else None}, expires_in={self.expires_in})"
        )

    @classmethod
    def from_authentication_result(cls, result: dict) -> Tokens:
        return cls(
            result["IdToken"],
            result["AccessToken"],
            result.get("RefreshToken"),
            int(result.get("ExpiresIn", 3600)),
            result.get("TokenType", "Bearer"),
        )


def get_tokens(token_url: str, username: str, password: str, timeout: float = 15.0, wait: float = 60.0) -> Tokens:
    """``curl -u user:password {InvokeURL}/token``, in Python.

    ``wait``: for how long a 503 (the stack just changed: on AWS a new IAM policy takes
    seconds to apply) is retried, as its Retry-After asks."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return _get_tokens_once(token_url, username, password, timeout)
        except TokenRequestFailed as err:
            if err.status != 503 or time.monotonic() + err.retry_after > deadline:
                raise
            time.sleep(err.retry_after)


def _get_tokens_once(token_url: str, username: str, password: str, timeout: float) -> Tokens:
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    request = urllib.request.Request(token_url, headers={"Authorization": f"Basic {basic}"}, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        body = json.loads(raw)
    except urllib.error.HTTPError as err:
        raise TokenRequestFailed(err.code, _error_message(err.read()), err.headers.get("Retry-After")) from None
    except urllib.error.URLError as err:
        raise TokenError(
            f"cannot reach {token_url}: {err.reason}; is the token API deployed (notebook 06) and the local AWS running?"
        ) from None
    except ValueError:
        raise TokenError(
            f"GET /token answered 200 with a body that is not JSON; check the integration of {token_url}"
        ) from None
    if not isinstance(body, dict) or "AuthenticationResult" not in body:
        raise TokenError("GET /token returned no tokens (no AuthenticationResult in the answer)")
    return Tokens.from_authentication_result(body["AuthenticationResult"])


def _error_message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
        return body.get("message") or body.get("error") or str(body)
    except ValueError:
        return raw[:200].decode("utf-8", "replace")


# -- JWKS -----------------------------------------------------------------------------


class JwksCache:
    """The pool's signing keys. Fetched once; refetched only for an unknown ``kid`` and at
    most once per ``min_interval`` seconds, so a flood of forged kids cannot make us
    hammer the JWKS endpoint."""

    def __init__(self, url: str, min_interval: float = JWKS_MIN_REFETCH_SECONDS, timeout: float = 10.0):
        self.url = url
        self.min_interval = min_interval
        self.timeout = timeout
        self.fetches = 0
        self._keys: dict[str, RSAKey] = {}
        self._last_fetch = float("-inf")
        self._fetch_error: str | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> RSAKey:
        found = self._keys.get(kid)
        if found is not None:
            return found
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._last_fetch >= self.min_interval:
                self._fetch()
        found = self._keys.get(kid)
        if found is None and self._fetch_error:
            raise TokenError(self._fetch_error)  # the JWKS could not be fetched: say so, not "unknown key"
        if found is None:
            raise UnknownSigningKey(
                f"kid check failed: key id {kid!r} is not in the pool's JWKS ({self.url}); the token was not signed by this user pool"
            )
        return found

    def jwks(self) -> dict:
        """The raw JWKS document (for the Db2 keystore artefacts)."""
        with urllib.request.urlopen(self.url, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    def _fetch(self) -> None:
        self._last_fetch = time.monotonic()
        self.fetches += 1
        try:
            document = self.jwks()
        except (OSError, ValueError) as err:
            self._fetch_error = f"cannot fetch the JWKS from {self.url}: {err}"
            raise TokenError(self._fetch_error) from None
        self._fetch_error = None
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("kty") == "RSA" and entry.get("kid"):
                keys[entry["kid"]] = RSAKey.import_key(entry)
        self._keys = keys


# -- verification ---------------------------------------------------------------------


class TokenVerifier:
    clock = staticmethod(lambda: time.time())  # "now" for every time check (tests move it)

    def __init__(self, issuer: str, client_id: str, jwks: JwksCache, leeway: float = 0.0):
        self.issuer = issuer
        self.client_id = client_id
        self.jwks = jwks
        self.leeway = leeway
        # joserfc checks signature and claims; measured against PyJWT and bare cryptography
        # in benchmarks/bench_verify.py (PyJWT's per-character base64 check dominated there).
        self._claims = jose_jwt.JWTClaimsRegistry(
            now=lambda: int(self.clock()),
            leeway=int(leeway),
            exp={"essential": True},
            iss={"essential": True, "value": issuer},
            token_use={"essential": True},
        )
        self._verified: OrderedDict[str, dict] = OrderedDict()

    @classmethod
    def for_stack(cls, outputs, leeway: float = 0.0) -> TokenVerifier:
        return cls(outputs.issuer, outputs.client_id, JwksCache(outputs.jwks_url), leeway)

    def verify(self, token: str, token_use: str | None = None, required_group: str | None = None) -> dict:
        """Verified claims, or a TokenError subclass naming the failed check.

        ``token_use``: "id", "access", or None for either.
        """
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = self._verify_signature_and_claims(token)
        elif claims["exp"] + self.leeway <= self.clock():
            del self._verified[token]
            raise TokenExpired("exp check failed: the token has expired; get a new one")
        self._check_use_and_client(claims, token_use)
        if required_group is not None and required_group not in claims.get("cognito:groups", []):
            raise MissingGroup(
                f"group check failed: the user is not in group {required_group!r} (token groups: {claims.get('cognito:groups', [])})"
            )
        return dict(claims)

    def _verify_signature_and_claims(self, token: str) -> dict:
        if not isinstance(token, str) or token.count(".") != 2:
            raise MalformedToken("format check failed: a JWT has three dot-separated parts")
        try:
            # joserfc parses the header once, asks _signing_key for the key it names, checks the
            # algorithm and the signature; the payload is then read as its jwt.decode reads it
            # (measured faster than jwt.decode itself in bench_verify.py).
            payload = jose_jws.deserialize_compact(token, self._signing_key, algorithms=[ALGORITHM]).payload
            claims = json.loads(payload)
        except TokenError:
            raise
        except (jose_errors.UnsupportedAlgorithmError, jose_errors.MissingAlgorithmError):
            alg = _peek_header(token).get("alg")
            raise AlgorithmNotAllowed(f"alg check failed: {alg!r} is not allowed; Cognito signs with RS256") from None
        except jose_errors.InvalidHeaderValueError as err:
            if "kid" in str(err.description):
                raise UnknownSigningKey("kid check failed: the token header's key id is not a string") from None
            raise MalformedToken(f"token check failed: {err.description}") from None
        except jose_errors.BadSignatureError:
            raise BadSignature("signature check failed: the token was altered or signed by another key") from None
        except jose_errors.JoseError as err:
            raise MalformedToken(f"token check failed: {err.description or err.error}") from None
        except ValueError as err:  # base64 or JSON that is not
            raise MalformedToken(f"token check failed: {err}") from None
        if not isinstance(claims, dict):
            raise MalformedToken("claims check failed: the payload is not a JSON object")
        try:
            self._claims.validate(claims)
        except jose_errors.ExpiredTokenError:
            raise TokenExpired("exp check failed: the token has expired; get a new one") from None
        except jose_errors.MissingClaimError as err:
            raise MalformedToken(f"claims check failed: {err.description}") from None
        except jose_errors.InvalidClaimError as err:
            if err.claim == "iss":
                raise WrongIssuer(
                    f"iss check failed: the token was issued by {claims.get('iss')!r}, expected {self.issuer!r}"
                ) from None
            if err.claim in ("nbf", "iat") and isinstance(claims.get(err.claim), int | float):
                raise TokenNotYetValid("nbf/iat check failed: the token is not valid yet (check the clocks)") from None
            raise MalformedToken(f"claims check failed: {err.description}") from None
        self._remember(token, claims)
        return claims

    def _remember(self, token: str, claims: dict) -> None:
        # A server sees the same bearer token on every request for up to an hour. Its
        # signature, issuer and claims cannot change, so they are checked once; expiry,
        # token_use, client and group are still checked on every call.
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)

    def _signing_key(self, token) -> RSAKey:
        """The pool key the token's header names; RS256 only (no ``none``, no HS256 signed
        with the public key, no RS512), and a ``kid`` that is in the pool's JWKS."""
        header = token.headers()
        if header.get("alg") != ALGORITHM:
            raise AlgorithmNotAllowed(
                f"alg check failed: {header.get('alg')!r} is not allowed; Cognito signs with RS256"
            )
        if not header.get("kid") or not isinstance(header["kid"], str):
            raise UnknownSigningKey("kid check failed: the token header names no key id")
        return self.jwks.key(header["kid"])

    def _check_use_and_client(self, claims: dict, token_use: str | None) -> None:
        use = claims.get("token_use")
        if use not in ("id", "access") or (token_use and use != token_use):
            raise WrongTokenUse(f"token_use check failed: got {use!r}, expected {token_use or 'id or access'!r}")
        if use == "id":
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if self.client_id not in audiences:
                raise WrongClient(f"aud check failed: the ID token is for client {aud!r}, expected {self.client_id!r}")
        elif claims.get("client_id") != self.client_id:
            raise WrongClient(
                f"client_id check failed: the access token is for client {claims.get('client_id')!r}, expected {self.client_id!r}"
            )


def _peek_header(token: str) -> dict:
    """The header of a token already refused, only to name what was wrong in the message."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return header if isinstance(header, dict) else {}
    except ValueError:
        return {}


def decode_unverified(token: str) -> dict:
    """Claims WITHOUT any verification: for inspecting tokens from elsewhere only.
    Never base an access decision on this."""
    if isinstance(token, str) and token.count(".") == 4:
        raise MalformedToken(
            "an encrypted refresh token (JWE: five parts), which only Cognito can read; it is not sent to Db2, "
            "only back to Cognito (REFRESH_TOKEN_AUTH) for new ID and access tokens"
        )
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as err:
        raise MalformedToken(f"not a JWT: {err}") from None


# -- display ----------------------------------------------------------------------------

DB2_FIRST = ("cognito:username", "username", "cognito:groups", "token_use", "aud", "client_id", "iss", "exp")


def authid_claim(claims: dict) -> str:
    """The claim Db2's AWS plugin takes the user from (ID: cognito:username, access: username)."""
    return "cognito:username" if claims.get("token_use") == "id" else "username"


def readable_claims(claims: dict) -> list[tuple[str, str]]:
    """Claims as (name, text), the ones Db2 cares about first; times as UTC."""

    def text(name, value):
        if name in ("exp", "iat", "auth_time", "nbf") and isinstance(value, (int, float)):
            stamp = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if name == "exp":
                left = int(value - time.time())
                stamp += f" (in {left // 60} min)" if left > 0 else " (expired)"
            return stamp
        return ", ".join(sorted(map(str, value))) if isinstance(value, list) else str(value)

    ordered = [k for k in DB2_FIRST if k in claims] + sorted(k for k in claims if k not in DB2_FIRST)
    return [(k, text(k, claims[k])) for k in ordered]

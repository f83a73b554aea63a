"""Emulated Cognito hosted UI (moto has the domain but no sign-in pages or OAuth endpoints).

``/_hosted-ui/<domain-prefix>/...`` stands for
``https://<domain-prefix>.auth.<region>.amazoncognito.com/...``. Emulated, after AWS's
documentation of the managed login endpoints:

- ``GET /oauth2/authorize`` checks client, ``redirect_uri`` (must be a callback URL of
  the client), ``response_type`` against the client's allowed OAuth flows, and PKCE
  parameters; then shows the sign-in page (AWS redirects to ``/login`` first).
- ``POST /login`` signs the user in and redirects: implicit grant -> tokens in the
  URL fragment; code grant -> ``?code=...&state=...``. Wrong credentials -> the form
  again with AWS's message.
- ``POST /oauth2/token``: ``authorization_code`` (single use, 5 minutes, PKCE S256
  verified, same client and redirect URI) and ``refresh_token`` grants.

Tokens come from moto's Cognito (the same keys, issuer and claims as the API path).
Access tokens carry the OAuth scopes asked for (the client's allowed scopes when the
request names none), as Cognito's do (``patches/cognitoidp_tokens.py``); an ID token
comes only with the ``openid`` scope, also on refresh.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from . import moto_state

PREFIX = "/_hosted-ui/"
CODE_LIFETIME = 300
AUTHORIZE_KEYS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
FLOW_OF_RESPONSE_TYPE = {"token": "implicit", "code": "code"}


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>{body}</body></html>"
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url})


def _json(status: int, payload: dict) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def openid_only(tokens: dict, scopes: list[str] | None) -> dict:
    """``tokens`` without ``id_token`` when the sign-in did not ask for ``openid``: "Because
    openid scope was not requested, Amazon Cognito doesn't return an ID token"
    (https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html);
    the token endpoint returns an ID token for the code grant and on refresh only for such
    a sign-in (https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html).
    ``scopes`` None: not a hosted-UI sign-in (an API one always has its ID token)."""
    if scopes is not None and "openid" not in scopes:
        return {k: v for k, v in tokens.items() if k != "id_token"}
    return tokens


def s256(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))), no padding. Computed here,
    not borrowed from the client side, so a mistake in one cannot hide in the other."""
    try:
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
    except UnicodeEncodeError:  # a verifier outside RFC 7636's alphabet never matches
        return ""
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class HostedUi:
    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        domain, _, rest = request.path[len(PREFIX) :].partition("/")
        region, pool = moto_state.pool_by_domain(domain)
        if pool is None:
            return _page("Not found", "<p>No user pool uses this domain.</p>", 404)
        if not moto_state.domain_is_active(domain):
            # On AWS the name does not resolve until the domain is ACTIVE.
            return _page("Not ready", "<p>This domain is still being created; try again in a minute.</p>", 503)
        route = ("/" + rest, request.method)
        if route in (("/oauth2/authorize", "GET"), ("/login", "GET")):
            return self._form(request.args, pool, domain)
        if route == ("/login", "POST"):
            return self._login(request.form, region, pool, domain)
        if route == ("/oauth2/token", "POST"):
            return self._token(request, region, pool)
        return _page("Not found", "<p>Unknown hosted UI page.</p>", 404)

    # -- authorize / login -------------------------------------------------

    def _check_request(self, args, pool) -> tuple[Response | None, dict | None]:
        client = moto_state.app_client_config(pool, args.get("client_id", ""))
        if client is None:
            return _page(
                "Error",
                "<p>An error was encountered with the requested page.</p><p>invalid_request: client_id</p>",
                400,
            ), None
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri not in (client.get("CallbackURLs") or []):
            return _page(
                "Error", "<p>An error was encountered with the requested page.</p><p>redirect_mismatch</p>", 400
            ), None
        flow = FLOW_OF_RESPONSE_TYPE.get(args.get("response_type", ""))
        if (
            flow is None
            or not client.get("AllowedOAuthFlowsUserPoolClient")
            or flow not in (client.get("AllowedOAuthFlows") or [])
        ):
            return _redirect(self._error_url(args, "unsupported_response_type")), None
        unknown = set(args.get("scope", "").split()) - set(client.get("AllowedOAuthScopes") or [])
        if unknown:  # a scope the client does not allow: Cognito answers invalid_scope
            return _redirect(self._error_url(args, "invalid_scope")), None
        if args.get("code_challenge") and args.get("code_challenge_method", "plain") != "S256":
            return _redirect(self._error_url(args, "invalid_request", "code_challenge_method must be S256")), None
        return None, client

    @staticmethod
    def _error_url(args, error: str, description: str | None = None) -> str:
        query = {"error": error}
        if description:
            query["error_description"] = description
        if args.get("state"):
            query["state"] = args["state"]
        return f"{args.get('redirect_uri', '')}?{urlencode(query)}"

    def _form(self, args, pool, domain: str, message: str = "") -> Response:
        error, _ = self._check_request(args, pool)
        if error is not None:
            return error
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(args[k])}">' for k in AUTHORIZE_KEYS if k in args
        )
        note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
        form = (
            f'<h1>Sign in</h1>{note}<form method="post" action="{PREFIX}{domain}/login">{hidden}'
            '<label>Username <input name="username" autocomplete="username"></label>'
            '<label>Password <input name="password" type="password" autocomplete="current-password"></label>'
            '<button type="submit" name="signInSubmitButton">Sign in</button></form>'
        )
        return _page("Signin", form)

    def _login(self, args, region: str, pool, domain: str) -> Response:
        error, client = self._check_request(args, pool)
        if error is not None:
            return error
        scopes = args.get("scope", "").split() or list(client.get("AllowedOAuthScopes") or [])
        tokens = moto_state.password_sign_in(
            region, pool.id, args["client_id"], args.get("username", ""), args.get("password", ""), scopes
        )
        if tokens is None:
            return self._form(args, pool, domain, "Incorrect username or password.")
        state = {"state": args["state"]} if args.get("state") else {}
        if args["response_type"] == "token":
            fragment = openid_only(
                {
                    "access_token": tokens["AccessToken"],
                    "id_token": tokens["IdToken"],
                    "token_type": "Bearer",
                    "expires_in": tokens["ExpiresIn"],
                    **state,
                },
                scopes,
            )
            return _redirect(f"{args['redirect_uri']}#{urlencode(fragment)}")
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            for stale in [c for c, e in self._codes.items() if e["expires"] < now]:
                del self._codes[stale]
            self._codes[code] = {
                "client_id": args["client_id"],
                "redirect_uri": args["redirect_uri"],
                "tokens": tokens,
                "scopes": scopes,
                "challenge": args.get("code_challenge"),
                "expires": time.monotonic() + CODE_LIFETIME,
            }
        return _redirect(f"{args['redirect_uri']}?{urlencode({'code': code, **state})}")

    # -- token endpoint ----------------------------------------------------

    def _token(self, request: Request, region: str, pool) -> Response:
        form = request.form
        grant = form.get("grant_type")
        client_id = form.get("client_id") or self._basic_client_id(request)
        if moto_state.app_client_config(pool, client_id or "") is None:
            return _json(400, {"error": "invalid_client"})
        if grant == "authorization_code":
            with self._lock:
                entry = self._codes.pop(form.get("code", ""), None)  # single use, even when the rest fails
            if (
                entry is None
                or entry["expires"] < time.monotonic()
                or entry["client_id"] != client_id
                or entry["redirect_uri"] != form.get("redirect_uri")
            ):
                return _json(400, {"error": "invalid_grant"})
            if entry["challenge"] and s256(form.get("code_verifier", "")) != entry["challenge"]:
                return _json(400, {"error": "invalid_grant"})
            tokens = entry["tokens"]
            return _json(
                200,
                openid_only(
                    {
                        "id_token": tokens["IdToken"],
                        "access_token": tokens["AccessToken"],
                        "refresh_token": tokens["RefreshToken"],
                        "expires_in": tokens["ExpiresIn"],
                        "token_type": "Bearer",
                    },
                    entry["scopes"],
                ),
            )
        if grant == "refresh_token":
            tokens = moto_state.refresh_sign_in(region, pool.id, client_id, form.get("refresh_token", ""))
            if tokens is None:
                return _json(400, {"error": "invalid_grant"})
            return _json(
                200,
                openid_only(
                    {
                        "id_token": tokens["IdToken"],
                        "access_token": tokens["AccessToken"],
                        "expires_in": tokens["ExpiresIn"],
                        "token_type": "Bearer",
                    },
                    moto_state.refresh_token_scopes(region, pool.id, form.get("refresh_token", "")),
                ),
            )
        return _json(400, {"error": "unsupported_grant_type"})

    @staticmethod
    def _basic_client_id(request: Request) -> str | None:
        auth = request.authorization
        return auth.username if auth else None

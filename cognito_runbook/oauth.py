"""The hosted UI: login URLs, PKCE, parsing the redirect, code exchange, refresh.

Two flows, both for the public app client:

- implicit grant (what the console runbook uses): tokens come back in the redirect
  URL's fragment (``#access_token=...&id_token=...``). AWS calls it legacy: tokens
  travel through the browser history.
- authorization code + PKCE (RFC 7636; what AWS recommends for public clients): the
  redirect carries a one-time ``code``; we exchange it at ``/oauth2/token`` with the
  ``code_verifier`` only we know.
"""

from __future__ import annotations

import base64
import hashlib
import html.parser
import http.cookiejar
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from .tokens import TokenError, Tokens


class RedirectError(TokenError):
    """The redirect URL says sign-in failed, or does not belong to this sign-in."""


# -- PKCE (RFC 7636) ----------------------------------------------------------------


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(code_verifier))), no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def new_code_verifier() -> str:
    return secrets.token_urlsafe(64)[:96]  # 43..128 characters of [A-Za-z0-9-._~]


# -- sign-in session --------------------------------------------------------------


@dataclass
class SignIn:
    """One hosted-UI sign-in: its URL, and what it takes to check and finish the redirect."""

    hosted_ui_url: str
    client_id: str
    redirect_uri: str
    flow: str = "implicit"  # "implicit" or "code"
    scopes: tuple[str, ...] = ("openid", "email", "phone")
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    code_verifier: str = field(default_factory=new_code_verifier, repr=False)

    @property
    def login_url(self) -> str:
        query = {
            "client_id": self.client_id,
            "response_type": "token" if self.flow == "implicit" else "code",
            "scope": " ".join(self.scopes),
            "redirect_uri": self.redirect_uri,
            "state": self.state,
        }
        if self.flow == "code":
            query.update(code_challenge=code_challenge(self.code_verifier), code_challenge_method="S256")
        return f"{self.hosted_ui_url}/oauth2/authorize?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"

    def finish(self, redirect_url: str, timeout: float = 15.0) -> Tokens:
        """Tokens from the URL the browser was sent back to (checked against this sign-in)."""
        parsed = parse_redirect(redirect_url)
        if parsed.get("state") != self.state:
            raise RedirectError(
                "state check failed: the redirect does not belong to this sign-in (start again from the login URL)"
            )
        if self.flow == "implicit":
            if "access_token" not in parsed or "id_token" not in parsed:
                raise RedirectError(
                    "the redirect lacks the ID or access token; the login URL must ask for the openid scope (implicit flow)"
                )
            return Tokens(parsed["id_token"], parsed["access_token"], None, int(parsed.get("expires_in", 3600)))
        if "code" not in parsed:
            raise RedirectError(
                "the redirect carries no authorization code; was the login URL built for the implicit flow?"
            )
        return exchange_code(
            self.hosted_ui_url, self.client_id, parsed["code"], self.redirect_uri, self.code_verifier, timeout
        )


def parse_redirect(url: str) -> dict[str, str]:
    """Parameters of a hosted-UI redirect: the fragment (implicit) or query (code flow).
    An ``error`` parameter raises RedirectError with Cognito's description."""
    parts = urllib.parse.urlsplit(url.strip())
    params = dict(urllib.parse.parse_qsl(parts.query))
    params.update(urllib.parse.parse_qsl(parts.fragment))
    if "error" in params:
        description = params.get("error_description", "").replace("+", " ")
        raise RedirectError(f"sign-in failed: {params['error']}{': ' + description if description else ''}")
    if not ({"access_token", "id_token", "code"} & params.keys()):
        raise RedirectError(
            "not a hosted-UI redirect: it has neither tokens (#access_token=...) nor ?code=...; paste the whole URL from the browser's address bar"
        )
    return params


def exchange_code(
    hosted_ui_url: str, client_id: str, code: str, redirect_uri: str, code_verifier: str, timeout: float = 15.0
) -> Tokens:
    body = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    result = _post_token(hosted_ui_url, body, timeout)
    if "id_token" not in result or "access_token" not in result:
        raise TokenError("the token endpoint returned no ID token; the app client must allow the openid scope")
    return Tokens(
        result["id_token"], result["access_token"], result.get("refresh_token"), int(result.get("expires_in", 3600))
    )


def _post_token(hosted_ui_url: str, body: dict, timeout: float) -> dict:
    request = urllib.request.Request(
        f"{hosted_ui_url}/oauth2/token",
        data=urllib.parse.urlencode(body).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        try:
            reason = json.loads(err.read()).get("error", "")
        except ValueError:
            reason = ""
        raise TokenError(
            f"the token endpoint refused the request ({err.code} {reason}); sign in again: codes are single-use and short-lived"
        ) from None
    except urllib.error.URLError as err:
        raise TokenError(f"cannot reach the token endpoint {hosted_ui_url}/oauth2/token: {err.reason}") from None
    except ValueError:
        raise TokenError("the token endpoint answered with something that is not JSON") from None


def refresh(backend, client_id: str, refresh_token: str) -> Tokens:
    """New ID and access tokens from a refresh token (REFRESH_TOKEN_AUTH, public client).
    The refresh token stays in memory; Cognito does not return a new one."""
    from botocore.exceptions import ClientError

    from .aws import error_code, error_message

    try:
        result = backend.client("cognito-idp").initiate_auth(
            AuthFlow="REFRESH_TOKEN_AUTH", ClientId=client_id, AuthParameters={"REFRESH_TOKEN": refresh_token}
        )
    except ClientError as err:
        raise TokenError(f"refresh failed: {error_message(err) or error_code(err)}; sign in again") from None
    auth = result["AuthenticationResult"]
    return Tokens(auth["IdToken"], auth["AccessToken"], refresh_token, int(auth.get("ExpiresIn", 3600)))


# -- scripted sign-in (headless runs) -------------------------------------------------


class _LoginForm(html.parser.HTMLParser):
    """The sign-in form: the form that has a password field, with its hidden inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}, "password": False})
        elif tag == "input" and self.forms:
            form = self.forms[-1]
            if attrs.get("type") == "password":
                form["password"] = True
            elif attrs.get("type") == "hidden" and attrs.get("name"):
                form["fields"][attrs["name"]] = attrs.get("value", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def scripted_sign_in(login_url: str, username: str, password: str, timeout: float = 15.0) -> str:
    """Do what a person does on the hosted UI's sign-in page and return the redirect URL.

    Fetches the page, fills the form that has a password field (keeping hidden fields
    and cookies, e.g. a CSRF token), posts it, and returns the Location it redirects to.
    For headless runs; a person uses the browser and pastes the URL.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    page_url, page = _get_following(opener, login_url, timeout)
    parser = _LoginForm()
    parser.feed(page)
    form = next((f for f in parser.forms if f["password"]), None)
    if form is None:
        raise RedirectError(
            "the hosted UI page has no sign-in form; sign in in a browser and paste the redirect URL instead"
        )
    fields = {**form["fields"], "username": username, "password": password}
    action = urllib.parse.urljoin(page_url, form["action"] or page_url)
    request = urllib.request.Request(action, data=urllib.parse.urlencode(fields).encode(), method="POST")
    try:
        opener.open(request, timeout=timeout).close()
        raise RedirectError("sign-in failed: the hosted UI did not accept the user name and password")
    except urllib.error.HTTPError as err:
        if err.code in (301, 302, 303) and err.headers.get("Location"):
            return err.headers["Location"]
        raise RedirectError(f"sign-in failed: the hosted UI answered {err.code}") from None


def _get_following(opener, url: str, timeout: float, hops: int = 5) -> tuple[str, str]:
    for _ in range(hops):
        try:
            with opener.open(url, timeout=timeout) as response:
                return url, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            location = err.headers.get("Location")
            if err.code in (301, 302, 303) and location:
                next_url = urllib.parse.urljoin(url, location)
                if urllib.parse.urlsplit(next_url).netloc != urllib.parse.urlsplit(url).netloc:
                    parse_redirect(next_url)  # sent straight back to the app: raises the error it carries
                    raise RedirectError("the hosted UI redirected back before sign-in") from None
                url = next_url
                continue
            raise RedirectError(
                f"the hosted UI answered {err.code} for the login URL; check the app client's callback URL and OAuth flows"
            ) from None
    raise RedirectError("the hosted UI redirected too often")

"""Both hosted-UI sign-in flows against the local hosted UI: verified tokens, and AWS's refusals."""

from __future__ import annotations

import pytest

from cognito_runbook import oauth
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.tokens import TokenError, TokenVerifier


@pytest.fixture
def signed_in_stack(provisioned):
    rb, out = provisioned
    user = rb.params.users[0]
    return rb, out, user.name, PasswordStore(rb.ctx).existing(user)


@pytest.mark.parametrize("flow", ["implicit", "code"])
def test_hosted_ui_sign_in_gives_verified_tokens(signed_in_stack, flow):
    rb, out, user, password = signed_in_stack
    sign_in = oauth.SignIn(out.hosted_ui_url, out.client_id, "http://localhost", flow)
    redirect = oauth.scripted_sign_in(sign_in.login_url, user, password)
    assert redirect.startswith("http://localhost")
    tokens = sign_in.finish(redirect)
    verifier = TokenVerifier.for_stack(out)
    assert verifier.verify(tokens.id_token, "id")["cognito:username"] == user
    assert verifier.verify(tokens.access_token, "access")["username"] == user
    if flow == "code":
        assert tokens.refresh_token
        refreshed = oauth.refresh(rb.backend, out.client_id, tokens.refresh_token)
        assert verifier.verify(refreshed.access_token, "access")["username"] == user


def test_hosted_ui_rejects_wrong_password_state_and_reused_code(signed_in_stack):
    _rb, out, user, password = signed_in_stack
    sign_in = oauth.SignIn(out.hosted_ui_url, out.client_id, "http://localhost", "code")
    with pytest.raises(oauth.RedirectError, match="did not accept"):
        oauth.scripted_sign_in(sign_in.login_url, user, "Wrong-password-1")
    redirect = oauth.scripted_sign_in(sign_in.login_url, user, password)
    other = oauth.SignIn(out.hosted_ui_url, out.client_id, "http://localhost", "code")
    with pytest.raises(oauth.RedirectError, match="state check failed"):
        other.finish(redirect)
    code = oauth.parse_redirect(redirect)["code"]
    with pytest.raises(TokenError, match="invalid_grant"):  # wrong PKCE verifier
        oauth.exchange_code(out.hosted_ui_url, out.client_id, code, "http://localhost", oauth.new_code_verifier())
    with pytest.raises(TokenError, match="invalid_grant"):  # the code was used up by the failed attempt
        sign_in.finish(redirect)


def test_hosted_ui_refuses_unknown_callback(signed_in_stack):
    _rb, out, user, password = signed_in_stack
    sign_in = oauth.SignIn(out.hosted_ui_url, out.client_id, "https://evil.example/cb", "implicit")
    with pytest.raises(oauth.RedirectError, match="400"):
        oauth.scripted_sign_in(sign_in.login_url, user, password)

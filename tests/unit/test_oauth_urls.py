"""Hosted-UI flows without a network: PKCE, login URLs and redirect parsing."""

import re

import pytest
from conftest import ROOT

from cognito_runbook import oauth
from cognito_runbook.tokens import decode_unverified

REFERENCE = ROOT.parent / "shared" / "reference" / "AWS_cognito.md"


def test_pkce_matches_rfc7636_appendix_b():
    assert (
        oauth.code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_generated_verifiers_follow_rfc7636():
    verifier = oauth.new_code_verifier()
    assert 43 <= len(verifier) <= 128 and re.fullmatch(r"[A-Za-z0-9._~-]+", verifier)
    assert oauth.new_code_verifier() != verifier


@pytest.fixture
def reference_redirect():
    if not REFERENCE.exists():
        pytest.skip(f"reference document not found at {REFERENCE}")
    return re.search(r"http://localhost/#access_token=\S+", REFERENCE.read_text()).group(0)


def test_reference_redirect_parses_and_decodes_to_its_claims(reference_redirect):
    parsed = oauth.parse_redirect(reference_redirect)
    assert parsed["token_type"] == "Bearer" and parsed["expires_in"] == "3600"
    access = decode_unverified(parsed["access_token"])
    identity = decode_unverified(parsed["id_token"])
    assert access["token_use"] == "access" and access["username"] == "test1"
    assert access["client_id"] == "1njmr2vp8dipb1hne0a0vrv5tk" and access["cognito:groups"] == ["DB2ADMIN"]
    assert access["iss"] == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_DiDR8M202"
    assert identity["token_use"] == "id" and identity["cognito:username"] == "test1"
    assert identity["aud"] == "1njmr2vp8dipb1hne0a0vrv5tk"


@pytest.mark.parametrize(
    "url, message",
    [
        (
            "http://localhost/?error=access_denied&error_description=User+cancelled&state=x",
            "access_denied: User cancelled",
        ),
        ("http://localhost/#error=unauthorized_client", "unauthorized_client"),
        ("http://localhost/?foo=bar", "not a hosted-UI redirect"),
    ],
)
def test_error_redirects_are_reported(url, message):
    with pytest.raises(oauth.RedirectError, match=message):
        oauth.parse_redirect(url)


def test_code_redirect_parses():
    assert oauth.parse_redirect("http://localhost/?code=abc&state=s1") == {"code": "abc", "state": "s1"}


def test_login_urls():
    implicit = oauth.SignIn(
        "https://d.auth.us-east-1.amazoncognito.com", "cid", "http://localhost", "implicit", state="s"
    )
    assert implicit.login_url == (
        "https://d.auth.us-east-1.amazoncognito.com/oauth2/authorize?client_id=cid&response_type=token"
        "&scope=openid%20email%20phone&redirect_uri=http%3A%2F%2Flocalhost&state=s"
    )
    code = oauth.SignIn("https://h", "cid", "http://localhost", "code")
    assert f"code_challenge={oauth.code_challenge(code.code_verifier)}&code_challenge_method=S256" in code.login_url


# -- against the local hosted UI -------------------------------------------------

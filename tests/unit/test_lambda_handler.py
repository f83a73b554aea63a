"""The generateToken handler, called as API Gateway calls it (payload 2.0 events), with
Cognito stubbed by botocore's Stubber. No network."""

import base64
import json

import boto3
import pytest
from botocore.stub import Stubber

from cognito_runbook.lambda_src import generate_token as handler

TOKENS = {"IdToken": "id.t.x", "AccessToken": "ac.t.x", "RefreshToken": "rf", "ExpiresIn": 3600, "TokenType": "Bearer"}


@pytest.fixture
def cognito(monkeypatch):
    monkeypatch.setenv("USER_POOL_ID", "us-east-1_pool")
    monkeypatch.setenv("CLIENT_ID", "client123")
    client = boto3.client("cognito-idp", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    monkeypatch.setattr(handler, "_client", client)
    with Stubber(client) as stub:
        yield stub


def event(authorization=None, method="GET"):
    headers = {"authorization": authorization} if authorization is not None else {}
    return {"version": "2.0", "headers": headers, "requestContext": {"http": {"method": method}}}


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(ev):
    response = handler.lambda_handler(ev, None)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_success_keeps_reference_body_without_internals(cognito):
    cognito.add_response(
        "admin_initiate_auth",
        {"AuthenticationResult": TOKENS, "ChallengeParameters": {}},
        {
            "UserPoolId": "us-east-1_pool",
            "ClientId": "client123",
            "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "db2dba", "PASSWORD": "pa:ss:word"},
        },
    )
    status, body, headers = call(event(basic("db2dba", "pa:ss:word")))
    assert status == 200
    assert body["AuthenticationResult"] == TOKENS
    assert "ResponseMetadata" not in body
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "auth, status",
    [
        (None, 401),
        ("", 401),
        ("Bearer abc", 401),
        ("Basic", 401),
        ("Basic !!!notbase64", 400),
        ("Basic " + base64.b64encode(b"nocolon").decode(), 400),
        ("Basic " + base64.b64encode(b":pw").decode(), 400),
        ("Basic " + base64.b64encode(b"user:").decode(), 400),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), 400),
    ],
)
def test_bad_headers_get_4xx_and_basic_challenge(cognito, auth, status):
    got, body, headers = call(event(auth))
    assert got == status and body["error"]
    if status == 401:
        assert headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "code, status",
    [
        ("NotAuthorizedException", 401),
        ("UserNotFoundException", 401),
        ("PasswordResetRequiredException", 403),
        ("UserNotConfirmedException", 403),
        ("TooManyRequestsException", 429),
    ],
)
def test_cognito_refusals_map_to_statuses(cognito, code, status):
    cognito.add_client_error("admin_initiate_auth", service_error_code=code, service_message="nope")
    got, body, _ = call(event(basic("db2dba", "Secret-pw1")))
    assert got == status
    assert "Secret-pw1" not in json.dumps(body)


def test_new_password_challenge_is_403(cognito):
    cognito.add_response(
        "admin_initiate_auth",
        {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s" * 20, "ChallengeParameters": {}},
    )
    status, body, _ = call(event(basic("db2dba", "pw")))
    assert status == 403 and "NEW_PASSWORD_REQUIRED" in body["message"]


def test_wrong_method_is_405(cognito):
    assert call(event(basic("a", "b"), method="POST"))[0] == 405


def test_client_is_built_once_per_container(monkeypatch):
    made = []
    monkeypatch.setattr(handler, "_client", None)
    monkeypatch.setattr(boto3, "client", lambda *a, **k: made.append(a) or object())
    first = handler._cognito()
    assert handler._cognito() is first and len(made) == 1

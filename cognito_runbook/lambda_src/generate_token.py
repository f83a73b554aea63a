"""generateToken: exchange HTTP Basic credentials for Cognito tokens.

Deployed as it stands behind the getToken HTTP API (payload format 2.0). Same job
and same 200 body shape as the console runbook's handler, with the gaps closed:
the boto3 client is built once per container (not per request), every expected
failure is a short JSON error with the right HTTP status (never a 500 with a stack
trace; 503 when Cognito refuses the stack's own configuration), and passwords may
contain ':'. Nothing from the request is echoed back.
"""

import base64
import binascii
import json
import os

_client = None  # one per container: building a boto3 client costs more than the call


def _cognito():
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("cognito-idp")
    return _client


def _error(status, code, message, headers=None):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps({"error": code, "message": message}),
    }


def _unauthorized(message):
    return _error(401, "unauthorized", message, {"WWW-Authenticate": 'Basic realm="getToken", charset="UTF-8"'})


def _credentials(event):
    """(username, password) from the Basic authorization header, or an error response."""
    header = (event.get("headers") or {}).get("authorization")
    if not header:
        return None, _unauthorized(
            "send the user name and password with HTTP Basic authentication (curl -u user:password)"
        )
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None, _unauthorized("only HTTP Basic authentication is accepted")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None, _error(400, "bad_request", "the Basic credentials are not valid base64 of user:password")
    username, sep, password = decoded.partition(":")  # the password may contain ':'
    if not sep or not username or not password:
        return None, _error(400, "bad_request", "the Basic credentials must be user:password, both non-empty")
    return (username, password), None


def lambda_handler(event, context):
    if (event.get("requestContext") or {}).get("http", {}).get("method", "GET") != "GET":
        return _error(405, "method_not_allowed", "use GET")
    creds, error = _credentials(event)
    if error:
        return error
    username, password = creds
    client = _cognito()
    try:
        response = client.admin_initiate_auth(
            UserPoolId=os.environ["USER_POOL_ID"],
            ClientId=os.environ["CLIENT_ID"],
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except client.exceptions.NotAuthorizedException:
        return _unauthorized("incorrect user name or password")
    except client.exceptions.UserNotFoundException:
        return _unauthorized("incorrect user name or password")  # do not reveal which users exist
    except client.exceptions.PasswordResetRequiredException:
        return _error(403, "password_reset_required", "the user must reset the password before getting tokens")
    except client.exceptions.UserNotConfirmedException:
        return _error(403, "user_not_confirmed", "the user is not confirmed")
    except (client.exceptions.TooManyRequestsException, client.exceptions.LimitExceededException):
        return _error(429, "too_many_requests", "Cognito is throttling requests; retry after a short wait")
    except client.exceptions.ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code not in ("AccessDeniedException", "InvalidParameterException", "ResourceNotFoundException"):
            raise
        # The stack is misconfigured (the role's policy not in effect yet, an auth flow the
        # app client does not allow, a deleted pool or client): say so, and log why for
        # the operator (CloudWatch Logs), never the caller's credentials.
        print(
            json.dumps({"level": "ERROR", "cognito_error": code, "message": err.response["Error"].get("Message", "")})
        )
        return _error(
            503,
            "not_configured",
            f"the token service cannot sign users in right now ({code}); the operator should check the function's log",
            {"Retry-After": "5"},
        )
    if "AuthenticationResult" not in response:
        challenge = response.get("ChallengeName", "unknown")
        return _error(
            403,
            "challenge_required",
            f"Cognito asks for {challenge}; set a permanent password for the user (admin-set-user-password --permanent)",
        )
    result = response["AuthenticationResult"]
    keys = ["IdToken", "AccessToken", "ExpiresIn", "TokenType"]
    if os.environ.get("RETURN_REFRESH_TOKEN", "true") != "false":  # the stack's choice (token_api params)
        keys.insert(2, "RefreshToken")
    body = {
        "ChallengeParameters": response.get("ChallengeParameters", {}),
        "AuthenticationResult": {k: result[k] for k in keys if k in result},
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }

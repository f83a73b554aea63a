"""Hostile input at GET /token, over real HTTP through the local execute-api and the
deployed handler. Whatever arrives: no 5xx, no stack trace or exception text, no
credential echoed, and a Basic challenge on every 401."""

import base64
import http.client
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LEAKS = (b"Traceback", b"Exception", b"botocore", b'File "', b"lambda_handler", b"KeyError")
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT"]
PATHS = ["/token", "/token/", "/TOKEN", "/", "/tokens", "/token/../token", "/%00", "/token?x=1", "/" + "a" * 2000]


@pytest.fixture(scope="module")
def endpoint(local_aws, tmp_path_factory):
    import yaml
    from conftest import ROOT

    from cognito_runbook.backend import Backend
    from cognito_runbook.params import parse_params
    from cognito_runbook.runbook import Runbook

    raw = yaml.safe_load((ROOT / "params" / "local.yaml").read_text())
    raw.update(stack="fuzz-stack", memberships={})
    raw["user_pool"] = {**raw["user_pool"], "domain_prefix": "fuzz-stack"}
    raw["token_function"] = {**raw["token_function"], "name": "generateToken-fuzz"}
    raw["token_api"] = {"name": "getToken", "throttling": {"burst_limit": 5000, "rate_limit": 5000}}
    rb = Runbook(parse_params(raw), Backend("local", "us-east-1", endpoint_url=local_aws))
    rb.provision()
    url = urllib.parse.urlsplit(rb.outputs().invoke_url)
    yield url.hostname, url.port, url.path
    rb.teardown()


def send(endpoint, method: str, path: str, headers: list[tuple[str, bytes]]):
    host, port, prefix = endpoint
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(method, prefix + path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.getheader("WWW-Authenticate"), response.read()
    finally:
        conn.close()


def check(status, challenge, body, secrets: list[bytes], control=None):
    """``control``: sends the same request with the secrets blanked out; a secret found in
    the body counts as echoed only if the control's body differs (a password such as
    "erro" is found in any "error" message, which is not an echo)."""
    assert status < 500, (status, body[:300])
    for leak in LEAKS:
        assert leak not in body, body[:300]
    for secret in secrets:
        if len(secret) >= 4 and secret in body:
            assert control is not None and control()[2] == body, f"the response echoes {secret!r}: {body[:300]}"
    if status == 401:
        assert challenge and challenge.startswith("Basic")


def basic(user: bytes, password: bytes) -> bytes:
    return b"Basic " + base64.b64encode(user + b":" + password)


credentials = st.binary(min_size=0, max_size=64)
header_value = st.one_of(
    st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.builds(basic, credentials, credentials),
    st.builds(lambda u, p, extra: basic(u, p + b":" + extra), credentials, credentials, credentials),
    st.sampled_from(
        [
            b"Basic",
            b"Basic ",
            b"basic Og==",
            b"Bearer eyJhbGciOiJub25lIn0.e30.",
            b"Digest x",
            b"Basic ====",
            b"Basic " + b"A" * 60000,
            b"Basic \xff\xfe",
            b"Basic " + base64.b64encode(b"\xff\xfe:\x80"),
        ]
    ),
)


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(value=header_value)
def test_arbitrary_authorization_headers(endpoint, value):
    status, challenge, body = send(endpoint, "GET", "/token", [("Authorization", value)])
    secrets = [part for part in value.split(b":")[1:]] if value.startswith(b"Basic ") else []
    check(
        status,
        challenge,
        body,
        secrets,
        control=lambda: send(endpoint, "GET", "/token", [("Authorization", b"Basic Og==")]),
    )
    if status == 200:
        pytest.fail("a random credential signed in")


@settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(user=st.text(max_size=40), password=st.text(max_size=40))
def test_text_credentials_with_colons_and_unicode(endpoint, user, password):
    value = basic(user.encode(), password.encode())
    status, challenge, body = send(endpoint, "GET", "/token", [("Authorization", value)])
    blanked = basic(user.encode(), b"Z" * len(password.encode()))
    check(
        status,
        challenge,
        body,
        [password.encode()],
        control=lambda: send(endpoint, "GET", "/token", [("Authorization", blanked)]),
    )
    assert status in (400, 401)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(METHODS),
    path=st.sampled_from(PATHS),
    extra=st.lists(
        st.tuples(
            st.sampled_from(["X-Forwarded-For", "Cookie", "Content-Type", "X-Amz-Date", "authorization"]),
            st.binary(max_size=100).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
        ),
        max_size=4,
    ),
)
def test_methods_paths_and_extra_headers(endpoint, method, path, extra):
    status, challenge, body = send(endpoint, method, path, extra)
    check(status, challenge, body, [])
    if method != "GET" or path.split("?")[0] != "/token":
        assert status in (400, 403, 404, 405, 431)

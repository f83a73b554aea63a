"""The local AWS process: moto's server plus our emulations, on one 127.0.0.1 port.

Run as ``python -m cognito_runbook.local.server --home DIR``; ``control.py`` starts
and stops it. When it is ready it writes ``DIR/local.json`` (endpoint and pid), so
every notebook kernel, test and CLI call finds the same local AWS.

Routing: ``/_execute-api/...`` -> emulated API Gateway invoke URLs,
``/_hosted-ui/<domain>/...`` -> emulated Cognito hosted UI, ``/_local/health`` ->
liveness and the options in force (delay, latency, quotas), ``/_local/requests`` -> the runbook's API requests by operation; everything else -> moto.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..constants import (
    LOCAL_ACCOUNT_ID,
    LOCAL_CREDENTIALS,
    LOCAL_DELAY_ENV,
    LOCAL_LATENCY_ENV,
    LOCAL_OPERATOR_USER,
    LOCAL_QUOTAS_ENV,
    USER_AGENT,
)
from ..constants import (
    LOCAL_STATE_FILE as STATE_FILE,
)
from ..quotas import CATEGORY, DEFAULT_RPS
from . import iam_evaluation, moto_state, operator_iam, patches
from .execute_api import PREFIX as EXECUTE_API_PREFIX
from .execute_api import ExecuteApi
from .hosted_ui import PREFIX as HOSTED_UI_PREFIX
from .hosted_ui import HostedUi
from .lambda_runtime import FUNCTION_KEY_PREFIX, LambdaRuntime
from .timing import delay_seconds

WARM_UP = [  # moto builds each service's app on its first request (up to 1.4 s): do it now
    ("cognito-idp", "list_user_pools", {"MaxResults": 1}),
    ("iam", "list_roles", {}),
    ("lambda", "list_functions", {}),
    ("apigatewayv2", "get_apis", {}),
    ("secretsmanager", "list_secrets", {}),
    ("sts", "get_caller_identity", {}),
]


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive: boto3 reuses its connections instead of a new TCP
    connection (and server thread) per request."""

    protocol_version = "HTTP/1.1"


def credential(environ) -> tuple[str, str, str]:
    """(access key, region, service) from a SigV4 Authorization header."""
    found = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return found.groups() if found else ("", "", "?")


def peek_body(environ) -> bytes:
    """The request body, left in place for moto to read again."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def function_check(environ) -> Response | None:
    """A deployed function's calls, under its role's policies within the role's permissions
    boundary, as IAM judges an assumed role (moto checks no permissions: this is where a
    too-narrow policy, one not yet in effect, or a boundary shows locally)."""
    key, region, service = credential(environ)
    if not key.startswith(FUNCTION_KEY_PREFIX):
        return None
    function = key[len(FUNCTION_KEY_PREFIX) :]
    role_arn = moto_state.role_arn_of(region, function)
    role = (role_arn or "").rsplit("/", 1)[-1]
    principal = f"arn:aws:sts::{LOCAL_ACCOUNT_ID}:assumed-role/{role}/{function}"
    judge = iam_evaluation.role_judge(role) if role_arn else lambda *_: "the function does not exist"
    return operator_iam.denied(environ, region, service, peek_body(environ), judge, principal)


def operator_check(environ) -> Response | None:
    """The operator's requests under the operator's IAM policies (``operator_iam``)."""
    key, region, service = credential(environ)
    if not operator_iam.is_operator(key):
        return None
    judge = iam_evaluation.principal_judge(moto_state.user_policies(LOCAL_OPERATOR_USER))
    return operator_iam.denied(environ, region, service, peek_body(environ), judge, operator_iam.PRINCIPAL)


class RequestCounter:
    """Counts the AWS API requests the runbook itself sends (its user agent names it;
    the emulated Lambda's own calls do not count), by ``service.Operation``, for
    benchmarks that compare how many reads a notebook makes."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    def count(self, environ) -> None:
        if USER_AGENT not in environ.get("HTTP_USER_AGENT", ""):
            return
        _, _, service = credential(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            operation = target.rsplit(".", 1)[-1]
        elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            operation = parse_qs(peek_body(environ).decode()).get("Action", ["?"])[0]
        else:  # REST services (Lambda, API Gateway): the method tells a read from a write
            operation = environ.get("REQUEST_METHOD", "?")
        with self.lock:
            self.counts[f"{service}.{operation}"] += 1

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.counts)


COGNITO_TARGET = "AWSCognitoIdentityProviderService."


class CognitoQuotas:
    """Cognito's request-rate quotas, per region and category, as AWS enforces them: over
    the category's rate, ``TooManyRequestsException`` (HTTP 400). A bucket per category
    holds one second of requests and refills at the category's rate.
    https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html"""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.buckets: dict[tuple[str, str], list[float]] = {}  # (region, category) -> [tokens, time]
        self.lock = threading.Lock()
        self.refused: Counter = Counter()

    def check(self, environ) -> Response | None:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not self.enabled or not target.startswith(COGNITO_TARGET):
            return None
        category = CATEGORY.get(target.rsplit(".", 1)[-1])
        if category is None:
            return None
        region = credential(environ)[1]
        rate = DEFAULT_RPS[category]
        with self.lock:
            now = time.monotonic()
            tokens, then = self.buckets.get((region, category), [rate, now])
            tokens = min(rate, tokens + (now - then) * rate)
            allowed = tokens >= 1.0
            self.buckets[(region, category)] = [tokens - 1.0 if allowed else tokens, now]
            if not allowed:
                self.refused[category] += 1
        if allowed:
            return None
        body = json.dumps({"__type": "TooManyRequestsException", "message": "Too many requests"})
        return Response(body, status=400, content_type="application/x-amz-json-1.1")


class LocalAws:
    def __init__(self, log_file, latency_ms: float = 0.0, quotas: bool = True):
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.latency = latency_ms / 1000.0
        self.quotas = CognitoQuotas(quotas)
        self.requests = RequestCounter()
        self.log_file = log_file
        self.runtime: LambdaRuntime | None = None
        self.execute_api: ExecuteApi | None = None
        self.hosted_ui: HostedUi | None = None

    def bind(self, endpoint_url: str) -> None:
        self.runtime = LambdaRuntime(endpoint_url, self.log_file)
        self.execute_api = ExecuteApi(self.runtime)
        self.hosted_ui = HostedUi(endpoint_url)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(EXECUTE_API_PREFIX):
            return self.execute_api(Request(environ))(environ, start_response)
        if path.startswith(HOSTED_UI_PREFIX):
            return self.hosted_ui(Request(environ))(environ, start_response)
        if path == "/_local/health":
            options = {"delay": delay_seconds(), "latency_ms": self.latency * 1000.0, "quotas": self.quotas.enabled}
            body = json.dumps({"ok": True, "pid": os.getpid(), "options": options})
            return Response(body, content_type="application/json")(environ, start_response)
        if path == "/_local/requests":
            return Response(json.dumps(self.requests.snapshot()), content_type="application/json")(
                environ, start_response
            )
        if path == "/_local/throttled":
            return Response(json.dumps(dict(self.quotas.refused)), content_type="application/json")(
                environ, start_response
            )
        if self.latency:
            time.sleep(self.latency)  # the round trip to AWS
        throttled = self.quotas.check(environ)
        if throttled is not None:
            return throttled(environ, start_response)
        self.requests.count(environ)
        denied = function_check(environ) or operator_check(environ)
        if denied is not None:
            return denied(environ, start_response)
        return self.moto(environ, start_response)


def _warm_up(endpoint_url: str) -> None:
    session = boto3.Session(region_name="us-east-1", **LOCAL_CREDENTIALS)
    for service, operation, kwargs in WARM_UP:
        getattr(session.client(service, endpoint_url=endpoint_url), operation)(**kwargs)


def serve(home: Path, port: int = 0, delay: float = 1.0, latency_ms: float = 0.0, quotas: bool = True) -> None:
    home.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    patches.patch_moto(delay)
    patches.speed_up_dispatch()
    log_file = open(home / "local.log", "a", buffering=1)  # noqa: SIM115 (open for the server's lifetime)
    app = LocalAws(log_file, latency_ms, quotas)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAliveHandler)
    endpoint_url = f"http://127.0.0.1:{server.server_port}"
    app.bind(endpoint_url)

    def shutdown(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _warm_up(endpoint_url)
    state = {"endpoint": endpoint_url, "pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = home / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state))
    tmp.replace(home / STATE_FILE)  # atomic: readers never see half a file
    print(f"local AWS ready at {endpoint_url} (pid {os.getpid()})", file=log_file)
    thread.join()
    app.runtime.close()
    state_path = home / STATE_FILE
    try:
        if json.loads(state_path.read_text()).get("pid") == os.getpid():
            state_path.unlink()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="cognito-runbook's local AWS (moto + emulated execute-api, Lambda, hosted UI)"
    )
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--delay",
        type=float,
        default=float(os.environ.get(LOCAL_DELAY_ENV) or 1.0),
        help="seconds AWS's eventual consistency lasts here: domains CREATING, IAM propagation, held secret names",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=float(os.environ.get(LOCAL_LATENCY_ENV) or 0.0),
        help="milliseconds added to every API call (the round trip to AWS; e.g. 60)",
    )
    args = parser.parse_args(argv)
    # Regions and accounts as a person would expect; no managed-policy load (we use inline policies).
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")
    serve(args.home, args.port, args.delay, args.latency_ms, os.environ.get(LOCAL_QUOTAS_ENV, "on") != "off")
    sys.exit(0)


if __name__ == "__main__":
    main()

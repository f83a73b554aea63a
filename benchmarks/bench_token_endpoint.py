"""Targets 1 and 2: the token endpoint, warm and cold, against the local AWS.

Warm: per-call time of the deployed handler vs the bare admin_initiate_auth it wraps,
and vs the same handler building its boto3 client on every request (what the console
runbook's code does), in interleaved rounds in one process. Then requests per second
through the local execute-api over real HTTP, sequential and concurrent, next to the
bare call's own rate, after a warm-up that starts the function's workers.
Cold: importing the handler module in a fresh interpreter vs `import boto3` alone.

The private local AWS runs without Cognito's request-rate quotas and without added
latency: the benchmark calls AdminInitiateAuth hundreds of times a second, far over the
UserAuthentication quota, and a throttled call (retried by botocore after a back-off)
would be timed as the handler's overhead. It checks that nothing was throttled.
"""

import base64
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from common import ROOT, LocalOptions, arguments, interleaved, private_stack, report, throttled

from cognito_runbook.passwords import PasswordStore

HANDLER_DIR = ROOT / "cognito_runbook" / "lambda_src"
# The handler's cost is measured, not Cognito's quotas nor a network: no quotas, no latency.
# No waits either (delay 0): they only slow the set-up, which is not measured.
OPTIONS = LocalOptions(delay=0.0, latency_ms=0.0, quotas=False)


def http_rate(url: str, auth: str, clients: int, seconds: float = 4.0) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def worker(i):
        request = urllib.request.Request(url, headers={"Authorization": auth})
        while time.monotonic() < stop:
            with urllib.request.urlopen(request, timeout=30) as resp:
                resp.read()
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    [t.start() for t in threads]
    [t.join() for t in threads]
    return sum(counts) / (time.monotonic() - started)


def import_time(statement: str, repeat: int = 9) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=HANDLER_DIR, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return statistics.median(samples)


def main():
    args = arguments(__doc__).parse_args()
    rounds, per_round = (3, 10) if args.smoke else (7, 40)
    http_seconds = 0.5 if args.smoke else 4.0
    repeat = 2 if args.smoke else 9
    with private_stack(OPTIONS, "token endpoint") as (endpoint, rb, out):
        user = rb.params.users[0]
        password = PasswordStore(rb.ctx).existing(user)
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=out.region,
            USER_POOL_ID=out.pool_id,
            CLIENT_ID=out.client_id,
        )
        sys.path.insert(0, str(HANDLER_DIR))
        import boto3
        import generate_token as handler

        auth = "Basic " + base64.b64encode(f"{user.name}:{password}".encode()).decode()
        event = {"version": "2.0", "headers": {"authorization": auth}, "requestContext": {"http": {"method": "GET"}}}
        bare_client = boto3.client("cognito-idp")
        params = dict(
            UserPoolId=out.pool_id,
            ClientId=out.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.name, "PASSWORD": password},
        )

        def per_request_client():
            handler._client = None  # as the console runbook's handler: a new client for every request
            handler.lambda_handler(event, None)

        assert handler.lambda_handler(event, None)["statusCode"] == 200
        times = interleaved(
            {
                "bare": lambda: bare_client.admin_initiate_auth(**params),
                "warm": lambda: handler.lambda_handler(event, None),
                "per_request": per_request_client,
            },
            rounds=rounds,
            per_round=per_round,
        )
        handler._client = None
        # Warm-up: start the function's workers (a cold start each, up to 4), as a busy endpoint has them.
        http_rate(out.token_url, auth, 4, http_seconds / 2)
        rates = {n: http_rate(out.token_url, auth, n, http_seconds) for n in (1, 4, 8)}
        refused = throttled(endpoint)
        if refused:
            raise SystemExit(f"{refused} Cognito calls were throttled: the figures would time botocore's back-off")
        bare_rate = 1 / times["bare"]
        report(
            f"token endpoint, warm (median per call, {rounds} interleaved rounds of {per_round})",
            [
                ("bare admin_initiate_auth", f"{times['bare'] * 1000:.2f} ms"),
                (
                    "deployed handler (client once per container)",
                    f"{times['warm'] * 1000:.2f} ms  overhead {100 * (times['warm'] / times['bare'] - 1):+.1f} %",
                ),
                (
                    "handler building a client per request",
                    f"{times['per_request'] * 1000:.2f} ms  = {times['per_request'] / times['bare']:.2f}x the bare call",
                ),
                (
                    "GET /token over HTTP, 1 client",
                    f"{rates[1]:.0f} req/s  ({rates[1] / bare_rate:.2f} of the bare call's {bare_rate:.0f}/s)",
                ),
                ("GET /token over HTTP, 4 clients", f"{rates[4]:.0f} req/s"),
                ("GET /token over HTTP, 8 clients", f"{rates[8]:.0f} req/s"),
                ("throttled by the local AWS", f"{refused} requests"),
            ],
        )
    handler_import = import_time("import generate_token", repeat)
    boto_import = import_time("import boto3", repeat)
    first_call = import_time("import generate_token; generate_token._cognito()", repeat)
    bare_first = import_time("import boto3; boto3.client('cognito-idp', region_name='us-east-1')", repeat)
    report(
        f"token endpoint, cold (fresh interpreter, median of {repeat})",
        [
            (
                "import generate_token",
                f"{handler_import * 1000:.1f} ms  = {handler_import / boto_import:.2f}x import boto3",
            ),
            ("import boto3", f"{boto_import * 1000:.1f} ms"),
            (
                "handler import + its client",
                f"{first_call * 1000:.1f} ms  = {first_call / bare_first:.2f}x boto3 import + client",
            ),
            ("import boto3 + cognito-idp client", f"{bare_first * 1000:.1f} ms"),
        ],
    )


if __name__ == "__main__":
    main()

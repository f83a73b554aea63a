"""Emulated execute-api for HTTP APIs (moto stores APIs but serves no invoke URL).

``/_execute-api/<api-id>/<path>`` is handled as API Gateway's HTTP API handles
``https://<api-id>.execute-api.<region>.amazonaws.com/<path>``, following AWS's
documentation for what the runbook relies on:

- stage: a first path segment naming a stage selects it, otherwise ``$default``;
- route selection: exact ``METHOD /path``, then ``ANY /path``, then greedy
  ``/prefix/{proxy+}`` routes, then ``$default``; no match -> 404 ``Not Found``;
- stage throttling (``DefaultRouteSettings`` burst/rate, token bucket) -> 429;
- AWS_PROXY Lambda integrations with payload format 2.0 (header names lower-cased,
  repeated headers comma-joined, base64 body for binary content);
- the invoke permission: without a Lambda policy statement that lets
  ``apigateway.amazonaws.com`` invoke the function for this API's source ARN,
  API Gateway answers 500, as AWS does;
- result mapping: a dict with ``statusCode`` is a full response; anything else is a
  200 ``application/json`` body.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime

from werkzeug.wrappers import Request, Response

from . import moto_state
from .lambda_runtime import InvocationError, LambdaRuntime

PREFIX = "/_execute-api/"
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
)


def _message(status: int, text: str) -> Response:
    return Response(json.dumps({"message": text}), status=status, content_type="application/json")


class TokenBucket:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class ExecuteApi:
    def __init__(self, runtime: LambdaRuntime):
        self.runtime = runtime
        self._buckets: dict[tuple, TokenBucket] = {}

    def __call__(self, request: Request) -> Response:
        started = time.monotonic()
        context: dict = {"requestId": str(uuid.uuid4()), "routeKey": "-", "integrationErrorMessage": "-"}
        response = self._respond(request, context)
        if context.get("access_log"):
            self._access_log(request, response, context, started)
        return response

    @staticmethod
    def _access_log(request: Request, response: Response, context: dict, started: float) -> None:
        """One line per request in the stage's log group, in the stage's format: API Gateway
        fills the $context variables it names (never a request header).
        https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html"""
        values = {
            "requestId": context["requestId"],
            "identity.sourceIp": request.remote_addr or "",
            "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "routeKey": context["routeKey"],
            "status": str(response.status_code),
            "responseLatency": str(int((time.monotonic() - started) * 1000)),
            "responseLength": str(len(response.get_data())),
            "integrationErrorMessage": context["integrationErrorMessage"],
            "httpMethod": request.method,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        }
        settings = context["access_log"]
        line = re.sub(r"\$context\.([A-Za-z.]+)", lambda m: values.get(m.group(1), "-"), settings.get("format", ""))
        moto_state.put_access_log(context["region"], settings.get("destinationArn", ""), context["stage"], line)

    def _respond(self, request: Request, context: dict) -> Response:
        api_id, _, rest = request.path[len(PREFIX) :].partition("/")
        region = moto_state.find_api_region(api_id)
        if region is None:
            return _message(404, "Not Found")
        api = moto_state.http_api(region, api_id)
        stage, path = self._stage_and_path(api, "/" + rest)
        if stage is None:
            return _message(404, "Not Found")
        context.update(region=region, stage=stage, access_log=moto_state.stage_access_log(api, stage))
        if not self._within_throttle(api_id, stage, moto_state.stage_settings(api, stage)):
            return _message(429, "Too Many Requests")
        route_key, target = self._select_route(api, request.method, path)
        context["routeKey"] = route_key or "-"
        if route_key is None or not target or not target.startswith("integrations/"):
            return _message(404, "Not Found")
        integration = moto_state.integration(api, target.split("/", 1)[1])
        if integration is None or integration["type"] != "AWS_PROXY" or integration["payload_format_version"] != "2.0":
            return _message(500, "Internal Server Error")  # only payload 2.0 Lambda proxies are emulated
        fn = moto_state.lambda_function(region, _function_from_uri(integration["uri"]))
        source_arn = f"arn:aws:execute-api:{region}:{moto_state.ACCOUNT}:{api_id}/{stage}/{request.method}{path}"
        if fn is None or not _may_invoke(moto_state.function_policy(fn), source_arn):
            return _message(500, "Internal Server Error")
        event = build_event_v2(request, api_id, region, stage, route_key, path)
        snapshot = moto_state.function_snapshot(fn)
        # API Gateway gives up after the integration timeout (30 s at most), whatever the function's own.
        snapshot["timeout"] = min(snapshot["timeout"], integration["timeout_ms"] / 1000)
        try:
            result = self.runtime.invoke(snapshot, region, event)
        except InvocationError as err:
            context["integrationErrorMessage"] = str(err)[:200]
            return _message(500, "Internal Server Error")
        return map_result(result)

    @staticmethod
    def _stage_and_path(api, path: str) -> tuple[str | None, str]:
        first, _, rest = path[1:].partition("/")
        if first and first in api.stages and first != "$default":
            return first, "/" + rest
        return ("$default" if "$default" in api.stages else None), path

    def _within_throttle(self, api_id: str, stage: str, settings: dict | None) -> bool:
        settings = settings or {}
        burst, rate = settings.get("throttlingBurstLimit"), settings.get("throttlingRateLimit")
        if burst is None or rate is None:
            return True
        key = (api_id, stage, burst, rate)
        bucket = self._buckets.setdefault(key, TokenBucket(float(rate), int(burst)))
        return bucket.take()

    @staticmethod
    def _select_route(api, method: str, path: str) -> tuple[str | None, str | None]:
        routes = dict(moto_state.route_table(api))
        for key in (f"{method} {path}", f"ANY {path}"):
            if key in routes:
                return key, routes[key]
        greedy = []
        for key, target in routes.items():
            verb, _, pattern = key.partition(" ")
            if verb in (method, "ANY") and pattern.endswith("+}"):
                prefix = pattern[: pattern.rfind("/{")]
                if path == prefix or path.startswith(prefix + "/"):
                    greedy.append((len(prefix), verb == method, key, target))
        if greedy:
            _, _, key, target = max(greedy)
            return key, target
        if "$default" in routes:
            return "$default", routes["$default"]
        return None, None


def _function_from_uri(uri: str) -> str:
    # Either a function ARN or arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations
    if "/functions/" in uri:
        uri = uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0]
    return uri


def _may_invoke(statements: list[dict], source_arn: str) -> bool:
    for st in statements:
        principal = st.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        action = st.get("Action")
        if (
            st.get("Effect") != "Allow"
            or service != "apigateway.amazonaws.com"
            or action not in ("lambda:InvokeFunction", "lambda:*")
        ):
            continue
        condition = st.get("Condition", {}).get("ArnLike", {})
        pattern = condition.get("AWS:SourceArn") or condition.get("aws:SourceArn")
        if pattern is None or fnmatch.fnmatchcase(source_arn, pattern):
            return True
    return False


def build_event_v2(request: Request, api_id: str, region: str, stage: str, route_key: str, path: str) -> dict:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        name = name.lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    body = request.get_data()
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES)
    now = datetime.now(UTC)
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path if stage == "$default" else f"/{stage}{path}",
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": moto_state.ACCOUNT,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{region}.amazonaws.com",
            "domainPrefix": api_id,
            "http": {
                "method": request.method,
                "path": path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if request.args:
        event["queryStringParameters"] = {k: ",".join(request.args.getlist(k)) for k in request.args}
    if request.cookies:
        event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
    if body:
        event["body"] = body.decode("utf-8", "replace") if is_text else base64.b64encode(body).decode()
    return event


def map_result(result) -> Response:
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = Response(data, status=int(result["statusCode"]))
        response.headers.pop("Content-Type", None)
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = str(value)
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response
    body = result if isinstance(result, str) else json.dumps(result)
    return Response(body, status=200, content_type="application/json")

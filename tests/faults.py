"""Transient AWS faults, injected into a share of requests before they are sent.

Bodies follow each protocol so botocore classifies them as AWS would send them:
JSON services get ``ThrottlingException``, IAM (query/XML) gets ``Throttling``, and any
service can get a bare 500 or 503. botocore's retry modes must absorb all of them.
"""

import random

from botocore.awsrequest import AWSResponse

JSON_THROTTLE = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
XML_THROTTLE = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body


class FaultInjector:
    def __init__(self, rate: float, seed: int = 7):
        self.rate = rate
        self.random = random.Random(seed)
        self.requests = 0
        self.injected: dict[str, int] = {}

    def install(self, backend) -> "FaultInjector":
        backend.session.events.register("before-send.*.*", self._before_send)
        return self

    def _before_send(self, request, **_):
        self.requests += 1
        if self.random.random() >= self.rate:
            return None
        kind = self.random.choice(["500", "503", "throttle"])
        if kind != "throttle":
            status, body, headers, label = int(kind), b"", {}, kind
        elif "X-Amz-Target" in request.headers:  # JSON protocol: Cognito, Secrets Manager
            status, body, headers, label = (
                400,
                JSON_THROTTLE,
                {"Content-Type": "application/x-amz-json-1.1"},
                "throttle-json",
            )
        elif b"Action=" in _body(request):  # query protocol: IAM, STS
            status, body, headers, label = 400, XML_THROTTLE, {"Content-Type": "text/xml"}, "throttle-xml"
        else:  # REST-JSON: Lambda, API Gateway
            status, body, headers, label = (
                429,
                b'{"message":"Too Many Requests"}',
                {"x-amzn-ErrorType": "TooManyRequestsException"},
                "throttle-429",
            )
        self.injected[label] = self.injected.get(label, 0) + 1
        return AWSResponse(request.url, status, headers, _Raw(body))


def _body(request) -> bytes:
    body = request.body or b""
    return body if isinstance(body, bytes) else str(body).encode()

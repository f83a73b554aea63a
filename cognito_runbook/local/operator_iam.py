"""IAM on the calls made to the local AWS: every request signed with the operator's key is
judged against the operator user's policies, and every call a deployed function makes
against its role's policies within the role's permissions boundary, as IAM judges them,
before moto sees them.

A request becomes IAM's view of it here: the action (``service:Operation``, or
``apigateway:<HTTP method>`` for API Gateway), the resource ARN in the service's own
format (Service Authorization Reference), and the condition keys the service sets
(``aws:ResourceTag/…`` from the resource's tags, ``aws:RequestTag/…`` and ``aws:TagKeys``
from the request's tags, ``iam:PermissionsBoundary``, ``iam:PassedToService``). Some
requests need more than one action: CreateSecret with tags also needs
``secretsmanager:TagResource``, CreateLogGroup with tags ``logs:TagResource``, and
creating or configuring a function with a role ``iam:PassRole`` on that role. A refusal
answers as the service does: ``AccessDeniedException`` (JSON and REST services) or
``AccessDenied`` (IAM's and STS's query XML), naming the principal, action and resource.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import json
import re
from functools import cache
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from werkzeug.wrappers import Response

from ..constants import LOCAL_ACCOUNT_ID, LOCAL_OPERATOR_CREDENTIALS, LOCAL_OPERATOR_USER
from . import iam_evaluation, moto_state

ACCOUNT = LOCAL_ACCOUNT_ID
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/{LOCAL_OPERATOR_USER}"
REST_MODELS = {"lambda": "lambda", "apigateway": "apigatewayv2"}  # signing name -> botocore model


@cache
def _routes(model_name: str) -> list[tuple[str, re.Pattern, str]]:
    """(method, path pattern, operation) of a REST service, most literal path first."""
    model = botocore.session.get_session().get_service_model(model_name)
    found = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", uri)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        found.append((http["method"], re.compile(f"^{pattern}/?$"), name, len(re.sub(r"\{[^}]*\}", "", uri))))
    found.sort(key=lambda r: -r[3])
    return [(m, p, n) for m, p, n, _ in found]


def rest_operation(model_name: str, method: str, path: str) -> tuple[str, dict] | None:
    for wanted, pattern, name in _routes(model_name):
        found = pattern.match(path)
        if wanted == method and found:
            return name, found.groupdict()
    return None


def _tag_context(prefix: str, tags: dict | None) -> dict:
    return {f"{prefix}/{k}": v for k, v in (tags or {}).items()}


def _request_tags(tags: dict | None) -> dict:
    if not tags:
        return {}
    return {**_tag_context("aws:RequestTag", tags), "aws:TagKeys": sorted(tags)}


def _tag_list(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags or []} if isinstance(tags, list) else dict(tags or {})


class Request:
    """What IAM sees of one request: [(action, resource, context), ...] (all must be allowed)."""

    def __init__(self, region: str, service: str):
        self.region, self.service = region, service
        self.checks: list[tuple[str, str, dict]] = []

    def need(self, action: str, resource: str, context: dict | None = None) -> None:
        self.checks.append((action, resource, context or {}))


def _cognito(req: Request, operation: str, body: dict) -> None:
    pool_id = body.get("UserPoolId")
    arn = body.get("ResourceArn")
    if pool_id:
        arn = f"arn:aws:cognito-idp:{req.region}:{ACCOUNT}:userpool/{pool_id}"
    context = {}
    if arn:
        context = _tag_context("aws:ResourceTag", moto_state.pool_tags(req.region, arn.rsplit("/", 1)[-1]))
    context.update(_request_tags(body.get("UserPoolTags") or body.get("Tags")))
    req.need(f"cognito-idp:{operation}", arn or "*", context)


def _secrets(req: Request, operation: str, body: dict) -> None:
    if operation in ("ListSecrets", "GetRandomPassword", "BatchGetSecretValue"):
        req.need(f"secretsmanager:{operation}", "*")
        return
    secret_id = body.get("SecretId") or body.get("Name") or ""
    found = moto_state.secret_arn_and_tags(req.region, secret_id)
    if found is not None:
        arn, tags = found
    elif secret_id.startswith("arn:"):
        arn, tags = secret_id, {}
    else:  # a new secret: its ARN is the name and a random suffix of six characters
        arn, tags = f"arn:aws:secretsmanager:{req.region}:{ACCOUNT}:secret:{secret_id}-AbC123", {}
    context = {**_tag_context("aws:ResourceTag", tags), **_request_tags(_tag_list(body.get("Tags")))}
    req.need(f"secretsmanager:{operation}", arn, context)
    if operation == "CreateSecret" and body.get("Tags"):
        req.need("secretsmanager:TagResource", arn, context)


def _logs(req: Request, operation: str, body: dict) -> None:
    name = body.get("logGroupName")
    if body.get("resourceArn"):
        arn = body["resourceArn"]
    elif name:
        arn = f"arn:aws:logs:{req.region}:{ACCOUNT}:log-group:{name}"
    elif operation == "DescribeLogGroups":
        arn = f"arn:aws:logs:{req.region}:{ACCOUNT}:log-group:*"
    else:
        arn = "*"
    req.need(f"logs:{operation}", arn, _request_tags(body.get("tags")))
    if operation == "CreateLogGroup" and body.get("tags"):
        req.need("logs:TagResource", arn, _request_tags(body.get("tags")))


def _query_tags(form: dict) -> dict:
    tags = {}
    for key, values in form.items():
        found = re.fullmatch(r"Tags\.member\.(\d+)\.Key", key)
        if found:
            tags[values[0]] = form.get(f"Tags.member.{found.group(1)}.Value", [""])[0]
    return tags


def _iam(req: Request, operation: str, form: dict) -> None:
    role = form.get("RoleName", [None])[0]
    context = _request_tags(_query_tags(form))
    if role:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        context.update(_tag_context("aws:ResourceTag", moto_state.role_tags(role)))
        boundary = form.get("PermissionsBoundary", [None])[0]
        if operation not in ("CreateRole", "PutRolePermissionsBoundary"):
            boundary = moto_state.role_boundary_arn(role)
        if boundary:
            context["iam:PermissionsBoundary"] = boundary
    elif form.get("PolicyArn"):
        arn = form["PolicyArn"][0]
    elif form.get("UserName"):
        arn = f"arn:aws:iam::{ACCOUNT}:user/{form['UserName'][0]}"
    else:
        arn = "*"
    req.need(f"iam:{operation}", arn, context)


def _lambda(req: Request, operation: str, params: dict, body: dict) -> None:
    name = params.get("FunctionName") or body.get("FunctionName")
    if name and not name.startswith("arn:"):
        arn = f"arn:aws:lambda:{req.region}:{ACCOUNT}:function:{name}"
    else:
        arn = name or "*"
    tags = moto_state.function_tags(req.region, name) if name else None
    context = {**_tag_context("aws:ResourceTag", tags), **_request_tags(body.get("Tags"))}
    req.need(f"lambda:{operation}", arn, context)
    if operation in ("CreateFunction", "UpdateFunctionConfiguration") and body.get("Role"):
        req.need("iam:PassRole", body["Role"], {"iam:PassedToService": "lambda.amazonaws.com"})


def _apigateway(req: Request, method: str, path: str, body: dict) -> None:
    path = path.removeprefix("/v2")
    context = _request_tags(body.get("tags") if method in ("POST", "PUT", "PATCH") else None)
    found = re.match(r"^/apis/([^/]+)", path) or re.match(r"^/tags/.*/apis/([^/]+)$", path)
    if found:
        context.update(_tag_context("aws:ResourceTag", moto_state.api_tags(req.region, found.group(1))))
    req.need(f"apigateway:{method}", f"arn:aws:apigateway:{req.region}::{path}", context)


def describe(environ, region: str, service: str, body: bytes) -> Request | None:
    """IAM's view of a request (None: an operation that needs no permission)."""
    req = Request(region, service)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
    if service in ("iam", "sts"):
        form = parse_qs(body.decode() or environ.get("QUERY_STRING", ""))
        operation = form.get("Action", ["?"])[0]
        if service == "sts":
            return None  # GetCallerIdentity needs no permission; the runbook calls nothing else there
        _iam(req, operation, form)
        return req
    payload = json.loads(body or b"{}") if body and body.strip().startswith(b"{") else {}
    if target:
        operation = target.rsplit(".", 1)[-1]
        {"cognito-idp": _cognito, "secretsmanager": _secrets, "logs": _logs}.get(service, _other)(
            req, operation, payload
        )
        return req
    if service == "apigateway":
        _apigateway(req, method, path, payload)
        return req
    if service == "lambda":
        found = rest_operation("lambda", method, path)
        if found is None:
            req.need("lambda:Unknown", "*")
        else:
            _lambda(req, found[0], found[1], payload)
        return req
    _other(req, f"{method} {path}", payload)
    return req


def _other(req: Request, operation: str, _body: dict) -> None:
    req.need(f"{req.service}:{operation}", "*")


def denied(
    environ, region: str, service: str, body: bytes, judge: iam_evaluation.Judge, principal: str
) -> Response | None:
    """The AccessDenied answer for a request ``judge`` does not allow (None: allowed)."""
    req = describe(environ, region, service, body)
    if req is None:
        return None
    for action, resource, context in req.checks:
        reason = judge(action, resource, context)
        if reason is not None:
            message = (
                f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
                f"because {reason.replace('the action', f'the {action} action')}"
            )
            return access_denied(service, bool(environ.get("HTTP_X_AMZ_TARGET")), message)
    return None


def access_denied(service: str, json_protocol: bool, message: str) -> Response:
    if service in ("iam", "sts"):
        body = (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        )
        return Response(body, status=403, content_type="text/xml")
    if json_protocol:
        body = json.dumps({"__type": "AccessDeniedException", "message": message})
        return Response(body, status=400, content_type="application/x-amz-json-1.1")
    key = "Message" if service == "lambda" else "message"
    return Response(
        json.dumps({key: message}),
        status=403,
        content_type="application/json",
        headers={"x-amzn-ErrorType": "AccessDeniedException"},
    )


def is_operator(access_key: str) -> bool:
    return access_key == LOCAL_OPERATOR_CREDENTIALS["aws_access_key_id"]

"""The operator's IAM policy: least privilege for running every notebook of one stack.

The actions come from the request contract (``operations.txt``, written with
``tests/contracts/`` by ``make contracts``), never from a hand-kept list: each recorded
operation becomes its IAM action, and the resources are scoped to the stack's ARNs
wherever the service allows it. ``Resource: "*"`` is used only where AWS has nothing
narrower, and each such statement says why in ``WHY_STAR``.
"""

from __future__ import annotations

import contextlib
import json
from importlib import resources

import botocore.session

from .aws import STACK_TAG
from .params import Params
from .passwords import secret_name
from .stages.token_function import role_name_for

OPERATIONS_FILE = "operations.txt"
# Operations that need no permission at all (InitiateAuth is one of Cognito's
# unauthenticated operations: the app client's credentials are what it checks).
NO_PERMISSION = {"sts.GetCallerIdentity", "cognito-idp.InitiateAuth"}
# What the local AWS's administrator sends to grant the operator its policy (never the operator).
LOCAL_ADMIN_ONLY = {"iam.CreateUser", "iam.PutUserPolicy"}
# The operations ``adopt`` alone sends, once (``iam-policy --adopt`` prints them).
ADOPT_ONLY = {"cognito-idp.TagResource", "lambda.TagResource", "apigatewayv2.TagResource"}
# Operations whose IAM action has no resource-level permission, or whose resource does not
# exist yet: Resource "*" (the reason is printed with the policy).
WHY_STAR = {
    "cognito-idp:ListUserPools": "lists every pool of the account; no resource-level permission exists",
    "cognito-idp:DescribeUserPoolDomain": "looks a prefix up across all pools (names are global); no resource-level permission",
    "cognito-idp:CreateUserPool": "the pool does not exist yet; allowed only when the request tags it with this stack",
    "secretsmanager:ListSecrets": "lists every secret of the account; no resource-level permission exists",
}
# What API Gateway needs of the caller to deliver a stage's access log to CloudWatch Logs
# (not API calls of the runbook: implied by setting AccessLogSettings). None of them has a
# resource-level permission.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
)
WHY_STAR.update(
    {a: "API Gateway's log delivery to CloudWatch Logs; no resource-level permission" for a in LOG_DELIVERY_ACTIONS}
)
# API Gateway (HTTP APIs) is scoped to the stack by its tag: ``aws:ResourceTag/<stack tag>``
# on an existing API and its routes, integrations and stages, ``aws:RequestTag`` and
# ``aws:TagKeys`` on CreateApi. Where no such condition can apply, the reason is printed
# with the policy (Service Authorization Reference, "Amazon API Gateway Management V2"):
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagementv2.html
WHY_UNTAGGED_API = {
    ("apigateway:GET", "/apis"): (
        "GetApis lists the region's HTTP APIs to find this stack's one by name and stack tag; the "
        "collection /apis carries no tags (no aws:ResourceTag applies) and API Gateway has no filter "
        "key for a listing. It reads; every change to an API needs the API's stack tag"
    ),
}
WHY_API_CONDITIONS = (
    "CreateApi (POST /apis) is allowed only when the request tags the new API with this stack and "
    "with no other tag key (aws:RequestTag, aws:TagKeys). Every other grant on /apis/* (the API, its "
    "routes, integrations and stages) needs the API's stack tag (aws:ResourceTag). AWS's reference "
    "lists aws:ResourceTag for routes, integrations and stages of HTTP APIs; API Gateway's guide "
    "documents their inheriting the API's tags explicitly only for REST APIs, and the runbook does "
    "not tag its stage. API Gateway's own keys (apigateway:Request/ApiName, "
    "apigateway:Resource/ApiName, ...) could add the API's name; the stack tag is what identifies "
    "the stack's API, so they are not used"
)


def recorded_operations() -> list[str]:
    text = resources.files("cognito_runbook").joinpath(OPERATIONS_FILE).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def iam_action(call: str, model_session=None) -> str:
    """The IAM action a recorded ``service.Operation`` needs."""
    service, operation = call.split(".", 1)
    if service == "apigatewayv2":  # API Gateway authorizes by HTTP method on a path
        model = (model_session or botocore.session.get_session()).get_service_model(service)
        return f"apigateway:{model.operation_model(operation).http['method']}"
    return f"{service}:{operation}"


def _api_resource(region: str, call: str, model_session) -> str:
    model = model_session.get_service_model("apigatewayv2")
    path = model.operation_model(call.split(".", 1)[1]).http["requestUri"].split("?")[0]
    path = path.removeprefix("/v2")
    parts = ["*" if p.startswith("{") else p for p in path.split("/")]
    return f"arn:aws:apigateway:{region}::" + "/".join(parts)


def policy(params: Params, account: str, operations: list[str] | None = None) -> dict:
    """The policy document for ``params``'s stack in ``account``."""
    session = botocore.session.get_session()
    region, stack = params.region, params.stack
    calls = [c for c in (operations or recorded_operations()) if c not in NO_PERMISSION]
    pool_arn = f"arn:aws:cognito-idp:{region}:{account}:userpool/*"
    function_arn = f"arn:aws:lambda:{region}:{account}:function:{params.token_function.name}"
    role_arn = f"arn:aws:iam::{account}:role/{role_name_for(stack, params.token_function.name)}"
    secrets_arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_name(stack, '')}*"
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/vendedlogs/cognito-runbook/{stack}/*"
    # (sid, resource, condition) -> actions, in the order rules first meet them
    grants: dict[tuple[str, str, str], tuple[set[str], dict | None]] = {}

    def allow(sid: str, action: str, resource: str, condition: dict | None = None) -> None:
        grants.setdefault((sid, resource, repr(condition)), (set(), condition))[0].add(action)

    tag_condition = {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack}}
    create_api_condition = {
        "StringEquals": {f"aws:RequestTag/{STACK_TAG}": stack},
        "ForAllValues:StringEquals": {"aws:TagKeys": [STACK_TAG]},
    }
    for call in calls:
        service = call.split(".", 1)[0]
        action = iam_action(call, session)
        if action in WHY_STAR:
            request_tag = {"StringEquals": {f"aws:RequestTag/{STACK_TAG}": stack}}
            allow("NoResourceLevelPermission", action, "*", request_tag if action.endswith("CreateUserPool") else None)
        elif service == "cognito-idp":
            allow("CognitoPoolsOfThisStack", action, pool_arn, tag_condition)
        elif service == "lambda":
            allow("TheTokenFunction", action, function_arn)
        elif service == "iam":
            allow("TheFunctionsRole", action, role_arn)
        elif service == "secretsmanager":
            allow("GeneratedPasswordsOfThisStack", action, secrets_arn)
        elif service == "apigatewayv2":
            resource = _api_resource(region, call, session)
            if resource.endswith("::/apis") and action == "apigateway:POST":  # CreateApi
                allow("CreateTheTokenApiTaggedWithThisStack", action, resource, create_api_condition)
            elif resource.endswith("::/apis"):
                allow("ListTheApis", action, resource)
            else:
                allow("TheTokenApiOfThisStack", action, resource, tag_condition)
        elif action == "logs:DescribeLogGroups":  # authorized on all groups of the region, never one
            allow("FindTheAccessLogGroup", action, f"arn:aws:logs:{region}:{account}:log-group:*")
        elif service == "logs":
            allow("TheAccessLogGroup", action, log_group)
        else:
            raise ValueError(f"{call}: no IAM scoping rule for service {service}")
    if "logs.CreateLogGroup" in calls:
        # Creating a group with tags also needs TagResource; the stage's log delivery needs the rest.
        allow("TheAccessLogGroup", "logs:TagResource", log_group)
        for action in LOG_DELIVERY_ACTIONS:
            allow("NoResourceLevelPermission", action, "*")
    if "secretsmanager.CreateSecret" in calls:
        # CreateSecret with Tags also needs TagResource (the CreateSecret API reference).
        allow("GeneratedPasswordsOfThisStack", "secretsmanager:TagResource", secrets_arn)
    if {"lambda.CreateFunction", "lambda.UpdateFunctionConfiguration"} & set(calls):
        # Creating or configuring the function hands it the role: PassRole, to Lambda only.
        allow(
            "PassTheRoleToLambdaOnly",
            "iam:PassRole",
            role_arn,
            {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        )
    # One statement per sid, condition and set of actions; resources that share them merge.
    statements: dict[tuple, dict] = {}
    for (sid, resource, condition_key), (actions, condition) in grants.items():
        key = (sid, condition_key, tuple(sorted(actions)))
        if key in statements:
            statements[key]["Resource"] = sorted({*_as_list(statements[key]["Resource"]), resource})
            continue
        statements[key] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resource}
        if condition:
            statements[key]["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": _unique_sids(list(statements.values()))}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _unique_sids(statements: list[dict]) -> list[dict]:
    seen: dict[str, int] = {}
    for statement in statements:
        count = seen[statement["Sid"]] = seen.get(statement["Sid"], 0) + 1
        if count > 1:
            statement["Sid"] = f"{statement['Sid']}{count}"
    return statements


def explain(document: dict) -> list[tuple[str, str]]:
    """(action, why) for each action allowed on Resource "*" (IAM JSON has no comments)."""
    return [(a, WHY_STAR[a]) for s in document["Statement"] if s["Resource"] == "*" for a in s["Action"]]


def explain_api_gateway(document: dict) -> list[tuple[str, str]]:
    """(what, why) for API Gateway: how its grants are scoped to the stack, and each grant
    that carries no stack tag condition (only where none can apply)."""
    found = []
    for statement in document["Statement"]:
        if statement.get("Condition"):
            continue
        for action in statement["Action"]:
            for resource in _as_list(statement["Resource"]):
                why = WHY_UNTAGGED_API.get((action, resource.partition("::")[2]))
                if action.startswith("apigateway:") and why:
                    found.append((f"{action} on {resource}", why))
    if any(a.startswith("apigateway:") for s in document["Statement"] for a in s["Action"]):
        found.append(("apigateway:* on /apis and /apis/*", WHY_API_CONDITIONS))
    return found


def setup_markdown(params: Params, account: str, params_file: str) -> str:
    """The policy, why each ``Resource: "*"`` is there, and the commands that create it
    (notebook 00 shows this)."""
    document = policy(params, account)
    reasons = "\n".join(f"- `{action}`: {why}" for action, why in explain(document))
    api = "\n".join(f"- `{what}`: {why}" for what, why in explain_api_gateway(document))
    name = f"cognito-runbook-{params.stack}-operator"
    return (
        f"```json\n{json.dumps(document, indent=2)}\n```\n\n"
        f'`Resource: "*"` only where AWS offers nothing narrower:\n\n{reasons}\n\n'
        f"API Gateway, scoped to the stack by its tag:\n\n{api}\n\n"
        "Create it and attach it to the person or role that runs the runbook:\n\n"
        f"```bash\ncognito-runbook iam-policy {params_file} > {name}.json\n"
        f"aws iam create-policy --policy-name {name} --policy-document file://{name}.json\n```"
    )


# What `adopt` reads of a pool that carries no stack tag yet (then tags it).
ADOPT_POOL_READS = (
    "cognito-idp:DescribeUserPool",
    "cognito-idp:DescribeUserPoolClient",
    "cognito-idp:ListUserPoolClients",
    "cognito-idp:ListUsers",
    "cognito-idp:ListGroups",
    "cognito-idp:ListUsersInGroup",
    "cognito-idp:AdminListGroupsForUser",
)


def adopt_policy(params: Params, account: str) -> dict:
    """The one-time extra grants ``adopt`` needs (``iam-policy --adopt``): reading pools and
    APIs that carry no stack tag yet (the ``Null`` condition: untagged ones only), and
    tagging the pool, the function and the API with this stack (``aws:RequestTag``).
    Remove it once the stack is adopted."""
    region, stack = params.region, params.stack
    untagged = {"Null": {f"aws:ResourceTag/{STACK_TAG}": "true"}}
    tagging = {"StringEquals": {f"aws:RequestTag/{STACK_TAG}": stack}}
    function_arn = f"arn:aws:lambda:{region}:{account}:function:{params.token_function.name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadUntaggedPools",
                "Effect": "Allow",
                "Action": list(ADOPT_POOL_READS),
                "Resource": f"arn:aws:cognito-idp:{region}:{account}:userpool/*",
                "Condition": untagged,
            },
            {
                "Sid": "TagThePoolWithThisStack",
                "Effect": "Allow",
                "Action": ["cognito-idp:TagResource"],
                "Resource": f"arn:aws:cognito-idp:{region}:{account}:userpool/*",
                "Condition": {**untagged, **tagging},
            },
            {
                "Sid": "TagTheFunctionWithThisStack",
                "Effect": "Allow",
                "Action": ["lambda:TagResource"],
                "Resource": function_arn,
                "Condition": tagging,
            },
            {
                "Sid": "ReadUntaggedApis",
                "Effect": "Allow",
                "Action": ["apigateway:GET"],
                "Resource": f"arn:aws:apigateway:{region}::/apis/*",
                "Condition": untagged,
            },
            {
                "Sid": "TagTheApiWithThisStack",
                "Effect": "Allow",
                "Action": ["apigateway:POST"],
                "Resource": f"arn:aws:apigateway:{region}::/tags/*",
                "Condition": {**untagged, **tagging},
            },
        ],
    }


_granted: set[tuple[str, str]] = set()  # (endpoint, policy JSON) already granted in this process


def grant_local_operator(params: Params, backend, adopt: bool = False) -> None:
    """Against the local AWS, grant the operator (the key the runbook signs with) this
    stack's policy, as a security team would with administrator rights: an inline policy
    of the operator user named after the stack. The local AWS then judges every request
    the runbook signs against exactly what ``cognito-runbook iam-policy`` prints."""
    import boto3

    from .constants import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_OPERATOR_USER

    endpoint = getattr(backend, "endpoint_url", None)
    if getattr(backend, "kind", None) != "local" or not endpoint:
        return
    text = json.dumps((adopt_policy if adopt else policy)(params, LOCAL_ACCOUNT_ID))
    if (endpoint, text) in _granted:
        return
    iam = boto3.client("iam", region_name=params.region, endpoint_url=endpoint, **LOCAL_CREDENTIALS)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=LOCAL_OPERATOR_USER)
    name = f"stack-{params.stack}" + ("-adopt" if adopt else "")
    iam.put_user_policy(UserName=LOCAL_OPERATOR_USER, PolicyName=name, PolicyDocument=text)
    _granted.add((endpoint, text))

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
from dataclasses import dataclass
from importlib import resources
from urllib.parse import unquote

import botocore.session

from .aws import STACK_TAG
from .params import Params
from .passwords import secret_name
from .stages.token_function import boundary_arn_for, boundary_name_for, boundary_policy, role_name_for

OPERATIONS_FILE = "operations.txt"
# Operations that need no permission at all (InitiateAuth is one of Cognito's
# unauthenticated operations: the app client's credentials are what it checks).
NO_PERMISSION = {"sts.GetCallerIdentity", "cognito-idp.InitiateAuth"}
# What the local AWS's administrator sends to grant the operator its policy (never the operator).
LOCAL_ADMIN_ONLY = {
    "iam.CreateUser",
    "iam.AttachUserPolicy",
    "iam.CreatePolicy",
    "iam.CreatePolicyVersion",
    "iam.DeletePolicyVersion",
    "iam.GetPolicyVersion",
    "iam.ListPolicyVersions",
}
# The operations ``adopt`` alone sends, once (``iam-policy --adopt`` prints them).
ADOPT_ONLY = {"cognito-idp.TagResource", "lambda.TagResource", "apigatewayv2.TagResource"}
# The function's role is created and its policies put only with the stack's permissions
# boundary on it (the condition key iam:PermissionsBoundary); the boundary is never changed.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html#access_policies_boundaries-delegate
WITHIN_BOUNDARY = {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}
BOUNDARY_CHANGES = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
)
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
    "routes, integrations, deployments and stages) needs the stack tag (aws:ResourceTag): AWS's Service "
    "Authorization Reference lists that key for each of these HTTP API resource types, and those that "
    "cannot carry tags of their own answer with their API's (API Gateway's guide spells this inheritance "
    "out for REST APIs). API Gateway's own keys (apigateway:Request/ApiName, ...) could add the API's "
    "name; the stack tag is what identifies the stack's API, so they are not used"
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


@dataclass(frozen=True)
class _Scope:
    """The stack's resources as IAM names them, and the conditions that narrow the grants."""

    region: str
    account: str
    stack: str
    pools: str
    function: str
    role: str
    boundary: str
    secrets: str
    log_group: str

    @classmethod
    def of(cls, params: Params, account: str) -> _Scope:
        region, stack = params.region, params.stack
        return cls(
            region=region,
            account=account,
            stack=stack,
            pools=f"arn:aws:cognito-idp:{region}:{account}:userpool/*",
            function=f"arn:aws:lambda:{region}:{account}:function:{params.token_function.name}",
            role=f"arn:aws:iam::{account}:role/{role_name_for(stack, params.token_function.name)}",
            boundary=boundary_arn_for(account, stack),
            secrets=f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_name(stack, '')}*",
            log_group=f"arn:aws:logs:{region}:{account}:log-group:/aws/vendedlogs/cognito-runbook/{stack}/*",
        )

    def tagged(self, kind: str = "ResourceTag") -> dict:
        return {"StringEquals": {f"aws:{kind}/{STACK_TAG}": self.stack}}

    def within_boundary(self) -> dict:
        return {"ArnLike" if self.account == "*" else "ArnEquals": {"iam:PermissionsBoundary": self.boundary}}


def _grant(call: str, action: str, scope: _Scope, session) -> tuple[str, str, dict | None]:
    """(sid, resource, condition) of the statement that allows ``call``."""
    service = call.split(".", 1)[0]
    if action in WHY_STAR:
        return (
            "NoResourceLevelPermission",
            "*",
            scope.tagged("RequestTag") if action.endswith("CreateUserPool") else None,
        )
    if service == "cognito-idp":
        return "CognitoPoolsOfThisStack", scope.pools, scope.tagged()
    if service == "lambda":
        return "TheTokenFunction", scope.function, None
    if action in WITHIN_BOUNDARY:
        return "TheFunctionsRoleWithinItsBoundary", scope.role, scope.within_boundary()
    if action == "iam:GetPolicy":  # the role is made only once the boundary exists
        return "TheFunctionsBoundary", scope.boundary, None
    if service == "iam":
        return "TheFunctionsRole", scope.role, None
    if service == "secretsmanager":
        return "GeneratedPasswordsOfThisStack", scope.secrets, None
    if service == "apigatewayv2":
        resource = _api_resource(scope.region, call, session)
        if resource.endswith("::/apis") and action == "apigateway:POST":  # CreateApi
            create_api = {**scope.tagged("RequestTag"), "ForAllValues:StringEquals": {"aws:TagKeys": [STACK_TAG]}}
            return "CreateTheTokenApiTaggedWithThisStack", resource, create_api
        if resource.endswith("::/apis"):
            return "ListTheApis", resource, None
        return "TheTokenApiOfThisStack", resource, scope.tagged()
    if action == "logs:DescribeLogGroups":  # authorized on all groups of the region, never one
        return "FindTheAccessLogGroup", f"arn:aws:logs:{scope.region}:{scope.account}:log-group:*", None
    if service == "logs":
        return "TheAccessLogGroup", scope.log_group, None
    raise ValueError(f"{call}: no IAM scoping rule for service {service}")


def policy(params: Params, account: str, operations: list[str] | None = None) -> dict:
    """The policy document for ``params``'s stack in ``account``."""
    session = botocore.session.get_session()
    scope = _Scope.of(params, account)
    calls = [c for c in (operations or recorded_operations()) if c not in NO_PERMISSION]
    # (sid, resource, condition) -> actions, in the order rules first meet them
    grants: dict[tuple[str, str, str], tuple[set[str], dict | None]] = {}

    def allow(sid: str, action: str, resource: str, condition: dict | None = None) -> None:
        grants.setdefault((sid, resource, repr(condition)), (set(), condition))[0].add(action)

    for call in calls:
        action = iam_action(call, session)
        sid, resource, condition = _grant(call, action, scope, session)
        allow(sid, action, resource, condition)
    if "logs.CreateLogGroup" in calls:
        # Creating a group with tags also needs TagResource; the stage's log delivery needs the rest.
        allow("TheAccessLogGroup", "logs:TagResource", scope.log_group)
        for action in LOG_DELIVERY_ACTIONS:
            allow("NoResourceLevelPermission", action, "*")
    if "secretsmanager.CreateSecret" in calls:
        # CreateSecret with Tags also needs TagResource (the CreateSecret API reference).
        allow("GeneratedPasswordsOfThisStack", "secretsmanager:TagResource", scope.secrets)
    if {"lambda.CreateFunction", "lambda.UpdateFunctionConfiguration"} & set(calls):
        # Creating or configuring the function hands it the role: PassRole, to Lambda only.
        passed_to_lambda = {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
        allow("PassTheRoleToLambdaOnly", "iam:PassRole", scope.role, passed_to_lambda)
    denials = _boundary_kept(scope.role, scope.boundary) if any(c.startswith("iam.") for c in calls) else []
    return {"Version": "2012-10-17", "Statement": _unique_sids(_merged(grants)) + denials}


def _merged(grants: dict) -> list[dict]:
    """One statement per sid, condition and set of actions; resources that share them merge."""
    statements: dict[tuple, dict] = {}
    for (sid, resource, condition_key), (actions, condition) in grants.items():
        key = (sid, condition_key, tuple(sorted(actions)))
        if key in statements:
            statements[key]["Resource"] = sorted({*_as_list(statements[key]["Resource"]), resource})
            continue
        statements[key] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resource}
        if condition:
            statements[key]["Condition"] = condition
    return list(statements.values())


def _boundary_kept(role_arn: str, boundary: str) -> list[dict]:
    """Explicit Denies (they win over any Allow the operator holds elsewhere): the role's
    boundary is never removed, and the boundary policy never changed or deleted (a new
    version would widen every role it bounds)."""
    return [
        {
            "Sid": "KeepTheRolesBoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary"],
            "Resource": role_arn,
        },
        {
            "Sid": "KeepTheBoundaryAsTheAdministratorMadeIt",
            "Effect": "Deny",
            "Action": list(BOUNDARY_CHANGES),
            "Resource": boundary,
        },
    ]


def admin_setup(params: Params, account: str) -> dict:
    """The permissions boundary of the stack's function role, which an administrator creates
    once (``iam-policy --admin-setup``); the operator policy only references it."""
    return boundary_policy(params.region, account, params.stack, params.token_function.name)


def admin_setup_commands(params: Params, params_file: str) -> str:
    """The administrator's two commands that create the boundary policy."""
    name = boundary_name_for(params.stack)
    return (
        f"cognito-runbook iam-policy {params_file} --admin-setup > {name}.json\n"
        f"aws iam create-policy --policy-name {name} --policy-document file://{name}.json"
    )


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
    name = operator_policy_name(params.stack)
    return (
        f"```json\n{json.dumps(document, indent=2)}\n```\n\n"
        f'`Resource: "*"` only where AWS offers nothing narrower:\n\n{reasons}\n\n'
        f"API Gateway, scoped to the stack by its tag:\n\n{api}\n\n"
        "First, once, an administrator creates the permissions boundary of the function's role (the "
        "most the token function may ever do; the policy above lets the operator create that role only "
        "with it, and never change it):\n\n"
        f"```bash\n{admin_setup_commands(params, params_file)}\n```\n\n"
        "Then create the operator policy and attach it to the person or role that runs the runbook:\n\n"
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


def operator_policy_name(stack: str, adopt: bool = False) -> str:
    """The managed policy the README has an administrator create (``--adopt``: the extras)."""
    return f"cognito-runbook-{stack}-{'adopt' if adopt else 'operator'}"


def grant_local_operator(params: Params, backend, adopt: bool = False) -> None:
    """Against the local AWS, do what a security team does once with administrator rights:
    create the stack's permissions boundary (``iam-policy --admin-setup``), and this
    stack's operator policy as a managed policy attached to the operator (the key the
    runbook signs with), as the README says. The local AWS then judges every request the
    runbook signs against exactly what ``cognito-runbook iam-policy`` prints."""
    import boto3

    from .constants import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_OPERATOR_USER

    endpoint = getattr(backend, "endpoint_url", None)
    if getattr(backend, "kind", None) != "local" or not endpoint:
        return
    document = (adopt_policy if adopt else policy)(params, LOCAL_ACCOUNT_ID)
    text = json.dumps(document)
    if (endpoint, text) in _granted:
        return
    iam = boto3.client("iam", region_name=params.region, endpoint_url=endpoint, **LOCAL_CREDENTIALS)
    put_managed_policy(iam, boundary_name_for(params.stack), LOCAL_ACCOUNT_ID, admin_setup(params, LOCAL_ACCOUNT_ID))
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=LOCAL_OPERATOR_USER)
    arn = put_managed_policy(iam, operator_policy_name(params.stack, adopt), LOCAL_ACCOUNT_ID, document)
    iam.attach_user_policy(UserName=LOCAL_OPERATOR_USER, PolicyArn=arn)
    _granted.add((endpoint, text))


def put_managed_policy(iam, name: str, account: str, want: dict) -> str:
    """An administrator's customer managed policy with ``want`` as its default version
    (created, or a new version when it differs, older versions removed first: IAM keeps
    five). Returns its ARN."""
    arn = f"arn:aws:iam::{account}:policy/{name}"
    try:
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(want))
        return arn
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    default = next(v for v in versions if v["IsDefaultVersion"])
    have = iam.get_policy_version(PolicyArn=arn, VersionId=default["VersionId"])["PolicyVersion"]["Document"]
    if (json.loads(unquote(have)) if isinstance(have, str) else have) == want:
        return arn
    for old in (v for v in versions if not v["IsDefaultVersion"]):
        iam.delete_policy_version(PolicyArn=arn, VersionId=old["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(want), SetAsDefault=True)
    return arn

"""The operator's IAM policy: derived from the request contract, nothing missing, nothing extra."""

import ast
import json
import subprocess
import sys

import botocore.session
import pytest
from botocore import xform_name
from conftest import ROOT

from cognito_runbook import iam_policy
from cognito_runbook.aws import STACK_TAG
from cognito_runbook.params import load_params

ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def document():
    return iam_policy.policy(load_params(ROOT / "params" / "aws-example.yaml"), ACCOUNT)


def granted(document) -> set[str]:
    return {action for s in document["Statement"] if s["Effect"] == "Allow" for action in s["Action"]}


def allows(document) -> list[dict]:
    return [s for s in document["Statement"] if s["Effect"] == "Allow"]


def test_every_recorded_operation_is_allowed_and_nothing_else(document):
    needed = {iam_policy.iam_action(c) for c in iam_policy.recorded_operations() if c not in iam_policy.NO_PERMISSION}
    # CreateFunction hands the role to Lambda; a tagged log group or secret needs TagResource; the
    # stage's access log needs API Gateway's log delivery permissions.
    implied = {"iam:PassRole", "logs:TagResource", "secretsmanager:TagResource", *iam_policy.LOG_DELIVERY_ACTIONS}
    assert needed <= granted(document), needed - granted(document)
    assert granted(document) - needed == implied


def test_resources_are_the_stacks_wherever_aws_allows(document):
    for statement in allows(document):
        assert "*" not in statement["Action"]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resources == ["*"]:
            assert set(statement["Action"]) <= set(iam_policy.WHY_STAR), statement
            continue
        for resource in resources:
            assert resource.startswith("arn:aws:") and (ACCOUNT in resource or ":apigateway:" in resource), resource
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert (
        by_sid["TheTokenFunction"]["Resource"] == f"arn:aws:lambda:eu-north-1:{ACCOUNT}:function:db2-prod-generateToken"
    )
    assert by_sid["CognitoPoolsOfThisStack"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/cognito-runbook:stack": "db2-prod"}
    }
    passrole = by_sid["PassTheRoleToLambdaOnly"]
    assert passrole["Action"] == ["iam:PassRole"]
    assert passrole["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/db2-prod-generateToken"
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    secrets = by_sid["GeneratedPasswordsOfThisStack"]["Resource"]
    assert secrets == f"arn:aws:secretsmanager:eu-north-1:{ACCOUNT}:secret:cognito-runbook/db2-prod/*"


BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/cognito-runbook-db2-prod-function-boundary"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/db2-prod-generateToken"


def test_the_role_is_made_and_changed_only_within_the_stacks_boundary(document):
    """Every grant that can give the function's role rights needs the boundary on the role
    (iam:PermissionsBoundary); removing the boundary or changing its policy is denied."""
    writes = {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}
    for statement in allows(document):
        if writes & set(statement["Action"]):
            assert statement["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY}}, statement
            assert statement["Resource"] == ROLE
    denied = {(a, s["Resource"]) for s in document["Statement"] if s["Effect"] == "Deny" for a in s["Action"]}
    assert ("iam:DeleteRolePermissionsBoundary", ROLE) in denied
    assert {
        (a, BOUNDARY) for a in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy")
    } <= denied
    assert not {"iam:AttachRolePolicy", "iam:CreatePolicy", "iam:CreatePolicyVersion"} & granted(document)


def test_the_boundary_allows_only_what_the_function_needs():
    params = load_params(ROOT / "params" / "aws-example.yaml")
    boundary = iam_policy.admin_setup(params, ACCOUNT)
    assert {a for s in boundary["Statement"] for a in s["Action"]} == {
        "cognito-idp:AdminInitiateAuth",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    sign_in = boundary["Statement"][0]
    assert sign_in["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": "db2-prod"}}
    assert (
        sign_in["Resource"] == f"arn:aws:cognito-idp:eu-north-1:{ACCOUNT}:userpool/*"
    )  # tagged: the pool ID is not known yet
    assert all("/aws/lambda/db2-prod-generateToken" in s["Resource"] for s in boundary["Statement"][1:])


def test_no_api_gateway_grant_reaches_every_api_of_the_region(document):
    """Every Allow with an apigateway action names one resource (no wildcard) or carries the
    stack's tag condition; an untagged grant is one whose reason the policy prints."""
    stack_tag = {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": "db2-prod"}}
    seen = set()
    for statement in document["Statement"]:
        actions = [a for a in statement["Action"] if a.startswith("apigateway:")]
        if not actions:
            continue
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        condition = statement.get("Condition")
        assert statement["Effect"] == "Allow" and "*" not in resources, statement
        if condition == stack_tag:
            assert all(r.startswith("arn:aws:apigateway:eu-north-1::/apis/") for r in resources), statement
        elif condition is not None:  # CreateApi: the new API is tagged with this stack, and nothing else
            assert actions == ["apigateway:POST"] and resources == ["arn:aws:apigateway:eu-north-1::/apis"]
            assert condition == {
                "StringEquals": {f"aws:RequestTag/{STACK_TAG}": "db2-prod"},
                "ForAllValues:StringEquals": {"aws:TagKeys": [STACK_TAG]},
            }
        else:  # a specific resource, and the policy says why no tag condition applies
            assert all("*" not in r for r in resources), statement
            assert all((a, r.partition("::")[2]) in iam_policy.WHY_UNTAGGED_API for a in actions for r in resources)
        seen.update(actions)
    assert seen == {"apigateway:GET", "apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"}
    explained = dict(iam_policy.explain_api_gateway(document))
    assert "apigateway:GET on arn:aws:apigateway:eu-north-1::/apis" in explained


def test_the_command_prints_valid_policy_json_and_says_why_for_each_star():
    proc = subprocess.run(
        [sys.executable, "-m", "cognito_runbook.cli", "iam-policy", "params/aws-example.yaml", "--account", ACCOUNT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["Version"] == "2012-10-17" and document["Statement"]
    assert all(set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"} for s in document["Statement"])
    assert '"Action": "*"' not in proc.stdout
    assert proc.stderr.count('# Resource "*" for ') == len(iam_policy.WHY_STAR)


def test_without_credentials_the_account_is_a_wildcard_and_said_so(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cognito_runbook.cli", "iam-policy", "params/aws-example.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "arn:aws:lambda:eu-north-1:*:function:db2-prod-generateToken" in proc.stdout
    assert "pass --account to pin it" in proc.stderr and json.loads(proc.stdout)["Statement"]


SERVICES = ("cognito-idp", "iam", "lambda", "apigatewayv2", "secretsmanager", "logs", "sts")


def operations_named_in_the_code() -> dict[str, set[str]]:
    """{method name: the ``service.Operation``s it can be} for every boto3 client method the
    package names (an attribute ``client.admin_enable_user`` or a string given to
    ``paginate``/``get_or_none``), outside the local AWS and the function's own code."""
    session = botocore.session.get_session()
    by_method: dict[str, set[str]] = {}
    for service in SERVICES:
        for operation in session.get_service_model(service).operation_names:
            by_method.setdefault(xform_name(operation), set()).add(f"{service}.{operation}")
    named: dict[str, set[str]] = {}
    for path in (ROOT / "cognito_runbook").rglob("*.py"):
        if {"local", "lambda_src"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "value", None)
            if isinstance(name, str) and name in by_method:
                named[name] = by_method[name]
    return named


def ungranted(document) -> dict[str, list[str]]:
    allowed = granted(document)
    return {
        method: sorted(calls)
        for method, calls in operations_named_in_the_code().items()
        if not calls & (iam_policy.NO_PERMISSION | iam_policy.ADOPT_ONLY | iam_policy.LOCAL_ADMIN_ONLY)
        and not {iam_policy.iam_action(c) for c in calls} & allowed
    }


def test_every_operation_the_code_names_is_granted(document):
    """A new client call without a grant fails here, before any scenario reaches it."""
    named = operations_named_in_the_code()
    assert {"admin_enable_user", "admin_remove_user_from_group", "restore_secret", "describe_secret"} <= set(named)
    assert ungranted(document) == {}, "granted by no statement of the operator policy: add a contract scenario"


def test_the_code_scan_sees_a_call_the_policy_lacks(document):
    statements = [
        {**s, "Action": [a for a in s["Action"] if a != "secretsmanager:RestoreSecret"]} for s in document["Statement"]
    ]
    assert ungranted({**document, "Statement": statements}) == {"restore_secret": ["secretsmanager.RestoreSecret"]}


def test_the_policy_fits_in_a_managed_policy(document):
    """IAM refuses a managed policy over 6,144 characters, whitespace not counted (IAM and
    AWS STS quotas); the README tells administrators to create it as a managed policy."""
    assert len(json.dumps(document, separators=(",", ":"))) <= 6144

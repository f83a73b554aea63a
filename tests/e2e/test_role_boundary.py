"""No escalation through the function's role, as the operator against the local AWS: the
role exists only with the stack's permissions boundary, the boundary stays on it and its
policy stays as the administrator made it, and whatever the operator writes into the
role or deploys as the function, the function can do no more than the boundary allows."""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from cognito_runbook import iam_policy
from cognito_runbook.constants import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS
from cognito_runbook.errors import RunbookError
from cognito_runbook.stages.token_function import TRUST_POLICY, boundary_arn_for, role_name_for

EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# A handler that tries, with the role's rights, calls the token function never needs.
ESCALATION = """
import os

import boto3


def lambda_handler(event, context):
    attempts = {
        "iam:CreateUser": lambda: boto3.client("iam").create_user(UserName="escalated"),
        "secretsmanager:ListSecrets": lambda: boto3.client("secretsmanager").list_secrets(),
        "cognito-idp:AdminCreateUser": lambda: boto3.client("cognito-idp").admin_create_user(
            UserPoolId=os.environ["USER_POOL_ID"], Username="escalated"
        ),
    }
    results = {}
    for action, attempt in attempts.items():
        try:
            attempt()
            results[action] = "allowed"
        except Exception as err:
            results[action] = str(err)
    return results
"""


def _admin(endpoint: str, service: str):
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, **LOCAL_CREDENTIALS)


def _role(rb) -> str:
    return role_name_for(rb.params.stack, rb.params.token_function.name)


def _boundary(rb) -> str:
    return boundary_arn_for(LOCAL_ACCOUNT_ID, rb.params.stack)


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("generate_token.py", source)
    return buffer.getvalue()


def test_the_role_is_created_only_with_the_stacks_boundary(make_stack, local_aws):
    rb = make_stack()
    iam, name = rb.backend.client("iam"), _role(rb)
    wide = _admin(local_aws, "iam").create_policy(
        PolicyName=f"wide-{rb.params.stack}", PolicyDocument=json.dumps(EVERYTHING)
    )["Policy"]["Arn"]
    trust = json.dumps(TRUST_POLICY)
    try:
        refused = f"not authorized to perform: iam:CreateRole on resource: arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{name}"
        with pytest.raises(ClientError, match=refused):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        with pytest.raises(ClientError, match=refused):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, PermissionsBoundary=wide)
        rb.provision()
        role = _admin(local_aws, "iam").get_role(RoleName=name)["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == _boundary(rb)
    finally:
        rb.teardown()
        _admin(local_aws, "iam").delete_policy(PolicyArn=wide)


def test_the_boundary_can_be_neither_removed_nor_changed(provisioned, local_aws):
    rb, _ = provisioned
    iam, name, boundary = rb.backend.client("iam"), _role(rb), _boundary(rb)
    wide = _admin(local_aws, "iam").create_policy(
        PolicyName=f"wide-{rb.params.stack}", PolicyDocument=json.dumps(EVERYTHING)
    )["Policy"]["Arn"]
    try:
        attempts = {
            "iam:DeleteRolePermissionsBoundary": lambda: iam.delete_role_permissions_boundary(RoleName=name),
            "iam:PutRolePermissionsBoundary": lambda: iam.put_role_permissions_boundary(
                RoleName=name, PermissionsBoundary=wide
            ),
            "iam:CreatePolicyVersion": lambda: iam.create_policy_version(
                PolicyArn=boundary, PolicyDocument=json.dumps(EVERYTHING), SetAsDefault=True
            ),
            "iam:DeletePolicy": lambda: iam.delete_policy(PolicyArn=boundary),
        }
        for action, attempt in attempts.items():
            with pytest.raises(ClientError, match=f"not authorized to perform: {action} on resource"):
                attempt()
        role = _admin(local_aws, "iam").get_role(RoleName=name)["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
        versions = _admin(local_aws, "iam").list_policy_versions(PolicyArn=boundary)["Versions"]
        assert [v["VersionId"] for v in versions] == ["v1"]  # as the administrator made it
    finally:
        _admin(local_aws, "iam").delete_policy(PolicyArn=wide)


def test_everything_in_the_role_still_cannot_leave_the_boundary(provisioned, local_aws):
    """The operator may write ``*:*`` into the role (the boundary is on it) and deploy any
    code; the function's calls outside the boundary are refused all the same."""
    rb, out = provisioned
    iam, lam, function = rb.backend.client("iam"), rb.backend.client("lambda"), rb.params.token_function.name
    iam.put_role_policy(RoleName=_role(rb), PolicyName="everything", PolicyDocument=json.dumps(EVERYTHING))
    lam.update_function_code(FunctionName=function, ZipFile=_zip(ESCALATION))
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    deadline, results = time.monotonic() + 30, {}
    while time.monotonic() < deadline:  # until the new inline policy is in effect (IAM propagation)
        with urllib.request.urlopen(out.token_url, timeout=15) as response:
            results = json.loads(response.read())
        if "not in effect yet" not in json.dumps(results):
            break
        time.sleep(0.5)
    assert set(results) == {"iam:CreateUser", "secretsmanager:ListSecrets", "cognito-idp:AdminCreateUser"}
    for action, outcome in results.items():
        assert f"assumed-role/{_role(rb)}/{function} is not authorized to perform: {action}" in outcome
        assert "no permissions boundary allows" in outcome
    users = _admin(local_aws, "cognito-idp").list_users(UserPoolId=rb.pool()["Id"])["Users"]
    assert "escalated" not in {u["Username"] for u in users}


def test_without_the_administrators_boundary_the_run_says_who_creates_it(make_stack, local_aws):
    rb = make_stack()
    _admin(local_aws, "iam").delete_policy(PolicyArn=_boundary(rb))
    try:
        with pytest.raises(RunbookError, match=r"permissions boundary .*does not exist.*--admin-setup"):
            rb.provision()
        with pytest.raises(ClientError):
            _admin(local_aws, "iam").get_role(RoleName=_role(rb))
    finally:
        document = json.dumps(iam_policy.admin_setup(rb.params, LOCAL_ACCOUNT_ID))
        name = _boundary(rb).rsplit("/", 1)[-1]
        _admin(local_aws, "iam").create_policy(PolicyName=name, PolicyDocument=document)
        rb.teardown()

"""The runbook's own calls run under the policy it prints: the local AWS judges every
request signed with the operator's key against the operator's IAM policies."""

from __future__ import annotations

import boto3
import pytest

from cognito_runbook import iam_policy
from cognito_runbook.aws import STACK_TAG
from cognito_runbook.constants import LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_OPERATOR_USER
from cognito_runbook.errors import RunbookError


def _admin_iam(endpoint: str):
    return boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint, **LOCAL_CREDENTIALS)


def _grant(endpoint: str, stack: str, document: dict) -> None:
    """The administrator makes ``document`` the stack's operator policy (a new version)."""
    name = iam_policy.operator_policy_name(stack)
    iam_policy.put_managed_policy(_admin_iam(endpoint), name, LOCAL_ACCOUNT_ID, document)


def test_an_action_missing_from_the_policy_fails_with_access_denied_naming_it(make_stack, local_aws):
    rb = make_stack()
    full = iam_policy.policy(rb.params, LOCAL_ACCOUNT_ID)
    statements = [
        {**s, "Action": [a for a in s["Action"] if a != "cognito-idp:CreateGroup"]} for s in full["Statement"]
    ]
    _grant(local_aws, rb.params.stack, {**full, "Statement": [s for s in statements if s["Action"]]})
    try:
        with pytest.raises(RunbookError) as refused:
            rb.provision()
        message = str(refused.value)
        assert "AccessDeniedException" in message
        assert (
            f"user/{LOCAL_OPERATOR_USER} is not authorized to perform: cognito-idp:CreateGroup on resource: " in message
        )
        assert f"arn:aws:cognito-idp:us-east-1:{LOCAL_ACCOUNT_ID}:userpool/" in message
    finally:
        _grant(local_aws, rb.params.stack, full)
        rb.teardown()


def test_a_stacks_policy_reaches_only_its_own_pool(make_stack, local_aws):
    """The local operator holds the policy of every stack it runs; without the other
    stack's grant, this stack's policy does not reach the other stack's pool."""
    mine, theirs = make_stack(), make_stack()
    theirs.run_stage("user_pool")
    pool_id = theirs.pool()["Id"]
    theirs_arn = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:policy/{iam_policy.operator_policy_name(theirs.params.stack)}"
    _admin_iam(local_aws).detach_user_policy(UserName=LOCAL_OPERATOR_USER, PolicyArn=theirs_arn)
    try:
        cognito = mine.backend.client("cognito-idp")
        with pytest.raises(
            cognito.exceptions.ClientError, match="not authorized to perform: cognito-idp:DeleteUserPool"
        ):
            cognito.delete_user_pool(UserPoolId=pool_id)
    finally:
        _admin_iam(local_aws).attach_user_policy(UserName=LOCAL_OPERATOR_USER, PolicyArn=theirs_arn)
        theirs.teardown()


def test_a_stacks_policy_reaches_only_its_own_api(make_stack, local_aws):
    """API Gateway is scoped by the stack tag: an API without this stack's tag can be neither
    changed nor deleted, and an API can be created only tagged with this stack."""
    rb = make_stack()
    admin = boto3.client("apigatewayv2", region_name="us-east-1", endpoint_url=local_aws, **LOCAL_CREDENTIALS)
    other = admin.create_api(Name="someone-elses", ProtocolType="HTTP", Tags={STACK_TAG: "another-stack"})["ApiId"]
    api2 = rb.backend.client("apigatewayv2")
    try:
        with pytest.raises(api2.exceptions.ClientError, match=f"apigateway:DELETE on resource: .*/apis/{other}"):
            api2.delete_api(ApiId=other)
        with pytest.raises(api2.exceptions.ClientError, match="not authorized to perform: apigateway:POST"):
            api2.create_route(ApiId=other, RouteKey="GET /x")
        with pytest.raises(api2.exceptions.ClientError, match="not authorized to perform: apigateway:POST"):
            api2.create_api(Name="untagged", ProtocolType="HTTP")
        with pytest.raises(api2.exceptions.ClientError, match="not authorized to perform: apigateway:POST"):
            api2.create_api(Name="extra-tag", ProtocolType="HTTP", Tags={**rb_tags(rb), "owner": "me"})
        mine = api2.create_api(Name="mine", ProtocolType="HTTP", Tags=rb_tags(rb))["ApiId"]
        api2.delete_api(ApiId=mine)
    finally:
        admin.delete_api(ApiId=other)
        rb.teardown()


def rb_tags(rb) -> dict:
    return {STACK_TAG: rb.params.stack}


def test_the_policy_is_too_big_to_be_inline_and_fits_as_managed(make_stack, local_aws):
    """As IAM counts (white space not counted): a user's inline policies hold 2,048
    characters, a managed policy 6,144. The operator policy needs the managed form, which
    is how the README has administrators create it, and how the local AWS grants it."""
    import json

    rb = make_stack()
    iam = _admin_iam(local_aws)
    document = json.dumps(iam_policy.policy(rb.params, LOCAL_ACCOUNT_ID))
    with pytest.raises(iam.exceptions.LimitExceededException, match="Maximum policy size of 2048 bytes"):
        iam.put_user_policy(UserName=LOCAL_OPERATOR_USER, PolicyName="inline", PolicyDocument=document)
    statement = {"Effect": "Allow", "Action": "cognito-idp:ListUsers", "Resource": "arn:aws:cognito-idp:*:*:userpool/x"}
    too_big = json.dumps({"Version": "2012-10-17", "Statement": [statement] * 70})
    with pytest.raises(iam.exceptions.LimitExceededException, match="PolicySize: 6144"):
        iam.create_policy(PolicyName=f"too-big-{rb.params.stack}", PolicyDocument=too_big)
    attached = iam.list_attached_user_policies(UserName=LOCAL_OPERATOR_USER)["AttachedPolicies"]
    assert iam_policy.operator_policy_name(rb.params.stack) in {p["PolicyName"] for p in attached}

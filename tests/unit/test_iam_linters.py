"""The printed policies run through parliament, a public IAM linter (its data and auditors
ship with it: offline). Every finding is fixed or accepted here with its reason; the README
lists the same findings ("Against a real AWS account")."""

import json

import parliament
import pytest
from conftest import ROOT

from cognito_runbook import iam_policy
from cognito_runbook.params import load_params

ACCOUNT = "111122223333"
# (issue, what it names) -> why it is accepted. parliament's community auditors, like
# cloudsplaining, judge by action names alone: they ignore the Resource (the stack's role,
# function, pools) and the Condition (the stack tag, iam:PassedToService) of the grant.
ACCEPTED_FINDINGS = {
    ("RESOURCE_MISMATCH", "logs:DescribeLogGroups"): (
        "parliament's data gives DescribeLogGroups no resource type, so it expects Resource '*'; AWS "
        "authorizes it on arn:aws:logs:REGION:ACCOUNT:log-group::log-stream: (its AccessDenied names "
        "that ARN), which the policy's log-group:* of the stack's region and account covers: narrower than '*'"
    ),
    ("CREDENTIALS_EXPOSURE", "cognito-idp:describeuserpoolclient"): (
        "DescribeUserPoolClient returns the app client's secret; the runbook reads the client to "
        "update it read-merge-write and hands the secret to Db2. Granted only on pools tagged with the stack"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:createrole"): (
        "the function's role: only that role's ARN, and only with the stack's permissions boundary on it"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:deleterole"): "teardown of the function's role: only that role's ARN",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:putrolepolicy"): (
        "the role's inline policy (the function signs in to its pool): only that role's ARN and only while "
        "the role carries the stack's boundary, so whatever it writes, the role can do no more than the boundary"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:putrolepermissionsboundary"): (
        "puts the stack's boundary back on its role (made before boundaries, or removed by hand): only "
        "that role, only that boundary (iam:PermissionsBoundary); removing a boundary is denied"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:deleterolepolicy"): "teardown: only the function's role",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:updateassumerolepolicy"): (
        "restores the role's trust in Lambda when changed by hand: only that role's ARN; whoever it lets "
        "assume the role gets no more than the boundary allows"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "iam:passrole"): (
        "hands the function its role: only that role's ARN and only to Lambda (iam:PassedToService)"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "lambda:addpermission"): (
        "lets the stack's API invoke the function (its resource policy): only the stack's function"
    ),
    (
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "lambda:removepermission",
    ): "removes a stale API grant: only the stack's function",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "logs:putresourcepolicy"): (
        "API Gateway's access-log delivery to CloudWatch Logs needs it; it has no resource-level permission"
    ),
    ("PRIVILEGE_ESCALATION", "lambda:updatefunctioncode"): (
        "deploys the token function's code: only the stack's function; any code runs with the role's "
        "rights, which the boundary caps at signing in to the stack's pools and writing the function's logs"
    ),
}


def findings(document: dict) -> set[tuple[str, str]]:
    analyzed = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    found = set()
    for finding in analyzed.findings:
        location = finding.location or {}
        named = [d["action"] for d in finding.detail if "action" in d] if isinstance(finding.detail, list) else []
        named += location.get("actions", [])
        if location.get("type"):
            named = named or [location["type"]]
        found.update((finding.issue, n) for n in named or [str(finding.detail)])
    return found


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params" / "aws-example.yaml")


def test_parliament_finds_nothing_unaccepted_in_the_operator_policy(params):
    found = findings(iam_policy.policy(params, ACCOUNT))
    assert found - set(ACCEPTED_FINDINGS) == set(), "fix it, or accept it here and in the README with the reason"
    assert set(ACCEPTED_FINDINGS) - found == set(), "no longer found: remove it here and from the README"


def test_parliament_finds_only_the_accepted_client_read_in_the_adopt_policy(params):
    """adopt reads an untagged pool's client (the same accepted finding); nothing else."""
    assert findings(iam_policy.adopt_policy(params, ACCOUNT)) == {
        ("CREDENTIALS_EXPOSURE", "cognito-idp:describeuserpoolclient")
    }


def test_parliament_sees_a_broken_statement():
    """The analysis runs (an unknown action and a malformed ARN are found)."""
    broken = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "cognito-idp:NoSuchAction", "Resource": "arn:aws:nothing"}],
    }
    assert {issue for issue, _ in findings(broken)} & {"UNKNOWN_ACTION", "INVALID_ARN"}

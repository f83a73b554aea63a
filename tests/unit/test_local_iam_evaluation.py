"""The local AWS's IAM evaluation as pure functions over policy documents (no server)."""

import json

import pytest

from cognito_runbook.local.iam_evaluation import denial_reason, matches, statements

POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
ALLOW = {"Effect": "Allow", "Action": "cognito-idp:AdminInitiateAuth", "Resource": POOL}


def test_a_single_statement_and_json_text_are_read_as_lists():
    assert statements({"Statement": ALLOW}) == [ALLOW]
    assert statements(json.dumps({"Statement": [ALLOW]})) == [ALLOW]


def test_wildcards_and_lists():
    assert matches(["x", "cognito-idp:Admin*"], "cognito-idp:AdminInitiateAuth")
    assert matches("arn:aws:cognito-idp:*:123456789012:userpool/?s-east-1_abc", POOL)
    assert not matches(None, "anything")


@pytest.mark.parametrize(
    ("documents", "action", "resource", "reason"),
    [
        ([{"Statement": [ALLOW]}], "cognito-idp:AdminInitiateAuth", POOL, None),
        ([{"Statement": [ALLOW]}], "COGNITO-IDP:admininitiateauth", POOL, None),  # actions ignore case
        (
            [{"Statement": [ALLOW]}],
            "cognito-idp:AdminInitiateAuth",
            POOL.upper(),
            "no identity-based policy allows the action",
        ),
        ([{"Statement": [ALLOW]}], "cognito-idp:AdminGetUser", POOL, "no identity-based policy allows the action"),
        (
            [{"Statement": [ALLOW]}, json.dumps({"Statement": {**ALLOW, "Effect": "Deny", "Action": "cognito-idp:*"}})],
            "cognito-idp:AdminInitiateAuth",
            POOL,
            "an explicit Deny in its policy",
        ),
        ([], "cognito-idp:AdminInitiateAuth", POOL, "no identity-based policy allows the action"),
    ],
)
def test_an_explicit_deny_wins_and_an_allow_is_needed(documents, action, resource, reason):
    assert denial_reason(documents, action, resource) == reason

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


TAGGED = {**ALLOW, "Condition": {"StringEquals": {"aws:ResourceTag/cognito-runbook:stack": "s1"}}}


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({"aws:ResourceTag/cognito-runbook:stack": "s1"}, None),
        ({"aws:resourcetag/cognito-runbook:stack": "s1"}, None),  # condition key names ignore case
        ({"aws:ResourceTag/cognito-runbook:stack": "s2"}, "no identity-based policy allows the action"),
        ({}, "no identity-based policy allows the action"),  # an absent key does not match
    ],
)
def test_conditions_on_tags(context, reason):
    assert denial_reason([{"Statement": [TAGGED]}], ALLOW["Action"], POOL, context) == reason


def test_null_negated_and_set_operators():
    untagged = {**ALLOW, "Condition": {"Null": {"aws:ResourceTag/k": "true"}}}
    assert denial_reason([{"Statement": [untagged]}], ALLOW["Action"], POOL, {}) is None
    assert denial_reason([{"Statement": [untagged]}], ALLOW["Action"], POOL, {"aws:ResourceTag/k": "v"})
    only_k = {**ALLOW, "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["k"]}}}
    assert denial_reason([{"Statement": [only_k]}], ALLOW["Action"], POOL, {"aws:TagKeys": ["k"]}) is None
    assert denial_reason([{"Statement": [only_k]}], ALLOW["Action"], POOL, {"aws:TagKeys": ["k", "x"]})
    not_pool = {**ALLOW, "Effect": "Deny", "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": "arn:b"}}}
    docs = [{"Statement": [ALLOW, not_pool]}]
    assert denial_reason(docs, ALLOW["Action"], POOL, {"iam:PermissionsBoundary": "arn:b"}) is None
    assert denial_reason(docs, ALLOW["Action"], POOL, {}) == "an explicit Deny in its policy"


def test_a_permissions_boundary_intersects_and_not_action_excludes():
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    boundary = [{"Statement": [ALLOW]}]
    assert denial_reason([everything], ALLOW["Action"], POOL, boundary=boundary) is None
    assert (
        denial_reason([everything], "iam:CreateUser", "*", boundary=boundary)
        == "no permissions boundary allows the action"
    )
    assert (
        denial_reason([everything], "iam:CreateUser", "*", boundary=[]) == "no permissions boundary allows the action"
    )
    but_iam = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert denial_reason([but_iam], "iam:CreateUser", "*") == "no identity-based policy allows the action"
    assert denial_reason([but_iam], ALLOW["Action"], POOL) is None

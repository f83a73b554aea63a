"""Cognito's request-rate quotas: per account and region, per category of operations.

From AWS's "Quotas in Amazon Cognito", "Amazon Cognito user pools API operation categories
and request rate quotas" (https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html):
"Operation quotas are defined as the maximum number of requests per second (RPS) for all
operations within a category", "applied across all users in all user pools within one AWS
Region". Over quota, Cognito answers ``TooManyRequestsException`` (HTTP 400; e.g. the
AdminCreateUser API reference, Errors).

Used by both sides: the runbook paces its calls by it (``pacing.py``), and the local AWS
enforces it. Accounts can raise the adjustable categories, so the params can too
(``cognito_quotas``).
"""

from __future__ import annotations

# Default quota (RPS) per category.
DEFAULT_RPS: dict[str, float] = {
    "UserAuthentication": 120,
    "UserCreation": 50,
    "UserFederation": 25,
    "UserAccountRecovery": 30,
    "UserRead": 120,
    "UserUpdate": 25,
    "UserToken": 120,
    "UserResourceRead": 50,
    "UserResourceUpdate": 25,
    "UserList": 30,
    "UserPoolRead": 15,
    "UserPoolUpdate": 15,
    "UserPoolResourceRead": 20,
    "UserPoolResourceUpdate": 15,
    "UserPoolClientRead": 15,
    "UserPoolClientUpdate": 15,
    "ClientAuthentication": 150,
    "LimitManagement": 1,
}

# The category of each operation the runbook (or a test) sends. Note that group memberships
# are UserUpdate (25 RPS), and setting a password is UserAccountRecovery (30 RPS).
CATEGORY: dict[str, str] = {
    "AdminCreateUser": "UserCreation",
    "AdminSetUserPassword": "UserAccountRecovery",
    "AdminInitiateAuth": "UserAuthentication",
    "InitiateAuth": "UserAuthentication",
    "AdminGetUser": "UserRead",
    "AdminAddUserToGroup": "UserUpdate",
    "AdminRemoveUserFromGroup": "UserUpdate",
    "AdminUpdateUserAttributes": "UserUpdate",
    "AdminDisableUser": "UserUpdate",
    "AdminEnableUser": "UserUpdate",
    "AdminDeleteUser": "UserUpdate",
    "AdminUserGlobalSignOut": "UserUpdate",
    "AdminListGroupsForUser": "UserResourceRead",
    "ListUsers": "UserList",
    "ListUsersInGroup": "UserList",
    "DescribeUserPool": "UserPoolRead",
    "ListUserPools": "UserPoolRead",
    "CreateUserPool": "UserPoolUpdate",
    "UpdateUserPool": "UserPoolUpdate",
    "DeleteUserPool": "UserPoolUpdate",
    "ListGroups": "UserPoolResourceRead",
    "GetGroup": "UserPoolResourceRead",
    "DescribeUserPoolDomain": "UserPoolResourceRead",
    "CreateGroup": "UserPoolResourceUpdate",
    "UpdateGroup": "UserPoolResourceUpdate",
    "DeleteGroup": "UserPoolResourceUpdate",
    "TagResource": "UserPoolResourceUpdate",
    "CreateUserPoolDomain": "UserPoolResourceUpdate",
    "UpdateUserPoolDomain": "UserPoolResourceUpdate",
    "DeleteUserPoolDomain": "UserPoolResourceUpdate",
    "DescribeUserPoolClient": "UserPoolClientRead",
    "ListUserPoolClients": "UserPoolClientRead",
    "CreateUserPoolClient": "UserPoolClientUpdate",
    "UpdateUserPoolClient": "UserPoolClientUpdate",
}


def rates(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """Requests per second per category: the defaults with an account's raised quotas."""
    return {**DEFAULT_RPS, **(overrides or {})}

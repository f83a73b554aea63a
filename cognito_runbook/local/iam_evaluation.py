"""IAM policy evaluation for the local AWS: does an identity policy allow an action on a
resource?

The core (``statements``, ``matches``, ``denial_reason``) is pure: it takes policy
documents (JSON text or parsed) and needs no moto, so it tests on its own and can judge
any principal's policies. ``function_may_call`` applies it to a deployed function's role,
read through ``moto_state`` (this module touches no moto internals itself). As IAM
evaluates identity-based policies, an explicit Deny wins and otherwise an Allow is needed.
Not evaluated yet: NotAction, NotResource, Condition, permissions boundaries.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from typing import Any

from . import moto_state
from .patches.iam import policy_is_new
from .timing import delay_seconds

PolicyDocument = str | dict[str, Any]  # JSON text, as IAM stores it, or parsed


def statements(document: PolicyDocument) -> list[dict]:
    """The statements of a policy document (a single statement as a list of one)."""
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc.get("Statement", [])
    return found if isinstance(found, list) else [found]


def matches(patterns, value: str, fold: Callable[[str], str] = lambda p: p) -> bool:
    """IAM wildcards (* and ?) in one pattern or a list; ``fold`` applies to each pattern."""
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value, fold(p)) for p in patterns)


def applies(statement: dict, action: str, resource: str) -> bool:
    """Whether a statement names the action (case-insensitively) and the resource (exactly)."""
    return matches(statement.get("Action"), action.lower(), str.lower) and matches(statement.get("Resource"), resource)


def denial_reason(documents: Iterable[PolicyDocument], action: str, resource: str) -> str | None:
    """Why these identity policies do not allow ``action`` on ``resource`` (None: they do).
    The first explicit Deny that applies wins; otherwise an Allow that applies is needed."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if applies(statement, action, resource):
                if statement.get("Effect") == "Deny":
                    return "an explicit Deny in its policy"
                allowed = allowed or statement.get("Effect") == "Allow"
    return None if allowed else "no identity-based policy allows the action"


def function_may_call(region: str, function_name: str, action: str, resource: str) -> str | None:
    """Why the function's role may not call ``action`` on ``resource`` (None: it may).
    Follows IAM's evaluation for identity policies: an explicit Allow in an inline policy
    that is in effect (IAM propagation: see ``patches/iam.py``), and no explicit Deny."""
    role_arn = moto_state.role_arn_of(region, function_name)
    if role_arn is None:
        return "the function does not exist"
    role_name = role_arn.rsplit("/", 1)[-1]
    documents = moto_state.role_inline_policies(role_name)
    if documents is None:
        return f"its role {role_name} does not exist"
    if policy_is_new(role_name):
        return f"the policy of {role_name} was changed {delay_seconds():.0f} s ago and is not in effect yet"
    return denial_reason(documents, action, resource)

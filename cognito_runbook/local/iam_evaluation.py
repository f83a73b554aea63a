"""IAM policy evaluation for the local AWS: do a principal's policies allow an action on a
resource, in a request context?

The core (``statements``, ``matches``, ``conditions_hold``, ``denial_reason``) is pure: it
takes policy documents (JSON text or parsed) and a request context (condition keys ->
values) and needs no moto, so it tests on its own and judges any principal's policies.
It follows AWS's "Policy evaluation logic" for one account: an explicit Deny in any
policy wins; otherwise the identity-based policies must allow the request, and, when the
principal has a permissions boundary, the boundary must allow it too (the effective
rights are their intersection). Evaluated: Action / NotAction, Resource / NotResource
(wildcards * and ?), and Condition with the String*, Arn*, Bool and Null operators, the
``...IfExists`` suffix and the ``ForAllValues:`` / ``ForAnyValue:`` set qualifiers.
Not evaluated: resource-based policies, SCPs and RCPs, session policies, policy variables
(``${aws:username}``), numeric/date/IP operators (a condition using one never holds).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import moto_state
from .patches.iam import policy_is_new
from .timing import delay_seconds

PolicyDocument = str | dict[str, Any]  # JSON text, as IAM stores it, or parsed
Context = Mapping[str, Any]  # condition key (any case) -> a string or a list of strings
NO_ALLOW = "no identity-based policy allows the action"
NO_BOUNDARY_ALLOW = "no permissions boundary allows the action"
EXPLICIT_DENY = "an explicit Deny in its policy"


def statements(document: PolicyDocument) -> list[dict]:
    """The statements of a policy document (a single statement as a list of one)."""
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc.get("Statement", [])
    return found if isinstance(found, list) else [found]


def matches(patterns, value: str, fold: Callable[[str], str] = lambda p: p) -> bool:
    """IAM wildcards (* and ?) in one pattern or a list; ``fold`` applies to each pattern."""
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value, fold(p)) for p in patterns)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _compare(operator: str, wanted: str, have: str) -> bool:
    """One value against one policy value, for a base operator (without Not/IfExists)."""
    if operator in ("StringEquals", "ArnEquals"):
        return have == wanted
    if operator == "StringEqualsIgnoreCase":
        return have.lower() == wanted.lower()
    if operator in ("StringLike", "ArnLike"):
        return fnmatch.fnmatchcase(have, wanted)
    if operator == "Bool":
        return have.lower() == str(wanted).lower()
    return False  # numeric, date, IP, binary: not evaluated here, never holds


def _condition_holds(operator: str, key: str, wanted, context: Context) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    values = {k.lower(): v for k, v in context.items()}.get(key.lower())
    if operator == "Null":  # true: the key must be absent
        return (values is None) == (str(wanted).lower() == "true")
    negated = "Not" in operator
    base = operator.replace("Not", "", 1)
    if values is None:
        # Absent key: IfExists and the negated operators hold, ForAllValues holds (vacuously).
        return if_exists or negated or qualifier == "ForAllValues"
    have = [str(v) for v in _as_list(values)]
    wanted_list = [str(w) for w in _as_list(wanted)]

    def one(value: str) -> bool:
        found = any(_compare(base, w, value) for w in wanted_list)
        return not found if negated else found

    if qualifier == "ForAllValues":
        return all(one(v) for v in have)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in have)
    return one(have[0]) if len(have) == 1 else False  # a multivalued key needs a set qualifier


def conditions_hold(condition: dict | None, context: Context) -> bool:
    """Every operator, every key of a Condition block holds (AND); a key's values are ORed."""
    return all(
        _condition_holds(operator, key, wanted, context)
        for operator, keys in (condition or {}).items()
        for key, wanted in keys.items()
    )


def applies(statement: dict, action: str, resource: str, context: Context | None = None) -> bool:
    """Whether a statement covers the request: action (case-insensitively), resource
    (exactly, with wildcards) and its conditions."""
    if "NotAction" in statement:
        if matches(statement["NotAction"], action.lower(), str.lower):
            return False
    elif not matches(statement.get("Action"), action.lower(), str.lower):
        return False
    if "NotResource" in statement:
        if matches(statement["NotResource"], resource):
            return False
    elif not matches(statement.get("Resource"), resource):
        return False
    return conditions_hold(statement.get("Condition"), context or {})


def _effects(documents: Iterable[PolicyDocument], action: str, resource: str, context: Context) -> set[str]:
    return {
        s.get("Effect") for document in documents for s in statements(document) if applies(s, action, resource, context)
    }


def denial_reason(
    documents: Iterable[PolicyDocument],
    action: str,
    resource: str,
    context: Context | None = None,
    boundary: Iterable[PolicyDocument] | None = None,
) -> str | None:
    """Why these identity policies (within ``boundary``, a permissions boundary, if any) do
    not allow ``action`` on ``resource`` (None: they do)."""
    context = context or {}
    identity = _effects(documents, action, resource, context)
    bounded = _effects(boundary, action, resource, context) if boundary is not None else {"Allow"}
    if "Deny" in identity or "Deny" in bounded:
        return EXPLICIT_DENY
    if "Allow" not in identity:
        return NO_ALLOW
    return None if "Allow" in bounded else NO_BOUNDARY_ALLOW


Judge = Callable[[str, str, Context], "str | None"]  # (action, resource, context) -> why not


def principal_judge(policies: tuple[list, list | None] | None) -> Judge:
    """Judges requests against a principal's (identity policies, permissions boundary)."""
    documents, boundary = policies or ([], None)
    return lambda action, resource, context: denial_reason(documents, action, resource, context, boundary)


def role_judge(role_name: str) -> Judge:
    """Judges an assumed role's calls as IAM does: an Allow in an inline policy that is in
    effect (IAM propagation: see ``patches/iam.py``), within the role's permissions
    boundary if it has one (effective rights: their intersection), and no explicit Deny."""
    documents = moto_state.role_inline_policies(role_name)
    if documents is None:
        return lambda *_: f"its role {role_name} does not exist"
    if policy_is_new(role_name):
        return lambda *_: f"the policy of {role_name} was changed {delay_seconds():.0f} s ago and is not in effect yet"
    return principal_judge((documents, moto_state.role_boundary_policies(role_name)))

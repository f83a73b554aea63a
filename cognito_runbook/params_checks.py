"""Naming rules and the checks that span several params fields.

They run on the raw params (whatever their types), so their problems are reported
together with the type errors instead of after them: one named check per rule, listed
in ``CROSS_FIELD_CHECKS``. ``params.py`` holds the schema and calls these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .db2 import db2_name_problems

STACK_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,39}$")
DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def domain_prefix_problem(prefix: str) -> str | None:
    """What Cognito would refuse in a hosted-UI domain prefix (None: nothing)."""
    if not DOMAIN_RE.match(prefix):
        return "must be 1-63 lower-case letters, digits or hyphens, not starting or ending with a hyphen"
    for word in ("aws", "amazon", "cognito"):
        if word in prefix:
            return f"must not contain '{word}' (AWS reserves it); choose another prefix"
    return None


def _names(raw: Any, key: str) -> list[tuple[int, Any]]:
    items = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(items, list):
        return []
    return [(i, item.get("name")) for i, item in enumerate(items) if isinstance(item, dict)]


def cross_field_problems(raw: Any) -> list[str]:
    """Checks that span fields, run on the raw data so they are reported together
    with the type errors instead of after them: one named check per rule."""
    if not isinstance(raw, dict):
        return []
    view = _RawView(raw)
    return [problem for check in CROSS_FIELD_CHECKS for problem in check(view)]


@dataclass(frozen=True)
class _RawView:
    """The raw params as the cross-field checks read them (whatever their types)."""

    raw: dict

    @property
    def pool(self) -> dict:
        pool = self.raw.get("user_pool")
        return pool if isinstance(pool, dict) else {}

    @property
    def sign_in(self) -> Any:
        return self.pool.get("sign_in", "username")

    def named(self, key: str) -> list[tuple[int, str]]:
        """(index, name) of each entry of ``users`` or ``groups`` whose name is a string."""
        return [(i, name) for i, name in _names(self.raw, key) if isinstance(name, str)]


def _repeated_names(view: _RawView) -> list[str]:
    problems = []
    for key in ("users", "groups"):
        seen: dict[str, int] = {}
        for i, name in view.named(key):
            folded = name.lower()  # Cognito (case-insensitive pool) and Db2 both fold case
            if folded in seen:
                problems.append(
                    f"{key}[{i}].name: '{name}' repeats {key}[{seen[folded]}]; each name may appear once (case does not count)"
                )
            seen.setdefault(folded, i)
    return problems


def _db2_group_names(view: _RawView) -> list[str]:
    return [
        f"groups[{i}].name: Db2 group name {p}" for i, name in view.named("groups") for p in db2_name_problems(name)
    ]


def _user_names(view: _RawView) -> list[str]:
    """E-mail pools sign in with an e-mail address; otherwise the name is Db2's user name."""
    if view.sign_in == "email":
        return [
            f"users[{i}].name: the pool signs in with e-mail, so the user name must be an e-mail address"
            for i, name in view.named("users")
            if "@" not in name
        ]
    return [f"users[{i}].name: Db2 user name {p}" for i, name in view.named("users") for p in db2_name_problems(name)]


def _default_domain_prefix(view: _RawView) -> list[str]:
    """Without a domain_prefix the stack's name is used: it must make a valid one."""
    stack = view.raw.get("stack", "db2-stack")
    if view.pool.get("domain_prefix") or not isinstance(stack, str) or not STACK_RE.match(stack):
        return []
    problem = domain_prefix_problem(stack.lower())
    if problem:
        return [
            f"user_pool.domain_prefix: the default (the stack name, '{stack.lower()}') {problem}; set user_pool.domain_prefix"
        ]
    return []


def _membership_names(view: _RawView) -> list[str]:
    memberships = view.raw.get("memberships")
    if not isinstance(memberships, dict):
        return []
    user_names = {n for _, n in view.named("users")}
    group_names = {n for _, n in view.named("groups")}
    problems = []
    for user, user_groups in memberships.items():
        if user not in user_names:
            problems.append(f"memberships.{user}: no user '{user}' in users; add the user or remove this entry")
        for g in user_groups if isinstance(user_groups, list) else []:
            if g not in group_names:
                problems.append(f"memberships.{user}: no group '{g}' in groups; add the group or remove it here")
    return problems


def _groups_reach_db2(view: _RawView) -> list[str]:
    """Db2 asks Cognito for a user's groups with the authorization id upper-cased (IBM's AWS
    plugin: FindGroups gets it upper case and asks AdminListGroupsForUser for that name). In a
    case-sensitive pool that finds only a user named all in upper case: any other user would
    connect without any of its groups' authorities, and nothing would say so. Unless the params
    say that Db2 grants nothing to groups (db2.group_authorities: false)."""
    db2 = view.raw.get("db2")
    if view.pool.get("case_sensitive_usernames") is not True or (
        isinstance(db2, dict) and db2.get("group_authorities") is False
    ):
        return []
    fix = (
        "make the pool case-insensitive (user_pool.case_sensitive_usernames: false){}; or, if Db2 grants no "
        "authority to groups, say so with db2.group_authorities: false"
    )
    if view.sign_in == "email":
        return [
            "user_pool.case_sensitive_usernames: true with sign_in: email: the user names Db2 sees are lower-case "
            "UUIDs, so Db2 would find no user's groups (it asks Cognito for the name upper-cased); " + fix.format("")
        ]
    return [
        f"users[{i}].name: '{name}' is not all upper case and the pool is case-sensitive: Db2 would ask Cognito for "
        f"the groups of '{name.upper()}', find no such user and connect '{name}' without any of its groups' "
        "authorities (no error); " + fix.format(f", or name the user '{name.upper()}'")
        for i, name in view.named("users")
        if name != name.upper()
    ]


CROSS_FIELD_CHECKS = (
    _repeated_names,
    _db2_group_names,
    _user_names,
    _default_domain_prefix,
    _membership_names,
    _groups_reach_db2,
)

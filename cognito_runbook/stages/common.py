"""What every stage shares: the run context and its change records (AWS plumbing is in ``aws.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..aws import stack_tags
from ..backend import Backend
from ..params import Params

# The kinds of Change. "kept": a setting the runbook does not manage, found set and left as
# it is. "missing": something the stack needs that the runbook cannot put back by itself
# (a lost generated password): drift, with the fix in the detail.
ACTIONS = ("create", "update", "delete", "unchanged", "kept", "missing")


@dataclass
class Change:
    stage: str
    action: str  # one of ACTIONS
    resource: str  # e.g. "user pool", "user", "group membership"
    name: str
    detail: str = ""

    @property
    def is_change(self) -> bool:
        """True for what alters AWS (create, update, delete)."""
        return self.action in ("create", "update", "delete")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class NameClaim:
    """An account-wide name the stack needs, and who holds it now."""

    resource: str  # e.g. "Lambda function"
    name: str
    holder: str | None  # None: free; a stack name; or FOREIGN / UNTAGGED
    param: str  # the params field that changes the name

    def taken(self, stack: str) -> bool:
        return self.holder is not None and self.holder != stack


FOREIGN = "another AWS account"
UNTAGGED = "no stack (made by hand or by another tool)"


@dataclass
class Context:
    """One run: params, backend, and what the run did (or, in plan mode, would do)."""

    params: Params
    backend: Backend
    changes: list[Change] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)  # typed in a form; memory only
    # Set a CONFIRMED user's password again when the one the runbook has (env:VAR, typed)
    # no longer signs in: only when asked (--reset-passwords), since it overwrites a password.
    reset_passwords: bool = False
    progress: Callable[[str], None] | None = None

    @property
    def plan(self) -> bool:
        return self.backend.plan

    def client(self, service: str):
        return self.backend.client(service)

    @property
    def stack(self) -> str:
        return self.params.stack

    @property
    def tags(self) -> dict[str, str]:
        return stack_tags(self.params.stack)

    def apply(
        self,
        stage: str,
        action: str,
        resource: str,
        name: str,
        call: Callable[..., Any] | None = None,
        detail: str = "",
        **kwargs,
    ) -> Any:
        """Record a change and carry it out, unless this is a plan. Returns the call's result."""
        self.changes.append(Change(stage, action, resource, name, detail))
        if self.progress:
            self.progress(f"{'would ' if self.plan else ''}{action} {resource} {name}")
        if self.plan or call is None:
            return None
        return call(**kwargs)

    def unchanged(self, stage: str, resource: str, name: str, detail: str = "") -> None:
        self.changes.append(Change(stage, "unchanged", resource, name, detail))

    def kept(self, stage: str, resource: str, name: str, detail: str) -> None:
        self.changes.append(Change(stage, "kept", resource, name, detail))

    def missing(self, stage: str, resource: str, name: str, detail: str) -> None:
        self.changes.append(Change(stage, "missing", resource, name, detail))
        if self.progress:
            self.progress(f"MISSING {resource} {name}: {detail}")

    def changes_of(self, stage: str) -> list[Change]:
        return [c for c in self.changes if c.stage == stage]


def sign_in_name(ctx: Context, user: dict) -> str:
    """The name a user signs in with. In an e-mail pool Cognito's ``Username`` is a UUID
    and the params name the user by e-mail address."""
    if ctx.params.user_pool.sign_in == "email":
        return next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "email"), user["Username"])
    return user["Username"]

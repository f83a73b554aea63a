"""What every stage shares: the run context and its change records (AWS plumbing is in ``aws.py``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any

from ..aws import stack_tags
from ..backend import Backend
from ..params import Params

PROGRESS_EVERY_ITEM = 20  # a batch larger than this reports counts, not a line per change
PROGRESS_SECONDS = 3.0

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

    _local: threading.local = field(default_factory=threading.local, repr=False)  # a worker's own changes

    def _record(self, change: Change) -> None:
        buffer = getattr(self._local, "changes", None)
        (buffer if buffer is not None else self.changes).append(change)

    def retract(self) -> Change:
        """Take back the change just recorded (the call it stood for did not happen)."""
        buffer = getattr(self._local, "changes", None)
        return (buffer if buffer is not None else self.changes).pop()

    def each(self, items: list, work: Callable[[Any], None], what: str) -> None:
        """``work(item)`` for every item, on up to ``params.workers`` threads (the Cognito
        calls they make are paced by the account's quotas). The changes are recorded in item
        order whatever order the workers finish in; a long batch reports progress every few
        seconds instead of a line per change. The first failure stops the items not yet
        started and is raised once the running ones finish. Plans run in order, here."""
        if self.plan or len(items) < 2 or self.params.workers == 1:
            for item in items:
                work(item)
            return
        buffers: list[list[Change]] = [[] for _ in items]

        def run(index: int) -> None:
            self._local.changes = buffers[index]
            try:
                work(items[index])
            finally:
                self._local.changes = None

        progress, quiet = self.progress, len(items) > PROGRESS_EVERY_ITEM
        if quiet:
            self.progress = None
        try:
            self._run_pool(run, len(items), what, progress if quiet else None)
        finally:
            self.progress = progress
            for buffer in buffers:
                self.changes.extend(buffer)

    def _run_pool(self, run: Callable[[int], None], count: int, what: str, progress) -> None:
        started = last = time.monotonic()
        error, done = None, 0
        with ThreadPoolExecutor(max_workers=self.params.workers, thread_name_prefix="runbook") as pool:
            futures = [pool.submit(run, i) for i in range(count)]
            for future in as_completed(futures):
                done += 1
                if future.cancelled():
                    continue
                if future.exception() is not None and error is None:
                    error = future.exception()
                    for pending in futures:
                        pending.cancel()
                now = time.monotonic()
                if progress and (now - last >= PROGRESS_SECONDS or done == count):
                    last = now
                    progress(f"{what}: {done}/{count} ({done / max(now - started, 1e-9):.0f}/s)")
        if error is not None:
            raise error

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
        self._record(Change(stage, action, resource, name, detail))
        if self.progress:
            self.progress(f"{'would ' if self.plan else ''}{action} {resource} {name}")
        if self.plan or call is None:
            return None
        return call(**kwargs)

    def converge(
        self,
        stage: str,
        resource: str,
        name: str,
        drift: list[str],
        call: Callable[..., Any],
        *,
        unchanged: str | None = "",
        **request,
    ) -> bool:
        """A found resource brought in line: ``call(**request)`` as an "update" whose detail
        lists the drifted fields, or, with no drift, an "unchanged" record whose detail is
        ``unchanged`` (None: none, the caller says it for a larger whole). True if it drifted."""
        if drift:
            self.apply(stage, "update", resource, name, call, detail=", ".join(drift), **request)
        elif unchanged is not None:
            self.unchanged(stage, resource, name, unchanged)
        return bool(drift)

    def unchanged(self, stage: str, resource: str, name: str, detail: str = "") -> None:
        self._record(Change(stage, "unchanged", resource, name, detail))

    def kept(self, stage: str, resource: str, name: str, detail: str) -> None:
        self._record(Change(stage, "kept", resource, name, detail))

    def missing(self, stage: str, resource: str, name: str, detail: str) -> None:
        self._record(Change(stage, "missing", resource, name, detail))
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


def report_kept(ctx: Context, stage: str, resource: str, name: str, found: list[tuple[str, Any]]) -> None:
    """One "kept" record per setting the runbook found set and does not manage."""
    for path, value in found:
        text = str(value)
        ctx.kept(stage, resource, name, f"{path} = {text if len(text) <= 80 else text[:77] + '...'}")

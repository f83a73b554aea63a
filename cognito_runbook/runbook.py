"""The runbook as one object: params + backend + the table of stages + what AWS holds.

``STAGES`` is the pipeline. Provisioning order, each stage's prerequisites, teardown
order and notebook numbers all come from it: adding a stage is one entry here plus its
module in ``stages/`` and its notebook. Notebooks, the CLI and tests all go through
``Runbook``; AWS is the source of truth (``Found`` only saves repeating a look-up within
one run, and forgets what a stage may have changed).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from . import iam_policy, sign_ins, summary
from .aws import owned_by
from .backend import Backend, connect
from .constants import locks_dir
from .errors import StageError, UsageError, at_aws_boundary, aws_errors
from .params import Params, load_params
from .stages import app_client, groups, memberships, token_api, token_function, user_pool, users
from .stages.common import ACTIONS, Change, Context, NameClaim

LOCK_TIMEOUT = 600  # seconds to wait for another run's stage on this machine
TEARDOWN_NOTEBOOK = 99


@dataclass(frozen=True)
class Stage:
    name: str
    notebook: int  # the notebook NN_*.ipynb that runs this stage
    ensure: Callable[[Context, Found], Any]
    delete: Callable[[Context], None] | None = None  # teardown runs these in reverse table order
    needs: tuple[str, ...] = ()  # resources (``Found`` attributes) that must exist first
    provides: tuple[str, ...] = ()  # resources it creates or changes (forgotten after it runs)
    names: Callable[[Context], list[NameClaim]] | None = None  # account-wide names it needs


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(
            "user_pool",
            1,
            lambda ctx, found: user_pool.ensure_user_pool(ctx, found.pool, found.client),
            user_pool.delete_user_pool,
            provides=("pool", "client"),
            names=user_pool.name_claims,
        ),
        Stage(
            "users",
            2,
            lambda ctx, found: users.ensure_users(ctx, found.pool, found.client_id if ctx.reset_passwords else None),
            users.delete_user_secrets,
            needs=("pool",),
            names=users.name_claims,
        ),
        Stage("groups", 3, lambda ctx, found: groups.ensure_groups(ctx, found.pool), needs=("pool",)),
        Stage("memberships", 4, lambda ctx, found: memberships.ensure_memberships(ctx, found.pool), needs=("pool",)),
        Stage(
            "token_function",
            5,
            lambda ctx, found: token_function.ensure_token_function(
                ctx, found.pool, found.client_id, function=found.function, role=found.role, policy=found.role_policy
            ),
            token_function.delete_token_function,
            needs=("pool", "client"),
            provides=("function", "role", "role_policy"),
            names=token_function.name_claims,
        ),
        Stage(
            "token_api",
            6,
            lambda ctx, found: token_api.ensure_token_api(ctx, found.api, found.function_arn),
            token_api.delete_token_api,
            needs=("function",),
            provides=("api",),
        ),
    )
}


def provider(resource: str) -> Stage:
    return next(s for s in STAGES.values() if resource in s.provides)


def stage_named(name: str) -> Stage:
    if name not in STAGES:
        raise UsageError(f"stage: unknown stage '{name}'; stages are {', '.join(STAGES)}")
    return STAGES[name]


def notebook_of(stage_or_number: str | int) -> int:
    """A notebook number from a number or a stage name (``--from users`` is ``--from 2``)."""
    if isinstance(stage_or_number, int) or str(stage_or_number).isdigit():
        return int(stage_or_number)
    if stage_or_number == "teardown":
        return TEARDOWN_NOTEBOOK
    return stage_named(str(stage_or_number)).notebook


LAST_PROVISIONING_NOTEBOOK = max(s.notebook for s in STAGES.values())  # later notebooks use the stack


class Found:
    """The stack's resources as AWS has them, each looked up once and kept until a
    stage that provides it runs (then looked up again when next asked for)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._cache: dict[str, Any] = {}

    def _get(self, name: str, lookup: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = lookup()
        return self._cache[name]

    def seed(self, **resources: Any) -> None:
        """Take resources as given instead of looking them up (adopting: a hand-built pool
        seen as it will be once tagged)."""
        self._cache.update(resources)

    def forget(self, *names: str) -> None:
        for name in names:
            self._cache.pop(name, None)

    def forget_all(self) -> None:
        self._cache.clear()

    @property
    def pool(self) -> dict | None:
        return self._get("pool", lambda: user_pool.find_pool(self.ctx))

    @property
    def client(self) -> dict | None:
        return self._get("client", lambda: app_client.find_client(self.ctx, self.pool["Id"]) if self.pool else None)

    @property
    def client_id(self) -> str | None:
        return self.client["ClientId"] if self.client else None

    @property
    def function(self) -> dict | None:
        """``GetFunction`` of the configured name (configuration and tags), whoever owns it."""
        return self._get("function", lambda: token_function.find_function(self.ctx))

    @property
    def function_arn(self) -> str | None:
        """Our function's ARN: None if missing, or if that name is not ours (never wire it to our API)."""
        fn = self.function
        return fn["Configuration"]["FunctionArn"] if fn and owned_by(fn.get("Tags"), self.ctx.stack) else None

    @property
    def role(self) -> dict | None:
        return self._get("role", lambda: token_function.find_role(self.ctx))

    @property
    def role_policy(self) -> dict | None:
        """The role's inline policy as IAM holds it ({} without one; None without the role)."""
        return self._get("role_policy", lambda: token_function.describe_inline_policy(self.ctx) if self.role else None)

    @property
    def api(self) -> dict | None:
        return self._get("api", lambda: token_api.find_api(self.ctx))


@dataclass
class StackOutputs:
    """Everything another tool (or a DBA) needs to know about the stack. No secrets."""

    stack: str
    backend: str
    region: str
    pool_name: str
    pool_id: str | None = None
    pool_arn: str | None = None
    client_id: str | None = None
    domain_prefix: str | None = None
    hosted_ui_url: str | None = None
    issuer: str | None = None
    jwks_url: str | None = None
    role_arn: str | None = None
    function_arn: str | None = None
    api_id: str | None = None
    invoke_url: str | None = None
    token_url: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path


OUTPUT_KEYS = [f.name for f in fields(StackOutputs)]
_POOL_KEYS = {"pool_id", "pool_arn", "client_id", "domain_prefix", "hosted_ui_url", "issuer", "jwks_url"}
_FUNCTION_KEYS = {"role_arn", "function_arn"}
_API_KEYS = {"api_id", "invoke_url", "token_url"}


@dataclass
class StageResult:
    stage: str
    changes: list[Change]
    seconds: float
    aws_writes: int = 0

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in ACTIONS}
        for change in self.changes:
            out[change.action] += 1
        return out


@contextlib.contextmanager
def _held(lock: FileLock, stack: str):
    try:
        lock.acquire()
    except Timeout:
        raise StageError(
            f"stack {stack}: another run on this machine has held the stack's lock for {LOCK_TIMEOUT} s "
            f"({lock.lock_file}); wait for it to finish, or stop it"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _holder(holder: str) -> str:
    return holder if " " in holder else f"stack {holder}"


class Runbook:
    """One stack: runs its stages, tears it down, and answers what it holds.

    ``run_dir``: where each stage's record (``summary.json``) and ``outputs.json`` go;
    None records nothing (library use, tests)."""

    def __init__(
        self,
        params: Params,
        backend: Backend,
        progress: Callable[[str], None] | None = None,
        run_dir: str | Path | None = None,
    ):
        self.backend = backend
        iam_policy.grant_local_operator(params, backend)  # locally, the operator holds the stack's policy
        if hasattr(backend, "pace"):  # (test doubles of a backend have no Cognito calls to pace)
            backend.pace(params.cognito_quotas)
        self.ctx = Context(params, backend, progress=progress)
        self.found = Found(self.ctx)
        self.run_dir = Path(run_dir) if run_dir else None

    @classmethod
    def open(
        cls,
        params_file: str | Path,
        plan: bool = False,
        overrides: dict | None = None,
        reset_passwords: bool = False,
        **kwargs,
    ) -> Runbook:
        params = load_params(params_file, overrides)
        with aws_errors("connecting"):
            backend = connect(params, plan=plan)
        runbook = cls(params, backend, **kwargs)
        runbook.ctx.reset_passwords = reset_passwords
        return runbook

    @property
    def params(self) -> Params:
        return self.ctx.params

    @params.setter
    def params(self, params: Params) -> None:
        self.ctx.params = params  # one owner: the run context

    @property
    def plan(self) -> bool:
        return self.backend.plan

    # -- stages ----------------------------------------------------------------

    def run_stage(self, name: str) -> StageResult:
        stage = stage_named(name)
        started, before, writes = time.monotonic(), len(self.ctx.changes), self._writes()
        try:
            with aws_errors(f"stage {name}"), self._stack_lock():
                self._check_needs(stage)
                stage.ensure(self.ctx, self.found)
        except BaseException:
            self.found.forget(*stage.provides)  # a half-done stage: look again
            raise
        result = self._finish(name, started, before, writes)
        if any(c.is_change for c in result.changes):
            self.found.forget(*stage.provides)  # what it found has changed since
        return result

    def provision(self, stages=tuple(STAGES)) -> list[StageResult]:
        self.check_names()
        return [self.run_stage(s) for s in stages]

    @at_aws_boundary
    def name_claims(self) -> list[NameClaim]:
        """Every account-wide name the stack needs, and who holds it now."""
        return [claim for stage in STAGES.values() if stage.names for claim in stage.names(self.ctx)]

    def check_names(self) -> list[NameClaim]:
        """Refuse, before the first write, names another stack (or someone) already holds."""
        claims = self.name_claims()
        taken = [c for c in claims if c.taken(self.params.stack)]
        if taken:
            lines = "\n".join(
                f"  - {c.resource} '{c.name}' belongs to {_holder(c.holder)}; change {c.param} in the params"
                for c in taken
            )
            raise StageError(f"{len(taken)} name(s) the stack needs are taken (nothing was changed):\n{lines}")
        return claims

    def teardown(self, confirm_stack: str = "") -> StageResult:
        """Delete what the stack created, in reverse stage order. Safe to run twice.
        On AWS the stack must be named to confirm (``--yes STACK``)."""
        if confirm_stack and confirm_stack != self.params.stack:
            raise UsageError(
                f"confirm_stack: '{confirm_stack}' is not this stack; the params name stack {self.params.stack} "
                f"(--yes {self.params.stack} to delete it; nothing was deleted)"
            )
        if self.backend.kind == "aws" and confirm_stack != self.params.stack:
            raise UsageError(
                f"confirm_stack: teardown on AWS deletes the whole stack; confirm by naming it "
                f"(--yes {self.params.stack}, or confirm_stack = {self.params.stack!r} in notebook 99)"
            )
        started, before, writes = time.monotonic(), len(self.ctx.changes), self._writes()
        try:
            with aws_errors("teardown"), self._stack_lock():
                for stage in reversed(STAGES.values()):
                    if stage.delete:
                        stage.delete(self.ctx)
        finally:
            self.found.forget_all()
        return self._finish("teardown", started, before, writes)

    def rotate(self, users_named: list[str] | None = None) -> StageResult:
        """New generated passwords for the named users (default: every generated one), their
        refresh tokens revoked. In a plan, what would rotate."""
        started, before, writes = time.monotonic(), len(self.ctx.changes), self._writes()
        chosen = users.users_to_rotate(self.ctx, users_named)  # refuse unknown names before any look-up
        with aws_errors("rotate"), self._stack_lock():
            pool = self.found.pool
            if pool is None:
                raise StageError(
                    f"rotate: {self._describe('pool')} not found; run the user_pool stage (notebook 01) first"
                )
            users.rotate_passwords(self.ctx, pool, chosen)
        return self._finish("rotate", started, before, writes)

    @at_aws_boundary
    def sign_in(self, names: list[str] | None = None, stored: bool = False, verifier=None) -> list[sign_ins.SignIn]:
        """``GET /token`` for each params user (``names``: only those) with the password the
        runbook has, both tokens verified (see ``sign_ins.sign_in``: ``stored``, ``verifier``)."""
        return sign_ins.sign_in(self.ctx, self.outputs(*sign_ins.TOKEN_KEYS), names, stored, verifier)

    def _check_needs(self, stage: Stage) -> None:
        if self.plan:
            return  # a plan reports what the earlier stages would create
        for resource in stage.needs:
            if getattr(self.found, resource) is None:
                maker = provider(resource)
                raise StageError(
                    f"{stage.name}: {self._describe(resource)} not found; "
                    f"run the {maker.name} stage (notebook {maker.notebook:02d}) first"
                )

    def _describe(self, resource: str) -> str:
        p = self.params
        return {
            "pool": f"user pool '{p.user_pool.name}' of stack {p.stack}",
            "client": f"app client '{p.app_client.name}' in the pool",
            "function": f"Lambda function '{p.token_function.name}'",
        }.get(resource, resource)

    def _finish(self, name: str, started: float, before: int, writes: int) -> StageResult:
        result = StageResult(name, self.ctx.changes[before:], time.monotonic() - started, self._writes() - writes)
        if self.run_dir:
            summary.record_stage(self.run_dir, result, self.plan)
        return result

    def _writes(self) -> int:
        return sum(self.backend.log.writes.values())

    def _stack_lock(self):
        """One stage of one stack at a time on this machine: two runs started together
        (cron overlapping a person in JupyterLab) take turns per stage, so the second
        finds what the first created instead of creating it again. Plans only read."""
        if self.plan:
            return contextlib.nullcontext()
        name = f"{self.backend.kind}-{self.backend.region}-{self.params.stack}.lock"
        return _held(FileLock(str(locks_dir() / name), timeout=LOCK_TIMEOUT), self.params.stack)

    # -- look-ups -----------------------------------------------------------------

    @at_aws_boundary
    def pool(self) -> dict | None:
        return self.found.pool

    @at_aws_boundary
    def client_id(self) -> str | None:
        return self.found.client_id

    @at_aws_boundary
    def outputs(self, *keys: str) -> StackOutputs:
        """The stack outputs; with ``keys``, only the look-ups those keys need are made."""
        unknown = [k for k in keys if k not in OUTPUT_KEYS]
        if unknown:
            raise UsageError(f"outputs: unknown key(s) {', '.join(unknown)}; keys are {', '.join(OUTPUT_KEYS)}")
        wanted = set(keys or OUTPUT_KEYS)
        b, p, found = self.backend, self.params, self.found
        out = StackOutputs(stack=p.stack, backend=b.kind, region=b.region, pool_name=p.user_pool.name)
        if wanted & _POOL_KEYS and found.pool:
            pool = found.pool
            out.pool_id, out.pool_arn, out.client_id = pool["Id"], pool["Arn"], found.client_id
            out.issuer, out.jwks_url = b.issuer(pool["Id"]), b.jwks_url(pool["Id"])
            if pool.get("Domain"):
                out.domain_prefix, out.hosted_ui_url = pool["Domain"], b.hosted_ui_base(pool["Domain"])
        if wanted & _FUNCTION_KEYS:
            out.function_arn = found.function_arn
            out.role_arn = found.role["Arn"] if found.role else None
        if wanted & _API_KEYS and found.api:
            out.api_id = found.api["ApiId"]
            out.invoke_url = b.invoke_url(found.api["ApiId"], found.api["ApiEndpoint"])
            out.token_url = out.invoke_url.rstrip("/") + "/token"
        return out

    def write_outputs(self) -> Path | None:
        """``outputs.json`` in the run folder (for other tools, and the run summary)."""
        return self.outputs().write_json(self.run_dir / "outputs.json") if self.run_dir else None

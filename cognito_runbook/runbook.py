"""The runbook as one object: params + backend + stages + stack outputs.

Notebooks, the CLI and tests all go through ``Runbook``; nothing here keeps state
between runs: every call looks the stack up in AWS (AWS is the source of truth).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from filelock import FileLock

from .backend import Backend, connect
from .errors import StageError
from .params import Params, load_params
from .stages import groups, memberships, token_api, token_function, user_pool, users
from .stages.common import ACTIONS, STACK_TAG, Change, Context

LOCK_TIMEOUT = 600  # seconds to wait for another run's stage on this machine
STAGES = ("user_pool", "users", "groups", "memberships", "token_function", "token_api")


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


class Runbook:
    def __init__(self, params: Params, backend: Backend, progress: Callable[[str], None] | None = None):
        self.params = params
        self.backend = backend
        self.ctx = Context(params, backend, progress=progress)
        self._pool: dict | None = None
        self._client_id: str | None = None

    @classmethod
    def open(cls, params_file: str | Path, plan: bool = False, overrides: dict | None = None, **kwargs) -> "Runbook":
        params = load_params(params_file, overrides)
        return cls(params, connect(params, plan=plan), **kwargs)

    @property
    def plan(self) -> bool:
        return self.backend.plan

    # -- stages ----------------------------------------------------------------

    def run_stage(self, stage: str) -> StageResult:
        if stage not in STAGES:
            raise StageError(f"stage: unknown stage '{stage}'; stages are {', '.join(STAGES)}")
        started, before, writes = time.monotonic(), len(self.ctx.changes), self._writes()
        with self._stack_lock():
            getattr(self, f"_stage_{stage}")()
        return StageResult(stage, self.ctx.changes[before:], time.monotonic() - started, self._writes() - writes)

    def _writes(self) -> int:
        return sum(self.backend.log.writes.values())

    def _stack_lock(self):
        """One stage of one stack at a time on this machine: two runs started together
        (cron overlapping a person in JupyterLab) take turns per stage, so the second
        finds what the first created instead of creating it again. Plans only read."""
        if self.plan:
            return contextlib.nullcontext()
        from .local.control import home

        folder = home() / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / f"{self.backend.kind}-{self.backend.region}-{self.params.stack}.lock"), timeout=LOCK_TIMEOUT)

    def provision(self, stages=STAGES) -> list[StageResult]:
        return [self.run_stage(s) for s in stages]

    def _stage_user_pool(self):
        self._pool = user_pool.ensure_user_pool(self.ctx)
        self._client_id = None

    def _stage_users(self):
        users.ensure_users(self.ctx, self._require_pool("users"))

    def _stage_groups(self):
        groups.ensure_groups(self.ctx, self._require_pool("groups"))

    def _stage_memberships(self):
        memberships.ensure_memberships(self.ctx, self._require_pool("memberships"))

    def _stage_token_function(self):
        pool = self._require_pool("token_function")
        client_id = self.client_id()
        if client_id is None and not self.plan:
            raise StageError(f"token_function: the pool has no app client '{self.params.app_client.name}'; run the user_pool stage (notebook 01) first")
        token_function.ensure_token_function(self.ctx, pool, client_id)

    def _stage_token_api(self):
        self._require_pool("token_api")
        arn = self._function_arn()
        if arn is None and not self.plan:
            raise StageError(f"token_api: Lambda function '{self.params.token_function.name}' not found; run the token_function stage (notebook 05) first")
        token_api.ensure_token_api(self.ctx, arn)

    def teardown(self) -> StageResult:
        """Delete what the stack created, in reverse order. Safe to run twice."""
        started, before, writes = time.monotonic(), len(self.ctx.changes), self._writes()
        with self._stack_lock():
            token_api.delete_token_api(self.ctx)
            token_function.delete_token_function(self.ctx)
            users.delete_user_secrets(self.ctx)
            user_pool.delete_user_pool(self.ctx)
        self._pool, self._client_id = None, None
        return StageResult("teardown", self.ctx.changes[before:], time.monotonic() - started, self._writes() - writes)

    # -- look-ups -----------------------------------------------------------------

    def pool(self) -> dict | None:
        if self._pool is None:
            self._pool = user_pool.find_pool(self.ctx)
        return self._pool

    def _require_pool(self, stage: str) -> dict | None:
        pool = self.pool()
        if pool is None and not self.plan:
            raise StageError(f"{stage}: user pool '{self.params.user_pool.name}' of stack {self.params.stack} not found; run the user_pool stage (notebook 01) first")
        return pool

    def client_id(self) -> str | None:
        if self._client_id is None and self.pool():
            client = user_pool.find_client(self.ctx, self.pool()["Id"])
            self._client_id = client["ClientId"] if client else None
        return self._client_id

    def _function_arn(self) -> str | None:
        from botocore.exceptions import ClientError

        try:
            fn = self.backend.client("lambda").get_function(FunctionName=self.params.token_function.name)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        if (fn.get("Tags") or {}).get(STACK_TAG) != self.params.stack:
            return None  # same name, not ours: never wire it to our API
        return fn["Configuration"]["FunctionArn"]

    def _role_arn(self) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.backend.client("iam").get_role(RoleName=token_function.role_name(self.ctx))["Role"]["Arn"]
        except ClientError:
            return None

    def outputs(self) -> StackOutputs:
        b, p = self.backend, self.params
        out = StackOutputs(stack=p.stack, backend=b.kind, region=b.region, pool_name=p.user_pool.name)
        self._pool = None  # read the pool afresh: the domain may have been added since
        pool = self.pool()
        if pool:
            out.pool_id, out.pool_arn = pool["Id"], pool["Arn"]
            out.client_id = self.client_id()
            out.issuer, out.jwks_url = b.issuer(pool["Id"]), b.jwks_url(pool["Id"])
            if pool.get("Domain"):
                out.domain_prefix = pool["Domain"]
                out.hosted_ui_url = b.hosted_ui_base(pool["Domain"])
        out.function_arn = self._function_arn()
        out.role_arn = self._role_arn()
        api = token_api.find_api(self.ctx)
        if api:
            out.api_id = api["ApiId"]
            out.invoke_url = b.invoke_url(api["ApiId"], api["ApiEndpoint"])
            out.token_url = out.invoke_url.rstrip("/") + "/token"
        return out

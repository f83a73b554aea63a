"""Runs deployed Lambda functions for the local AWS (moto stores them but never runs them
without Docker).

Each function version (code hash + configuration) gets warm worker processes that
import the deployed zip as it stands, with the function's environment variables and
boto3 pointed at this local AWS. A worker serves one invocation at a time, like a Lambda
execution environment; a busy function gets another worker, up to ``MAX_WORKERS``.
A worker that exceeds the function's timeout is killed, as Lambda does.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass

from ..constants import LOCAL_CREDENTIALS

FUNCTION_KEY_PREFIX = "lambda."  # access key of a function's execution role, as the local AWS sees it


def function_access_key(function_name: str) -> str:
    return f"{FUNCTION_KEY_PREFIX}{function_name}"


MAX_WORKERS = 4


class InvocationError(Exception):
    """The function failed (handler exception, import error, timeout, crash)."""


@dataclass
class _Worker:
    proc: subprocess.Popen
    lock: threading.Lock

    def invoke(self, event: dict, timeout: float) -> dict:
        self.proc.stdin.write(json.dumps({"event": event}) + "\n")
        self.proc.stdin.flush()
        reply: list[str] = []
        reader = threading.Thread(target=lambda: reply.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive() or not reply or not reply[0]:
            self.proc.kill()
            raise InvocationError("Task timed out" if reader.is_alive() else "Runtime exited")
        return json.loads(reply[0])


class LambdaRuntime:
    def __init__(self, endpoint_url: str, log_file=None):
        self.endpoint_url = endpoint_url
        self.log_file = log_file
        self._pools: dict[str, list[_Worker]] = {}
        self._dirs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._root = tempfile.mkdtemp(prefix="cognito-runbook-lambda-")

    def invoke(self, snapshot: dict, region: str, event: dict):
        """Run one invocation; return the handler's result or raise InvocationError."""
        key = self._version_key(snapshot)
        worker = self._acquire(key, snapshot, region)
        try:
            reply = worker.invoke(event, snapshot["timeout"])
        except (InvocationError, OSError, ValueError) as err:
            self._discard(key, worker)
            raise InvocationError(str(err)) from None
        finally:
            if worker.lock.locked():
                worker.lock.release()
        if "error" in reply:
            raise InvocationError(f"{reply['error']}: {reply['message']}")
        return reply["result"]

    @staticmethod
    def _version_key(snapshot: dict) -> str:
        config = json.dumps([snapshot["handler"], snapshot["environment"]], sort_keys=True)
        return hashlib.sha256(f"{snapshot['arn']}|{snapshot['code_sha256']}|{config}".encode()).hexdigest()[:16]

    def _acquire(self, key: str, snapshot: dict, region: str) -> _Worker:
        with self._lock:
            pool = self._pools.setdefault(key, [])
            self._retire_old_versions(snapshot["arn"], key)
            for worker in pool:
                if worker.proc.poll() is None and worker.lock.acquire(blocking=False):
                    return worker
            if len(pool) < MAX_WORKERS:
                worker = _Worker(self._spawn(key, snapshot, region), threading.Lock())
                worker.lock.acquire()
                pool.append(worker)
                return worker
        # All workers busy: wait for the first one (Lambda would scale out further;
        # four is plenty for a local machine with two cores).
        worker = pool[0]
        worker.lock.acquire()
        return worker

    def _retire_old_versions(self, arn: str, current: str) -> None:
        for key in [k for k in self._pools if k != current and self._dirs.get(k, "").endswith(arn_tag(arn))]:
            for worker in self._pools.pop(key):
                worker.proc.kill()

    def _discard(self, key: str, worker: _Worker) -> None:
        with self._lock:
            if worker in self._pools.get(key, []):
                self._pools[key].remove(worker)
        if worker.proc.poll() is None:
            worker.proc.kill()

    def _spawn(self, key: str, snapshot: dict, region: str) -> subprocess.Popen:
        code_dir = self._dirs.get(key)
        if code_dir is None:
            code_dir = os.path.join(self._root, f"{key}-{arn_tag(snapshot['arn'])}")
            with zipfile.ZipFile(io.BytesIO(snapshot["code"])) as bundle:
                bundle.extractall(code_dir)
            self._dirs[key] = code_dir
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # The function's own key: the local AWS checks its calls against the role's policy.
            "AWS_ACCESS_KEY_ID": function_access_key(snapshot["name"]),
            "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": snapshot["name"],
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{snapshot['runtime']}",
            "LAMBDA_TASK_ROOT": code_dir,
            "PYTHONDONTWRITEBYTECODE": "1",
            **snapshot["environment"],
        }
        return subprocess.Popen(
            [sys.executable, "-m", "cognito_runbook.local.lambda_worker", code_dir, snapshot["handler"]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log_file or subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=code_dir,
        )

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                for worker in pool:
                    worker.proc.kill()
            self._pools.clear()
        shutil.rmtree(self._root, ignore_errors=True)


def arn_tag(arn: str) -> str:
    return hashlib.sha256(arn.encode()).hexdigest()[:8]

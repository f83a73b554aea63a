"""Start, find and stop the local AWS process.

The state lives in the runbook's home folder (``$COGNITO_RUNBOOK_HOME``, default ``~/.cognito-runbook``):
``local.json`` (endpoint, pid), ``local.log``, and a lock file so that two notebooks
or runs starting at once share one server instead of starting two.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from filelock import FileLock

from ..constants import HOME_ENV, home
from ..constants import LOCAL_STATE_FILE as STATE_FILE
from ..errors import BackendError, UsageError

START_TIMEOUT = 60.0


def _read_state() -> dict | None:
    try:
        return json.loads((home() / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _healthy(state: dict) -> bool:
    try:
        with urllib.request.urlopen(f"{state['endpoint']}/_local/health", timeout=3) as resp:
            return json.loads(resp.read()).get("pid") == state["pid"]
    except (OSError, ValueError, KeyError):
        return False


def status() -> dict | None:
    """The running local AWS (endpoint, pid, started), or None."""
    state = _read_state()
    return state if state and _healthy(state) else None


def endpoint() -> str | None:
    state = status()
    return state["endpoint"] if state else None


def can_start() -> bool:
    """Starting a local AWS needs moto (the ``local`` extra); using a running one does not."""
    return importlib.util.find_spec("moto") is not None


def check_usable() -> None:
    """Raise a UsageError when this installation can neither use a running local AWS nor
    start one: the message says why none is found and how to fix it. A local AWS started by
    another installation (found through the state file in the same home folder) will do."""
    if can_start() or status() is not None:  # moto first: no HTTP round trip when it is there
        return
    state, where = _read_state(), home() / STATE_FILE
    if state is None:
        found = f"none is running for the home folder {home()} (no readable {where})"
    else:
        found = f"{where} names {state.get('endpoint')}, which does not answer as the local AWS (stopped?)"
    raise UsageError(
        f"backend: local: {found}, and this installation cannot start one: moto is not installed. "
        "Install the local extra (pip install 'cognito-runbook[local]'), or start the local AWS from an "
        f"installation that has it (cognito-runbook local start) with the same {HOME_ENV} ({home()}), "
        "or set backend: aws in the params"
    )


def ensure_running(delay: float | None = None, latency_ms: float | None = None) -> str:
    """Reuse the running local AWS (whichever installation started it) or start one; return
    its endpoint URL. ``delay``: seconds of AWS-like waiting for a new server (default: its
    own); ``latency_ms``: added to every API call (default: none)."""
    running = endpoint()
    if running:
        return running
    check_usable()
    home().mkdir(parents=True, exist_ok=True)
    with FileLock(str(home() / "local.lock"), timeout=START_TIMEOUT + 10):
        state = status()
        if state:
            return state["endpoint"]
        (home() / STATE_FILE).unlink(missing_ok=True)
        log = open(home() / "local.log", "a")  # noqa: SIM115 (handed to the server process, which outlives this call)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cognito_runbook.local.server",
                "--home",
                str(home()),
                *(["--delay", str(delay)] if delay is not None else []),
                *(["--latency-ms", str(latency_ms)] if latency_ms is not None else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BackendError(
                    f"the local AWS exited at start (code {proc.returncode}); see {home() / 'local.log'}"
                )
            state = status()
            if state:
                return state["endpoint"]
            time.sleep(0.1)
        proc.kill()
        raise BackendError(f"the local AWS did not start within {START_TIMEOUT:.0f} s; see {home() / 'local.log'}")


def stop() -> bool:
    """Stop the local AWS; True if one was running. All its data is gone afterwards."""
    state = status()  # only a server that answers as ours: a stale pid may be another process now
    if not state:
        (home() / STATE_FILE).unlink(missing_ok=True)
        return False
    pid = state.get("pid")
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, TypeError):
        (home() / STATE_FILE).unlink(missing_ok=True)
        return False
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    (home() / STATE_FILE).unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    return True


@contextlib.contextmanager
def private(delay: float | None = None, latency_ms: float | None = None):
    """A fresh local AWS in a temporary home, stopped and removed afterwards.

    Sets the home folder variable for this process and its children (notebook
    kernels inherit it), so nothing touches the user's own local AWS.
    """
    old = os.environ.get(HOME_ENV)
    with tempfile.TemporaryDirectory(prefix="cognito-runbook-home-") as tmp:
        os.environ[HOME_ENV] = tmp
        try:
            yield ensure_running(delay, latency_ms)
        finally:
            stop()
            if old is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = old

"""nbval's local AWS: one fresh private local AWS for the whole notebook session.

Notebook kernels are separate processes, so moto's in-process mocks cannot reach them;
a real local AWS on 127.0.0.1 can. COGNITO_RUNBOOK_HOME (set here, inherited by every
kernel) makes notebook 00 find this one instead of the user's own.
"""

import tempfile

import pytest

from cognito_runbook.constants import RUN_DIR_ENV
from cognito_runbook.local import control

_private = None


def pytest_sessionstart(session):
    global _private
    if not session.config.getoption("--nbval", default=False) and not session.config.getoption("--nbval-lax", default=False):
        return
    import os

    _private = control.private()
    _private.__enter__()
    os.environ[RUN_DIR_ENV] = tempfile.mkdtemp(prefix="cognito-runbook-nbval-")


def pytest_sessionfinish(session, exitstatus):
    if _private is not None:
        _private.__exit__(None, None, None)

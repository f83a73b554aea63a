"""The root of every error family, the exit codes, and the one place where AWS errors
become ours.

Everything a user can cause (bad params, missing credentials, a password the pool
rejects, a stage run out of order, AWS refusing a call) raises a ``RunbookError``: a
short message that names the field or resource and says what to do. Notebooks and the
CLI show only that message; a stack trace means a bug in cognito-runbook.

The families that span the package are here (``ParamsError``, ``UsageError``,
``BackendError``, ``StageError``, ``AwsError``, ``PlanModeWrite``). Two live with the
concept they describe, and are ``RunbookError``s all the same: ``tokens.TokenError`` and
its subclasses (each way a token fails verification) and ``params_file.ParamsFileError``
(a params file that cannot be saved).
"""

from __future__ import annotations

import contextlib
import functools

from botocore.exceptions import BotoCoreError, ClientError

# Exit codes of `cognito-runbook` (the runner and the CLI use these names only).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3


class RunbookError(Exception):
    """An expected failure with a message meant for the person running the runbook."""

    exit_code = EXIT_FAILED

    def _render_traceback_(self):
        # IPython calls this instead of printing the traceback, so a notebook cell
        # (and papermill's error report) shows the message alone.
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class ParamsError(RunbookError):
    """The params file (or a form) holds values that cannot be used. Lists every problem."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[str], source: str = "params"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in {source}:\n{lines}")


class UsageError(RunbookError):
    """The command line or a notebook parameter asks for something that cannot be done."""

    exit_code = EXIT_USAGE


class BackendError(RunbookError):
    """Credentials, region or the local AWS are not usable."""


class StageError(RunbookError):
    """A stage cannot go on (missing prerequisite, rejected password, name collision)."""


class AwsError(RunbookError):
    """AWS refused a call for a reason no stage turned into a more specific message."""

    def __init__(self, operation: str, code: str, message: str, doing: str = ""):
        self.operation, self.code = operation, code
        where = f"{doing}: " if doing else ""
        super().__init__(f"{where}AWS refused {operation}: {code}: {message}")


class PlanModeWrite(RunbookError):
    """A write was attempted while running in plan mode (a bug guard: plan never writes)."""


@contextlib.contextmanager
def aws_errors(doing: str = ""):
    """The boundary: botocore's errors leave as ``AwsError`` / ``BackendError``.

    ``doing`` names what was under way (a stage, a look-up) for the message."""
    try:
        yield
    except ClientError as err:
        e = err.response.get("Error", {})
        raise AwsError(err.operation_name, e.get("Code", "?"), e.get("Message", ""), doing) from None
    except BotoCoreError as err:
        where = f"{doing}: " if doing else ""
        raise BackendError(f"{where}cannot talk to AWS: {err}") from None


def at_aws_boundary(method):
    """Decorator form of ``aws_errors`` for the public methods of ``Runbook``."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with aws_errors():
            return method(*args, **kwargs)

    return wrapper

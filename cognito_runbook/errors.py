"""One exception family for expected failures.

Everything a user can cause (bad params, missing credentials, a password the pool
rejects, a stage run out of order) raises a ``RunbookError``: a short message that
names the field or resource and says what to do. Notebooks and the CLI show only
that message; a stack trace means a bug in cognito-runbook.
"""


class RunbookError(Exception):
    """An expected failure with a message meant for the person running the runbook."""

    def _render_traceback_(self):
        # IPython calls this instead of printing the traceback, so a notebook cell
        # (and papermill's error report) shows the message alone.
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class ParamsError(RunbookError):
    """The params file (or a form) holds values that cannot be used. Lists every problem."""

    def __init__(self, problems: list[str], source: str = "params"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in {source}:\n{lines}")


class BackendError(RunbookError):
    """Credentials, region or the local AWS are not usable."""


class StageError(RunbookError):
    """A stage cannot go on (missing prerequisite, rejected password, name collision)."""


class PlanModeWrite(RunbookError):
    """A write was attempted while running in plan mode (a bug guard: plan never writes)."""

"""Headless runs: execute the notebooks in order with papermill.

Each notebook gets a fresh kernel and only non-secret parameters (the params file
path, plan mode, the run folder). Executed notebooks land in the run folder with a
``summary.json`` / ``summary.txt``. The first failing notebook stops the run with one
line naming the notebook, the cell and the error.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import summary
from .errors import EXIT_DRIFT, EXIT_FAILED, EXIT_OK, UsageError
from .kernels import remove_socket_dir, start_kernel_ahead
from .params import load_params
from .project import CHECKOUT, notebooks_for
from .runbook import LAST_PROVISIONING_NOTEBOOK, TEARDOWN_NOTEBOOK

NOTEBOOKS_DIR = CHECKOUT / "notebooks"  # the repository's (docs, tests)


@dataclass
class RunResult:
    exit_code: int
    run_dir: Path
    summary: dict


def notebook_number(path: Path) -> int:
    return int(path.name[:2])


def select_notebooks(notebooks_dir: Path, first: int = 0, last: int = 98, teardown: bool = False) -> list[Path]:
    found = sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if teardown:
        return [p for p in found if notebook_number(p) in (0, TEARDOWN_NOTEBOOK)]
    return [p for p in found if first <= notebook_number(p) <= last and notebook_number(p) != TEARDOWN_NOTEBOOK]


def default_run_dir(stack: str) -> Path:
    return Path("runs") / f"{stack}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def skip_slow_optional_imports() -> None:
    """jsonschema imports ``rfc3987_syntax`` when it is installed (jupyterlab pulls it in)
    and compiles a grammar at import: about 2 s, for an "iri" format check that notebook
    validation never uses. Blocking the optional import makes jsonschema skip it."""
    sys.modules.setdefault("rfc3987_syntax", None)


def run(
    params_file: str | Path,
    run_dir: str | Path | None = None,
    first: int = 0,
    last: int = 98,
    teardown: bool = False,
    plan: bool = False,
    notebooks_dir: Path | None = None,
    progress: Callable[[str], None] = print,
    confirm_stack: str = "",
    reset_passwords: bool = False,
) -> RunResult:
    skip_slow_optional_imports()
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params_file = Path(params_file).resolve()
    params = load_params(params_file)  # bad params stop here, before any kernel or AWS call
    if params.backend == "local":
        from .local import control

        control.check_usable()  # a local AWS to use, or moto to start one: else exit 2 before any kernel
    notebooks_dir = notebooks_dir or notebooks_for(params_file)
    run_dir = Path(run_dir or default_run_dir(params.stack)).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (summary.SUMMARY_JSON, "outputs.json"):
        (run_dir / stale).unlink(missing_ok=True)
    if plan:
        last = min(last, LAST_PROVISIONING_NOTEBOOK)  # later notebooks use the stack; a plan stops before them
    notebooks = select_notebooks(notebooks_dir, first, last, teardown)
    if not notebooks:
        raise UsageError(f"no notebooks selected in {notebooks_dir} (from {first} to {last})")
    timings, error = [], None
    upcoming = start_kernel_ahead()
    try:
        for index, notebook in enumerate(notebooks, 1):
            progress(f"[{index}/{len(notebooks)}] {notebook.name} ...")
            started = time.monotonic()
            km, upcoming = upcoming, (start_kernel_ahead() if index < len(notebooks) else None)
            try:
                papermill.execute_notebook(
                    str(notebook),
                    str(run_dir / notebook.name),
                    parameters=notebook_parameters(
                        notebook,
                        params_file=str(params_file),
                        plan=plan,
                        run_dir=str(run_dir),
                        confirm_stack=confirm_stack or None,
                        reset_passwords=reset_passwords or None,
                    ),
                    kernel_name="python3",
                    km=km,
                    progress_bar=False,
                    log_output=False,
                    store_widget_state=False,
                    record_timing=False,
                    shutdown_kernel="immediate",
                )
                status = "ok"
            except PapermillExecutionError as err:
                status = "failed"
                error = f"{notebook.name}, cell {err.cell_index}: {err.ename}: {_first_lines(err.evalue)}"
            except Exception as err:  # the kernel died, a cell timed out, ...: still a summary
                status = "failed"
                error = f"{notebook.name}: {type(err).__name__}: {_first_lines(str(err))}"
            finally:
                _shutdown(km)
            timings.append(
                {"notebook": notebook.name, "status": status, "seconds": round(time.monotonic() - started, 2)}
            )
            progress(f"      {status} in {timings[-1]['seconds']:.1f} s")
            if error:
                break
    finally:
        _shutdown(upcoming)
        remove_socket_dir()
    data = summary.read(run_dir)
    data.update(
        result="failed" if error else "ok",
        plan=plan,
        params_file=str(params_file),
        notebooks=timings,
        error=error,
        outputs=_outputs(run_dir),
    )
    summary.write(run_dir, data)
    if error:
        progress(f"FAILED {error}\n  executed notebook: {run_dir / timings[-1]['notebook']}")
        return RunResult(EXIT_FAILED, run_dir, data)
    if plan and summary.drifted(data):
        return RunResult(EXIT_DRIFT, run_dir, data)
    return RunResult(EXIT_OK, run_dir, data)


def notebook_parameters(notebook: Path, **candidates) -> dict:
    """The run's parameters this notebook declares (its ``parameters`` cell); None means
    not given. papermill would inject the others too, with a warning each."""
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    return {k: v for k, v in candidates.items() if v is not None and k in declared}


def _shutdown(km) -> None:
    if km is not None and km.has_kernel:
        km.shutdown_kernel(now=True)


def _first_lines(text: str, limit: int = 6) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    lines = text.splitlines()
    return "\n".join(lines[:limit]) + ("\n  ..." if len(lines) > limit else "")


def _outputs(run_dir: Path) -> dict:
    import json

    try:
        return json.loads((run_dir / "outputs.json").read_text())
    except (OSError, ValueError):
        return {}

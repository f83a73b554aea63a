"""Apache Airflow DAGs for a fleet of stacks: one folder of params files, two DAGs per stack.

- ``cognito_runbook_<stack>``: the notebooks as one task each, in stage order
  (00_connect >> 01_user_pool >> ... >> 09_db2), every DAG run keeping its executed
  notebooks under ``run_root/<stack>/<run id>/<notebook>/``;
- ``cognito_runbook_<stack>_plan``: nightly ``--plan``; a drifted stack exits 3, the task
  fails, and Airflow's own alerting (e-mail, callbacks, retries, history) takes over.

Each task calls the runbook's command line (``cognito-runbook run PARAMS --from N --to N``)
rather than the papermill operator, for two reasons: the runner already does what a task
must (parameters, the run summary, exit code 3 on drift, kernel clean-up), and the runbook
can live in its own virtualenv (``cli=``): Airflow pins its own versions of pydantic, boto3
and friends, which need not agree with the runbook's.

This module imports only the standard library, PyYAML, Airflow and ``constants`` (standard
library only), so it loads in an Airflow environment where cognito-runbook is installed
without its dependencies (``pip install --no-deps cognito-runbook``): no botocore, pydantic
or papermill there. ``tests/unit/test_airflow_factory.py`` holds it to that. In a DAG file::

    from cognito_runbook.airflow import build_dags
    globals().update(build_dags("/opt/db2-stacks/params", cli="/opt/runbook/.venv/bin/cognito-runbook"))
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timedelta
from pathlib import Path

import yaml

NOTEBOOK_RE = re.compile(r"^(\d\d)_(\w+)\.ipynb$")
LAST_PROVISIONING = 98  # 99 is teardown: never scheduled
START = datetime(2026, 1, 1)


def notebook_steps(notebooks_dir: str | Path) -> list[tuple[int, str]]:
    """(number, name) of each runbook notebook except teardown, in order."""
    steps = []
    for path in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb")):
        found = NOTEBOOK_RE.match(path.name)
        if found and int(found[1]) <= LAST_PROVISIONING:
            steps.append((int(found[1]), found[2]))
    return steps


def _stack(params_file: Path) -> str:
    raw = yaml.safe_load(params_file.read_text()) or {}
    stack = raw.get("stack") if isinstance(raw, dict) else None
    if not isinstance(stack, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,39}", stack):
        raise ValueError(f"{params_file}: stack: missing or not a valid stack name; see params/local.yaml")
    return stack


def _installed_notebooks() -> Path:
    # constants is standard library only; project (and errors behind it) would need botocore.
    from .constants import find_packaged_root

    root = find_packaged_root()
    if root is None:
        raise ValueError(
            "notebooks_dir: this cognito-runbook installation carries no notebooks (install the wheel, "
            "which has them under share/cognito-runbook/), or pass notebooks_dir= the runbook's notebooks/ folder"
        )
    return root / "notebooks"


def _dag_id(stack: str) -> str:
    return "cognito_runbook_" + stack.replace("-", "_")


def build_dags(
    params_dir: str | Path,
    cli: str = "cognito-runbook",
    run_root: str | Path = "runs",
    notebooks_dir: str | Path | None = None,
    provision_schedule: str | None = None,
    plan_schedule: str | None = "@daily",
    retries: int = 1,
) -> dict[str, object]:
    """Two DAGs per ``*.yaml`` params file in ``params_dir``, by DAG id.

    ``cli``: the runbook's command (a path into its own virtualenv, typically);
    ``run_root``: where executed notebooks and summaries are kept, per stack and run;
    ``notebooks_dir``: the runbook's notebooks (default: the installed package's);
    ``provision_schedule``: None to provision on demand (trigger the DAG), or a cron string."""
    from airflow import DAG

    try:
        from airflow.providers.standard.operators.bash import BashOperator  # Airflow 3
    except ImportError:
        from airflow.operators.bash import BashOperator  # Airflow 2

    notebooks_dir = notebooks_dir if notebooks_dir is not None else _installed_notebooks()
    steps = notebook_steps(notebooks_dir)
    if not steps:
        raise ValueError(f"notebooks_dir: no runbook notebooks (NN_name.ipynb) in {notebooks_dir}")
    defaults = {"retries": retries, "retry_delay": timedelta(minutes=2)}
    dags: dict[str, object] = {}
    for params_file in sorted(Path(params_dir).glob("*.yaml")):
        stack = _stack(params_file)
        params, root = shlex.quote(str(params_file.resolve())), Path(run_root).resolve() / stack
        run_folder = f"{shlex.quote(str(root))}/{{{{ run_id | replace(':', '-') | replace('+', '-') }}}}"
        with DAG(
            _dag_id(stack),
            description=f"cognito-runbook: provision stack {stack} ({params_file.name})",
            schedule=provision_schedule,
            start_date=START,
            catchup=False,
            max_active_runs=1,  # one run of a stack at a time (the runbook also locks per stack)
            default_args=defaults,
            tags=["cognito-runbook", stack],
        ) as provision:
            previous = None
            for number, name in steps:
                task = BashOperator(
                    task_id=f"nb{number:02d}_{name}",
                    bash_command=f"{shlex.quote(cli)} run {params} --from {number} --to {number} "
                    f"--out {run_folder}/{number:02d}_{name}",
                )
                if previous is not None:
                    previous >> task
                previous = task
        with DAG(
            _dag_id(stack) + "_plan",
            description=f"cognito-runbook: nightly drift check of stack {stack}; fails on drift (exit 3)",
            schedule=plan_schedule,
            start_date=START,
            catchup=False,
            max_active_runs=1,
            default_args={**defaults, "retries": 0},  # drift is an answer, not a transient failure
            tags=["cognito-runbook", stack, "drift"],
        ) as plan:
            BashOperator(
                task_id="plan",
                bash_command=f"{shlex.quote(cli)} run {params} --plan --out {shlex.quote(str(root))}-plan/{{{{ ts_nodash }}}}",
            )
        dags[provision.dag_id] = provision
        dags[plan.dag_id] = plan
    return dags

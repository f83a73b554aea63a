"""The Airflow DAG factory under a real Airflow: ``airflow dags test`` provisions a local
stack notebook by notebook, its nightly plan passes, and after a change by hand the plan
task fails (exit 3), which is what makes Airflow alert.

Airflow lives in its own virtualenv (``.venv-airflow``, set up by ``.ci/run``), as it would
in production: it imports the factory from the checkout and calls the runbook's own CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, as_admin

from cognito_runbook.airflow import notebook_steps
from cognito_runbook.runbook import Runbook

AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
CLI = Path(sys.executable).parent / "cognito-runbook"


def test_the_steps_are_the_numbered_notebooks_without_teardown():
    steps = notebook_steps(ROOT / "notebooks")
    assert steps[0] == (0, "connect") and steps[-1] == (9, "db2")
    assert 99 not in [n for n, _ in steps]


@pytest.mark.skipif(not AIRFLOW.exists(), reason="Airflow is not installed in .venv-airflow (.ci/run sets it up)")
def test_airflow_provisions_a_stack_and_fails_the_plan_of_a_drifted_one(tmp_path, local_aws):
    params_dir, dags_dir, runs = tmp_path / "params", tmp_path / "dags", tmp_path / "runs"
    params_dir.mkdir()
    dags_dir.mkdir()
    text = (ROOT / "params" / "local.yaml").read_text()
    (params_dir / "fleet.yaml").write_text(
        text.replace("stack: db2-local ", "stack: fleet-a ").replace("db2-local-demo", "fleet-a")
    )
    (dags_dir / "cognito_runbook_dags.py").write_text(
        "from cognito_runbook.airflow import build_dags\n"
        f"globals().update(build_dags({str(params_dir)!r}, cli={str(CLI)!r}, run_root={str(runs)!r},"
        f" notebooks_dir={str(ROOT / 'notebooks')!r}))\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(ROOT),  # the factory, from the checkout (it needs only Airflow and PyYAML)
    }

    def airflow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=900)

    assert airflow("db", "migrate").returncode == 0
    try:
        provision = airflow("dags", "test", "cognito_runbook_fleet_a")
        assert provision.returncode == 0, (provision.stdout + provision.stderr)[-3000:]
        [run] = list((runs / "fleet-a").iterdir())
        assert sorted(p.name for p in run.iterdir())[-1] == "09_db2"
        assert (run / "07_tokens_via_api" / "07_tokens_via_api.ipynb").exists()  # executed notebooks kept per run

        quiet = airflow("dags", "test", "cognito_runbook_fleet_a_plan")
        assert quiet.returncode == 0, (quiet.stdout + quiet.stderr)[-3000:]

        rb = Runbook.open(params_dir / "fleet.yaml")
        as_admin(rb).client("cognito-idp").admin_remove_user_from_group(
            UserPoolId=rb.pool()["Id"], Username="appuser", GroupName="DB2USERS"
        )
        drifted = airflow("dags", "test", "cognito_runbook_fleet_a_plan")
        assert drifted.returncode != 0
        assert "exit code 3" in drifted.stdout + drifted.stderr
    finally:
        Runbook.open(params_dir / "fleet.yaml").teardown()

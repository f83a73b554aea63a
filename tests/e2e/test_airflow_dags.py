"""The README's Airflow section, followed literally under a real Airflow.

- Airflow's environment is ``.venv-airflow`` (Airflow 3.3.2, set up by ``.ci/run``), which
  has none of the runbook's dependencies (no botocore); the package goes in as the README
  says: a wheel built from the checkout, ``pip install --no-deps``.
- The runbook's own virtualenv is made by the README's line for it (a core install, no
  moto: ``tests/installs.py``); its CLI talks to the test session's local AWS.
- The DAG file is the README's, only its paths replaced, in ``$AIRFLOW_HOME/dags``.

Then: no import error, both DAGs listed once serialized, ``airflow dags test`` provisions a
local stack notebook by notebook, its plan passes, and after a change by hand the plan task
fails (exit 3), which is what makes Airflow alert.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ROOT, as_admin
from installs import CannotBuild, airflow_env_command, airflow_readme, clean_env, core_venv, wheel

from cognito_runbook.airflow import notebook_steps
from cognito_runbook.runbook import Runbook

AIRFLOW_VENV = ROOT / ".venv-airflow"
AIRFLOW = AIRFLOW_VENV / "bin" / "airflow"
# The README's places, and what each becomes here.
README_PARAMS, README_CLI, README_RUNS = (
    "/opt/db2-stacks/params",
    "/opt/runbook/.venv/bin/cognito-runbook",
    "/opt/db2-stacks/runs",
)


def test_the_steps_are_the_numbered_notebooks_without_teardown():
    steps = notebook_steps(ROOT / "notebooks")
    assert steps[0] == (0, "connect") and steps[-1] == (9, "db2")
    assert 99 not in [n for n, _ in steps]


def readme_dag_file(params_dir, cli, runs) -> str:
    code = airflow_readme()[1]
    assert code.startswith("# $AIRFLOW_HOME/dags/cognito_runbook_dags.py\n"), code.splitlines()[0]
    for readme_path, here in ((README_CLI, cli), (README_PARAMS, params_dir), (README_RUNS, runs)):
        assert f'"{readme_path}"' in code, f"the README's DAG file no longer names {readme_path}"
        code = code.replace(f'"{readme_path}"', repr(str(here)))
    assert "/opt/" not in code, code
    return code


@pytest.fixture(scope="module")
def airflow_with_the_wheel(tmp_path_factory):
    """.venv-airflow with the package installed by the README's line; removed afterwards,
    so that the Airflow environment stays as .ci/run made it."""
    if not AIRFLOW.exists():
        pytest.skip("Airflow is not installed in .venv-airflow (.ci/run sets it up)")
    try:
        wheel_file, core = wheel(tmp_path_factory.getbasetemp()), core_venv(tmp_path_factory.getbasetemp())
    except CannotBuild as err:
        pytest.skip(f"the package index could not be reached to build or install the package: {err}")
    pip = [str(AIRFLOW_VENV / "bin" / "pip"), "uninstall", "--yes", "--quiet", "cognito-runbook"]
    subprocess.run(pip, env=clean_env(os.environ), capture_output=True, timeout=120)  # left by an interrupted run
    installed = subprocess.run(
        ["bash", "-c", airflow_env_command(AIRFLOW_VENV, wheel_file)],
        env=clean_env(os.environ),
        cwd=tmp_path_factory.getbasetemp(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    try:
        yield core
    finally:
        subprocess.run(pip, env=clean_env(os.environ), capture_output=True, timeout=120)


def test_the_airflow_environment_has_the_factory_and_not_the_runbooks_dependencies(airflow_with_the_wheel, tmp_path):
    probe = (
        "import importlib.util, cognito_runbook.airflow as m; "
        "print(m.__file__); print([n for n in ('botocore', 'papermill') if importlib.util.find_spec(n)])"
    )
    done = subprocess.run(
        [AIRFLOW_VENV / "bin" / "python", "-c", probe],
        env=clean_env(os.environ),
        cwd=tmp_path,  # not the checkout: its cognito_runbook/ would be imported instead
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    where, found = done.stdout.splitlines()
    assert where.startswith(str(AIRFLOW_VENV)), where  # the wheel's copy, not the checkout's
    assert found == "[]", f"{found} in .venv-airflow: the test would not show what the README's users get"


def test_the_readme_dag_file_provisions_a_stack_and_fails_the_plan_of_a_drifted_one(
    airflow_with_the_wheel, tmp_path, local_aws
):
    core = airflow_with_the_wheel
    params_dir, runs, airflow_home = tmp_path / "params", tmp_path / "runs", tmp_path / "airflow"
    params_dir.mkdir()
    (airflow_home / "dags").mkdir(parents=True)
    text = (ROOT / "params" / "local.yaml").read_text()
    (params_dir / "fleet.yaml").write_text(
        text.replace("stack: db2-local ", "stack: fleet-a ").replace("db2-local-demo", "fleet-a")
    )
    dag_file = readme_dag_file(params_dir, core / "bin" / "cognito-runbook", runs)
    (airflow_home / "dags" / "cognito_runbook_dags.py").write_text(dag_file)
    env = {**clean_env(os.environ), "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    def airflow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(AIRFLOW), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    def ok(done: subprocess.CompletedProcess) -> str:
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        return done.stdout

    def json_out(done: subprocess.CompletedProcess) -> list:
        """``--output json``: Airflow's log lines (warnings) come first on stdout."""
        lines = ok(done).splitlines()
        return json.loads("\n".join(lines[max(i for i, line in enumerate(lines) if line.startswith("[")) :]))

    ok(airflow("db", "migrate"))
    ok(airflow("dags", "reserialize"))  # Airflow 3 lists a DAG once it is serialized (the README says so)
    errors = json_out(airflow("dags", "list-import-errors", "--output", "json"))
    assert errors == [], errors[0]["error"][-2000:]
    listed = {d["dag_id"] for d in json_out(airflow("dags", "list", "--output", "json"))}
    assert {"cognito_runbook_fleet_a", "cognito_runbook_fleet_a_plan"} <= listed, listed
    try:
        ok(airflow("dags", "test", "cognito_runbook_fleet_a"))
        [run] = list((runs / "fleet-a").iterdir())
        assert sorted(p.name for p in run.iterdir())[-1] == "09_db2"
        assert (run / "07_tokens_via_api" / "07_tokens_via_api.ipynb").exists()  # executed notebooks kept per run

        ok(airflow("dags", "test", "cognito_runbook_fleet_a_plan"))

        rb = Runbook.open(params_dir / "fleet.yaml")
        as_admin(rb).client("cognito-idp").admin_remove_user_from_group(
            UserPoolId=rb.pool()["Id"], Username="appuser", GroupName="DB2USERS"
        )
        drifted = airflow("dags", "test", "cognito_runbook_fleet_a_plan")
        assert drifted.returncode != 0
        assert "exit code 3" in drifted.stdout + drifted.stderr
    finally:
        Runbook.open(params_dir / "fleet.yaml").teardown()

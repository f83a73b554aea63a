"""The DAG factory needs what the README says and nothing more: Airflow and PyYAML.

It runs in a child interpreter where every other third-party import fails, as in an
Airflow environment after ``pip install --no-deps cognito-runbook`` (no botocore, pydantic,
papermill there), with a stand-in ``airflow`` package that records the DAGs and tasks.
The real Airflow, the wheel and the README's DAG file: ``tests/e2e/test_airflow_dags.py``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

from conftest import ROOT

from cognito_runbook.airflow import notebook_steps

# Refuses every import that is neither the standard library nor what the README says an
# Airflow environment has for the factory (Airflow itself, PyYAML) nor the package.
GUARD = """
import importlib.abc, sys

ALLOWED = {"yaml", "airflow", "cognito_runbook"}
REFUSED = []  # also what an ``except ImportError`` swallowed

class NotInAirflowsEnvironment(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in sys.stdlib_module_names and top not in ALLOWED:
            REFUSED.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not installed in Airflow's environment)", name=name)
        return None

sys.meta_path.insert(0, NotInAirflowsEnvironment())
"""

STAND_IN = {
    "airflow/__init__.py": """
class DAG:
    current = None

    def __init__(self, dag_id, **settings):
        self.dag_id, self.settings, self.tasks = dag_id, settings, []

    def __enter__(self):
        DAG.current = self
        return self

    def __exit__(self, *exc):
        DAG.current = None
""",
    "airflow/providers/__init__.py": "",
    "airflow/providers/standard/__init__.py": "",
    "airflow/providers/standard/operators/__init__.py": "",
    "airflow/providers/standard/operators/bash.py": """
from airflow import DAG

class BashOperator:
    def __init__(self, task_id, bash_command):
        self.task_id, self.bash_command, self.upstream = task_id, bash_command, []
        DAG.current.tasks.append(self)

    def __rshift__(self, other):
        other.upstream.append(self.task_id)
        return other
""",
}

CHILD = """
import json, sys

import cognito_runbook
from cognito_runbook.airflow import build_dags

assert cognito_runbook.build_dags is build_dags  # the package's lazy name, as cheap

dags = build_dags(sys.argv[1], cli="/opt/runbook/.venv/bin/cognito-runbook", run_root=sys.argv[2])
refused = list(REFUSED)
try:
    import botocore  # installed in the test's environment: the guard must keep it out
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the guard lets botocore in: this test would prove nothing")
dags_found = {dag_id: [[t.task_id, t.upstream, t.bash_command] for t in dag.tasks] for dag_id, dag in dags.items()}
print(json.dumps({"dags": dags_found, "refused": refused}))
"""


def child(tmp_path, code: str, *args: str) -> subprocess.CompletedProcess:
    """``code`` after the guard, with the stand-in airflow and the package on the path."""
    for name, text in STAND_IN.items():
        (tmp_path / "stand-in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "stand-in" / name).write_text(text)
    return subprocess.run(
        [sys.executable, "-c", GUARD + code, *args],
        env={"PYTHONPATH": f"{tmp_path / 'stand-in'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_build_dags_needs_only_airflow_and_pyyaml(tmp_path):
    """Without ``notebooks_dir`` (as in the README's DAG file) the factory finds the
    installation's notebooks without importing anything the runbook depends on."""
    params = tmp_path / "params"
    params.mkdir()
    (params / "fleet.yaml").write_text((ROOT / "params" / "local.yaml").read_text())
    done = child(tmp_path, CHILD, str(params), str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["refused"] == []

    stack = "cognito_runbook_db2_local"
    assert set(found["dags"]) == {stack, f"{stack}_plan"}
    tasks = found["dags"][stack]
    steps = notebook_steps(ROOT / "notebooks")
    assert [t[0] for t in tasks] == [f"nb{n:02d}_{name}" for n, name in steps]
    assert all(t[1] == [before[0]] for before, t in itertools.pairwise(tasks))  # in stage order
    assert tasks[2][2].startswith("/opt/runbook/.venv/bin/cognito-runbook run ")
    assert " --from 2 --to 2 " in tasks[2][2]
    [plan] = found["dags"][f"{stack}_plan"]
    assert " --plan " in plan[2]


def test_a_folder_without_notebooks_is_named(tmp_path):
    """An Airflow import error that says what to fix, not a DAG without tasks."""
    params = tmp_path / "params"
    params.mkdir()
    (params / "fleet.yaml").write_text("stack: fleet-a\n")
    (tmp_path / "empty").mkdir()
    code = "from cognito_runbook.airflow import build_dags\nimport sys\nbuild_dags(sys.argv[1], notebooks_dir=sys.argv[2])\n"
    done = child(tmp_path, code, str(params), str(tmp_path / "empty"))
    assert done.returncode != 0
    assert f"ValueError: notebooks_dir: no runbook notebooks (NN_name.ipynb) in {tmp_path / 'empty'}" in done.stderr

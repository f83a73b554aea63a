"""The package installed as someone outside the checkout installs it: a wheel built from
the checkout, and the runbook's own virtualenv made by the README's line for it (a core
install: ``pip install cognito-runbook``, no extras, so no moto and no JupyterLab).

Each is made once per test session (the tests that use them share ``basetemp``) and
reused; the versions are the tested ones (``-c requirements.lock``, as the README offers).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LOCK = ROOT / "requirements.lock"
AIRFLOW_SECTION = "**A fleet on Apache Airflow.**"
README_RUNBOOK_VENV = "/opt/runbook/.venv"


class CannotBuild(Exception):
    """The build backend could not be downloaded (no package index reachable)."""


@functools.cache
def wheel(basetemp: Path) -> Path:
    """``pip wheel --no-deps .`` from a copy of the checkout (no virtualenvs, no runs)."""
    source, dist = basetemp / "wheel-src", basetemp / "dist"
    if not any(dist.glob("cognito_runbook-*.whl")):
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(
            ROOT,
            source,
            ignore=shutil.ignore_patterns(
                ".venv*", ".git", "runs", "test-artifacts", "build", "dist", "*.egg-info", "__pycache__"
            ),
        )
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if built.returncode != 0 and "Could not find a version" in built.stderr:
            raise CannotBuild(built.stderr[-300:])
        assert built.returncode == 0, built.stderr[-2000:]
    return next(dist.glob("cognito_runbook-*.whl"))


def airflow_readme() -> tuple[dict[str, str], str]:
    """The README's Airflow install lines ({"runbook": ..., "airflow": ...}) and its DAG file."""
    section = (ROOT / "README.md").read_text().split(AIRFLOW_SECTION, 1)[1].split("\n## ", 1)[0]
    bash = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    dag_file = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    lines = [line for line in bash.splitlines() if line.strip()]
    runbook = [line for line in lines if README_RUNBOOK_VENV in line]
    airflow = [line for line in lines if "Airflow's environment" in line]
    assert len(runbook) == 1 and len(airflow) == 1, f"the README's Airflow install lines changed:\n{bash}"
    return {"runbook": runbook[0], "airflow": airflow[0]}, dag_file


def runbook_venv_command(venv: Path, wheel_file: Path) -> str:
    """The README's line for the runbook's own virtualenv, with only the places replaced:
    the venv's path, this interpreter for ``python``, the wheel for the package name; and the
    tested versions (``-c requirements.lock``, as the README's Quick start offers)."""
    line = airflow_readme()[0]["runbook"]
    assert re.match(r"python -m venv \S+ && \S+/bin/pip install cognito-runbook\s", line), line
    line = line.replace(README_RUNBOOK_VENV, str(venv))
    line = re.sub(r"^python ", f"{sys.executable} ", line)
    return re.sub(r"pip install cognito-runbook(?=\s)", f"pip install --quiet {wheel_file} -c {LOCK}", line)


def airflow_env_command(airflow_venv: Path, wheel_file: Path) -> str:
    """The README's line for Airflow's environment: its ``pip``, the wheel for the package name."""
    line = airflow_readme()[0]["airflow"]
    assert re.match(r"pip install --no-deps cognito-runbook\s", line), line
    return re.sub(
        r"^pip install --no-deps cognito-runbook", f"{airflow_venv}/bin/pip install --no-deps {wheel_file}", line
    )


@functools.cache
def core_venv(basetemp: Path) -> Path:
    """The runbook's own virtualenv as the README makes it: a core install, without moto."""
    venv = basetemp / "runbook-venv"
    if not (venv / "bin" / "cognito-runbook").exists():
        shutil.rmtree(venv, ignore_errors=True)
        command = runbook_venv_command(venv, wheel(basetemp))
        made = subprocess.run(
            ["bash", "-c", command],
            env=clean_env(os.environ),
            cwd=basetemp,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if made.returncode != 0 and "Could not find a version" in made.stderr:
            raise CannotBuild(made.stderr[-300:])
        assert made.returncode == 0, f"{command}\n{made.stderr[-3000:]}"
    found = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "import importlib.util as u; print(u.find_spec('moto'), u.find_spec('papermill') is not None)",
        ],
        env=clean_env(os.environ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == ["None", "True"], f"not a core install (moto, papermill): {found}"
    return venv


def clean_env(env: dict) -> dict:
    """The environment without what points Python at the checkout or the test's Jupyter."""
    return {k: v for k, v in env.items() if k not in ("PYTHONPATH", "JUPYTER_PATH", "VIRTUAL_ENV")}

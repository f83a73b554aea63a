"""A core install (``pip install cognito-runbook``: no ``local`` extra, so no moto) uses a
local AWS that another installation started, found through the state file in the home
folder; with none running it says so before anything starts (exit 2), and how to fix it.

The core install is the README's runbook virtualenv (``tests/installs.py``), made from a
wheel once per session; the local AWS is the test session's own (``local_aws``).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from installs import CannotBuild, clean_env, core_venv

STACK = "core-only"


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    try:
        return core_venv(tmp_path_factory.getbasetemp())
    except CannotBuild as err:
        pytest.skip(f"the package index could not be reached to install the core: {err}")


@pytest.fixture
def project(core, tmp_path):
    """A folder made by the core install's ``cognito-runbook init``, its stack renamed."""
    subprocess.run([core / "bin" / "cognito-runbook", "init", "mine"], check=True, cwd=tmp_path, capture_output=True)
    params = tmp_path / "mine" / "params" / "local.yaml"
    params.write_text(
        params.read_text().replace("stack: db2-local ", f"stack: {STACK} ").replace("db2-local-demo", STACK)
    )
    return tmp_path / "mine"


def cli(core, project, *args: str, home: str | None = None) -> subprocess.CompletedProcess:
    env = clean_env(os.environ)
    env["PATH"] = f"{core / 'bin'}:{env['PATH']}"
    if home is not None:
        env["COGNITO_RUNBOOK_HOME"] = home
    return subprocess.run(
        [core / "bin" / "cognito-runbook", *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_core_install_uses_the_local_aws_another_installation_started(local_aws, core, project):
    status = cli(core, project, "local", "status")
    assert status.returncode == 0 and f"running at {local_aws} " in status.stdout, status.stdout + status.stderr
    start = cli(core, project, "local", "start")  # nothing to start: the running one is used
    assert start.returncode == 0 and f"local AWS at {local_aws} " in start.stdout, start.stdout + start.stderr
    try:
        ran = cli(core, project, "run", "params/local.yaml", "--to", "users", "--out", "runs/first")
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
        assert (project / "runs" / "first" / "02_users.ipynb").exists()
        outputs = cli(core, project, "outputs", "params/local.yaml")
        assert outputs.returncode == 0, outputs.stderr[-2000:]
        assert json.loads(outputs.stdout)["pool_id"].startswith("us-east-1_")
    finally:
        cli(core, project, "teardown", "params/local.yaml")


def test_run_without_a_local_aws_or_moto_exits_2_before_any_kernel_starts(core, project, tmp_path):
    """No local AWS for this home folder, and no moto to start one: a usage problem found
    before anything starts, with the ways out. (Before: exit 1, from notebook 00's kernel.)"""
    home = tmp_path / "empty-home"
    ran = cli(core, project, "run", "params/local.yaml", "--out", "runs/never", home=str(home))
    assert ran.returncode == 2, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert "[1/" not in ran.stdout and "00_connect" not in ran.stdout + ran.stderr  # no notebook, no kernel
    assert not (project / "runs" / "never").exists()
    message = ran.stderr
    assert f"none is running for the home folder {home}" in message
    assert "moto is not installed" in message
    assert "pip install 'cognito-runbook[local]'" in message
    assert "cognito-runbook local start" in message and "COGNITO_RUNBOOK_HOME" in message
    assert "Traceback" not in message

    for command in (["outputs", "params/local.yaml"], ["local", "start"]):  # the library's commands say the same
        answer = cli(core, project, *command, home=str(home))
        assert answer.returncode == 2 and "moto is not installed" in answer.stderr, answer.stderr

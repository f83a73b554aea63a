"""A wheel installed outside the checkout carries the notebooks and runs the runbook against the local AWS."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import installs
import pytest


def test_a_wheel_outside_the_checkout_runs_the_runbook(tmp_path, tmp_path_factory, local_aws):
    try:
        wheel = installs.wheel(tmp_path_factory.getbasetemp())  # built once per session (tests/installs.py)
    except installs.CannotBuild as err:
        pytest.skip(f"the build backend could not be downloaded: {err}")
    assert any(n.endswith("share/cognito-runbook/notebooks/02_users.ipynb") for n in zipfile.ZipFile(wheel).namelist())

    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    # The dependencies are borrowed from the test environment (same versions as the lock);
    # the package itself comes from the wheel only.
    purelib = subprocess.run(
        [env / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([env / "bin" / "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)], check=True)
    where = subprocess.run(
        [env / "bin" / "python", "-c", "import cognito_runbook; print(cognito_runbook.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=installs.clean_env(os.environ),
    ).stdout
    assert where.startswith(str(env)), where

    cli = str(env / "bin" / "cognito-runbook")
    subprocess.run([cli, "init", "mine"], check=True, cwd=tmp_path)
    params = tmp_path / "mine" / "params" / "local.yaml"
    params.write_text(
        params.read_text().replace("stack: db2-local ", "stack: wheel-stack ").replace("db2-local-demo", "wheel-stack")
    )
    run_env = {**installs.clean_env(os.environ), "PATH": f"{env / 'bin'}:{os.environ['PATH']}"}
    try:
        ran = subprocess.run(
            [cli, "run", "params/local.yaml", "--to", "user_pool", "--out", "runs/first"],
            cwd=tmp_path / "mine",
            env=run_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
        assert (tmp_path / "mine" / "runs" / "first" / "01_user_pool.ipynb").exists()
    finally:
        subprocess.run([cli, "teardown", "params/local.yaml"], cwd=tmp_path / "mine", env=run_env, timeout=300)

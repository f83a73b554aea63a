"""Installs that reproduce: the lock file covers every dependency, and ``init`` copies the
notebooks and example params out of the package (the wheel itself: e2e/test_wheel_install.py)."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import ROOT

from cognito_runbook import project
from cognito_runbook.errors import UsageError


def requirement_name(line: str) -> str:
    return re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def test_the_lock_file_pins_every_dependency_of_every_extra():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {requirement_name(r) for r in meta["dependencies"]}
    for extra, requirements in meta["optional-dependencies"].items():
        if extra == "airflow":
            continue  # installed in Airflow's own environment, with Airflow's constraints
        wanted |= {requirement_name(r) for r in requirements if not r.startswith("cognito-runbook")}
    lines = [ln for ln in (ROOT / "requirements.lock").read_text().splitlines() if ln and not ln.startswith("#")]
    pinned = {requirement_name(ln): ln for ln in lines}
    assert all("==" in ln for ln in lines)
    assert sorted(wanted - pinned.keys()) == []
    assert "moto" not in {requirement_name(r) for r in meta["dependencies"]}  # a scheduled run needs no local AWS
    assert "jupyterlab" not in {requirement_name(r) for r in meta["dependencies"]}


def test_init_copies_the_notebooks_and_never_overwrites(tmp_path):
    written = project.init(tmp_path / "mine")
    names = sorted(p.relative_to(tmp_path / "mine").as_posix() for p in written)
    assert (
        "notebooks/01_user_pool.ipynb" in names and "params/local.yaml" in names and "params/aws-example.yaml" in names
    )
    assert project.notebooks_for(tmp_path / "mine" / "params" / "local.yaml") == tmp_path / "mine" / "notebooks"
    with pytest.raises(UsageError, match="already in"):
        project.init(tmp_path / "mine")
    assert project.init(tmp_path / "mine", force=True)

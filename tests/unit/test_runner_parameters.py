"""Each notebook gets only the run parameters it declares: papermill warns about every
other one ("Passed unknown parameter"), which a scheduled run would print nine times."""

from __future__ import annotations

import logging

import papermill
import pytest

from cognito_runbook.runner import NOTEBOOKS_DIR, notebook_parameters

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_option_of_a_run_reaches_only_the_notebooks_that_declare_it(notebook, tmp_path, caplog):
    parameters = notebook_parameters(
        notebook,
        params_file="params/local.yaml",
        plan=True,
        run_dir=str(tmp_path),
        confirm_stack="s",
        reset_passwords=True,
    )
    with caplog.at_level(logging.WARNING, logger="papermill"):
        papermill.execute_notebook(str(notebook), str(tmp_path / notebook.name), parameters, prepare_only=True)
    assert not [r.message for r in caplog.records if "unknown parameter" in r.message]
    assert {"params_file", "plan", "run_dir"} <= set(parameters)
    assert ("reset_passwords" in parameters) == notebook.name.startswith("02_")
    assert ("confirm_stack" in parameters) == notebook.name.startswith("99_")


def test_an_option_not_given_is_not_passed():
    notebook = next(p for p in NOTEBOOKS if p.name.startswith("02_"))
    assert "reset_passwords" not in notebook_parameters(notebook, plan=False, reset_passwords=None)

"""An installation without moto (no ``local`` extra) uses a running local AWS, whoever
started it, and refuses ``backend: local`` before anything starts when there is none.
(The same through a real core install: tests/e2e/test_core_install.py.)"""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import ROOT

from cognito_runbook import cli, runner
from cognito_runbook.constants import HOME_ENV, LOCAL_STATE_FILE
from cognito_runbook.errors import EXIT_USAGE, UsageError
from cognito_runbook.local import control

RUNNING = {"endpoint": "http://127.0.0.1:45678", "pid": 4321, "started": "2026-01-01T00:00:00"}


@pytest.fixture
def no_moto(monkeypatch, tmp_path):
    """A home folder of its own, and an installation that cannot start a local AWS."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.partition(".")[0] == "moto" else real(name, *a)
    )
    assert not control.can_start()
    return tmp_path / "home"


def state_file(home, answers: bool, monkeypatch) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / LOCAL_STATE_FILE).write_text(json.dumps(RUNNING))
    monkeypatch.setattr(control, "_healthy", lambda state: answers and state == RUNNING)


def test_a_running_local_aws_is_used_without_moto(no_moto, monkeypatch):
    state_file(no_moto, True, monkeypatch)
    assert control.ensure_running() == RUNNING["endpoint"]
    control.check_usable()  # nothing to say


def test_with_none_running_the_message_says_why_and_how_to_fix_it(no_moto):
    with pytest.raises(UsageError) as raised:
        control.ensure_running()
    message = str(raised.value)
    assert f"none is running for the home folder {no_moto} (no readable {no_moto / LOCAL_STATE_FILE})" in message
    assert "moto is not installed" in message and "pip install 'cognito-runbook[local]'" in message
    assert f"cognito-runbook local start) with the same {HOME_ENV} ({no_moto})" in message


def test_a_state_file_whose_server_does_not_answer_is_named(no_moto, monkeypatch):
    state_file(no_moto, False, monkeypatch)
    with pytest.raises(UsageError, match=r"local.json names http://127.0.0.1:45678, which does not answer"):
        control.ensure_running()


def test_run_stops_with_exit_2_before_any_kernel_starts(no_moto, monkeypatch, tmp_path, capsys):
    def no_kernel(*_, **__):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(runner, "start_kernel_ahead", no_kernel)
    out = tmp_path / "run"
    with pytest.raises(UsageError, match="moto is not installed"):
        runner.run(ROOT / "params" / "local.yaml", out, progress=lambda _: None)
    assert not out.exists()

    assert cli.main(["run", str(ROOT / "params" / "local.yaml"), "--out", str(out)]) == EXIT_USAGE
    assert "error: backend: local: none is running" in capsys.readouterr().err
    assert not out.exists()

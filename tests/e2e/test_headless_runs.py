"""Headless runs as a scheduler would make them: the CLI in a subprocess, papermill
kernels, the shared private local AWS. Slow (each run starts a kernel per notebook)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml
from conftest import ROOT, as_admin

from cognito_runbook.backend import Backend
from cognito_runbook.params import parse_params
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.runbook import Runbook
from cognito_runbook.runner import NOTEBOOKS_DIR, select_notebooks

FULL_JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{20,}")


def cli(*args, env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "cognito_runbook.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=900,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def stack_file(tmp_path, local_params_raw, local_aws):
    def write(name: str, **changes) -> Path:
        raw = {**local_params_raw, "stack": name, **changes}
        raw["user_pool"] = {**raw["user_pool"], "domain_prefix": name}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    return write


def runbook_for(path: Path, endpoint: str) -> Runbook:
    params = parse_params(yaml.safe_load(path.read_text()))
    return Runbook(params, Backend("local", params.region, endpoint_url=endpoint))


def test_every_notebook_takes_the_runner_parameters():
    for notebook in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        declared = set(papermill.inspect_notebook(str(notebook)))
        assert {"params_file", "plan", "run_dir"} <= declared, notebook.name
        # papermill must parse every line of the parameters cell (else it warns on every run
        # and the parameter is missing from `papermill --help-notebook`)
        cell = next(
            c for c in nbformat.read(notebook, as_version=4).cells if "parameters" in c.metadata.get("tags", [])
        )
        assigned = {line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line}
        assert assigned == declared, notebook.name


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("backend: local\n", "stack: is required"),
        ("stack: s\nregion: us-middle-9\n", "region:"),
    ],
)
def test_unusable_params_exit_2_before_anything_starts(tmp_path, content, message):
    params = tmp_path / "p.yaml"
    params.write_text(content)
    home = tmp_path / "home"
    code, out = cli("run", params, "--out", tmp_path / "run", env={"COGNITO_RUNBOOK_HOME": str(home)})
    assert code == 2 and message in out, out
    assert not home.exists() and not (tmp_path / "run").exists()  # no local AWS started, no run folder


def test_full_run_then_noop_rerun_leaves_no_secret_behind(stack_file, local_aws, tmp_path):
    params_file = stack_file("runner-full")
    temp = Path(tempfile.mkdtemp(prefix="crt-", dir="/tmp"))  # short: kernels' IPC sockets live there
    code, out = cli("run", params_file, "--out", tmp_path / "run1", env={"TMPDIR": str(temp)})
    assert code == 0, out
    assert list(temp.iterdir()) == [], "a run leaves nothing in the temporary folder"
    temp.rmdir()
    assert not list((tmp_path / "run1").glob("*.lock")) and "Unable to parse" not in out
    assert code == 0, out
    summary = (tmp_path / "run1" / "summary.txt").read_text()
    assert "09_db2.ipynb" in summary and "token_api        create 5" in summary
    assert (tmp_path / "run1" / "db2" / "cognito_userpools.json").exists()

    code, out = cli("run", params_file, "--out", tmp_path / "run2")
    assert code == 0, out
    rerun = (tmp_path / "run2" / "summary.txt").read_text()
    assert (
        re.findall(r"create (\d+), update (\d+), delete (\d+), unchanged \d+  \((\d+) AWS writes\)", rerun)
        == [("0", "0", "0", "0")] * 6
    ), rerun
    assert re.search(r"db2dba\s+verified\s+id eyJ", rerun) and "groups DB2ADMIN,DB2USERS" in rerun

    rb = runbook_for(params_file, local_aws)
    passwords = [PasswordStore(rb.ctx).existing(u) for u in rb.params.users]
    assert all(passwords)
    home = Path(os.environ["COGNITO_RUNBOOK_HOME"])
    scanned = [
        p for p in [*(tmp_path / "run1").rglob("*"), *(tmp_path / "run2").rglob("*"), *home.glob("*")] if p.is_file()
    ]
    assert len(scanned) > 20
    for path in scanned:
        text = path.read_text(errors="replace")
        for password in passwords:
            assert password not in text, f"a password is in {path}"
        assert not FULL_JWT.search(text), f"a full token is in {path}"
        assert not re.search(r"(RefreshToken|refresh_token)\W+[\w-]{20,}", text), f"a refresh token is in {path}"
    code, out = cli("teardown", params_file)
    assert code == 0, out


def test_bad_params_exit_2_before_anything_starts(stack_file, tmp_path):
    params_file = stack_file("runner-bad", groups=[{"name": "PUBLIC"}], memberships={})
    code, out = cli("run", params_file, "--out", tmp_path / "run", env={"COGNITO_RUNBOOK_HOME": str(tmp_path / "home")})
    assert code == 2
    assert "groups[0].name: Db2 group name 'PUBLIC' is reserved" in out
    assert not (tmp_path / "run").exists() and not (tmp_path / "home").exists()


def test_failing_stage_names_the_notebook_and_the_problem(stack_file, tmp_path):
    params_file = stack_file(
        "runner-weak", users=[{"name": "weakling", "password": "env:WEAK_PASSWORD"}], memberships={}
    )
    code, out = cli("run", params_file, "--out", tmp_path / "run", "--to", "2", env={"WEAK_PASSWORD": "short"})
    try:
        assert code == 1
        failure = out[out.index("FAILED") : out.index("executed notebook:")]
        assert "02_users.ipynb, cell" in failure and "StageError" in failure
        assert "users[0].password: the password for 'weakling' does not meet the pool's policy" in failure
        assert "Traceback" not in out and "short" not in failure.replace("shorter", "")
        assert len(failure.splitlines()) <= 6
        assert "TCP without encryption" not in out
    finally:
        cli("teardown", params_file)


def test_plan_reports_console_drift_with_exit_3_and_writes_nothing(stack_file, local_aws, tmp_path, by_hand):
    params_file = stack_file("runner-drift")
    rb = runbook_for(params_file, local_aws)
    rb.provision()
    out = rb.outputs()
    cognito = as_admin(rb).client("cognito-idp")
    by_hand.overwrite_app_client(
        cognito,
        out.pool_id,
        out.client_id,
        ClientName="db2-app-client",
        CallbackURLs=["https://changed.example"],
    )
    try:
        code, text = cli("run", params_file, "--plan", "--out", tmp_path / "plan", "--to", "6")
        assert code == 3, text
        assert "user_pool        would create 0, would update 1" in text
        client = cognito.describe_user_pool_client(UserPoolId=out.pool_id, ClientId=out.client_id)["UserPoolClient"]
        assert client["CallbackURLs"] == ["https://changed.example"]  # plan changed nothing
    finally:
        rb.teardown()


def test_plain_papermill_with_injected_params_file(stack_file, local_aws, tmp_path):
    params_file = stack_file("runner-papermill")
    out_nb = tmp_path / "01.ipynb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(NOTEBOOKS_DIR / "01_user_pool.ipynb"),
            str(out_nb),
            "-f",
            str(params_file),
            "--kernel",
            "python3",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rb = runbook_for(params_file, local_aws)  # the injected stack name was used, not params/local.yaml's
    try:
        assert rb.pool() is not None
    finally:
        rb.teardown()


def test_teardown_selection():
    names = [p.name[:2] for p in select_notebooks(NOTEBOOKS_DIR, teardown=True)]
    assert names == ["00", "99"]
    assert "99" not in [p.name[:2] for p in select_notebooks(NOTEBOOKS_DIR)]


def test_provision_writes_the_same_summary_and_outputs_as_run(stack_file, tmp_path):
    params_file = stack_file("provision-cli")
    code, out = cli("provision", params_file, "user_pool", "users", "--out", tmp_path / "prov")
    assert code == 0, out
    summary = json.loads((tmp_path / "prov" / "summary.json").read_text())
    assert [s["stage"] for s in summary["stages"]] == ["user_pool", "users"] and summary["result"] == "ok"
    assert summary["stages"][0]["counts"]["create"] == 3  # pool, domain, client
    outputs = json.loads((tmp_path / "prov" / "outputs.json").read_text())
    assert outputs["pool_id"] and outputs["client_id"] and outputs["token_url"] is None
    assert "user_pool        create 3" in (tmp_path / "prov" / "summary.txt").read_text()

    code, out = cli("provision", params_file, "token_api", "--out", tmp_path / "early")
    assert code == 1 and "run the token_function stage (notebook 05) first" in out, out
    code, out = cli("provision", params_file, "no_such_stage")
    assert code == 2 and "stages are user_pool, users, groups" in out, out
    code, out = cli("teardown", params_file)
    assert code == 0 and "delete" in out, out


def test_kernel_sockets_fit_under_a_long_temp_folder(tmp_path, monkeypatch):
    from cognito_runbook import kernels

    long_dir = tmp_path / ("x" * 80)
    long_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))
    monkeypatch.setattr(kernels, "_SOCKET_DIR", None)
    try:
        prefix = kernels._socket_prefix()
        assert prefix.startswith("/tmp/cognito-runbook-kernels-") and len(prefix) + 3 < 107
    finally:
        kernels.remove_socket_dir()


def test_a_killed_run_leaves_its_kernel_files_private_and_the_next_run_removes_them(stack_file, local_aws, tmp_path):
    """SIGKILL leaves no chance to clean up: the sockets and the connection files (each holds
    a kernel's signing key) stay in one folder only this user can open, and the next run
    removes it."""
    temp = Path(tempfile.mkdtemp(prefix="krt", dir="/tmp"))  # short: sockets need short paths
    env = {**os.environ, "TMPDIR": str(temp)}
    params_file = stack_file("killed-kernels")
    command = [sys.executable, "-m", "cognito_runbook.cli", "run", str(params_file), "--to", "1"]
    proc = subprocess.Popen([*command, "--out", str(tmp_path / "a")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        folder = _wait_for(lambda: next(temp.glob(f"cognito-runbook-kernels-{proc.pid}-*/kernel-*.json"), None))
    finally:
        proc.kill()
        proc.wait()
    folder = folder.parent
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in temp.iterdir()] == [folder.name]  # no connection file of its own in the temp folder
    try:
        done = subprocess.run(
            [*command[:-2], "--to", "0", "--out", str(tmp_path / "b")], cwd=ROOT, env=env, timeout=300
        )
        assert done.returncode == 0
        assert not folder.exists() and list(temp.iterdir()) == []
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        runbook_for(params_file, local_aws).teardown()


def _wait_for(find, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("the run started no kernel")

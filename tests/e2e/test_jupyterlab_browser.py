"""A person's session in JupyterLab, in a real (headless) Chromium driven by Playwright.

Starts JupyterLab on 127.0.0.1 with a generated token against the shared private local
AWS, opens the users, groups and memberships notebooks, adds a user and a group through
the forms, applies them, checks the result through boto3, then runs the API tokens
notebook and finds the new user's decoded claims on the page. Screenshots of each step
go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
import yaml
from conftest import ROOT, as_admin

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e .[test])"
)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NEW_USER, NEW_GROUP = "dbuser3", "DB2DEV"
BROWSER_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(local_aws, tmp_path_factory):
    """JupyterLab serving a copy of the notebooks (outputs cleared) and params."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "params", root / "params")
    text = (ROOT / "params" / "local.yaml").read_text()  # edited as a person would: its comments stay
    for old, new in (
        ("stack: db2-local ", "stack: browser-stack "),
        ("domain_prefix: db2-local-demo", "domain_prefix: browser-stack"),
        ("# name: generateToken ", "name: generateToken-browser "),
    ):
        assert old in text
        text = text.replace(old, new)
    (root / "params" / "local.yaml").write_text(text)
    (root / "notebooks").mkdir()
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, root / "notebooks" / source.name)
    settings = root / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # Render every cell: with windowing, cells scrolled out of view have no prompt to read.
    notebook_settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    notebook_settings.mkdir(parents=True)
    (notebook_settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "COGNITO_RUNBOOK_RUN_DIR": str(root / "runs"),
    }
    log = open(root / "lab.log", "w")  # noqa: SIM115 (JupyterLab writes to it until the fixture ends)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-2000:]}")
    yield base, token, root
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def page(lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def current(page):
    """The notebook on show (the only one open: see ``open_notebook``)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden):visible")


def shut_down_kernels(lab) -> None:
    """A person done with a notebook closes it; here its kernel is shut down through
    JupyterLab's REST API, so a busy 2-core machine runs one kernel at a time."""
    base, token, _ = lab
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions", headers=headers), timeout=10) as resp:
        sessions = json.loads(resp.read())
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", headers=headers, method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def accept_kernel_dialog(page) -> None:
    """On a busy machine JupyterLab may ask which kernel to start: answer as a person would."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.count() and dialog.first.is_visible():
        dialog.first.get_by_role("button", name="Select").click()


def open_notebook(page, lab, name: str) -> None:
    base, token, _ = lab
    shut_down_kernels(lab)
    page.goto(f"{base}/lab/tree/notebooks/{name}?reset&token={token}")  # reset: this notebook alone
    for _ in range(60):
        accept_kernel_dialog(page)
        if current(page).count():
            break
        time.sleep(1)
    current(page).first.wait_for()
    accept_kernel_dialog(page)
    current(page).locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
        timeout=90_000
    )  # its kernel is up
    # JupyterLab shows "Idle" a moment before a new kernel's channels carry requests, and
    # requests sent in that moment are lost. Run the (harmless) parameters cell until it runs.
    parameters = current(page).locator(".jp-CodeCell").first
    for _ in range(20):
        accept_kernel_dialog(page)
        parameters.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        time.sleep(1.5)
        if parameters.locator(".jp-InputArea-prompt").inner_text().strip() not in ("[ ]:", "[*]:", ""):
            return
    raise AssertionError(f"the kernel of {name} never ran a cell")


def run_all(page) -> None:
    """Run the notebook top to bottom the way a person steps through a runbook: select
    the first cell, then Shift+Enter through every cell."""
    cells = current(page).locator(".jp-Notebook .jp-Cell")
    cells.first.click()
    page.keyboard.press("Escape")  # command mode
    count = cells.count()
    for index in range(count):
        page.keyboard.press("Control+Enter" if index == count - 1 else "Shift+Enter")  # no new cell at the end
        page.keyboard.press("Escape")
    wait_idle(page, every_cell=True)


def wait_idle(page, timeout: float = 120, every_cell: bool = False) -> None:
    """Until no code cell shows [*] (queued or running), and with ``every_cell`` until
    every code cell has run (shows [n])."""
    deadline = time.monotonic() + timeout
    time.sleep(0.5)
    while time.monotonic() < deadline:
        prompts = [p.strip() for p in current(page).locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()]
        # Cells run in order: the last one numbered means every one ran.
        busy = any("*" in p for p in prompts) or (every_cell and prompts[-1] in ("[ ]:", ""))
        if prompts and not busy:
            return
        time.sleep(0.3)
    raise AssertionError(f"cells still running after {timeout} s: {prompts}")


def run_cell(page, containing: str) -> None:
    cell = current(page).locator(".jp-CodeCell", has_text=containing).first
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    wait_idle(page)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_no_error(page) -> None:
    errors = (
        current(page)
        .locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        .all_inner_texts()
    )
    assert not [e for e in errors if "Error" in e], errors


@pytest.fixture
def screenshot_on_failure(page, request):
    yield
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        shot(page, "failure")


def test_person_adds_a_user_and_a_group_and_gets_tokens(lab, page, local_aws, screenshot_on_failure):
    from cognito_runbook import runner
    from cognito_runbook.backend import Backend
    from cognito_runbook.params import load_params
    from cognito_runbook.runbook import Runbook

    _, _, root = lab
    params = load_params(root / "params" / "local.yaml")
    Runbook(params, Backend("local", params.region, endpoint_url=local_aws)).run_stage("user_pool")

    open_notebook(page, lab, "02_users.ipynb")
    run_all(page)
    form = current(page).locator(".widget-vbox", has_text="Users").first
    form.locator("input[placeholder='user name']").first.wait_for()  # the widget rendered, not its text repr
    assert "UsersForm(" not in page.content()
    name_boxes = form.locator("input[placeholder='user name']")
    rows = name_boxes.count()
    form.get_by_role("button", name="Add").click()
    name_boxes.nth(rows).wait_for()  # the new, empty row
    name_box = name_boxes.nth(rows)
    name_box.fill("bad.name")
    form.get_by_text("Db2 names allow only").wait_for()  # inline validation
    shot(page, "01-users-form-validation")
    name_box.fill(NEW_USER)
    run_cell(page, "rb.apply_users(users_form)")
    applied = current(page).locator(".jp-CodeCell", has_text="rb.apply_users(users_form)").first
    applied.locator("table", has_text="Users in DB2UserPool").get_by_text(
        NEW_USER
    ).wait_for()  # the pool's users, after the change
    assert_no_error(page)
    shot(page, "02-users-applied")

    open_notebook(page, lab, "03_groups.ipynb")
    run_all(page)
    groups = current(page).locator(".widget-vbox", has_text="Groups").first
    group_boxes = groups.locator("input[placeholder='Db2 group name']")
    group_boxes.first.wait_for()
    rows = group_boxes.count()
    groups.get_by_role("button", name="Add").click()
    group_boxes.nth(rows).fill(NEW_GROUP)
    run_cell(page, "rb.apply_groups(groups_form)")
    current(page).locator(".jp-CodeCell", has_text="rb.apply_groups(groups_form)").first.get_by_text(
        NEW_GROUP
    ).first.wait_for()
    shot(page, "03-groups-applied")

    open_notebook(page, lab, "04_memberships.ipynb")
    run_all(page)
    row = current(page).locator(".widget-hbox", has=page.locator(".widget-label", has_text=NEW_USER)).first
    row.locator(f".membership-{NEW_GROUP} input[type='checkbox']").check()
    run_cell(page, "rb.apply_memberships(memberships_form)")
    current(page).locator(".jp-CodeCell", has_text="rb.apply_memberships(memberships_form)").first.get_by_text(
        f"{NEW_USER} -> {NEW_GROUP}"
    ).wait_for()
    shot(page, "04-memberships-applied")

    rb = Runbook(params, Backend("local", params.region, endpoint_url=local_aws))
    pool_id = rb.pool()["Id"]
    cognito = as_admin(rb).client("cognito-idp")
    assert cognito.admin_get_user(UserPoolId=pool_id, Username=NEW_USER)["UserStatus"] == "CONFIRMED"
    groups_of_user = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=NEW_USER)["Groups"]
    assert [g["GroupName"] for g in groups_of_user] == [NEW_GROUP]

    rb.provision(["token_function", "token_api"])
    # The forms saved to the params file: the scheduled run's plan agrees with the person.
    on_disk = (root / "params" / "local.yaml").read_text()
    assert "# tags everything this runbook creates" in on_disk and "# named exactly as the Db2 groups" in on_disk
    saved = yaml.safe_load(on_disk)
    assert NEW_USER in [u["name"] for u in saved["users"]] and NEW_GROUP in saved["memberships"][NEW_USER]
    plan = runner.run(root / "params" / "local.yaml", root / "runs" / "plan", plan=True, progress=lambda _: None)
    assert plan.exit_code == 0, (root / "runs" / "plan" / "summary.txt").read_text()

    open_notebook(page, lab, "07_tokens_via_api.ipynb")
    run_all(page)
    claims = current(page).locator("table", has_text=f"{NEW_USER}: ID token claims (verified)").first
    claims.wait_for()
    assert NEW_GROUP in claims.inner_text()
    assert_no_error(page)
    shot(page, "05-tokens-claims")
    rb.teardown()

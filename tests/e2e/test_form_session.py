"""A form session against the local AWS: the forms save to the params file, and a headless plan then sees no drift."""

from __future__ import annotations

import os

import yaml
from conftest import ROOT

from cognito_runbook.notebook import open_runbook
from cognito_runbook.runbook import Runbook

LOCAL = (ROOT / "params" / "local.yaml").read_text()


def comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]


def test_a_form_session_saves_to_the_params_file_and_the_plan_then_sees_no_drift(tmp_path, local_aws):
    path = tmp_path / "forms.yaml"
    path.write_text(LOCAL.replace("stack: db2-local ", "stack: forms-stack ").replace("db2-local-demo", "forms-stack"))
    rb = open_runbook(str(path))
    rb.runbook.provision(["user_pool"])

    users = rb.users_form()
    row = users.add_row({"name": "dbuser3"})
    row["email"].value = "dbuser3@example.com"
    saved = rb.apply_users(users)
    assert f"Saved to {path}" in str(saved) and "+  - name: dbuser3" in str(saved)

    groups = rb.groups_form()
    groups.add_row({"name": "DB2DEV"})
    rb.apply_groups(groups)

    form = rb.memberships_form()
    form.set_groups("dbuser3", ["DB2DEV", "DB2USERS"])
    form.set_groups("appuser", [])  # a membership unticked
    rb.apply_memberships(form)

    text = path.read_text()
    assert comments(text) == comments(LOCAL)
    raw = yaml.safe_load(text)
    assert {"name": "dbuser3", "email": "dbuser3@example.com", "password": "generate"} in raw["users"]
    assert raw["memberships"]["dbuser3"] == ["DB2USERS", "DB2DEV"] and raw["memberships"]["appuser"] == []

    plan = Runbook.open(path, plan=True)
    drift = [
        c for r in plan.provision(["user_pool", "users", "groups", "memberships"]) for c in r.changes if c.is_change
    ]
    assert drift == []

    again = open_runbook(str(path))  # headless: the forms as the file fills them
    before = os.stat(path).st_mtime_ns
    again.apply_users(again.users_form())
    again.apply_memberships(again.memberships_form())
    assert os.stat(path).st_mtime_ns == before  # nothing to save, the file untouched
    again.runbook.teardown()

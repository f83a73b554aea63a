"""The forms save to the params file: one source of truth for a person in JupyterLab and
the scheduled headless run. Round-trip edits keep the file's comments; a file that
changed on disk, or cannot be written, is refused with the diff, and nothing changes."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

from cognito_runbook import params_file
from cognito_runbook.params_file import ParamsEdit, ParamsFileError
from cognito_runbook.widgets import GroupsForm, MembershipsForm, UsersForm

LOCAL = (ROOT / "params" / "local.yaml").read_text()


def comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]


def test_an_edit_changes_only_the_entries_that_changed_and_keeps_every_comment(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(LOCAL)
    edit = ParamsEdit.read(path)
    users = yaml.safe_load(LOCAL)["users"] + [{"name": "newbie", "password": "env:NEWBIE_PW", "enabled": False}]
    edit.set_named("users", users)
    edit.set_memberships({**yaml.safe_load(LOCAL)["memberships"], "newbie": ["DB2USERS"]})
    diff = edit.save()
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == [
        "+  - name: newbie",
        "+    password: env:NEWBIE_PW",
        "+    enabled: false",
        "+  newbie: [DB2USERS]",
    ]
    assert not [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert comments(path.read_text()) == comments(LOCAL)
    assert ParamsEdit.read(path).diff() == ""  # a reload renders the same text


def test_a_default_written_out_or_left_implicit_is_not_an_edit(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("stack: s\nusers:\n  - name: a   # left implicit\n  - name: b\n    password: generate\n")
    edit = ParamsEdit.read(path)
    edit.set_named("users", [{"name": "a", "password": "generate"}, {"name": "b", "password": "generate"}])
    assert edit.diff() == ""


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(LOCAL)
    edit = ParamsEdit.read(path)
    edit.set_named("groups", [{"name": "DB2ADMIN"}])
    path.write_text(LOCAL + "# someone else's edit\n")
    with pytest.raises(ParamsFileError, match="changed on disk") as caught:
        edit.save()
    assert "-  - name: DB2USERS" in str(caught.value)  # the diff to apply by hand
    assert path.read_text().endswith("# someone else's edit\n")
    assert caught.value.exit_code == 2


def test_a_file_that_cannot_be_written_keeps_its_content(tmp_path, monkeypatch):
    path = tmp_path / "p.yaml"
    path.write_text(LOCAL)
    edit = ParamsEdit.read(path)
    edit.set_value("user_pool.name", "Other")
    monkeypatch.setattr(params_file.os, "access", lambda *_: False)  # root could write a 0444 file anyway
    with pytest.raises(ParamsFileError, match="not writable") as caught:
        edit.save()
    assert "+  name: Other" in str(caught.value)
    assert path.read_text() == LOCAL


def test_a_forms_sections_are_saved_by_meaning_and_only_diffed_in_a_plan(tmp_path):
    from cognito_runbook.errors import ParamsError
    from cognito_runbook.params import load_params

    path = tmp_path / "p.yaml"
    path.write_text(LOCAL)
    current = load_params(path)
    as_read = {
        "users": [u.model_dump(mode="json") for u in current.users],
        "memberships": {"appuser": [], **current.memberships},
    }
    assert params_file.save_sections(path, LOCAL, current, as_read) is None  # same meaning: nothing to save

    users = [*as_read["users"], {"name": "newbie", "password": "env:NEWBIE_PW"}]
    planned = params_file.save_sections(path, LOCAL, current, {"users": users}, plan=True)
    assert not planned.written and "+  - name: newbie" in planned.diff and planned.text == LOCAL
    assert path.read_text() == LOCAL  # a plan writes nothing
    assert [u.name for u in planned.params.users][-1] == "newbie"

    saved = params_file.save_sections(path, LOCAL, current, {"users": users})
    assert saved.written and saved.diff == planned.diff and saved.text == path.read_text() != LOCAL
    assert str(saved.params.users[-1].password) == "env:NEWBIE_PW"

    with pytest.raises(ParamsError, match="the form"):  # validated with the rest, before any write
        params_file.save_sections(path, saved.text, saved.params, {"memberships": {"nobody": ["DB2USERS"]}})
    assert path.read_text() == saved.text


def test_forms_read_as_tables_where_no_widget_manager_runs():
    from cognito_runbook.params import parse_params

    params = parse_params(yaml.safe_load(LOCAL))
    for form in (UsersForm(params.users), GroupsForm(params.groups)):
        bundle = form._repr_mimebundle_()
        assert "Form(" not in bundle["text/plain"] and "<table>" in bundle["text/html"]
    memberships = MembershipsForm(["db2dba"], ["DB2ADMIN"], {"db2dba": ["DB2ADMIN"]})
    assert "db2dba  DB2ADMIN" in memberships._repr_mimebundle_()["text/plain"]


def test_the_memberships_form_filters_and_pages_without_losing_a_tick():
    users = [f"user{i:03d}" for i in range(120)]
    form = MembershipsForm(users, ["DB2ADMIN", "DB2USERS"], {"user007": ["DB2USERS"]}, page_size=25)
    assert "page 1 of 5" in form._position.value
    form.show(filter_text="user1")
    assert form.matching()[:2] == ["user100", "user101"] and len(form.matching()) == 20
    grid_row = form._rows.children[1]  # after the header row of group names
    grid_row.children[1].value = True  # tick DB2ADMIN for user100
    form.show(filter_text="")
    form.show(page=4)
    assert form.values()["user100"] == ["DB2ADMIN"] and form.values()["user007"] == ["DB2USERS"]
    many = MembershipsForm(users[:3], [f"G{i}" for i in range(12)], {})
    assert not many.grid  # too many groups for a grid: a multiple choice per user

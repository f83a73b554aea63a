"""ipywidgets forms for users, groups and memberships.

Each form is pre-filled from the params file (and, for memberships, from what the pool
already holds). Editing validates each row inline. Applying is *not* a button
callback (headless runs never fire callbacks): the notebook's next cell calls
``form.values()`` and hands the rows to the stage, so a headless run applies the
params unchanged and an interactive run applies what was typed.

Typed passwords stay in the widget only until applied; ``values()`` returns them
separately (memory only) and ``clear_passwords()`` empties the widgets afterwards so
a saved notebook never holds them.
"""

from __future__ import annotations

import html

import ipywidgets as w

from .db2 import db2_name_problems
from .params import ENV_VAR_RE

PASSWORD_CHOICES = [
    ("generate (kept in Secrets Manager)", "generate"),
    ("environment variable", "env"),
    ("type it now", "typed"),
]
_LAYOUT = {"name": w.Layout(width="180px"), "wide": w.Layout(width="240px"), "small": w.Layout(width="120px")}


def _problem_html(problems: list[str]) -> str:
    return "<br>".join(f'<span style="color:#c62828">{html.escape(p)}</span>' for p in problems)


class _RowsForm(w.VBox):
    """A list of rows with an add button and a remove button per row."""

    title = ""

    def __init__(self, rows: list[dict]):
        self._rows: list[dict] = []
        self._list = w.VBox()
        self._add = w.Button(description="Add", icon="plus", layout=w.Layout(width="90px"))
        self._add.on_click(lambda _: self.add_row({}))
        super().__init__([w.HTML(f"<b>{self.title}</b>"), self._list, self._add])
        for row in rows:
            self.add_row(row)

    def add_row(self, values: dict) -> dict:
        row = self._make_row(values)
        remove = w.Button(icon="trash", tooltip="remove this row", layout=w.Layout(width="40px"))
        row["status"] = w.HTML(layout=w.Layout(width="24px"))
        row["message"] = w.HTML()  # below the row, full width: problems are sentences
        row["box"] = w.VBox([w.HBox([*row["widgets"], remove, row["status"]]), row["message"]])
        remove.on_click(lambda _: self.remove_row(row))
        for widget in row["widgets"]:
            widget.observe(lambda _change: self._validate(), names="value")
        self._rows.append(row)
        self._list.children = [r["box"] for r in self._rows]
        self._validate()
        return row

    def remove_row(self, row: dict) -> None:
        self._rows.remove(row)
        self._list.children = [r["box"] for r in self._rows]
        self._validate()

    @property
    def rows(self) -> list[dict]:
        return self._rows

    def problems(self) -> list[str]:
        """Every problem of the form, as 'row N: ...' (empty when it can be applied)."""
        out = []
        for i, row in enumerate(self._rows):
            out += [f"{self.title.lower()} row {i + 1}: {p}" for p in self._row_problems(row)]
        return out

    def _validate(self) -> None:
        names = [self._row_name(r).lower() for r in self._rows]
        for row in self._rows:
            problems = self._row_problems(row)
            if names.count(self._row_name(row).lower()) > 1:
                problems.append("appears twice")
            row["status"].value = (
                '<span style="color:#c62828">✗</span>' if problems else '<span style="color:#2e7d32">✓</span>'
            )
            row["message"].value = _problem_html(problems) if problems else ""

    def _row_name(self, row: dict) -> str:
        return row["name"].value.strip()


class UsersForm(_RowsForm):
    title = "Users"

    def __init__(self, users, db2_names: bool = True):
        self.db2_names = db2_names
        super().__init__([{"name": u.name, "email": u.email or "", "password": u.password} for u in users])

    def _make_row(self, values: dict) -> dict:
        source = values.get("password", "generate")
        choice = "env" if source.startswith("env:") else ("typed" if source == "prompt" else "generate")
        row = {
            "name": w.Text(values.get("name", ""), placeholder="user name", layout=_LAYOUT["name"]),
            "email": w.Text(values.get("email", ""), placeholder="email (optional)", layout=_LAYOUT["wide"]),
            "source": w.Dropdown(options=PASSWORD_CHOICES, value=choice, layout=_LAYOUT["wide"]),
            "env": w.Text(
                source[4:] if source.startswith("env:") else "", placeholder="VARIABLE_NAME", layout=_LAYOUT["small"]
            ),
            "password": w.Password(placeholder="password", layout=_LAYOUT["small"]),
        }
        row["widgets"] = [row[k] for k in ("name", "email", "source", "env", "password")]
        return row

    def _row_problems(self, row: dict) -> list[str]:
        name = self._row_name(row)
        problems = (
            [f"name {p}" for p in db2_name_problems(name)] if self.db2_names else ([] if name else ["name is empty"])
        )
        source = row["source"].value
        if source == "env" and not ENV_VAR_RE.match("env:" + row["env"].value.strip()):
            problems.append("give the environment variable's name")
        return problems

    def values(self) -> tuple[list[dict], dict[str, str]]:
        """(user entries for the params, typed passwords by user name: memory only)."""
        users, typed = [], {}
        for row in self._rows:
            name = self._row_name(row)
            source = row["source"].value
            entry = {
                "name": name,
                "password": {"generate": "generate", "env": f"env:{row['env'].value.strip()}", "typed": "prompt"}[
                    source
                ],
            }
            if row["email"].value.strip():
                entry["email"] = row["email"].value.strip()
            if source == "typed" and row["password"].value:
                typed[name] = row["password"].value
            users.append(entry)
        return users, typed

    def clear_passwords(self) -> None:
        for row in self._rows:
            row["password"].value = ""


class GroupsForm(_RowsForm):
    title = "Groups"

    def __init__(self, groups):
        super().__init__([{"name": g.name, "description": g.description, "precedence": g.precedence} for g in groups])

    def _make_row(self, values: dict) -> dict:
        row = {
            "name": w.Text(values.get("name", ""), placeholder="Db2 group name", layout=_LAYOUT["name"]),
            "description": w.Text(values.get("description", ""), placeholder="description", layout=_LAYOUT["wide"]),
            "precedence": values.get("precedence"),  # kept as given in the params (not edited here)
        }
        row["widgets"] = [row["name"], row["description"]]
        return row

    def _row_problems(self, row: dict) -> list[str]:
        return [f"Db2 group name {p}" for p in db2_name_problems(self._row_name(row))]

    def values(self) -> list[dict]:
        return [
            {
                "name": self._row_name(r),
                "description": r["description"].value.strip(),
                **({"precedence": r["precedence"]} if r.get("precedence") is not None else {}),
            }
            for r in self._rows
        ]


class MembershipsForm(w.VBox):
    """One row per user: the groups the user should be in."""

    def __init__(self, users: list[str], groups: list[str], memberships: dict[str, list[str]]):
        self.users, self.groups = list(users), list(groups)
        self._selects: dict[str, w.SelectMultiple] = {}
        rows = []
        for user in users:
            chosen = [g for g in memberships.get(user, []) if g in groups]
            select = w.SelectMultiple(
                options=groups, value=tuple(chosen), rows=min(max(len(groups), 2), 6), layout=_LAYOUT["wide"]
            )
            self._selects[user] = select
            rows.append(w.HBox([w.Label(user, layout=_LAYOUT["name"]), select]))
        super().__init__([w.HTML("<b>Memberships</b> (ctrl/cmd-click to pick several groups)"), *rows])

    def values(self) -> dict[str, list[str]]:
        return {user: list(select.value) for user, select in self._selects.items()}

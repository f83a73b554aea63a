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
from .display import Table
from .params import ENV_VAR_NAME_RE, PasswordSource

PASSWORD_CHOICES = [
    ("generate (kept in Secrets Manager)", "generate"),
    ("environment variable", "env"),
    ("type it now", "typed"),
]
_LAYOUT = {"name": w.Layout(width="180px"), "wide": w.Layout(width="240px"), "small": w.Layout(width="120px")}


def _problem_html(problems: list[str]) -> str:
    return "<br>".join(f'<span style="color:#c62828">{html.escape(p)}</span>' for p in problems)


class _Readable:
    """Where no widget manager runs (the committed notebooks on a code host, a static HTML
    export) a form shows a table of its rows instead of the widget's internal repr."""

    def summary(self) -> Table:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        table = self.summary()
        data.update({"text/plain": str(table), "text/html": table._repr_html_()})
        return data


class _RowsForm(_Readable, w.VBox):
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
        super().__init__(
            [{"name": u.name, "email": u.email or "", "password": str(u.password), "enabled": u.enabled} for u in users]
        )

    def _make_row(self, values: dict) -> dict:
        source = PasswordSource.parse(values.get("password", "generate"))
        choice = {"env": "env", "prompt": "typed", "generate": "generate"}[source.kind]
        row = {
            "name": w.Text(values.get("name", ""), placeholder="user name", layout=_LAYOUT["name"]),
            "email": w.Text(values.get("email", ""), placeholder="email (optional)", layout=_LAYOUT["wide"]),
            "source": w.Dropdown(options=PASSWORD_CHOICES, value=choice, layout=_LAYOUT["wide"]),
            "env": w.Text(source.var or "", placeholder="VARIABLE_NAME", layout=_LAYOUT["small"]),
            "password": w.Password(placeholder="password", layout=_LAYOUT["small"]),
            "enabled": w.Checkbox(
                values.get("enabled", True), description="enabled", indent=False, layout=w.Layout(width="90px")
            ),
        }
        row["widgets"] = [row[k] for k in ("name", "email", "source", "env", "password", "enabled")]
        return row

    def _row_problems(self, row: dict) -> list[str]:
        name = self._row_name(row)
        problems = (
            [f"name {p}" for p in db2_name_problems(name)] if self.db2_names else ([] if name else ["name is empty"])
        )
        source = row["source"].value
        if source == "env" and not ENV_VAR_NAME_RE.match(row["env"].value.strip()):
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
            if not row["enabled"].value:
                entry["enabled"] = False
            if source == "typed" and row["password"].value:
                typed[name] = row["password"].value
            users.append(entry)
        return users, typed

    def clear_passwords(self) -> None:
        for row in self._rows:
            row["password"].value = ""

    def summary(self) -> Table:
        users, _ = self.values()
        rows = [
            [u["name"], u.get("email", ""), u["password"], "yes" if u.get("enabled", True) else "no"] for u in users
        ]
        return Table(["user", "email", "password from", "enabled"], rows, "Users form (the params file's users)")


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

    def summary(self) -> Table:
        rows = [[g["name"], g["description"]] for g in self.values()]
        return Table(["group", "description"], rows, "Groups form (the params file's groups)")


class MembershipsForm(_Readable, w.VBox):
    """Which user is in which group: a users-by-groups grid of checkboxes (a multiple
    choice per user when there are too many groups for a grid), a filter by user name,
    and pages of ``page_size`` users so hundreds of users stay usable.

    The choices live in ``chosen``, not in the widgets: filtering and paging redraw the
    rows without losing a tick."""

    GRID_GROUPS = 8  # more groups than this: a multiple choice per user instead of a grid

    def __init__(self, users: list[str], groups: list[str], memberships: dict[str, list[str]], page_size: int = 25):
        self.users, self.groups, self.page_size = list(users), list(groups), page_size
        self.chosen = {u: [g for g in groups if g in memberships.get(u, [])] for u in users}
        self.page = 0
        self._filter = w.Text(placeholder="filter users by name", layout=_LAYOUT["wide"])
        self._filter.observe(lambda _change: self.show(page=0), names="value")
        self._previous = w.Button(icon="arrow-left", tooltip="previous page", layout=w.Layout(width="40px"))
        self._next = w.Button(icon="arrow-right", tooltip="next page", layout=w.Layout(width="40px"))
        self._previous.on_click(lambda _: self.show(page=self.page - 1))
        self._next.on_click(lambda _: self.show(page=self.page + 1))
        self._position = w.HTML()
        self._rows = w.VBox()
        hint = "" if self.grid else " (ctrl/cmd-click to pick several groups)"
        super().__init__(
            [
                w.HTML(f"<b>Memberships</b>{hint}"),
                w.HBox([self._filter, self._previous, self._next, self._position]),
                self._rows,
            ]
        )
        self.show()

    @property
    def grid(self) -> bool:
        return len(self.groups) <= self.GRID_GROUPS

    def matching(self) -> list[str]:
        text = self._filter.value.strip().lower()
        return [u for u in self.users if text in u.lower()]

    def show(self, page: int | None = None, filter_text: str | None = None) -> None:
        """Draw one page of the users matching the filter."""
        if filter_text is not None:
            self._filter.value = filter_text  # observed: redraws from page 0
            return
        users = self.matching()
        pages = max(1, -(-len(users) // self.page_size))
        self.page = min(max(page if page is not None else self.page, 0), pages - 1)
        shown = users[self.page * self.page_size : (self.page + 1) * self.page_size]
        self._previous.disabled, self._next.disabled = self.page == 0, self.page >= pages - 1
        self._position.value = f"page {self.page + 1} of {pages} · {len(users)} of {len(self.users)} users"
        header = [w.HBox([w.Label("", layout=_LAYOUT["name"]), *[self._column(g) for g in self.groups]])]
        self._rows.children = (header if self.grid else []) + [self._row(u) for u in shown]

    def _column(self, group: str) -> w.Widget:
        return w.HTML(f"<b>{html.escape(group)}</b>", layout=w.Layout(width="100px"))

    def _row(self, user: str) -> w.Widget:
        label = w.Label(user, layout=_LAYOUT["name"])
        if not self.grid:
            select = w.SelectMultiple(
                options=self.groups, value=tuple(self.chosen[user]), rows=min(max(len(self.groups), 2), 6)
            )
            select.observe(lambda change: self._set(user, list(change["new"])), names="value")
            return w.HBox([label, select])
        boxes = []
        for group in self.groups:
            box = w.Checkbox(group in self.chosen[user], indent=False, layout=w.Layout(width="100px"))
            box.add_class(f"membership-{group}")
            box.observe(lambda change, g=group: self._tick(user, g, change["new"]), names="value")
            boxes.append(box)
        return w.HBox([label, *boxes])

    def _tick(self, user: str, group: str, on: bool) -> None:
        wanted = set(self.chosen[user]) | {group} if on else set(self.chosen[user]) - {group}
        self._set(user, [g for g in self.groups if g in wanted])

    def _set(self, user: str, groups: list[str]) -> None:
        self.chosen[user] = groups

    def set_groups(self, user: str, groups: list[str]) -> None:
        """Choose a user's groups from code (and redraw the page showing them)."""
        self._set(user, [g for g in self.groups if g in groups])
        self.show()

    def values(self) -> dict[str, list[str]]:
        return {user: list(groups) for user, groups in self.chosen.items()}

    def summary(self) -> Table:
        rows = [[u, ", ".join(gs)] for u, gs in self.values().items()]
        return Table(["user", "groups"], rows, "Memberships form (the params file's memberships)")

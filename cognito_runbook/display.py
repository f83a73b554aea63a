"""Readable results for notebooks and terminals: small tables with HTML and text forms."""

from __future__ import annotations

import html


class Table:
    """Rows shown as an HTML table in Jupyter and as aligned text elsewhere."""

    def __init__(self, headers: list[str], rows: list[list], caption: str = ""):
        self.headers = headers
        self.rows = [["" if v is None else str(v) for v in row] for row in rows]
        self.caption = caption

    def _repr_html_(self) -> str:
        head = "".join(f'<th style="text-align:left">{html.escape(h)}</th>' for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f'<td style="text-align:left">{html.escape(v)}</td>' for v in row) + "</tr>"
            for row in self.rows
        )
        caption = (
            f'<caption style="text-align:left"><b>{html.escape(self.caption)}</b></caption>' if self.caption else ""
        )
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __str__(self) -> str:
        widths = [
            max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h) for i, h in enumerate(self.headers)
        ]
        line = lambda cells: "  ".join(c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()
        out = [self.caption] if self.caption else []
        out += [line(self.headers), line(["-" * w for w in widths])] + [line(r) for r in self.rows]
        return "\n".join(out)

    __repr__ = __str__


DIFF_COLOURS = {"+": "#2e7d32", "-": "#c62828", "@": "#6a1b9a"}


class Diff:
    """A change to a file as a unified diff, coloured in Jupyter."""

    def __init__(self, diff: str, caption: str):
        self.diff, self.caption = diff, caption

    def _repr_html_(self) -> str:
        lines = []
        for line in self.diff.splitlines():
            colour = DIFF_COLOURS.get(line[:1]) if not line.startswith(("+++", "---")) else None
            text = html.escape(line)
            lines.append(f'<span style="color:{colour}">{text}</span>' if colour else text)
        return f"<b>{html.escape(self.caption)}</b><pre>" + "\n".join(lines) + "</pre>"

    def __str__(self) -> str:
        return f"{self.caption}\n{self.diff}"

    __repr__ = __str__


class Tables:
    """Several results shown as one cell output (what changed, then what is there now)."""

    def __init__(self, *tables: Table | Diff | None):
        self.tables = [t for t in tables if t is not None]

    def _repr_html_(self) -> str:
        return "<br>".join(t._repr_html_() for t in self.tables)

    def __str__(self) -> str:
        return "\n\n".join(str(t) for t in self.tables)

    __repr__ = __str__


def changes_table(result) -> Table:
    counts = result.counts()
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "nothing to do"
    rows = [[c.action, c.resource, c.name, c.detail] for c in result.changes]
    return Table(["action", "resource", "name", "detail"], rows, caption=f"{result.stage}: {summary}")


def key_value_table(pairs, caption: str = "") -> Table:
    return Table(["", ""], [[k, v] for k, v in pairs], caption=caption)

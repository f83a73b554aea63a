"""Change a params file the way a person would: only the entries that changed, with the
file's comments, key order and layout kept (round-trip YAML), and never over a file that
changed on disk since it was read.

The forms (notebooks 02-04, through ``save_sections``) and ``cognito-runbook adopt
--write-params`` write through here, so the interactive and the scheduled runs share one
source of truth.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import RunbookError
from .params import Params, parse_params

# What a missing field means in a users or groups entry: an entry is only edited where its
# meaning changes, so `password: generate` written out or left implicit both stay as they are.
ENTRY_DEFAULTS = {
    "users": {"email": None, "password": "generate", "enabled": True},
    "groups": {"description": "", "precedence": None},
}


class ParamsFileError(RunbookError):
    """The change could not be written; the message carries the diff to apply by hand."""

    exit_code = 2


def _yaml() -> YAML:
    yaml = YAML()  # round trip: comments, order, quoting and flow style survive
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of params/*.yaml
    yaml.width = 120
    return yaml


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()  # memberships read best as [A, B]
    return seq


class ParamsEdit:
    """A params file as read (``original``), and the changes laid over it."""

    def __init__(self, path: str | Path, original: str):
        self.path = Path(path)
        self.original = original
        self.data = _yaml().load(original) if original.strip() else CommentedMap()
        if not isinstance(self.data, CommentedMap):
            raise ParamsFileError(f"{self.path}: the file is not a mapping of settings; it cannot be edited")

    @classmethod
    def read(cls, path: str | Path) -> ParamsEdit:
        return cls(path, Path(path).read_text())

    # -- changes ---------------------------------------------------------------------

    def set_named(self, key: str, entries: list[dict[str, Any]]) -> None:
        """Make list ``key`` hold ``entries`` (matched by name): changed entries are edited in
        place (their comments stay), removed ones dropped, new ones appended."""
        seq = self.data.get(key)
        if not isinstance(seq, list):
            seq = CommentedSeq()
            self.data[key] = seq
        with _tail_kept(seq):
            self._merge_named(seq, entries, ENTRY_DEFAULTS.get(key, {}))

    @staticmethod
    def _merge_named(seq: CommentedSeq, entries: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
        wanted = {e["name"]: e for e in entries}
        for index in reversed(range(len(seq))):
            item = seq[index]
            if not isinstance(item, dict) or item.get("name") not in wanted:
                del seq[index]
        present = {item["name"]: item for item in seq}
        for entry in entries:
            item = present.get(entry["name"])
            if item is None:  # written out: the name, where the password comes from, what is not default
                seq.append(
                    CommentedMap({k: v for k, v in entry.items() if k in ("name", "password") or v != defaults.get(k)})
                )
                continue
            for field in [f for f in item if f not in entry and item[f] != defaults.get(f)]:
                del item[field]
            for field, value in entry.items():
                if item.get(field, defaults.get(field)) != value:
                    item[field] = value

    def set_memberships(self, memberships: dict[str, list[str]]) -> None:
        mapping = self.data.get("memberships")
        if not isinstance(mapping, dict):
            mapping = CommentedMap()
            self.data["memberships"] = mapping
        with _tail_kept(mapping):
            self._merge_memberships(mapping, memberships)

    @staticmethod
    def _merge_memberships(mapping: CommentedMap, memberships: dict[str, list[str]]) -> None:
        for user in [u for u in mapping if u not in memberships]:
            del mapping[user]
        for user, groups in memberships.items():
            if user in mapping:
                if list(mapping[user] or []) != list(groups):
                    mapping[user] = _flow(list(groups))
            elif groups:
                mapping[user] = _flow(list(groups))

    def set_value(self, dotted: str, value: Any) -> None:
        """One setting, e.g. ``user_pool.name``; parents are made as needed."""
        *parents, leaf = dotted.split(".")
        node = self.data
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = CommentedMap()
            node = node[key]
        if node.get(leaf) != value:
            node[leaf] = value

    # -- result ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        out = io.StringIO()
        _yaml().dump(self.data, out)
        return out.getvalue()

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self) -> str:
        name = str(self.path)
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True), self.text.splitlines(keepends=True), name, name
        )
        return "".join(lines)

    def save(self) -> str:
        """Write the change and return its diff ("" when there was none). Refuses, with the
        diff to apply by hand, a file that changed on disk since it was read or that cannot
        be written; the file is then left exactly as it was."""
        diff = self.diff()
        if not diff:
            return ""
        try:
            on_disk = self.path.read_text()
        except OSError as err:
            raise self._refused(f"it cannot be read any more ({err.strerror})", diff) from None
        if on_disk != self.original:
            raise self._refused(
                "it changed on disk since the runbook read it (another person, an editor or a scheduled job); "
                "re-run the notebook from the top to read it again, then make the change again",
                diff,
            )
        if not os.access(self.path, os.W_OK):
            raise self._refused("it is not writable by this user", diff)
        _replace(self.path, self.text)
        self.original = self.text
        return diff

    def _refused(self, why: str, diff: str) -> ParamsFileError:
        return ParamsFileError(
            f"params file {self.path}: not saved: {why}. Nothing was changed in AWS or in the file. "
            f"The change, to apply by hand:\n{diff}"
        )


# -- a form's sections, saved -------------------------------------------------------------

FORM_SECTIONS = ("users", "groups", "memberships")


def people(params: Params) -> tuple:
    """What the forms edit, in a form that compares by meaning (an empty membership list
    is the same as none)."""
    return (
        [u.model_dump() for u in params.users],
        [g.model_dump() for g in params.groups],
        {u: gs for u, gs in params.memberships.items() if gs},
    )


@dataclass(frozen=True)
class SavedSections:
    params: Params  # the params with the form's sections: what the run uses from now on
    diff: str  # the file's change ("" when the text came out the same)
    written: bool  # False in a plan: the file was only diffed
    text: str  # the file's text as it now stands on disk (the next change is laid over it)


def save_sections(
    path: str | Path, original: str, current: Params, sections: dict[str, Any], plan: bool = False
) -> SavedSections | None:
    """Make a form's ``sections`` (``users``, ``groups``, ``memberships``) the params:
    validated with the rest (every problem at once), then, unless they mean what ``current``
    already says, laid over the file's text as read (``original``: comments and layout kept)
    and saved, or in a ``plan`` only diffed. None when nothing changes by meaning (headless:
    the form as the params filled it). If validating or saving fails nothing is written, and
    the caller must change nothing either (``ParamsFileError`` carries the diff)."""
    unknown = [k for k in sections if k not in FORM_SECTIONS]
    if unknown:
        raise ValueError(f"not a form's section: {', '.join(unknown)}")  # a bug, not a user error
    raw = current.model_dump(exclude_none=True)
    raw.update(sections)
    params = parse_params(raw, source="the form")
    if people(params) == people(current):
        return None
    edit = ParamsEdit(path, original)
    for key in ("users", "groups"):
        if key in sections:
            edit.set_named(key, sections[key])
    if "memberships" in sections:
        edit.set_memberships(sections["memberships"])
    if plan:
        return SavedSections(params, edit.diff(), False, original)
    diff = edit.save()
    return SavedSections(params, diff, True, edit.original)


def _last_key(node) -> tuple[Any, Any] | None:
    """(mapping, key) whose comment slot holds what follows ``node`` in the file (in
    ruamel, the blank line before the next section hangs on the deepest last key)."""
    while True:
        if isinstance(node, dict) and node:
            key = list(node)[-1]
            value = node[key]
            if isinstance(value, dict | list) and value and not getattr(value.fa, "_flow_style", False):
                node = value
                continue
            return node, key
        if isinstance(node, list) and node:
            node = node[-1]
            continue
        return None


@contextlib.contextmanager
def _tail_kept(node):
    """Keep the comment (often just a blank line) after a list or mapping where it was:
    after its new last entry, however the entries changed."""
    before = _last_key(node)
    tail = before[0].ca.items.get(before[1], [None] * 4)[2] if before else None
    if before and tail is not None:
        before[0].ca.items[before[1]][2] = None
    yield
    after = _last_key(node)
    if tail is not None and after is not None:
        slot = after[0].ca.items.setdefault(after[1], [None, None, None, None])
        slot[2] = tail


def _replace(path: Path, text: str) -> None:
    """Write atomically (a reader never sees half a file), keeping the file's mode."""
    mode = path.stat().st_mode & 0o777
    directory = path.parent if os.access(path.parent, os.W_OK) else None
    if directory is None:  # a writable file in a read-only folder: write in place
        path.write_text(text)
        return
    with tempfile.NamedTemporaryFile("w", dir=directory, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(text)
    os.chmod(tmp.name, mode)
    os.replace(tmp.name, path)

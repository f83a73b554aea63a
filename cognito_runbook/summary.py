"""The run summary: what each stage created, updated, deleted or left unchanged.

Notebooks run in separate kernels, so each stage appends its record to
``<run dir>/summary.json``; the runner adds notebook timings and writes a short
``summary.txt`` next to it. No secrets: only resource names and counts.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from filelock import FileLock

from .constants import locks_dir

SUMMARY_JSON = "summary.json"


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"stages": []}


def _lock_for(run_dir: Path) -> Path:
    """The run folder's lock lives with the other locks, not among the run's files."""
    digest = hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]
    return locks_dir() / f"summary-{digest}.lock"


def _update(run_dir: Path, change) -> None:
    """Read-modify-write summary.json under a lock (notebooks run in separate kernels)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / SUMMARY_JSON
    with FileLock(str(_lock_for(run_dir))):
        data = _load(path)
        change(data)
        path.write_text(json.dumps(data, indent=2) + "\n")


def record_stage(run_dir: Path, result, plan: bool) -> None:
    entry = {
        "stage": result.stage,
        "plan": plan,
        "counts": result.counts(),
        "seconds": round(result.seconds, 3),
        "aws_writes": result.aws_writes,
        "changes": [c.as_dict() for c in result.changes if c.action != "unchanged"],
    }
    _update(run_dir, lambda data: data["stages"].append(entry))


def record_tokens(run_dir: Path, rows: list[dict]) -> None:
    """Which users got verified tokens (tokens shortened: never a usable token on disk)."""
    _update(run_dir, lambda data: data.update(tokens=rows))


def read(run_dir: Path) -> dict:
    return _load(Path(run_dir) / SUMMARY_JSON)


def drifted(data: dict) -> bool:
    """True when a plan found anything to create, update or delete, or something missing."""
    return any(
        s["counts"]["create"] + s["counts"]["update"] + s["counts"]["delete"] + s["counts"].get("missing", 0)
        for s in data.get("stages", [])
        if s.get("plan")
    )


def write(run_dir: Path, data: dict) -> None:
    path = Path(run_dir) / SUMMARY_JSON
    path.write_text(json.dumps(data, indent=2) + "\n")
    (Path(run_dir) / "summary.txt").write_text(text(data))


def text(data: dict) -> str:
    lines = [f"cognito-runbook run: {data.get('result', 'unknown')}" + (" (plan)" if data.get("plan") else "")]
    for nb in data.get("notebooks", []):
        lines.append(f"  {nb['notebook']:<32} {nb['status']:<8} {nb['seconds']:6.1f} s")
    if data.get("stages"):
        lines.append("stages:")
        for s in data["stages"]:
            c = s["counts"]
            verb = "would " if s.get("plan") else ""
            kept = f"; kept {c['kept']} setting(s) it does not manage" if c.get("kept") else ""
            kept += f"; MISSING {c['missing']} (see the stage's table)" if c.get("missing") else ""
            lines.append(
                f"  {s['stage']:<16} {verb}create {c['create']}, {verb}update {c['update']}, {verb}delete {c['delete']}, "
                f"unchanged {c['unchanged']}  ({s.get('aws_writes', 0)} AWS writes){kept}"
            )
    if data.get("plan"):
        params_file = data.get("params_file") or "<params file>"
        lines.append(
            "passwords: not checked (a plan signs in as no one); "
            f"`cognito-runbook verify {params_file}` checks that every user can still get tokens"
        )
    if data.get("tokens"):
        lines.append("tokens from GET /token:")
        for t in data["tokens"]:
            lines.append(
                f"  {t['user']:<12} {t['status']:<10} id {t.get('id_token', '')}  access {t.get('access_token', '')}  groups {t.get('groups', '')}"
            )
    if data.get("error"):
        lines.append(f"error: {data['error']}")
    outputs = data.get("outputs") or {}
    if outputs:
        lines.append("outputs:")
        lines += [f"  {k}: {v}" for k, v in outputs.items() if v]
    return "\n".join(lines) + "\n"

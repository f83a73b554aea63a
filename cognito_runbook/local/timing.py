"""How long AWS's eventual consistency lasts in the local AWS, and when things were made.

The one owner of that state: the server sets the delay once (``cognito-runbook local
start --delay`` or COGNITO_RUNBOOK_LOCAL_DELAY, about a second by default); the patches
and the IAM evaluation read it and record or ask the age of what they made, through the
functions below, never through a shared variable.
"""

from __future__ import annotations

import time

_delay_seconds = 1.0
_born: dict[str, float] = {}  # key -> when it was made (monotonic)


def delay_seconds() -> float:
    """How long a wait lasts here (a domain CREATING, IAM propagation, a held name)."""
    return _delay_seconds


def set_delay(seconds: float) -> None:
    global _delay_seconds
    _delay_seconds = seconds


def deadline() -> float:
    """The monotonic time at which a wait that starts now is over."""
    return time.monotonic() + _delay_seconds


def mark_born(key: str) -> None:
    """Record that the thing named ``key`` was made (or changed) now."""
    _born[key] = time.monotonic()


def young(key: str) -> bool:
    """Whether the thing named ``key`` was made less than the delay ago."""
    born = _born.get(key)
    return born is not None and time.monotonic() - born < _delay_seconds

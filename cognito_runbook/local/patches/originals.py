"""moto's functions as they were before the patches replaced them, by name.

A patch keeps the original it wraps here; code that needs moto's own behaviour without
ours (the hosted UI signs in without the ExplicitAuthFlows check) asks for it by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_originals: dict[str, Callable[..., Any]] = {}


def keep(**functions: Callable[..., Any]) -> None:
    _originals.update(functions)


def original(name: str) -> Callable[..., Any]:
    """The unpatched moto function kept under ``name`` (KeyError before ``patch_moto``)."""
    return _originals[name]

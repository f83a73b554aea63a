"""Shared helpers: a private local AWS, a provisioned stack, and robust timing."""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cognito_runbook.backend import Backend  # noqa: E402
from cognito_runbook.local import control  # noqa: E402
from cognito_runbook.params import parse_params  # noqa: E402
from cognito_runbook.runbook import Runbook  # noqa: E402


def local_params(**changes) -> dict:
    raw = yaml.safe_load((ROOT / "params" / "local.yaml").read_text())
    raw["token_api"] = {"name": "getToken", "throttling": {"burst_limit": 5000, "rate_limit": 5000}}
    raw.update(changes)
    return raw


def runbook(endpoint: str, raw: dict | None = None) -> Runbook:
    params = parse_params(raw or local_params())
    return Runbook(params, Backend("local", params.region, endpoint_url=endpoint))


@contextlib.contextmanager
def private_stack(raw: dict | None = None):
    """A fresh local AWS with one provisioned stack: (endpoint, runbook, outputs)."""
    with control.private() as endpoint:
        rb = runbook(endpoint, raw)
        rb.provision()
        yield endpoint, rb, rb.outputs()


def median_time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def interleaved(fns: dict, rounds: int, per_round: int) -> dict[str, float]:
    """Median seconds per call of each fn, measured in alternating rounds so that machine
    noise hits all of them alike (ratios measured side by side)."""
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            started = time.perf_counter()
            for _ in range(per_round):
                fn()
            samples[name].append((time.perf_counter() - started) / per_round)
    return {name: statistics.median(s) for name, s in samples.items()}


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")

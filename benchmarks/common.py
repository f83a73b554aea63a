"""Shared helpers: a private local AWS with stated options, a provisioned stack, and robust timing."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cognito_runbook.backend import Backend  # noqa: E402
from cognito_runbook.constants import LOCAL_QUOTAS_ENV  # noqa: E402
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


@dataclass(frozen=True)
class LocalOptions:
    """What a benchmark's private local AWS does (README, "The embedded local AWS").
    The defaults are the local AWS's own: AWS-like waits of a second, no added latency,
    Cognito's request-rate quotas enforced."""

    delay: float = 1.0  # seconds a domain stays CREATING, a new IAM role or policy is not usable yet
    latency_ms: float = 0.0  # added to every API call (the round trip to AWS)
    quotas: bool = True  # Cognito's request-rate quotas (TooManyRequestsException over the rate)

    def describe(self) -> str:
        return (
            f"delay {self.delay:g} s, latency {self.latency_ms:g} ms per call, "
            f"Cognito quotas {'on' if self.quotas else 'off'}"
        )


@contextlib.contextmanager
def private_aws(options: LocalOptions, purpose: str):
    """A fresh local AWS with exactly these options, whatever COGNITO_RUNBOOK_LOCAL_* say in
    the environment; prints the options the server reports as in force (one line, the
    benchmark's header) and refuses to measure if they are not the ones asked for."""
    old = os.environ.get(LOCAL_QUOTAS_ENV)
    os.environ[LOCAL_QUOTAS_ENV] = "on" if options.quotas else "off"  # read by the server at start only
    try:
        with control.private(delay=options.delay, latency_ms=options.latency_ms) as endpoint:
            in_force = server_options(endpoint)
            if in_force != options:
                raise SystemExit(f"the local AWS runs with {in_force.describe()}, not {options.describe()}")
            print(f"local AWS options ({purpose}): {in_force.describe()}", flush=True)
            yield endpoint
    finally:
        if old is None:
            os.environ.pop(LOCAL_QUOTAS_ENV, None)
        else:
            os.environ[LOCAL_QUOTAS_ENV] = old


def server_options(endpoint: str) -> LocalOptions:
    """The options the running local AWS reports (``/_local/health``)."""
    reported = local_json(endpoint, "health")["options"]
    return LocalOptions(**{name: reported[name] for name in asdict(LocalOptions())})


def local_json(endpoint: str, what: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/_local/{what}", timeout=10) as resp:
        return json.loads(resp.read())


def throttled(endpoint: str) -> int:
    """Requests the local AWS refused for Cognito's quotas so far (TooManyRequestsException)."""
    return sum(local_json(endpoint, "throttled").values())


@contextlib.contextmanager
def private_stack(options: LocalOptions, purpose: str, raw: dict | None = None):
    """A fresh local AWS with one provisioned stack: (endpoint, runbook, outputs)."""
    with private_aws(options, purpose) as endpoint:
        rb = runbook(endpoint, raw)
        rb.provision()
        yield endpoint, rb, rb.outputs()


def arguments(description: str | None) -> argparse.ArgumentParser:
    """Every benchmark's command line: ``--smoke`` runs it with tiny sizes in seconds, through
    every code path, printing the same figures (meaningless ones: for tests, not for reading)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds: checks that it runs")
    return parser


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

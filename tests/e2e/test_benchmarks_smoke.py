"""Every benchmark in its smoke mode: ``benchmarks/<script> --smoke`` (tiny sizes, every
code path) runs in its own process, exits 0, prints its figures and the options of each
local AWS it started, as that local AWS reports them.

Benchmarks measure and these tests assert no time (DESIGN.md, "Tests"); they exist so
that no benchmark can break silently again, as two did: bench_runbook's aws CLI script
created its function before Lambda could assume the new role (AWS refuses that for a few
seconds, and so does the local AWS), and bench_token_endpoint timed Cognito's quota
throttling of its own calls as the handler's overhead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"
OPTIONS_LINE = re.compile(
    r"^local AWS options \((?P<purpose>[^)]+)\): delay (?P<delay>[\d.]+) s, "
    r"latency (?P<latency_ms>[\d.]+) ms per call, Cognito quotas (?P<quotas>on|off)$",
    re.MULTILINE,
)
# What a user's shell may say; each benchmark must set its own options regardless.
HOSTILE_ENV = {
    "COGNITO_RUNBOOK_LOCAL_QUOTAS": "on",
    "COGNITO_RUNBOOK_LOCAL_LATENCY_MS": "40",
    "COGNITO_RUNBOOK_LOCAL_DELAY": "2",
}
NUMBER = r"[-+]?[\d,]+(?:\.\d+)?"


def smoke(script: str, env: dict[str, str] | None = None) -> str:
    run_env = {k: v for k, v in os.environ.items() if k != "AWS_CLI"}
    run_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{script} --smoke exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def options(out: str) -> dict[str, dict[str, str]]:
    """{purpose: {delay, latency_ms, quotas}} for every local AWS the benchmark started."""
    found = {m["purpose"]: m.groupdict() for m in OPTIONS_LINE.finditer(out)}
    assert found, f"no 'local AWS options' line in:\n{out}"
    return found


def figure(out: str, label: str) -> str:
    """The value printed for the row ``label``."""
    match = re.search(rf"^ +{re.escape(label)}  +(\S.*)$", out, re.MULTILINE)
    assert match, f"no figure {label!r} in:\n{out}"
    return match.group(1)


def aws_cli() -> str | None:
    """The aws CLI the benchmark can use: AWS_CLI, the checkout's .venv-awscli (built by
    `make bench`), or one on PATH."""
    candidates = (os.environ.get("AWS_CLI"), str(ROOT / ".venv-awscli" / "bin" / "aws"), shutil.which("aws"))
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def test_every_benchmark_is_run_by_make_bench_and_smoke_tested():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run_all
    finally:
        sys.path.remove(str(BENCHMARKS))
    scripts = {p.name for p in BENCHMARKS.glob("bench_*.py")}
    assert set(run_all.BENCHMARKS) == scripts
    tested = {name.removeprefix("test_") + ".py" for name in globals() if name.startswith("test_bench_")}
    assert tested == scripts


def test_bench_token_endpoint():
    out = smoke("bench_token_endpoint.py", HOSTILE_ENV)
    # Quotas off and no latency, whatever the environment says: the handler's overhead is
    # measured, not botocore's back-off after a TooManyRequestsException.
    assert options(out) == {
        "token endpoint": {"purpose": "token endpoint", "delay": "0", "latency_ms": "0", "quotas": "off"}
    }
    assert figure(out, "throttled by the local AWS") == "0 requests"
    assert re.fullmatch(rf"{NUMBER} ms", figure(out, "bare admin_initiate_auth"))
    assert re.fullmatch(
        rf"{NUMBER} ms  overhead {NUMBER} %", figure(out, "deployed handler (client once per container)")
    )
    assert re.fullmatch(
        rf"{NUMBER} ms  = {NUMBER}x the bare call", figure(out, "handler building a client per request")
    )
    for clients in ("1 client", "4 clients", "8 clients"):
        assert re.match(rf"{NUMBER} req/s", figure(out, f"GET /token over HTTP, {clients}"))
    assert re.fullmatch(rf"{NUMBER} ms  = {NUMBER}x import boto3", figure(out, "import generate_token"))
    assert re.fullmatch(rf"{NUMBER} ms", figure(out, "import boto3 + cognito-idp client"))


def test_bench_verify():
    out = smoke("bench_verify.py", HOSTILE_ENV)
    assert options(out)["token verification"]["quotas"] == "off"
    for label in (
        "limit: bare RSA verify + JSON parse",
        "PyJWT jwt.decode",
        "joserfc decode + claims registry",
        "runbook verifier, distinct tokens",
        "repeated token (server steady state)",
    ):
        assert re.match(rf"{NUMBER} /s", figure(out, label))
    assert figure(out, "JWKS fetches after warm-up").startswith("0 ")
    assert figure(out, "200 unknown-kid tokens").startswith("1 JWKS fetch(es)")


def test_bench_scale():
    out = smoke("bench_scale.py", {**HOSTILE_ENV, "COGNITO_RUNBOOK_LOCAL_QUOTAS": "off"})
    # The quotas are what this benchmark is about: on, whatever the environment says.
    assert options(out)["scale"] == {"purpose": "scale", "delay": "0", "latency_ms": "5", "quotas": "on"}
    assert re.fullmatch(
        rf"{NUMBER} s = {NUMBER}x the quota-bound minimum {NUMBER} s", figure(out, "users + groups + memberships")
    )
    for stage in ("users", "groups", "memberships"):
        assert "quota-bound minimum" in figure(out, stage)
    assert re.fullmatch(rf"{NUMBER} s, 0 writes", figure(out, "no-op re-run"))
    assert "measured on 10 users" in figure(out, "sequential path (workers: 1)")


def test_bench_notebook_calls():
    out = smoke("bench_notebook_calls.py", HOSTILE_ENV)
    assert options(out)["notebook calls"] == {
        "purpose": "notebook calls",
        "delay": "1",
        "latency_ms": "0",
        "quotas": "on",
    }
    assert re.match(r"\d+ reads, 0 writes", figure(out, "00_connect.ipynb").strip())
    assert re.match(r"\d+ reads, 0 writes", figure(out, "01_user_pool.ipynb").strip())
    assert re.fullmatch(r"\d+ reads, 0 writes", figure(out, "all notebooks").strip())


def test_bench_runbook():
    """With an aws CLI, its script must wait for the new role before create-function: the
    smoke mode's local AWS holds the role back 5 s, longer than the script's calls in
    between, so a script that does not wait fails here.

    Without one (CI's `make test` on a fresh clone does not build .venv-awscli), the CLI
    half is skipped: installing awscli here would need PyPI and half a minute, and `make
    bench` is the one place that builds it."""
    cli = aws_cli()
    out = smoke("bench_runbook.py", {**HOSTILE_ENV, **({"AWS_CLI": cli} if cli else {})})
    assert {purpose: o["delay"] for purpose, o in options(out).items()} == {
        "headless notebooks 00-01": "1",
        "library": "1",
        **({"aws CLI script": "5"} if cli else {}),
    }
    assert all(o["latency_ms"] == "0" and o["quotas"] == "on" for o in options(out).values())
    assert re.fullmatch(rf"{NUMBER} s", figure(out, "headless notebooks 00-01, fresh"))
    assert re.fullmatch(rf"{NUMBER} s", figure(out, "headless notebooks 00-01, no-op"))
    assert re.fullmatch(rf"{NUMBER} s", figure(out, "library, all stages (notebooks 00-06), fresh"))
    assert re.fullmatch(
        rf"{NUMBER} s  \(\d+ reads, 0 writes\)", figure(out, "library, all stages (notebooks 00-06), no-op")
    )
    if not cli:
        assert figure(out, "aws CLI script").startswith("skipped: no `aws`")
        pytest.skip("the aws CLI script half needs the aws CLI: run `make bench` once (.venv-awscli) or set AWS_CLI")
    assert re.fullmatch(
        rf"{NUMBER} s = {NUMBER}x the library", figure(out, "aws CLI script, the same stages (21 calls)")
    )
    assert re.fullmatch(
        rf"{NUMBER} s \(\d+ create-function retries\)", figure(out, "of which waiting for the new role")
    )
    assert re.fullmatch(rf"{NUMBER} s vs {NUMBER} s", figure(out, "2 aws CLI calls vs 2 boto3 calls"))

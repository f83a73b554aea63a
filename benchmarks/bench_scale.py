"""Target 3: 1,000 users, 20 groups and 2,000 memberships against the local AWS.

Prints time and AWS calls per user for the first run (by operation), and for a re-run
with nothing changed (which must make no write call and no per-user read call).
Usage: python benchmarks/bench_scale.py [USERS] [password source: env|generate]
"""

import os
import sys
import time

from common import local_params, report, runbook

from cognito_runbook.local import control

STAGES = ("user_pool", "users", "groups", "memberships")


def params(users: int, source: str) -> dict:
    groups = [{"name": f"DB2G{i:02d}", "description": f"group {i}"} for i in range(20)]
    people = [
        {"name": f"user{i:04d}", "password": "env:BENCH_PASSWORD" if source == "env" else "generate"}
        for i in range(users)
    ]
    memberships = {p["name"]: [groups[i % 20]["name"], groups[(i + 7) % 20]["name"]] for i, p in enumerate(people)}
    return local_params(
        stack="scale",
        users=people,
        groups=groups,
        memberships=memberships,
        user_pool={"name": "ScalePool", "domain_prefix": "scale-bench"},
    )


def by_operation(counter) -> str:
    return ", ".join(f"{op.split('.')[1]} {n}" for op, n in sorted(counter.items(), key=lambda kv: -kv[1]))


def main():
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    source = sys.argv[2] if len(sys.argv) > 2 else "env"
    os.environ["BENCH_PASSWORD"] = "Bench-Passw0rd!"
    raw = params(users, source)
    with control.private() as endpoint:
        first = runbook(endpoint, raw)
        started = time.perf_counter()
        first.provision(STAGES)
        first_seconds = time.perf_counter() - started
        again = runbook(endpoint, raw)
        started = time.perf_counter()
        again.provision(STAGES)
        again_seconds = time.perf_counter() - started
    log1, log2 = first.backend.log, again.backend.log
    per_user_reads = {op: n for op, n in log2.reads.items() if n >= users}
    report(
        f"{users:,} users ({source} passwords), 20 groups, {2 * users:,} memberships",
        [
            ("first run", f"{first_seconds:.1f} s, {log1.total():,} AWS calls = {log1.total() / users:.2f} per user"),
            ("  writes", by_operation(log1.writes)),
            ("  reads", by_operation(log1.reads)),
            ("no-op re-run", f"{again_seconds:.1f} s, {log2.total():,} AWS calls, {sum(log2.writes.values())} writes"),
            ("  reads", by_operation(log2.reads)),
            ("  per-user read calls", "none" if not per_user_reads else by_operation(per_user_reads)),
        ],
    )


if __name__ == "__main__":
    main()

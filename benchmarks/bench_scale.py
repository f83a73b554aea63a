"""Thousands of users within Cognito's request-rate quotas.

A private local AWS adds a latency to every API call (the round trip to AWS) and enforces
Cognito's default quotas per category, answering TooManyRequestsException like Cognito.
The runbook provisions USERS users, GROUPS groups and two memberships per user with its
workers (paced per category), then re-runs with nothing to change. Printed:

- the time of each stage against its quota-bound minimum (per stage, the slowest category:
  its calls divided by its rate; stages run one after another, so the minima add up);
- throttling: requests the local AWS refused (botocore retried them) and errors surfaced;
- the no-op re-run's writes (must be 0);
- today's sequential path (workers: 1), measured on SAMPLE users and scaled up.

Usage: python benchmarks/bench_scale.py [--users 5000] [--groups 50] [--latency-ms 60]
       [--workers 8] [--sample 500] [--smoke]

The private local AWS enforces Cognito's quotas whatever COGNITO_RUNBOOK_LOCAL_QUOTAS says,
adds the latency asked for, and has no waits (delay 0: the pool's domain and the like are
not what is measured). --smoke: 20 users, 4 groups, 5 ms, 4 workers, a sample of 10.
"""

from __future__ import annotations

import os
import time
from collections import Counter

from common import LocalOptions, arguments, local_params, private_aws, report, runbook, throttled

from cognito_runbook.quotas import CATEGORY, DEFAULT_RPS

STAGES = ("user_pool", "users", "groups", "memberships")
PEOPLE_STAGES = ("users", "groups", "memberships")


def params(stack: str, users: int, groups: int, workers: int) -> dict:
    group_list = [{"name": f"DB2G{i:02d}", "description": f"group {i}"} for i in range(groups)]
    people = [{"name": f"{stack}u{i:05d}", "password": "env:BENCH_PASSWORD"} for i in range(users)]
    memberships = {
        p["name"]: [group_list[i % groups]["name"], group_list[(i + 7) % groups]["name"]] for i, p in enumerate(people)
    }
    return local_params(
        stack=stack,
        users=people,
        groups=group_list,
        memberships=memberships,
        workers=workers,
        user_pool={"name": f"{stack}Pool", "domain_prefix": f"{stack}-bench"},
    )


def cognito_calls(log: Counter) -> Counter:
    return Counter({op.split(".")[1]: n for op, n in log.items() if op.startswith("cognito-idp.")})


def minimum(calls: Counter) -> float:
    """Seconds the quotas allow at best: the slowest category (categories run side by side)."""
    per_category = Counter()
    for operation, n in calls.items():
        if operation in CATEGORY:
            per_category[CATEGORY[operation]] += n
    return max((n / DEFAULT_RPS[c] for c, n in per_category.items()), default=0.0)


def provision(endpoint: str, raw: dict) -> tuple[dict, dict, object]:
    """Stage by stage: {stage: seconds}, {stage: Cognito calls}, the runbook."""
    rb = runbook(endpoint, raw)
    seconds, calls = {}, {}
    for stage in STAGES:
        before = Counter(rb.backend.log.calls)
        started = time.perf_counter()
        rb.run_stage(stage)
        seconds[stage] = time.perf_counter() - started
        calls[stage] = cognito_calls(Counter(rb.backend.log.calls) - before)
    return seconds, calls, rb


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--users", type=int)
    parser.add_argument("--groups", type=int)
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--sample", type=int, help="users for the sequential measurement")
    args = parser.parse_args()
    defaults = (
        {"users": 20, "groups": 4, "latency_ms": 5.0, "workers": 4, "sample": 10}
        if args.smoke
        else {"users": 5000, "groups": 50, "latency_ms": 60.0, "workers": 8, "sample": 500}
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    os.environ["BENCH_PASSWORD"] = "Bench-Passw0rd!"
    options = LocalOptions(delay=0.0, latency_ms=args.latency_ms, quotas=True)
    with private_aws(options, "scale") as endpoint:
        seconds, calls, rb = provision(endpoint, params("scale", args.users, args.groups, args.workers))
        refused = throttled(endpoint)
        started = time.perf_counter()
        again = runbook(endpoint, params("scale", args.users, args.groups, args.workers))
        again.provision(STAGES)
        noop_seconds = time.perf_counter() - started
        sample_seconds, _, _ = provision(endpoint, params("seq", args.sample, args.groups, 1))
    scale = args.users / args.sample
    people = sum(seconds[s] for s in PEOPLE_STAGES)
    floor = sum(minimum(calls[s]) for s in PEOPLE_STAGES)
    sequential = scale * sum(sample_seconds[s] for s in PEOPLE_STAGES)
    rows = [
        (
            f"  {stage}",
            f"{seconds[stage]:.1f} s; quota-bound minimum {minimum(calls[stage]):.1f} s; "
            + ", ".join(f"{op} {n:,}" for op, n in calls[stage].most_common(4)),
        )
        for stage in PEOPLE_STAGES
    ]
    report(
        f"{args.users:,} users, {args.groups} groups, {2 * args.users:,} memberships; "
        f"{args.latency_ms:.0f} ms per call; Cognito's default quotas enforced; {args.workers} workers",
        [
            (
                "users + groups + memberships",
                f"{people:.1f} s = {people / floor:.2f}x the quota-bound minimum {floor:.1f} s",
            ),
            *rows,
            ("throttled by the local AWS", f"{refused} requests (retried by botocore); 0 errors surfaced"),
            ("pacer waited", f"{rb.backend.pacer.waited:.0f} thread-seconds for the quotas"),
            ("no-op re-run", f"{noop_seconds:.1f} s, {sum(again.backend.log.writes.values())} writes"),
            (
                "sequential path (workers: 1)",
                f"{sequential:.0f} s (measured on {args.sample:,} users: "
                f"{sum(sample_seconds[s] for s in PEOPLE_STAGES):.1f} s, x{scale:.0f}) = {sequential / people:.1f}x slower",
            ),
        ],
    )


if __name__ == "__main__":
    main()

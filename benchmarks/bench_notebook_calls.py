"""AWS API requests per notebook on a no-op re-run (nothing to change).

Provisions a stack on a private local AWS with a full headless run, then runs each
notebook again on its own and reads, from the local AWS, how many requests the runbook
sent while it ran (the emulated Lambda's own calls are not counted). Reads are what a
re-run costs against Cognito's request-rate quotas on a real account.

The private local AWS has its defaults, as a user's runs meet them: waits of a second, no
latency, Cognito's quotas on (a request it throttles is counted once, when botocore's retry
goes through). --smoke: notebooks 00-01 only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import ROOT, LocalOptions, arguments, local_json, private_aws, report

from cognito_runbook import runner

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
READ_PREFIXES = ("Describe", "Get", "List", "AdminGet", "AdminList", "Head", "GET")


OPTIONS = LocalOptions()  # the local AWS's defaults, as a user's runs meet them


def requests(endpoint: str) -> dict[str, int]:
    return local_json(endpoint, "requests")


def delta(before: dict, after: dict) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def main() -> None:
    args = arguments(__doc__).parse_args()
    last = 1 if args.smoke else 98
    params = ROOT / "params" / "local.yaml"
    with private_aws(OPTIONS, "notebook calls") as endpoint, tempfile.TemporaryDirectory() as tmp:
        first = runner.run(params, Path(tmp) / "first", last=last, progress=lambda _: None)
        assert first.exit_code == 0, first.summary.get("error")
        rows, total = [], {"reads": 0, "writes": 0}
        for notebook in runner.select_notebooks(runner.NOTEBOOKS_DIR, last=last):
            number = runner.notebook_number(notebook)
            before = requests(endpoint)
            result = runner.run(params, Path(tmp) / notebook.stem, first=number, last=number, progress=lambda _: None)
            assert result.exit_code == 0, result.summary.get("error")
            calls = delta(before, requests(endpoint))
            reads = sum(n for op, n in calls.items() if op.split(".", 1)[1].startswith(READ_PREFIXES))
            writes = sum(calls.values()) - reads
            total["reads"] += reads
            total["writes"] += writes
            top = ", ".join(f"{op} {n}" for op, n in sorted(calls.items(), key=lambda kv: -kv[1])[:4])
            rows.append((notebook.name, f"{reads:3d} reads, {writes} writes   ({top})"))
        rows.append(("all notebooks", f"{total['reads']:3d} reads, {total['writes']} writes"))
        report("AWS requests per notebook, no-op re-run (local AWS)", rows)


if __name__ == "__main__":
    main()

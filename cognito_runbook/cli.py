"""``cognito-runbook``: run the notebooks headlessly, manage the local AWS, or call the
library directly."""

from __future__ import annotations

import argparse
import sys

import filelock
from botocore.exceptions import BotoCoreError, ClientError

from .errors import ParamsError, RunbookError


def _cmd_run(args) -> int:
    from . import runner

    result = runner.run(args.params, args.out, args.first, args.last, args.teardown, args.plan, confirm_stack=args.yes)
    print(f"\nrun folder: {result.run_dir}")
    print((result.run_dir / "summary.txt").read_text(), end="")
    if result.exit_code == runner.EXIT_DRIFT:
        print("drift: the account differs from the params (see above); exit code 3")
    return result.exit_code


def _cmd_local(args) -> int:
    from .local import control

    if args.action == "start":
        print(f"local AWS at {control.ensure_running()} (home {control.home()})")
    elif args.action == "stop":
        print("stopped" if control.stop() else "not running")
    else:
        state = control.status()
        print(f"running at {state['endpoint']} (pid {state['pid']}, since {state['started']})" if state else "not running")
        return 0 if state else 1
    return 0


def _runbook(args, plan=False):
    from .runbook import Runbook

    return Runbook.open(args.params, plan=plan, progress=lambda msg: print(f"  {msg}", flush=True))


def _cmd_provision(args) -> int:
    from .display import changes_table

    rb = _runbook(args, plan=args.plan)
    from .runbook import STAGES

    for stage in args.stages or STAGES:
        print(changes_table(rb.run_stage(stage)), end="\n\n")
    print(f"AWS calls: {rb.backend.log.total()} ({sum(rb.backend.log.writes.values())} writes)")
    return 0


def _cmd_teardown(args) -> int:
    from .display import changes_table
    from .params import load_params

    params = load_params(args.params)
    if params.backend == "aws" and args.yes != params.stack:
        raise RunbookError(f"teardown on AWS deletes the whole stack: pass --yes {params.stack} to confirm")
    print(changes_table(_runbook(args).teardown()))
    return 0


def _cmd_outputs(args) -> int:
    import json

    print(json.dumps(_runbook(args).outputs().as_dict(), indent=2))
    return 0


def _cmd_docs(args) -> int:
    from .docs import build_docs

    build_docs()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cognito-runbook", description="Set up AWS Cognito for Db2 token authentication.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the notebooks headlessly with papermill")
    run.add_argument("params", help="params YAML file, e.g. params/local.yaml")
    run.add_argument("--out", help="run folder (default runs/<stack>-<time>)")
    run.add_argument("--from", dest="first", type=int, default=0, help="first notebook number (default 0)")
    run.add_argument("--to", dest="last", type=int, default=98, help="last notebook number (default: all but teardown)")
    run.add_argument("--teardown", action="store_true", help="run the teardown notebook (99) instead")
    run.add_argument("--plan", action="store_true", help="report what would change (notebooks 00-06), change nothing; exit 3 on drift")
    run.add_argument("--yes", default="", metavar="STACK", help="with --teardown on AWS: confirm by naming the stack")
    run.set_defaults(func=_cmd_run)

    local = sub.add_parser("local", help="the embedded local AWS")
    local.add_argument("action", choices=["start", "stop", "status"])
    local.set_defaults(func=_cmd_local)

    prov = sub.add_parser("provision", help="run the stages through the library, without notebooks")
    prov.add_argument("params")
    prov.add_argument("stages", nargs="*", help="stages to run (default: all)")
    prov.add_argument("--plan", action="store_true")
    prov.set_defaults(func=_cmd_provision)

    td = sub.add_parser("teardown", help="delete everything the stack created")
    td.add_argument("params")
    td.add_argument("--yes", default="", metavar="STACK", help="confirm teardown on AWS by naming the stack")
    td.set_defaults(func=_cmd_teardown)

    out = sub.add_parser("outputs", help="print the stack outputs as JSON")
    out.add_argument("params")
    out.set_defaults(func=_cmd_outputs)

    docs = sub.add_parser("docs", help="re-execute the notebooks in place against a fresh local AWS (committed outputs)")
    docs.set_defaults(func=_cmd_docs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except RunbookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ParamsError) else 1
    except ClientError as err:
        e = err.response.get("Error", {})
        print(f"error: AWS refused {err.operation_name}: {e.get('Code')}: {e.get('Message', '')}", file=sys.stderr)
        return 1
    except (BotoCoreError, filelock.Timeout) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``cognito-runbook``: run the notebooks headlessly, manage the local AWS, or call the
library directly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EXIT_DRIFT, EXIT_FAILED, EXIT_OK, RunbookError


def _cmd_run(args) -> int:
    from . import runner
    from .runbook import notebook_of

    result = runner.run(
        args.params,
        args.out,
        notebook_of(args.first),
        notebook_of(args.last),
        args.teardown,
        args.plan,
        confirm_stack=args.yes,
        reset_passwords=args.reset_passwords,
    )
    print(f"\nrun folder: {result.run_dir}")
    print((result.run_dir / "summary.txt").read_text(), end="")
    if result.exit_code == EXIT_DRIFT:
        print("drift: the account differs from the params (see above); exit code 3")
    return result.exit_code


def _cmd_local(args) -> int:
    from .constants import home
    from .local import control

    if args.action == "start":
        print(f"local AWS at {control.ensure_running(args.delay, args.latency_ms)} (home {home()})")
    elif args.action == "stop":
        print("stopped" if control.stop() else "not running")
    else:
        state = control.status()
        print(
            f"running at {state['endpoint']} (pid {state['pid']}, since {state['started']})" if state else "not running"
        )
        return EXIT_OK if state else EXIT_FAILED
    return EXIT_OK


def _runbook(args, plan=False, run_dir=None):
    from .runbook import Runbook

    return Runbook.open(
        args.params,
        plan=plan,
        reset_passwords=getattr(args, "reset_passwords", False),
        progress=lambda msg: print(f"  {msg}", flush=True),
        run_dir=run_dir,
    )


def _cmd_provision(args) -> int:
    """The stages through the library: the same summary.json / outputs.json as ``run``."""
    from . import summary
    from .display import changes_table
    from .params import load_params
    from .runbook import STAGES, stage_named
    from .runner import default_run_dir

    stages = [stage_named(s).name for s in args.stages or STAGES]  # unknown names fail before anything runs
    run_dir = (Path(args.out) if args.out else default_run_dir(load_params(args.params).stack)).resolve()
    rb = _runbook(args, plan=args.plan, run_dir=run_dir)
    rb.check_names()  # every taken name at once, before the first write
    for stage in stages:
        print(changes_table(rb.run_stage(stage)), end="\n\n")
    data = summary.read(run_dir)
    data.update(result="ok", plan=args.plan, params_file=args.params, outputs=rb.outputs().as_dict())
    rb.write_outputs()
    summary.write(run_dir, data)
    print(f"AWS calls: {rb.backend.log.total()} ({sum(rb.backend.log.writes.values())} writes); run folder: {run_dir}")
    return EXIT_DRIFT if args.plan and summary.drifted(data) else EXIT_OK


def _cmd_rotate(args) -> int:
    """New generated passwords, refresh tokens revoked, then a fresh token verified per user."""
    from . import sign_ins
    from .display import Table, changes_table

    rb = _runbook(args, plan=args.plan)
    result = rb.rotate(args.user)
    print(changes_table(result))
    if args.plan:
        return EXIT_OK
    rotated = sorted({c.name for c in result.changes if c.resource == "password"})
    try:
        checks = rb.sign_in(rotated)
        rows = [[c.user, c.status] for c in checks]
    except sign_ins.NoTokenApi:
        checks, rows = [], [[name, sign_ins.NOT_CHECKED] for name in rotated]
    print()
    print(Table(["user", "fresh token"], rows, "Signing in with the new password"))
    print(
        "\nID and access tokens issued before the rotation stay valid for Db2 until they expire (Db2 checks them "
        f"offline, without asking Cognito): up to {rb.params.app_client.access_token_minutes} minutes here."
    )
    sign_ins.require(checks)  # a user the new password does not sign in: named, with the fix
    return EXIT_OK


def _cmd_verify(args) -> int:
    """Sign in as every (or each named) params user through GET /token and verify the tokens:
    a health check for a scheduler. Exit 1 naming each user that cannot, and the fix."""
    from . import sign_ins
    from .display import Table

    rb = _runbook(args, plan=True)  # reads only
    results = rb.sign_in(args.user)
    rows = [[r.user, r.status, ", ".join(r.groups)] for r in results]
    print(Table(["user", "result", "cognito:groups"], rows, f"Signing in through GET /token ({rb.params.stack})"))
    sign_ins.require(results)
    return EXIT_OK


def _cmd_adopt(args) -> int:
    """Compare hand-built resources with the params; on confirmation tag them as the stack's."""
    from . import adopt
    from .display import Table, changes_table
    from .runbook import StageResult

    rb = _runbook(args)
    survey = adopt.survey(rb, args.params, args.pool_id, args.client_id, args.function, args.api_id, args.write_params)
    print(adopt.report(survey), end="\n\n")
    if survey.edit is not None and survey.edit.changed:
        print(f"--write-params would change {args.params}:\n{survey.edit.diff()}")
    if not args.yes and not _confirmed(f"Adopt these resources as stack {rb.params.stack}? [y/N] "):
        print("Nothing was changed. Re-run with --yes to adopt.")
        return EXIT_OK
    changes = adopt.adopt(survey)
    print(changes_table(StageResult("adopt", changes, 0.0)))
    print(
        Table(
            ["next"],
            [[f"cognito-runbook run {args.params} --plan"]],
            "Every stage now finds them; see what a run would change",
        )
    )
    return EXIT_OK


def _confirmed(question: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        return False
    return input(question).strip().lower() in ("y", "yes")


def _cmd_teardown(args) -> int:
    from .display import changes_table

    print(changes_table(_runbook(args).teardown(args.yes)))
    return EXIT_OK


def _cmd_outputs(args) -> int:
    import json

    from .errors import StageError

    out = _runbook(args).outputs()
    if not (out.pool_id or out.function_arn or out.role_arn or out.api_id):
        raise StageError(
            f"stack {out.stack} is not provisioned in {out.region} (no user pool, function, role or API of it "
            f"found); provision it with `cognito-runbook run {args.params}`"
        )
    print(json.dumps(out.as_dict(), indent=2))
    return EXIT_OK


def _cmd_iam_policy(args) -> int:
    """The least-privilege policy for running every notebook of the stack, derived from the contract."""
    import json

    from . import iam_policy
    from .constants import LOCAL_ACCOUNT_ID
    from .params import load_params

    params = load_params(args.params)
    account = args.account
    if not account and params.backend == "local":
        account = LOCAL_ACCOUNT_ID
    if not account:
        from .backend import connect

        try:
            account = connect(params, start_local=False).account_id
        except RunbookError as err:
            # Still a valid policy: "*" in an ARN's account field matches any account.
            print(f"# account unknown ({err}); the ARNs use * for it: pass --account to pin it", file=sys.stderr)
            account = "*"
    if args.adopt:
        print(json.dumps(iam_policy.adopt_policy(params, account), indent=2))
        return EXIT_OK
    if args.admin_setup:
        commands = iam_policy.admin_setup_commands(params, args.params).replace("\n", "\n#   ")
        print(f"# An administrator creates it once:\n#   {commands}", file=sys.stderr)
        print(json.dumps(iam_policy.admin_setup(params, account), indent=2))
        return EXIT_OK
    document = iam_policy.policy(params, account)
    for action, why in iam_policy.explain(document):
        print(f'# Resource "*" for {action}: {why}', file=sys.stderr)
    for what, why in iam_policy.explain_api_gateway(document):
        print(f"# {what}: {why}", file=sys.stderr)
    print(json.dumps(document, indent=2))
    return EXIT_OK


def _cmd_init(args) -> int:
    from .project import init

    written = init(args.dir, force=args.force)
    print(f"copied {len(written)} files into {args.dir}: notebooks/ and params/")
    print(
        f"next: cd {args.dir} && cognito-runbook run params/local.yaml   (or jupyter lab, then notebooks/00_connect.ipynb)"
    )
    return EXIT_OK


def _cmd_docs(args) -> int:
    from .docs import build_docs

    build_docs()
    return EXIT_OK


RESET_HELP = (
    "set a CONFIRMED user's password again when the one the runbook has (env:VAR, generated) no longer signs in"
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cognito-runbook", description="Set up AWS Cognito for Db2 token authentication.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the notebooks headlessly with papermill")
    run.add_argument("params", help="params YAML file, e.g. params/local.yaml")
    run.add_argument("--out", help="run folder (default runs/<stack>-<time>)")
    run.add_argument("--from", dest="first", default="0", help="first notebook, by number or stage name (default 0)")
    run.add_argument(
        "--to", dest="last", default="98", help="last notebook, by number or stage name (default: all but teardown)"
    )
    run.add_argument("--teardown", action="store_true", help="run the teardown notebook (99) instead")
    run.add_argument(
        "--plan",
        action="store_true",
        help="report what would change (notebooks 00-06), change nothing; exit 3 on drift",
    )
    run.add_argument("--yes", default="", metavar="STACK", help="with --teardown on AWS: confirm by naming the stack")
    run.add_argument("--reset-passwords", action="store_true", help=RESET_HELP)
    run.set_defaults(func=_cmd_run)

    local = sub.add_parser("local", help="the embedded local AWS")
    local.add_argument("action", choices=["start", "stop", "status"])
    local.add_argument(
        "--delay",
        type=float,
        default=None,
        help="start: seconds the local AWS makes you wait where AWS does (default 1; 0 for none)",
    )
    local.add_argument(
        "--latency-ms",
        type=float,
        default=None,
        help="start: milliseconds added to every API call, like the round trip to AWS (default 0)",
    )
    local.set_defaults(func=_cmd_local)

    prov = sub.add_parser("provision", help="run the stages through the library, without notebooks")
    prov.add_argument("params")
    prov.add_argument("stages", nargs="*", help="stages to run (default: all)")
    prov.add_argument("--plan", action="store_true", help="report what would change, change nothing; exit 3 on drift")
    prov.add_argument("--reset-passwords", action="store_true", help=RESET_HELP)
    prov.add_argument("--out", help="run folder for summary.json and outputs.json (default runs/<stack>-<time>)")
    prov.set_defaults(func=_cmd_provision)

    rot = sub.add_parser(
        "rotate", help="new generated passwords, refresh tokens revoked, then a fresh token verified per user"
    )
    rot.add_argument("params")
    rot.add_argument(
        "--user", action="append", metavar="NAME", help="a user to rotate (repeatable; default: every generated one)"
    )
    rot.add_argument("--plan", action="store_true", help="say which passwords would be rotated; change nothing")
    rot.set_defaults(func=_cmd_rotate)

    ver = sub.add_parser(
        "verify", help="sign in as the params users through GET /token and verify the tokens (exit 1 if one cannot)"
    )
    ver.add_argument("params")
    ver.add_argument("--user", action="append", metavar="NAME", help="a user to check (repeatable; default: all)")
    ver.set_defaults(func=_cmd_verify)

    ado = sub.add_parser("adopt", help="make resources built by hand (the console runbook) the stack's own")
    ado.add_argument("params")
    ado.add_argument("--pool-id", required=True, help="the user pool's ID, e.g. us-east-1_AbCdEf123")
    ado.add_argument("--client-id", help="its app client (default: the one named as the params say, or the only one)")
    ado.add_argument("--function", help="the generateToken Lambda function's name")
    ado.add_argument("--api-id", help="the getToken HTTP API's ID")
    ado.add_argument(
        "--write-params",
        action="store_true",
        help="write what AWS has into the params file: names, and the pool's users (password: prompt), groups, memberships",
    )
    ado.add_argument("--yes", action="store_true", help="adopt without asking")
    ado.set_defaults(func=_cmd_adopt)

    td = sub.add_parser("teardown", help="delete everything the stack created")
    td.add_argument("params")
    td.add_argument("--yes", default="", metavar="STACK", help="confirm teardown on AWS by naming the stack")
    td.set_defaults(func=_cmd_teardown)

    out = sub.add_parser("outputs", help="print the stack outputs as JSON")
    out.add_argument("params")
    out.set_defaults(func=_cmd_outputs)

    pol = sub.add_parser("iam-policy", help="print the operator's least-privilege IAM policy for this stack")
    pol.add_argument("params")
    pol.add_argument(
        "--account", default="", help="AWS account ID (default: asked of STS with the params' credentials, else *)"
    )
    pol.add_argument("--adopt", action="store_true", help="print the one-time extra grants `adopt` needs instead")
    pol.add_argument(
        "--admin-setup",
        action="store_true",
        help="print the permissions boundary of the function's role, which an administrator creates once",
    )
    pol.set_defaults(func=_cmd_iam_policy)

    ini = sub.add_parser("init", help="copy the notebooks and example params files into a folder of your own")
    ini.add_argument("dir", help="the folder (made if missing)")
    ini.add_argument("--force", action="store_true", help="overwrite files already there")
    ini.set_defaults(func=_cmd_init)

    docs = sub.add_parser(
        "docs", help="re-execute the notebooks in place against a fresh local AWS (committed outputs)"
    )
    docs.set_defaults(func=_cmd_docs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except RunbookError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

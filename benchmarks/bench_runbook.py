"""Target 5: the whole runbook, four ways, on a fresh local AWS each time.

1. `cognito-runbook run params/local.yaml --to 6` (headless notebooks), fresh and no-op;
2. the same stages through the library in one process, fresh and no-op;
3. the equivalent `aws` CLI script (one CLI process per call, as IBM's test scripts do),
   which waits where a script against AWS must: Lambda refuses a new IAM role for a few
   seconds, so it retries create-function on that error, as the runbook does;
4. 8 CLI calls vs the same 8 boto3 calls in one process.
The aws CLI is taken from AWS_CLI or PATH (e.g. a venv with `pip install awscli`).

Each local AWS has the local AWS's defaults, the AWS-like waits included (a domain
CREATING, IAM propagation: all three ways meet them). --smoke: notebooks 00-01 only, 2
calls for the comparison, and a 5 s delay for the CLI script so that its wait for the
role always runs.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from common import ROOT, LocalOptions, arguments, local_params, private_aws, report, runbook

from cognito_runbook.stages.token_function import deployment_zip

OPTIONS = LocalOptions()  # the local AWS's defaults: waits of a second, no latency, Cognito's quotas on
# Smoke: longer than the CLI calls between create-role and create-function, so the wait always runs.
SMOKE_CLI_OPTIONS = LocalOptions(delay=5.0)
ROLE_NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda"
ROLE_WAIT_SECONDS = 60.0  # AWS: "a few seconds"; bounded, as a script should be


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def headless(out: Path, last: int) -> float:
    seconds, proc = timed(
        lambda: subprocess.run(
            [
                sys.executable,
                "-m",
                "cognito_runbook.cli",
                "run",
                "params/local.yaml",
                "--to",
                str(last),
                "--out",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    )
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    return seconds


class CliError(Exception):
    def __init__(self, args: tuple, stderr: str):
        super().__init__(f"aws {' '.join(args[:2])} failed: {stderr.strip()}")
        self.stderr = stderr


class AwsCli:
    def __init__(self, aws: str, endpoint: str, workdir: Path):
        config = workdir / "config"
        config.write_text("[default]\nregion = us-east-1\ncli_follow_urlparam = false\noutput = json\n")
        self.aws, self.endpoint, self.calls = aws, endpoint, 0
        self.role_retries, self.role_wait = 0, 0.0
        self.env = {
            **os.environ,
            "AWS_CONFIG_FILE": str(config),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def __call__(self, *args) -> dict:
        self.calls += 1
        proc = subprocess.run(
            [self.aws, "--endpoint-url", self.endpoint, *args], capture_output=True, text=True, env=self.env
        )
        if proc.returncode:
            raise CliError(args, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else {}

    def when_role_assumable(self, *args) -> dict:
        """A call that hands Lambda a new role, retried while Lambda cannot assume it yet
        (InvalidParameterValueException, "The role defined for the function cannot be
        assumed by Lambda"): IAM is eventually consistent and a new role takes a few
        seconds to be usable. `aws iam wait role-exists` does not help: the role exists at
        once, Lambda just cannot assume it yet.
        https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-deployment.html"""
        started = time.perf_counter()
        while True:
            attempt = time.perf_counter()
            try:
                result = self(*args)
            except CliError as err:
                retry = "(InvalidParameterValueException)" in err.stderr and ROLE_NOT_ASSUMABLE in err.stderr
                if not retry or attempt - started > ROLE_WAIT_SECONDS:
                    raise
                self.calls -= 1  # counted as a retry, not as one more call of the script
                self.role_retries += 1
                time.sleep(1.0)
                continue
            self.role_wait += attempt - started  # the failed attempts and the sleeps
            return result


def cli_script(aws: AwsCli, workdir: Path) -> None:
    """The runbook's stages as a plain CLI script: no look-ups, no idempotency."""
    p = local_params()
    aws("sts", "get-caller-identity")
    pool = aws(
        "cognito-idp",
        "create-user-pool",
        "--pool-name",
        "DB2UserPool",
        "--mfa-configuration",
        "OFF",
        "--admin-create-user-config",
        "AllowAdminCreateUserOnly=true",
        "--username-configuration",
        "CaseSensitive=false",
    )["UserPool"]
    aws("cognito-idp", "create-user-pool-domain", "--domain", "cli-bench", "--user-pool-id", pool["Id"])
    client = aws(
        "cognito-idp",
        "create-user-pool-client",
        "--user-pool-id",
        pool["Id"],
        "--client-name",
        "db2-app-client",
        "--no-generate-secret",
        "--callback-urls",
        "http://localhost",
        "--supported-identity-providers",
        "COGNITO",
        "--explicit-auth-flows",
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_CUSTOM_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "--allowed-o-auth-flows",
        "implicit",
        "code",
        "--allowed-o-auth-scopes",
        "phone",
        "openid",
        "email",
        "--allowed-o-auth-flows-user-pool-client",
    )["UserPoolClient"]
    for user in p["users"]:
        aws(
            "cognito-idp",
            "admin-create-user",
            "--user-pool-id",
            pool["Id"],
            "--username",
            user["name"],
            "--message-action",
            "SUPPRESS",
            "--temporary-password",
            "Bench-Passw0rd!",
        )
        aws(
            "cognito-idp",
            "admin-set-user-password",
            "--user-pool-id",
            pool["Id"],
            "--username",
            user["name"],
            "--password",
            "Bench-Passw0rd!",
            "--permanent",
        )
    for group in p["groups"]:
        aws("cognito-idp", "create-group", "--user-pool-id", pool["Id"], "--group-name", group["name"])
    for user, groups in p["memberships"].items():
        for group in groups:
            aws(
                "cognito-idp",
                "admin-add-user-to-group",
                "--user-pool-id",
                pool["Id"],
                "--username",
                user,
                "--group-name",
                group,
            )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    role = aws("iam", "create-role", "--role-name", "cli-bench-role", "--assume-role-policy-document", trust)["Role"]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "cognito-idp:AdminInitiateAuth", "Resource": pool["Arn"]}],
        }
    )
    aws("iam", "put-role-policy", "--role-name", "cli-bench-role", "--policy-name", "p", "--policy-document", policy)
    (workdir / "fn.zip").write_bytes(deployment_zip())
    fn = aws.when_role_assumable(
        "lambda",
        "create-function",
        "--function-name",
        "generateToken",
        "--runtime",
        "python3.13",
        "--role",
        role["Arn"],
        "--handler",
        "generate_token.lambda_handler",
        "--zip-file",
        f"fileb://{workdir / 'fn.zip'}",
        "--environment",
        json.dumps({"Variables": {"USER_POOL_ID": pool["Id"], "CLIENT_ID": client["ClientId"]}}),
    )
    api = aws("apigatewayv2", "create-api", "--name", "getToken", "--protocol-type", "HTTP")
    integ = aws(
        "apigatewayv2",
        "create-integration",
        "--api-id",
        api["ApiId"],
        "--integration-type",
        "AWS_PROXY",
        "--integration-uri",
        fn["FunctionArn"],
        "--payload-format-version",
        "2.0",
    )
    aws(
        "apigatewayv2",
        "create-route",
        "--api-id",
        api["ApiId"],
        "--route-key",
        "GET /token",
        "--target",
        f"integrations/{integ['IntegrationId']}",
    )
    aws("apigatewayv2", "create-stage", "--api-id", api["ApiId"], "--stage-name", "$default", "--auto-deploy")
    aws(
        "lambda",
        "add-permission",
        "--function-name",
        "generateToken",
        "--statement-id",
        "api",
        "--action",
        "lambda:InvokeFunction",
        "--principal",
        "apigateway.amazonaws.com",
        "--source-arn",
        f"arn:aws:execute-api:us-east-1:123456789012:{api['ApiId']}/*/GET/token",
    )


# The same read, by CLI and by boto3: (CLI arguments, boto3 service, method, keyword arguments).
READS = [
    (("cognito-idp", "list-user-pools", "--max-results", "10"), "cognito-idp", "list_user_pools", {"MaxResults": 10}),
    (("iam", "list-roles"), "iam", "list_roles", {}),
    (("lambda", "list-functions"), "lambda", "list_functions", {}),
    (("apigatewayv2", "get-apis"), "apigatewayv2", "get_apis", {}),
]
EIGHT = [read for read in READS for _ in range(2)]


def cli_versus_boto3(aws: AwsCli, endpoint: str, reads: list) -> tuple[float, float]:
    cli, _ = timed(lambda: [aws(*args) for args, *_ in reads])
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    clients = {service: session.client(service, endpoint_url=endpoint) for _, service, *_ in reads}
    boto, _ = timed(lambda: [getattr(clients[service], method)(**kwargs) for _, service, method, kwargs in reads])
    return cli, boto


def main():
    args = arguments(__doc__).parse_args()
    last, reads = (1, EIGHT[:2]) if args.smoke else (6, EIGHT)
    cli_options = SMOKE_CLI_OPTIONS if args.smoke else OPTIONS
    notebooks = f"headless notebooks 00-{last:02d}"
    aws_path = os.environ.get("AWS_CLI") or shutil.which("aws")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with private_aws(OPTIONS, notebooks):
            fresh = headless(tmp / "run1", last)
            noop = headless(tmp / "run2", last)
        with private_aws(OPTIONS, "library") as endpoint:
            lib_fresh, _ = timed(lambda: runbook(endpoint).provision())
            rb = runbook(endpoint)
            lib_noop, _ = timed(rb.provision)
        rows += [
            (f"{notebooks}, fresh", f"{fresh:.1f} s"),
            (f"{notebooks}, no-op", f"{noop:.1f} s"),
            ("library, all stages (notebooks 00-06), fresh", f"{lib_fresh:.2f} s"),
            (
                "library, all stages (notebooks 00-06), no-op",
                f"{lib_noop:.2f} s  ({rb.backend.log.total()} reads, 0 writes)",
            ),
        ]
        if aws_path:
            with private_aws(cli_options, "aws CLI script") as endpoint:
                aws = AwsCli(aws_path, endpoint, tmp)
                try:
                    cli, _ = timed(lambda: cli_script(aws, tmp))
                    script_calls = aws.calls
                    n_cli, n_boto = cli_versus_boto3(aws, endpoint, reads)
                except CliError as err:
                    raise SystemExit(str(err)) from None
            rows += [
                (
                    f"aws CLI script, the same stages ({script_calls} calls)",
                    f"{cli:.1f} s = {cli / lib_fresh:.1f}x the library"
                    + ("" if args.smoke else f", {cli / fresh:.2f}x the headless notebooks"),
                ),
                (
                    "  of which waiting for the new role",
                    f"{aws.role_wait:.1f} s ({aws.role_retries} create-function retries)",
                ),
                (f"{len(reads)} aws CLI calls vs {len(reads)} boto3 calls", f"{n_cli:.2f} s vs {n_boto:.3f} s"),
            ]
        else:
            rows.append(("aws CLI script", "skipped: no `aws` on PATH (set AWS_CLI=/path/to/aws)"))
    report("the whole runbook on a fresh local AWS", rows)


if __name__ == "__main__":
    main()

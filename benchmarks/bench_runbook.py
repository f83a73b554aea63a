"""Target 5: the whole runbook, four ways, on a fresh local AWS each time.

1. `cognito-runbook run params/local.yaml --to 6` (headless notebooks), fresh and no-op;
2. the same stages through the library in one process, fresh and no-op;
3. the equivalent `aws` CLI script (one CLI process per call, as IBM's test scripts do);
4. 8 CLI calls vs the same 8 boto3 calls in one process.
The aws CLI is taken from PATH or AWS_CLI (e.g. a venv with `pip install awscli`).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, local_params, report, runbook

from cognito_runbook.local import control
from cognito_runbook.stages.token_function import deployment_zip


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def headless(out: Path) -> float:
    seconds, proc = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "cognito_runbook.cli", "run", "params/local.yaml", "--to", "6", "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    )
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    return seconds


class AwsCli:
    def __init__(self, aws: str, endpoint: str, workdir: Path):
        config = workdir / "config"
        config.write_text("[default]\nregion = us-east-1\ncli_follow_urlparam = false\noutput = json\n")
        self.aws, self.endpoint, self.calls = aws, endpoint, 0
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
            raise SystemExit(f"aws {' '.join(args[:2])} failed: {proc.stderr}")
        return json.loads(proc.stdout) if proc.stdout.strip() else {}


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
    fn = aws(
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


EIGHT = [
    ("cognito-idp", "list-user-pools", "--max-results", "10"),
    ("cognito-idp", "list-user-pools", "--max-results", "10"),
    ("iam", "list-roles"),
    ("iam", "list-roles"),
    ("lambda", "list-functions"),
    ("lambda", "list-functions"),
    ("apigatewayv2", "get-apis"),
    ("apigatewayv2", "get-apis"),
]


def main():
    aws_path = os.environ.get("AWS_CLI") or shutil.which("aws")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with control.private():
            fresh = headless(tmp / "run1")
            noop = headless(tmp / "run2")
        with control.private() as endpoint:
            lib_fresh, _ = timed(lambda: runbook(endpoint).provision())
            rb = runbook(endpoint)
            lib_noop, _ = timed(rb.provision)
        rows += [
            ("headless notebooks 00-06, fresh", f"{fresh:.1f} s"),
            ("headless notebooks 00-06, no-op", f"{noop:.1f} s"),
            ("library, same stages, fresh", f"{lib_fresh:.2f} s"),
            ("library, same stages, no-op", f"{lib_noop:.2f} s  ({rb.backend.log.total()} reads, 0 writes)"),
        ]
        if aws_path:
            with control.private() as endpoint:
                aws = AwsCli(aws_path, endpoint, tmp)
                cli, _ = timed(lambda: cli_script(aws, tmp))
                eight_cli, _ = timed(lambda: [aws(*c) for c in EIGHT])
                import boto3

                s = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
                clients = {
                    svc: s.client(svc, endpoint_url=endpoint)
                    for svc in ("cognito-idp", "iam", "lambda", "apigatewayv2")
                }
                boto_calls = (
                    [lambda: clients["cognito-idp"].list_user_pools(MaxResults=10)] * 2
                    + [lambda: clients["iam"].list_roles()] * 2
                    + [lambda: clients["lambda"].list_functions()] * 2
                    + [lambda: clients["apigatewayv2"].get_apis()] * 2
                )
                eight_boto, _ = timed(lambda: [c() for c in boto_calls])
            rows += [
                (
                    f"aws CLI script, same stages ({aws.calls - 8} calls)",
                    f"{cli:.1f} s = {cli / lib_fresh:.1f}x the library, {cli / fresh:.2f}x the headless notebooks",
                ),
                ("8 aws CLI calls vs 8 boto3 calls", f"{eight_cli:.2f} s vs {eight_boto:.3f} s"),
            ]
        else:
            rows.append(("aws CLI script", "skipped: no `aws` on PATH (set AWS_CLI=/path/to/aws)"))
    report("the whole runbook on a fresh local AWS", rows)


if __name__ == "__main__":
    main()

"""The request contract: what the runbook sends to AWS, scenario by scenario.

Runs the notebooks headlessly, as a scheduler would, against a private local AWS with
every request recorded (secrets replaced at the source), normalizes the identifiers AWS
made up, and compares with the reviewed files in ``tests/contracts/``. A change to what a
stage sends shows up here as a readable diff. To accept a deliberate change:

    make contracts        (= pytest tests/e2e/test_request_contract.py --update-contracts)

The local AWS runs with no eventual-consistency delay here: waits and retries would make
the number of polling requests depend on timing.
"""

from __future__ import annotations

import difflib
import os

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from conftest import ROOT, ByHand

from cognito_runbook import contract, iam_policy, runner
from cognito_runbook.aws import is_write
from cognito_runbook.constants import RECORD_REQUESTS_ENV
from cognito_runbook.errors import RunbookError
from cognito_runbook.local import control
from cognito_runbook.runbook import Runbook
from cognito_runbook.sign_ins import Outcome

CONTRACTS = ROOT / "tests" / "contracts"
OPERATIONS = ROOT / "cognito_runbook" / iam_policy.OPERATIONS_FILE
SCENARIOS = ("fresh", "noop", "drift", "lifecycle", "revisit", "teardown")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The scenarios, recorded: {name: normalized requests}."""
    root = tmp_path_factory.mktemp("contract")
    raw = yaml.safe_load((ROOT / "params" / "local.yaml").read_text())
    raw.update(stack="contract")
    raw["user_pool"]["domain_prefix"] = "contract-demo"
    raw["token_api"]["access_logs"] = True  # on by default on AWS: the contract must cover it
    raw["workers"] = 1  # one request at a time: a stable order to compare
    params = root / "contract.yaml"
    params.write_text(yaml.safe_dump(raw))
    # The lifecycle scenario: a user disabled, prune on, passwords checked (--reset-passwords),
    # then a rotation, so the operator's policy covers the whole user lifecycle.
    lifecycle = root / "lifecycle.yaml"
    raw["users"][1]["enabled"] = False
    lifecycle.write_text(yaml.safe_dump({**raw, "prune": True}))
    # The revisit: the disabled user enabled again, one membership no longer listed, a user
    # deleted by hand whose generated password's secret waits in its recovery window (the
    # run restores it), and a new user whose password Cognito refuses (the half-made user
    # is deleted again).
    revisit = root / "revisit.yaml"
    raw["users"][1]["enabled"] = True
    raw["memberships"] = {"db2dba": ["DB2ADMIN", "DB2USERS"]}
    revisit.write_text(yaml.safe_dump(raw))
    refused = root / "refused.yaml"
    refused.write_text(yaml.safe_dump({**raw, "users": [*raw["users"], {"name": "refused", "password": "generate"}]}))
    results = {}
    with control.private(delay=0) as endpoint:
        for scenario in SCENARIOS:
            if scenario == "drift":
                _drift_everything(endpoint)
            if scenario == "lifecycle":
                _made_by_hand(endpoint)
            if scenario == "revisit":
                _deleted_by_hand(endpoint)
            log = root / f"{scenario}.jsonl"
            os.environ[RECORD_REQUESTS_ENV] = str(log)
            try:
                run = runner.run(
                    {"lifecycle": lifecycle, "revisit": revisit}.get(scenario, params),
                    root / scenario,
                    teardown=scenario == "teardown",
                    progress=lambda _: None,
                    confirm_stack="contract",
                    reset_passwords=scenario == "lifecycle",
                )
                if scenario == "lifecycle":
                    rotation = Runbook.open(lifecycle)
                    rotation.rotate(["db2dba"])
                    assert rotation.sign_in(["db2dba"])[0].outcome is Outcome.VERIFIED
                if scenario == "revisit":
                    _password_refused(refused)
            finally:
                os.environ.pop(RECORD_REQUESTS_ENV)
            assert run.exit_code == 0, run.summary.get("error")
            results[scenario] = contract.normalize(contract.read_log(log), endpoint)
    return results


def _client(endpoint: str, service: str):
    """A plain boto3 client (not the runbook's): its requests are not recorded."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _made_by_hand(endpoint: str) -> None:
    """A user and a group someone added in the console, for prune to remove."""
    cognito = _client(endpoint, "cognito-idp")
    pool_id = next(p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "DB2UserPool")
    cognito.admin_create_user(UserPoolId=pool_id, Username="handmade", MessageAction="SUPPRESS")
    cognito.create_group(UserPoolId=pool_id, GroupName="OLDGROUP")
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="handmade", GroupName="OLDGROUP")


def _deleted_by_hand(endpoint: str) -> None:
    """Someone deletes a user in the console and its secret with a recovery window."""
    cognito, secrets = _client(endpoint, "cognito-idp"), _client(endpoint, "secretsmanager")
    pool_id = next(p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "DB2UserPool")
    cognito.admin_delete_user(UserPoolId=pool_id, Username="db2dba")
    secrets.delete_secret(SecretId="cognito-runbook/contract/db2dba", RecoveryWindowInDays=7)


def _password_refused(params_file) -> None:
    """A new user whose password Cognito refuses after the user was created (injected, as a
    pool's Lambda trigger or a compromised-credentials check would refuse it): the runbook
    deletes the half-made user and says so."""
    runbook = Runbook.open(params_file)

    def refuse(**_):
        raise ClientError(
            {"Error": {"Code": "InvalidPasswordException", "Message": "Password refused"}}, "AdminSetUserPassword"
        )

    runbook.backend.session.events.register("before-call.cognito-identity-provider.AdminSetUserPassword", refuse)
    with pytest.raises(RunbookError, match=r"users\[2\]\.password: the pool rejected the password for 'refused'"):
        runbook.run_stage("users")
    cognito = runbook.backend.client("cognito-idp")
    pool_id = runbook.pool()["Id"]
    assert "refused" not in {u["Username"] for u in cognito.list_users(UserPoolId=pool_id)["Users"]}


def _drift_everything(endpoint: str) -> None:
    """Someone changes every managed setting by hand (plain boto3 clients: not recorded), so
    the drift scenario exercises every update the runbook can send."""
    import io
    import json
    import zipfile

    def client(service):
        return _client(endpoint, service)

    cognito, lam, iam, api2 = client("cognito-idp"), client("lambda"), client("iam"), client("apigatewayv2")
    pool_id = next(p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "DB2UserPool")
    by_hand = ByHand()
    by_hand.change_user_pool(cognito, pool_id, lambda pool: pool["Policies"]["PasswordPolicy"].update(MinimumLength=15))
    client_id = cognito.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"][0]["ClientId"]
    by_hand.change_app_client(cognito, pool_id, client_id, CallbackURLs=["https://example.com/cb"])
    cognito.update_user_pool_domain(Domain="contract-demo", UserPoolId=pool_id, ManagedLoginVersion=2)
    cognito.update_group(UserPoolId=pool_id, GroupName="DB2ADMIN", Description="edited by hand")
    cognito.admin_update_user_attributes(
        UserPoolId=pool_id, Username="db2dba", UserAttributes=[{"Name": "email", "Value": "other@example.com"}]
    )
    cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username="appuser", GroupName="DB2USERS")

    function = "contract-generateToken"
    lam.update_function_configuration(FunctionName=function, Timeout=30)
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as bundle:
        bundle.writestr("generate_token.py", "def lambda_handler(event, context):\n    return {}\n")
    lam.update_function_code(FunctionName=function, ZipFile=other.getvalue())
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "edgelambda.amazonaws.com"}}
        ],
    }
    iam.update_assume_role_policy(RoleName=function, PolicyDocument=json.dumps(trust))
    iam.delete_role_permissions_boundary(RoleName=function)  # the administrator's key may

    api_id = next(a["ApiId"] for a in api2.get_apis()["Items"] if a["Name"] == "getToken")
    api2.update_stage(
        ApiId=api_id, StageName="$default", DefaultRouteSettings={"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 1.0}
    )
    integration = api2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
    api2.update_integration(ApiId=api_id, IntegrationId=integration, TimeoutInMillis=5000)
    route = api2.get_routes(ApiId=api_id)["Items"][0]["RouteId"]
    api2.update_route(ApiId=api_id, RouteId=route, AuthorizationType="AWS_IAM")
    statement = json.loads(lam.get_policy(FunctionName=function)["Policy"])["Statement"][0]
    lam.remove_permission(FunctionName=function, StatementId=statement["Sid"])
    lam.add_permission(
        FunctionName=function,
        StatementId=statement["Sid"],
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn="arn:aws:execute-api:us-east-1:123456789012:other/*",
    )


def _write_operations(recorded) -> None:
    calls = contract.operations([r for s in SCENARIOS for r in recorded[s]])
    header = "# Every AWS operation in tests/contracts/ (written by `make contracts`): the IAM policy's actions.\n"
    OPERATIONS.write_text(header + "\n".join(calls) + "\n")


def test_the_packaged_operations_are_the_contracts(recorded, request):
    if request.config.getoption("--update-contracts"):
        _write_operations(recorded)
    calls = contract.operations([r for s in SCENARIOS for r in recorded[s]])
    assert iam_policy.recorded_operations() == calls, "run `make contracts` after reviewing the contract diff"


def _as_yaml(requests: list[dict]) -> str:
    return yaml.safe_dump(requests, sort_keys=False, width=120, allow_unicode=True)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_requests_match_the_reviewed_contract(recorded, scenario, request):
    path = CONTRACTS / f"{scenario}.yaml"
    current = _as_yaml(recorded[scenario])
    if request.config.getoption("--update-contracts"):
        CONTRACTS.mkdir(exist_ok=True)
        path.write_text(current)
    reviewed = path.read_text() if path.exists() else ""
    diff = "".join(
        difflib.unified_diff(
            reviewed.splitlines(True),
            current.splitlines(True),
            f"tests/contracts/{scenario}.yaml (reviewed)",
            "what the runbook sends now",
        )
    )
    assert not diff, f"the runbook's requests changed; review, then `make contracts`:\n{diff}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_recorded_request_is_valid_for_botocore(recorded, scenario):
    assert contract.validation_errors(recorded[scenario], boto3.session.Session()._session) == []


def test_the_scenarios_say_what_they_should(recorded):
    writes = {s: [r["call"] for r in recorded[s] if is_write(r["call"].split(".")[1])] for s in SCENARIOS}
    assert "cognito-idp.CreateUserPool" in writes["fresh"] and "lambda.CreateFunction" in writes["fresh"]
    create_role = next(r for r in recorded["fresh"] if r["call"] == "iam.CreateRole")
    assert create_role["params"]["PermissionsBoundary"].endswith(":policy/cognito-runbook-contract-function-boundary")
    assert writes["noop"] == []
    assert set(writes["drift"]) >= {
        "cognito-idp.UpdateUserPool",
        "cognito-idp.UpdateUserPoolClient",
        "cognito-idp.UpdateUserPoolDomain",
        "cognito-idp.UpdateGroup",
        "cognito-idp.AdminUpdateUserAttributes",
        "cognito-idp.AdminAddUserToGroup",
        "lambda.UpdateFunctionConfiguration",
        "lambda.UpdateFunctionCode",
        "iam.UpdateAssumeRolePolicy",
        "iam.PutRolePermissionsBoundary",
        "apigatewayv2.UpdateStage",
        "apigatewayv2.UpdateIntegration",
        "apigatewayv2.UpdateRoute",
        "lambda.RemovePermission",
        "lambda.AddPermission",
    }
    drift_update = next(r for r in recorded["drift"] if r["call"] == "cognito-idp.UpdateUserPool")
    assert drift_update["params"]["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    assert set(writes["lifecycle"]) >= {
        "cognito-idp.AdminDisableUser",
        "cognito-idp.AdminDeleteUser",
        "cognito-idp.DeleteGroup",
        "cognito-idp.AdminSetUserPassword",
        "cognito-idp.AdminUserGlobalSignOut",
        "secretsmanager.PutSecretValue",
    }
    assert set(writes["revisit"]) >= {
        "cognito-idp.AdminEnableUser",
        "cognito-idp.AdminRemoveUserFromGroup",
        "secretsmanager.RestoreSecret",
        "cognito-idp.AdminDeleteUser",
    }
    assert "secretsmanager.DescribeSecret" in [r["call"] for r in recorded["revisit"]]
    assert "cognito-idp.DeleteUserPool" in writes["teardown"]
    sign_ins = [
        r["params"]["AuthParameters"] for s in SCENARIOS for r in recorded[s] if r["call"].endswith("InitiateAuth")
    ]
    assert sign_ins and all(p["PASSWORD"] == "<secret>" for p in sign_ins)  # a password test never leaks it
    text = "".join(_as_yaml(recorded[s]) for s in SCENARIOS)
    assert "<secret>" in text and "123456789012" not in text and "127.0.0.1" not in text


def test_a_changed_request_shows_as_a_readable_diff(recorded):
    reviewed = _as_yaml(recorded["fresh"])
    changed = [dict(r) for r in recorded["fresh"]]
    index = next(i for i, r in enumerate(changed) if r["call"] == "lambda.CreateFunction")
    changed[index] = {**changed[index], "params": {**changed[index]["params"], "Timeout": 99}}
    diff = "".join(difflib.unified_diff(reviewed.splitlines(True), _as_yaml(changed).splitlines(True)))
    assert "-    Timeout: 10\n+    Timeout: 99\n" in diff

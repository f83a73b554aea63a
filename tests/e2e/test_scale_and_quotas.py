"""Many users within Cognito's request-rate quotas: the runbook's workers are paced per
quota category, and the local AWS enforces the quotas (TooManyRequestsException)."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cognito_runbook.backend import Backend
from cognito_runbook.errors import ParamsError
from cognito_runbook.local.server import CognitoQuotas
from cognito_runbook.pacing import Pacer
from cognito_runbook.params import parse_params
from cognito_runbook.quotas import CATEGORY, DEFAULT_RPS
from cognito_runbook.stages.common import Context


def test_every_operation_the_runbook_sends_to_cognito_has_a_quota_category():
    from cognito_runbook.iam_policy import recorded_operations

    cognito = [op.split(".")[1] for op in recorded_operations() if op.startswith("cognito-idp.")]
    assert [op for op in cognito if op not in CATEGORY] == []
    assert {CATEGORY["AdminAddUserToGroup"], CATEGORY["AdminSetUserPassword"]} == {"UserUpdate", "UserAccountRecovery"}


def test_the_pacer_spaces_calls_by_their_category_rate():
    pacer = Pacer({"UserUpdate": 50})
    started = time.monotonic()
    for _ in range(11):
        pacer.acquire("AdminAddUserToGroup")  # 10 intervals of 20 ms
    pacer.acquire("ListUsers")  # another category: no wait
    pacer.acquire("GetCallerIdentity")  # not Cognito: never paced
    assert 0.19 <= time.monotonic() - started < 0.5


def test_the_local_quota_refuses_like_cognito_once_a_second_of_requests_is_spent():
    quotas = CognitoQuotas()
    environ = {
        "HTTP_X_AMZ_TARGET": "AWSCognitoIdentityProviderService.AdminAddUserToGroup",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/cognito-idp/aws4_request",
    }
    answers = [quotas.check(environ) for _ in range(int(DEFAULT_RPS["UserUpdate"]) + 1)]
    assert all(a is None for a in answers[:-1])
    refused = answers[-1]
    assert refused.status_code == 400 and json.loads(refused.get_data())["__type"] == "TooManyRequestsException"
    other_region = {**environ, "HTTP_AUTHORIZATION": environ["HTTP_AUTHORIZATION"].replace("us-east-1", "eu-west-1")}
    assert quotas.check(other_region) is None  # quotas are per region


def test_raised_quotas_are_params_and_checked():
    params = parse_params({"stack": "s", "cognito_quotas": {"UserCreation": 100}, "workers": 16})
    assert Pacer(params.cognito_quotas).rates["UserCreation"] == 100
    with pytest.raises(ParamsError, match=r"cognito_quotas: unknown quota category UserCreations"):
        parse_params({"stack": "s", "cognito_quotas": {"UserCreations": 100}})
    with pytest.raises(ParamsError, match=r"workers: Input should be less than or equal to 64"):
        parse_params({"stack": "s", "workers": 100})


def test_workers_record_changes_in_item_order_and_raise_the_first_failure():
    ctx = Context(parse_params({"stack": "s", "workers": 4}), Backend("local", "us-east-1"))

    def work(i: int) -> None:
        time.sleep(0.01 * (5 - i % 5))  # later items finish first
        ctx.apply("users", "create", "user", f"u{i}")

    ctx.each(list(range(20)), work, "users")
    assert [c.name for c in ctx.changes] == [f"u{i}" for i in range(20)]

    def failing(i: int) -> None:
        if i == 3:
            raise ValueError("item 3")
        ctx.apply("users", "create", "user", f"v{i}")

    with pytest.raises(ValueError, match="item 3"):
        ctx.each(list(range(40)), failing, "users")
    made = [c.name for c in ctx.changes if c.name.startswith("v")]
    assert "v3" not in made and len(made) < 40  # the rest was not started


def test_many_users_under_the_enforced_quotas_no_throttling_error_surfaces(make_stack, local_aws):
    """Enough calls to outrun UserUpdate's 25 RPS without pacing; paced, none is refused."""
    users = [{"name": f"bulk{i:03d}", "password": "env:BULK_PW"} for i in range(60)]
    groups = [{"name": "DB2BULK"}, {"name": "DB2MORE"}]
    memberships = {u["name"]: ["DB2BULK", "DB2MORE"] for u in users}
    import os

    os.environ["BULK_PW"] = "Bulk-Passw0rd!"
    stack = make_stack(users=users, groups=groups, memberships=memberships, workers=8)

    def refused() -> int:
        with urllib.request.urlopen(f"{local_aws}/_local/throttled", timeout=10) as resp:
            return sum(json.loads(resp.read()).values())

    before = refused()
    try:
        stack.provision(["user_pool", "users", "groups", "memberships"])
        assert refused() == before  # the pacer kept every category under its quota
        again = make_stack(users=users, groups=groups, memberships=memberships, workers=8)
        again.provision(["user_pool", "users", "groups", "memberships"])
        assert sum(again.backend.log.writes.values()) == 0
        unpaced = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=local_aws,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 1}),  # no retries
        )
        pool_id = stack.pool()["Id"]

        def remove(i: int) -> str:
            try:
                unpaced.admin_remove_user_from_group(UserPoolId=pool_id, Username=f"bulk{i:03d}", GroupName="DB2MORE")
                return "ok"
            except ClientError as err:
                return err.response["Error"]["Code"]

        with ThreadPoolExecutor(max_workers=16) as pool:  # a burst beyond the bucket, no pacer, no retries
            codes = set(pool.map(remove, range(60)))
        assert codes == {"ok", "TooManyRequestsException"}
        assert refused() > before
    finally:
        make_stack().teardown()

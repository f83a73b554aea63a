"""Faults, interruptions and concurrent runs: the end state is always the clean one."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, as_admin
from faults import FaultInjector

from cognito_runbook.aws import STACK_TAG, paginate
from cognito_runbook.backend import Backend
from cognito_runbook.params import parse_params
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.runbook import Runbook
from cognito_runbook.tokens import TokenVerifier, get_tokens

HERE = Path(__file__).resolve().parent.parent  # tests/: kill_run.py and faults.py


def snapshot(rb: Runbook) -> dict:
    """The stack's end state, with generated ids left out, so two stacks compare equal."""
    b, p = as_admin(rb), rb.params
    cognito = b.client("cognito-idp")
    pools = [
        x
        for x in paginate(cognito, "list_user_pools", "UserPools", PaginationConfig={"PageSize": 60})
        if cognito.describe_user_pool(UserPoolId=x["Id"])["UserPool"].get("UserPoolTags", {}).get(STACK_TAG) == p.stack
    ]
    state = {"pools": len(pools)}
    if len(pools) == 1:
        pid = pools[0]["Id"]
        state["clients"] = len(cognito.list_user_pool_clients(UserPoolId=pid)["UserPoolClients"])
        state["users"] = sorted((u["Username"], u["UserStatus"]) for u in cognito.list_users(UserPoolId=pid)["Users"])
        groups = sorted(g["GroupName"] for g in cognito.list_groups(UserPoolId=pid)["Groups"])
        state["members"] = {
            g: sorted(u["Username"] for u in cognito.list_users_in_group(UserPoolId=pid, GroupName=g)["Users"])
            for g in groups
        }
        state["domain"] = cognito.describe_user_pool(UserPoolId=pid)["UserPool"].get("Domain") is not None
    apis = [a for a in b.client("apigatewayv2").get_apis()["Items"] if a.get("Tags", {}).get(STACK_TAG) == p.stack]
    state["apis"] = len(apis)
    if len(apis) == 1:
        api2 = b.client("apigatewayv2")
        state["routes"] = sorted(r["RouteKey"] for r in api2.get_routes(ApiId=apis[0]["ApiId"])["Items"])
        state["integrations"] = len(api2.get_integrations(ApiId=apis[0]["ApiId"])["Items"])
        state["stages"] = sorted(s["StageName"] for s in api2.get_stages(ApiId=apis[0]["ApiId"])["Items"])
    secrets = paginate(b.client("secretsmanager"), "list_secrets", "SecretList")
    state["secrets"] = sorted(
        s["Name"].rsplit("/", 1)[1] for s in secrets if s["Name"].startswith(f"cognito-runbook/{p.stack}/")
    )
    functions = [
        f["FunctionName"]
        for f in b.client("lambda").list_functions()["Functions"]
        if f["FunctionName"] == p.token_function.name
    ]
    state["functions"] = len(functions)
    return state


def tokens_work(rb: Runbook) -> bool:
    out = rb.outputs()
    verifier = TokenVerifier.for_stack(out)
    for user in rb.params.users:
        tokens = get_tokens(out.token_url, user.name, PasswordStore(rb.ctx).existing(user))
        verifier.verify(tokens.access_token, "access")
    return True


@pytest.fixture(scope="module")
def reference_state(local_aws, tmp_path_factory):
    """The end state of an uninterrupted run (for comparison)."""
    raw = yaml.safe_load((ROOT / "params" / "local.yaml").read_text())
    raw.update(stack="reference-run")
    raw["user_pool"] = {**raw["user_pool"], "domain_prefix": "reference-run"}
    raw["token_function"] = {**raw["token_function"], "name": "generateToken-reference"}
    rb = Runbook(parse_params(raw), Backend("local", "us-east-1", endpoint_url=local_aws))
    rb.provision()
    state = snapshot(rb)
    rb.teardown()
    return state


def normalised(state: dict) -> dict:
    return {k: v for k, v in state.items()}


def test_transient_faults_are_retried_without_duplicates(make_stack, reference_state):
    rb = make_stack()
    faults = FaultInjector(rate=0.2).install(rb.backend)
    try:
        rb.provision()
        assert sum(faults.injected.values()) >= 5, faults.injected
        assert {"500", "503"} & faults.injected.keys()
        clean = make_stack()
        assert normalised(snapshot(clean)) == reference_state
        assert tokens_work(clean)
        again = make_stack()
        FaultInjector(rate=0.2, seed=11).install(again.backend)
        again.provision()
        assert sum(again.backend.log.writes.values()) == 0
    finally:
        make_stack().teardown()


KILL_POINTS = [
    ("after", "CreateUserPool", 1),  # pool made, no domain, no client
    ("before", "CreateUserPoolClient", 1),
    ("after", "CreateUserPoolClient", 1),  # boundary user_pool | users
    ("after", "CreateSecret", 1),  # generated password stored, user not yet created
    ("after", "AdminCreateUser", 1),  # user left in FORCE_CHANGE_PASSWORD
    ("after", "AdminSetUserPassword", 1),  # between users
    ("after", "AdminSetUserPassword", 2),  # boundary users | groups
    ("after", "CreateGroup", 2),  # boundary groups | memberships
    ("after", "AdminAddUserToGroup", 2),  # in the middle of the memberships
    ("after", "CreateRole", 1),  # role without its policy
    ("after", "CreateFunction", 1),  # boundary token_function | token_api
    ("after", "CreateApi", 1),  # API without integration or route
    ("before", "CreateStage", 1),
    ("before", "AddPermission", 1),
]


@pytest.mark.parametrize("when, operation, nth", KILL_POINTS, ids=[f"{w}-{o}-{n}" for w, o, n in KILL_POINTS])
def test_killed_run_resumes_to_the_clean_end_state(
    make_stack, reference_state, tmp_path, local_aws, when, operation, nth
):
    rb = make_stack()
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(rb.params.model_dump(exclude_none=True)))
    proc = subprocess.run(
        [sys.executable, str(HERE / "kill_run.py"), str(params_file), local_aws, when, operation, str(nth)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, f"the run was not killed at {when} {operation}: {proc.stderr[-1500:]}"
    try:
        make_stack().provision()
        assert normalised(snapshot(make_stack())) == reference_state
        assert tokens_work(make_stack())
    finally:
        make_stack().teardown()
        assert snapshot(make_stack())["pools"] == 0


def test_teardown_after_a_killed_run_removes_everything(make_stack, tmp_path, local_aws):
    rb = make_stack()
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(rb.params.model_dump(exclude_none=True)))
    subprocess.run(
        [sys.executable, str(HERE / "kill_run.py"), str(params_file), local_aws, "after", "CreateApi"], timeout=120
    )
    make_stack().teardown()
    state = snapshot(make_stack())
    assert (state["pools"], state["apis"], state["functions"], state["secrets"]) == (0, 0, 0, [])


def test_two_runs_started_at_once_create_one_of_everything(make_stack, reference_state):
    runs = [make_stack(), make_stack()]
    errors = []

    def go(rb):
        try:
            rb.provision()
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=go, args=(rb,)) for rb in runs]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    try:
        assert not errors, errors
        assert normalised(snapshot(make_stack())) == reference_state
    finally:
        make_stack().teardown()


def test_stage_throttling_answers_429(make_stack):
    import urllib.error
    import urllib.request

    rb = make_stack(token_api={"name": "getToken", "throttling": {"burst_limit": 2, "rate_limit": 0.5}})
    rb.provision()
    try:
        statuses = []
        for _ in range(6):
            try:
                urllib.request.urlopen(rb.outputs().token_url, timeout=20)
            except urllib.error.HTTPError as err:
                statuses.append(err.code)
        assert statuses[:2] == [401, 401] and 429 in statuses[2:]
    finally:
        rb.teardown()

"""Shared fixtures. ``unit/`` needs no network and runs in seconds; everything under
``e2e/`` is marked ``e2e`` (``pytest -m "not e2e"`` leaves it out). End-to-end tests share
one private local AWS per session (started on a random 127.0.0.1 port) and keep apart by
using a unique stack per test."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import yaml

from cognito_runbook.aws import update_request
from cognito_runbook.backend import Backend
from cognito_runbook.params import parse_params
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.runbook import Runbook
from cognito_runbook.tokens import get_tokens

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def local_aws():
    from cognito_runbook.local import control

    with control.private() as endpoint:
        yield endpoint


@pytest.fixture
def local_params_raw() -> dict:
    return yaml.safe_load((ROOT / "params" / "local.yaml").read_text())


@pytest.fixture
def make_stack(local_aws, local_params_raw, monkeypatch):
    """A Runbook factory for a fresh stack (unique names) on the shared local AWS."""
    suffix = f"t{os.getpid() % 1000}x{next(_counter)}"

    def make(plan: bool = False, **changes) -> Runbook:
        raw = dict(local_params_raw)
        raw["stack"] = f"test-{suffix}"
        raw["user_pool"] = {**raw["user_pool"], "domain_prefix": f"test-{suffix}"}
        raw["token_function"] = {**raw["token_function"], "name": f"generateToken-{suffix}"}
        raw["token_api"] = {**raw["token_api"], "throttling": {"burst_limit": 1000, "rate_limit": 1000}}
        raw.update(changes)
        return Runbook(
            parse_params(raw), Backend("local", raw.get("region", "us-east-1"), endpoint_url=local_aws, plan=plan)
        )

    return make


@pytest.fixture
def provisioned(make_stack):
    """A fully provisioned stack and its outputs; torn down afterwards."""
    rb = make_stack()
    rb.provision()
    out = rb.outputs()
    # Like AWS, the local AWS applies a new role policy after a moment; until then GET /token
    # answers 503. One request that waits it out, so tests that send raw requests see a settled stack.
    get_tokens(out.token_url, rb.params.users[0].name, PasswordStore(rb.ctx).existing(rb.params.users[0]))
    yield rb, out
    make_stack().teardown()


_admins: dict[tuple[str, str], Backend] = {}


def as_admin(runbook: Runbook) -> Backend:
    """The local AWS's administrator, for a test that plays a person changing things by
    hand: its calls are not checked against the operator's policy (the runbook's own are)."""
    key = (runbook.backend.region, runbook.backend.endpoint_url)
    if key not in _admins:
        _admins[key] = Backend("local", key[0], endpoint_url=key[1], admin=True)
    return _admins[key]


class ByHand:
    """Changes made outside the runbook, as a person makes them, through the boto3 client
    given (a plain client, not the runbook's: nothing is recorded or paced)."""

    @staticmethod
    def change_user_pool(cognito, pool_id: str, edit) -> None:
        """As the console does: read the pool, ``edit(pool)`` in place, send it all back."""
        pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        edit(pool)
        request = update_request(cognito, "UpdateUserPool", pool, {}, UserPoolId=pool_id)
        request["AdminCreateUserConfig"].pop("UnusedAccountValidityDays", None)  # read back, refused if sent
        cognito.update_user_pool(**request)

    @staticmethod
    def change_app_client(cognito, pool_id: str, client_id: str, **changes) -> None:
        """As the console does: read the client, change ``changes``, send everything back."""
        client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
        cognito.update_user_pool_client(
            **update_request(cognito, "UpdateUserPoolClient", client, changes, UserPoolId=pool_id, ClientId=client_id)
        )

    @staticmethod
    def overwrite_app_client(cognito, pool_id: str, client_id: str, **fields) -> None:
        """As ``aws cognito-idp update-user-pool-client`` with a few options does: every
        setting not sent is reset to Cognito's default."""
        cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, **fields)


@pytest.fixture
def by_hand() -> ByHand:
    return ByHand()


def pytest_addoption(parser):
    parser.addoption(
        "--update-contracts", action="store_true", help="rewrite tests/contracts/ from what the runbook sends now"
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(item.path).resolve().relative_to(TESTS).parts[0] == "e2e":
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose each phase's report on the test item (the browser test screenshots failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)

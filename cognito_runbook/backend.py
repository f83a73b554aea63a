"""boto3 sessions and clients for the two backends: real AWS, or the embedded local AWS.

One ``Backend`` per runbook run. It owns the session, hands out cached clients with
botocore's retry modes, and counts every API call (reads and writes) through one
botocore event hook. In plan mode the same hook refuses any write, so "plan makes
no write call" is enforced, not just hoped for.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field

import boto3
import botocore.loaders
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from .aws import error_code, error_message, is_write
from .constants import (
    LOCAL_ACCOUNT_ID,
    LOCAL_CREDENTIALS,
    LOCAL_OPERATOR_CREDENTIALS,
    RECORD_REQUESTS_ENV,
    USER_AGENT,
)
from .errors import BackendError, PlanModeWrite
from .pacing import Pacer

# Cognito's admin APIs have low per-account request-rate quotas (tens per second):
# adaptive mode adds client-side rate limiting on top of the standard retries.
ADAPTIVE_SERVICES = {"cognito-idp"}
MAX_WORKERS = 64  # the most params.workers allows


SERVICES = ("cognito-idp", "iam", "lambda", "apigatewayv2", "secretsmanager", "sts", "logs")
# One botocore data loader for every session in this process: service models (the
# Cognito one is large) are parsed once instead of once per Backend.
_LOADER = botocore.loaders.create_loader()


def warm_up() -> None:
    """Parse the service models now (notebook kernels do this while they boot)."""
    for service in SERVICES:
        _LOADER.load_service_model(service, "service-2")
    _LOADER.load_data("endpoints")
    _LOADER.load_data("partitions")


@dataclass
class CallLog:
    """Counts API calls by operation; ``writes`` is what idempotency tests assert on."""

    calls: Counter = field(default_factory=Counter)
    plan: bool = False

    @property
    def writes(self) -> Counter:
        return Counter({op: n for op, n in self.calls.items() if is_write(op.split(".")[1])})

    @property
    def reads(self) -> Counter:
        return Counter({op: n for op, n in self.calls.items() if not is_write(op.split(".")[1])})

    def total(self) -> int:
        return sum(self.calls.values())

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # workers count too

    def _before_call(self, model, **_):
        service = model.service_model.service_name
        if self.plan and is_write(model.name):
            raise PlanModeWrite(
                f"plan mode: refused write call {service}.{model.name} (this is a bug in cognito-runbook)"
            )
        with self._lock:
            self.calls[f"{service}.{model.name}"] += 1


class Backend:
    """Clients for one account and region, local or real."""

    def __init__(
        self,
        kind: str,
        region: str,
        profile: str | None = None,
        endpoint_url: str | None = None,
        plan: bool = False,
        admin: bool = False,
    ):
        self.kind = kind
        self.region = region
        self.profile = profile
        self.pacer: Pacer | None = None
        self.endpoint_url = endpoint_url
        self.log = CallLog(plan=plan)
        try:
            if kind == "local":
                # Fixed fake keys: never send the caller's real credentials to the local AWS. The
                # operator's key by default: the local AWS checks its calls against its IAM policy.
                keys = LOCAL_CREDENTIALS if admin else LOCAL_OPERATOR_CREDENTIALS
                self.session = boto3.Session(region_name=region, **keys)
            else:
                self.session = boto3.Session(profile_name=profile, region_name=region)
        except ProfileNotFound:
            raise BackendError(
                f"profile: AWS profile '{profile}' is not in ~/.aws/config; fix the name or remove it to use the default credentials"
            ) from None
        self.session._session.register_component("data_loader", _LOADER)
        self.session.events.register("before-call.*.*", self.log._before_call)
        if os.environ.get(RECORD_REQUESTS_ENV):
            from .contract import RequestRecorder

            RequestRecorder(os.environ[RECORD_REQUESTS_ENV]).install(self.session)
        self._clients: dict[str, object] = {}
        self._client_lock = threading.Lock()
        self._account_id: str | None = LOCAL_ACCOUNT_ID if kind == "local" else None

    @property
    def plan(self) -> bool:
        return self.log.plan

    def pace(self, quotas: dict[str, float] | None = None) -> Pacer:
        """Space Cognito calls by the account's request-rate quotas (once per backend)."""
        if self.pacer is None:
            self.pacer = Pacer(quotas)
            self.session.events.register("before-call.cognito-identity-provider.*", self.pacer.before_call)
        return self.pacer

    def planning(self) -> Backend:
        """The same account and endpoint in plan mode (reads only)."""
        twin = Backend(self.kind, self.region, self.profile, self.endpoint_url, plan=True)
        twin._account_id = self._account_id
        return twin

    def client(self, service: str):
        """One client per service (clients are thread-safe; making one from a session is not)."""
        with self._client_lock:
            if service not in self._clients:
                mode = "adaptive" if service in ADAPTIVE_SERVICES else "standard"
                config = Config(
                    retries={"mode": mode, "max_attempts": 8},
                    connect_timeout=10,
                    read_timeout=60,
                    user_agent_extra=USER_AGENT,
                    max_pool_connections=MAX_WORKERS,  # one connection per worker
                )
                self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=config)
            return self._clients[service]

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = self.check_credentials()
        return self._account_id

    def check_credentials(self) -> str:
        """Return the account id, or raise a BackendError that says how to fix access."""
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except NoCredentialsError:
            raise BackendError(
                "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run on a host with an instance role (or use backend: local)"
            ) from None
        except NoRegionError:
            raise BackendError("region: no AWS region set; put region: in the params file") from None
        except ClientError as err:
            raise BackendError(
                f"AWS rejected the credentials ({error_code(err)}): {error_message(err)}; refresh them (aws sso login, or new keys)"
            ) from None
        except BotoCoreError as err:
            raise BackendError(f"cannot reach AWS STS in {self.region}: {err}") from None

    def invoke_url(self, api_id: str, api_endpoint: str) -> str:
        """The base URL that serves the HTTP API's ``$default`` stage."""
        if self.kind == "local":
            return f"{self.endpoint_url}/_execute-api/{api_id}"
        return api_endpoint

    def issuer(self, pool_id: str) -> str:
        # Always the AWS string, also locally: that is what moto puts in ``iss``.
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"

    def jwks_url(self, pool_id: str) -> str:
        if self.kind == "local":
            return f"{self.endpoint_url}/{pool_id}/.well-known/jwks.json"
        return f"{self.issuer(pool_id)}/.well-known/jwks.json"

    def hosted_ui_base(self, domain_prefix: str) -> str:
        if self.kind == "local":
            return f"{self.endpoint_url}/_hosted-ui/{domain_prefix}"
        return f"https://{domain_prefix}.auth.{self.region}.amazoncognito.com"


def connect(params, plan: bool = False, start_local: bool = True) -> Backend:
    """The backend a params file asks for; starts (or reuses) the local AWS if needed."""
    if params.backend == "local":
        from .local import control

        endpoint = control.ensure_running() if start_local else control.endpoint()
        if endpoint is None:
            raise BackendError(
                "the local AWS is not running; start it with `cognito-runbook local start` or run notebook 00"
            )
        return Backend("local", params.region, endpoint_url=endpoint, plan=plan)
    backend = Backend("aws", params.region, profile=params.profile, plan=plan)
    backend.check_credentials()
    return backend

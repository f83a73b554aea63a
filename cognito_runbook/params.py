"""Load and validate a params file: one stack, checked as a whole before any AWS call.

Every problem is reported at once as ``field.path: what is wrong -> how to fix it``.
Passwords never appear here, only their *source*: ``env:VAR``, ``prompt`` or
``generate`` (see ``passwords.py``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ParamsError
from .params_checks import STACK_RE, cross_field_problems, domain_prefix_problem
from .quotas import DEFAULT_RPS

PASSWORD_SOURCES_HELP = "use env:VAR_NAME (read from the environment), prompt (asked for when run) or generate (random, kept in AWS Secrets Manager)"
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
ENV_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LAMBDA_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PYTHON_RUNTIMES = ("python3.12", "python3.13", "python3.14")
# Every flow the console runbook ticks. ADMIN_USER_PASSWORD_AUTH is what GET /token uses;
# REFRESH_TOKEN_AUTH lets a refresh token be used.
CONSOLE_AUTH_FLOWS = (
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
)
REQUIRED_AUTH_FLOWS = ("ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
CONSOLE_FUNCTION_NAME = "generateToken"
CLASSIC_HOSTED_UI = 1  # ManagedLoginVersion 1: the classic hosted UI (2 is "managed login")
DEPRECATED_RUNTIMES = ("python3.9", "python3.10", "python3.11")


@dataclass(frozen=True)
class PasswordSource:
    """Where a user's password comes from, parsed once: ``kind`` is ``env`` (``var`` names
    the environment variable), ``prompt`` or ``generate``. Written back as its text."""

    kind: Literal["env", "prompt", "generate"]
    var: str | None = None

    @classmethod
    def parse(cls, text: Any) -> PasswordSource:
        if isinstance(text, cls):
            return text
        if text in ("prompt", "generate"):
            return cls(text)
        if isinstance(text, str) and text.startswith("env:"):
            var = text[4:]
            if not ENV_VAR_NAME_RE.match(var):
                # Name the rule, never the value: it may be a mistyped real password.
                raise ValueError(
                    "the environment variable name after env: is not valid; use letters, digits and "
                    "underscores, not starting with a digit (e.g. env:DB2DBA_PASSWORD)"
                )
            return cls("env", var)
        # Never echo the value: it may be a real password.
        raise ValueError(f"is not a password source. Passwords never go in a params file; {PASSWORD_SOURCES_HELP}")

    @classmethod
    def env(cls, var: str) -> PasswordSource:
        return cls.parse(f"env:{var}")

    @property
    def generated(self) -> bool:
        return self.kind == "generate"

    def __str__(self) -> str:
        return f"env:{self.var}" if self.kind == "env" else self.kind


# A params field holding a PasswordSource: read from its text, dumped as its text.
PasswordSourceField = Annotated[
    PasswordSource, BeforeValidator(PasswordSource.parse), PlainSerializer(str, return_type=str)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PasswordPolicy(_Model):
    min_length: int = Field(8, ge=6, le=99)
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True


class UserPoolParams(_Model):
    name: str = Field("DB2UserPool", min_length=1, max_length=128)
    domain_prefix: str | None = None  # default: the stack name, lower-cased
    sign_in: Literal["username", "email"] = "username"
    case_sensitive_usernames: bool = False  # Db2 upper-cases authorization ids
    preferred_username_alias: bool = False
    password_policy: PasswordPolicy = PasswordPolicy()
    # None (the default): on for backend aws, left as found for backend local.
    deletion_protection: bool | None = None
    tier: Literal["LITE", "ESSENTIALS", "PLUS"] = "ESSENTIALS"  # UserPoolTier, the feature plan
    hosted_ui_version: int = CLASSIC_HOSTED_UI  # ManagedLoginVersion of the domain

    @field_validator("hosted_ui_version")
    @classmethod
    def _hosted_ui(cls, v: int) -> int:
        if v != CLASSIC_HOSTED_UI:
            raise ValueError(
                "must be 1 (the classic hosted UI): the runbook's scripted sign-in and notebook 08 read its "
                "sign-in form; managed login (2) is not supported yet"
            )
        return v

    @field_validator("domain_prefix")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        problem = domain_prefix_problem(v) if v is not None else None
        if problem:
            raise ValueError(problem)
        return v


class AppClientParams(_Model):
    name: str = Field("db2-app-client", min_length=1, max_length=128)
    callback_urls: list[str] = Field(default_factory=lambda: ["http://localhost"], min_length=1)
    # "implicit" is what the console runbook uses; "code" (authorization code + PKCE)
    # is what AWS recommends for public clients. Both may be listed.
    oauth_flows: list[Literal["implicit", "code"]] = Field(default_factory=lambda: ["implicit"], min_length=1)
    oauth_scopes: list[str] = Field(default_factory=lambda: ["phone", "openid", "email"], min_length=1)
    auth_flows: list[str] = Field(default_factory=lambda: list(CONSOLE_AUTH_FLOWS), min_length=1)
    id_token_minutes: int = Field(60, ge=5, le=1440)  # Cognito: 5 minutes to 1 day
    access_token_minutes: int = Field(60, ge=5, le=1440)
    refresh_token_days: int = Field(30, ge=1, le=3650)  # Cognito: up to 10 years

    @field_validator("auth_flows")
    @classmethod
    def _flows(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in CONSOLE_AUTH_FLOWS]
        if unknown:
            raise ValueError(f"unknown auth flow(s) {', '.join(unknown)}; choose from {', '.join(CONSOLE_AUTH_FLOWS)}")
        missing = [f for f in REQUIRED_AUTH_FLOWS if f not in v]
        if missing:
            raise ValueError(
                f"must include {', '.join(missing)}: GET /token signs in with ADMIN_USER_PASSWORD_AUTH, "
                "and refresh tokens need REFRESH_TOKEN_AUTH"
            )
        return v

    @field_validator("callback_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not re.match(r"^https://|^http://localhost(:\d+)?(/|$)", url):
                raise ValueError(
                    f"'{url}' is not allowed: Cognito takes https:// URLs, or http://localhost for testing"
                )
        return v


class TokenFunctionParams(_Model):
    # Lambda names are unique per account and region: the default is the stack's own,
    # <stack>-generateToken. The console runbook's name, generateToken, can be set here.
    name: str = ""  # "" until Params fills in the stack's default
    runtime: str = "python3.13"
    timeout: int = Field(10, ge=3, le=900)
    memory_mb: int = Field(256, ge=128, le=10240)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v and not LAMBDA_NAME_RE.match(v):
            raise ValueError("must be 1-64 letters, digits, hyphens or underscores")
        return v

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, v: str) -> str:
        if v in DEPRECATED_RUNTIMES:
            raise ValueError(f"{v} is deprecated by AWS Lambda; use python3.13")
        if v not in PYTHON_RUNTIMES:
            raise ValueError(f"must be one of {', '.join(PYTHON_RUNTIMES)} (the handler is Python)")
        return v


class Throttling(_Model):
    # The token endpoint takes passwords: keep the default rate low enough to blunt
    # password guessing while serving a team of DBAs comfortably.
    burst_limit: int = Field(10, ge=1, le=5000)
    rate_limit: float = Field(5.0, gt=0, le=10000)


class TokenApiParams(_Model):
    name: str = Field("getToken", min_length=1, max_length=128)
    throttling: Throttling = Throttling()
    # The console runbook's handler returns the refresh token too; a script that only
    # connects to Db2 does not need a 30-day credential: set false.
    return_refresh_token: bool = True
    # Access log of the $default stage in a CloudWatch log group the stack owns (JSON:
    # request id, status, latency, source IP; never the Authorization header).
    # None (the default): on for backend aws, off for local.
    access_logs: bool | None = None


class UserParams(_Model):
    name: str = Field(min_length=1, max_length=128)
    email: str | None = None
    password: PasswordSourceField = PasswordSource("generate")
    enabled: bool = True  # false: the user stays (groups, password) but cannot sign in or get tokens

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v):
            raise ValueError("is not an e-mail address (name@example.com)")
        return v


class GroupParams(_Model):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=2048)
    precedence: int | None = Field(None, ge=0)


class Db2Params(_Model):
    # true: Db2 grants authorities to the Cognito groups (GRANT ... TO GROUP), so each user's
    # groups must reach Db2. false: Db2 grants nothing to groups (users only), which allows
    # mixed-case user names in a case-sensitive pool (see params_checks._groups_reach_db2).
    group_authorities: bool = True


class Params(_Model):
    backend: Literal["local", "aws"] = "local"
    region: str = "us-east-1"
    profile: str | None = None
    stack: str  # required: it tags everything the runbook creates, so there is no safe default
    user_pool: UserPoolParams = UserPoolParams()
    app_client: AppClientParams = AppClientParams()
    token_function: TokenFunctionParams = TokenFunctionParams()  # name: <stack>-generateToken unless set
    token_api: TokenApiParams = TokenApiParams()
    users: list[UserParams] = Field(default_factory=list)
    groups: list[GroupParams] = Field(default_factory=list)
    memberships: dict[str, list[str]] = Field(default_factory=dict)
    db2: Db2Params = Db2Params()  # how Db2 uses what the pool holds
    # true: users and groups in the pool that the params do not list are deleted (their
    # memberships go with them). Never by default: a pool may hold people made elsewhere.
    prune: bool = False
    # Users and memberships are provisioned by this many workers, paced by Cognito's request-rate
    # quotas: the defaults of AWS's quota page, or the account's raised ones (category: RPS).
    workers: int = Field(8, ge=1, le=64)
    cognito_quotas: dict[str, float] = Field(default_factory=dict)

    @field_validator("cognito_quotas")
    @classmethod
    def _quotas(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in v if k not in DEFAULT_RPS]
        if unknown:
            raise ValueError(
                f"unknown quota categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                f"categories are {', '.join(DEFAULT_RPS)} (AWS's 'Quotas in Amazon Cognito' page)"
            )
        low = [k for k, rps in v.items() if rps <= 0]
        if low:
            raise ValueError(f"{', '.join(low)}: a rate is a number of requests per second above 0")
        return v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if not REGION_RE.match(v):
            raise ValueError("is not an AWS region name (like us-east-1 or eu-north-1)")
        if v not in runbook_regions():
            raise ValueError(
                f"'{v}' is not a region where Cognito, Lambda and API Gateway are all offered "
                "(botocore's endpoint data); check the spelling, e.g. us-east-1 or eu-north-1"
            )
        return v

    @field_validator("stack")
    @classmethod
    def _stack(cls, v: str) -> str:
        if not STACK_RE.match(v):
            raise ValueError("must start with a letter and hold at most 40 letters, digits or hyphens")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_function_name(cls, data: Any) -> Any:
        function = data.get("token_function", {}) if isinstance(data, dict) else None
        if isinstance(function, dict) and not function.get("name") and isinstance(data.get("stack"), str):
            data = {**data, "token_function": {**function, "name": f"{data['stack']}-{CONSOLE_FUNCTION_NAME}"}}
        return data

    @property
    def domain_prefix(self) -> str:
        return self.user_pool.domain_prefix or self.stack.lower()

    @property
    def access_logs(self) -> bool:
        if self.token_api.access_logs is not None:
            return self.token_api.access_logs
        return self.backend == "aws"

    @property
    def deletion_protection(self) -> bool | None:
        """What the runbook sends: the params value, else on for AWS and not managed locally."""
        if self.user_pool.deletion_protection is not None:
            return self.user_pool.deletion_protection
        return True if self.backend == "aws" else None


@functools.cache
def runbook_regions() -> frozenset[str]:
    """Regions (every partition) that offer all three services the stack needs, from the
    endpoint data botocore ships: no network needed."""
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        offered = [set(session.get_available_regions(s, partition)) for s in ("cognito-idp", "lambda", "apigatewayv2")]
        regions |= set.intersection(*offered)
    return frozenset(regions)


def _where(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _pydantic_problems(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "is not a known setting; check the spelling (see params/local.yaml for every key)"
        elif e["type"] == "missing" and e["loc"] == ("stack",):
            msg = (
                "is required: the stack's name tags everything the runbook creates (e.g. stack: db2-prod); "
                "see params/local.yaml or params/aws-example.yaml for a whole file"
            )
        elif e["type"] == "literal_error":
            msg = f"{msg} (got {e['input']!r})"
        problems.append(f"{_where(e['loc'])}: {msg}")
    return problems


def parse_params(raw: Any, source: str = "params") -> Params:
    """Validate a params mapping; raise ``ParamsError`` listing every problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(["(top level): must be a mapping of settings (key: value)"], source)
    problems: list[str] = []
    params = None
    try:
        params = Params.model_validate(raw)
    except ValidationError as err:
        problems += _pydantic_problems(err)
    problems += [p for p in cross_field_problems(raw) if p not in problems]
    if problems:
        raise ParamsError(problems, source)
    return params


def load_params(path: str | Path, overrides: dict | None = None) -> Params:
    """Read a YAML params file, apply non-secret overrides (dotted keys), validate."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError([f"params_file: {path} does not exist; pass the path of a params YAML file (see params/)"])
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ParamsError([f"(file): not valid YAML{where}: {getattr(err, 'problem', err)}"], str(path)) from None
    if raw is None:
        raise ParamsError(
            [
                "(file): the file is empty. A params file needs at least `stack:` (and usually backend, region, "
                "user_pool, users, groups, memberships); copy params/local.yaml (local AWS) or "
                "params/aws-example.yaml (an AWS account) and edit it"
            ],
            str(path),
        )
    injected = sorted(k for k, v in (overrides or {}).items() if _get_dotted(raw, k) != v)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    try:
        return parse_params(raw, str(path))
    except ParamsError as err:
        if not injected:
            raise
        raise _injected_problems(err.problems, injected, path) from None


def _injected_problems(problems: list[str], injected: list[str], path: Path) -> ParamsError:
    """Problems with values injected into the notebook (``papermill -p``/``-f``) are named as
    such: they are not in the params file, and fixing the file would not help."""

    def origin(problem: str) -> str:
        field = problem.split(":", 1)[0]
        hit = next((k for k in injected if field == k or field.startswith((f"{k}.", f"{k}["))), None)
        return f"{problem} (injected parameter {hit}, not from {path.name})" if hit else problem

    named = [origin(p) for p in problems]
    if named == problems:  # every problem is the file's own
        return ParamsError(problems, str(path))
    return ParamsError(named, f"{path} with the injected parameter(s) {', '.join(injected)} (papermill -p/-f)")


def _get_dotted(raw: dict, dotted: str) -> Any:
    node: Any = raw
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _set_dotted(raw: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value

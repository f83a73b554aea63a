"""cognito-runbook: AWS Cognito set up for Db2 token authentication, as notebooks and a library.

What a script uses, importable from here::

    from cognito_runbook import Runbook, load_params

    runbook = Runbook.open("params/local.yaml")
    runbook.provision()
    print(runbook.outputs().token_url)

Names are loaded on first use (PEP 562), so ``import cognito_runbook.airflow`` in an
Airflow environment without the runbook's dependencies (no boto3) still works.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cognito-runbook")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"

# Public name -> the module that owns it.
_EXPORTS = {
    # opening and running a stack
    "Runbook": "runbook",
    "StackOutputs": "runbook",
    "StageResult": "runbook",
    "STAGES": "runbook",
    "open_runbook": "notebook",
    # params
    "Params": "params",
    "PasswordSource": "params",
    "load_params": "params",
    "parse_params": "params",
    # errors
    "RunbookError": "errors",
    "ParamsError": "errors",
    "UsageError": "errors",
    "BackendError": "errors",
    "StageError": "errors",
    "AwsError": "errors",
    "TokenError": "tokens",
    # sign-ins and tokens
    "SignIn": "sign_ins",
    "Outcome": "sign_ins",
    "TokenVerifier": "tokens",
    "get_tokens": "tokens",
    # scheduling
    "build_dags": "airflow",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cognito_runbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

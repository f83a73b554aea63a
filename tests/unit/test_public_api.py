"""The package's public API: ``cognito_runbook.__all__`` names what a script uses, and
every name resolves to the object its owning module defines."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import version

import cognito_runbook


def test_every_public_name_resolves_to_its_owners_object():
    for name in cognito_runbook.__all__:
        if name == "__version__":
            continue
        value = getattr(cognito_runbook, name)
        owner = importlib.import_module(f"cognito_runbook.{cognito_runbook._EXPORTS[name]}")
        assert value is getattr(owner, name), name


def test_the_api_covers_what_a_script_needs():
    needed = {"Runbook", "load_params", "ParamsError", "StageError", "RunbookError", "TokenVerifier", "build_dags"}
    assert needed <= set(cognito_runbook.__all__)
    assert set(dir(cognito_runbook)) >= set(cognito_runbook.__all__)


def test_version_is_the_installed_distributions():
    assert cognito_runbook.__version__ == version("cognito-runbook")


def test_an_unknown_name_is_an_attribute_error():
    try:
        cognito_runbook.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_no_aws_sdk():
    """The Airflow DAG factory is imported where only the package itself is installed."""
    code = (
        "import sys, cognito_runbook; print(sorted(m for m in ('boto3', 'botocore', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

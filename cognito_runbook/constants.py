"""Names and places shared by every layer, the local AWS included: environment
variables, the runbook's home folder, and the fixed identity of the local AWS.

This module imports nothing from the package, so anything may import it.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

HOME_ENV = "COGNITO_RUNBOOK_HOME"  # the local AWS's state and the stack locks
DEFAULT_HOME = "~/.cognito-runbook"

# Appended to botocore's user agent: CloudTrail (and the local AWS's request count)
# can tell the runbook's own calls from anyone else's.
USER_AGENT = "cognito-runbook"

# How long the local AWS makes you wait where AWS does (a domain CREATING, IAM
# propagation, a deleted secret's name held), in seconds; about a second by default.
LOCAL_DELAY_ENV = "COGNITO_RUNBOOK_LOCAL_DELAY"
LOCAL_STATE_FILE = "local.json"  # in the home folder: where the running local AWS listens
# Milliseconds the local AWS adds to every API call (a network round trip to AWS is tens of ms).
LOCAL_LATENCY_ENV = "COGNITO_RUNBOOK_LOCAL_LATENCY_MS"
# "off": the local AWS does not enforce Cognito's request-rate quotas (on by default, as AWS).
LOCAL_QUOTAS_ENV = "COGNITO_RUNBOOK_LOCAL_QUOTAS"

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
# The local AWS's administrator: never permission-checked (a person changing things by
# hand in tests, the security team granting the operator's policy).
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The operator: the key the runbook signs with locally. Every request signed with it is
# judged against the IAM user's policies, which are what `cognito-runbook iam-policy` prints.
LOCAL_OPERATOR_USER = "cognito-runbook-operator"
LOCAL_OPERATOR_CREDENTIALS = {"aws_access_key_id": "AKIALOCALOPERATOR000", "aws_secret_access_key": "operator"}


def home() -> Path:
    return Path(os.environ.get(HOME_ENV, DEFAULT_HOME)).expanduser()


# Where the notebooks and example params files are: the checkout (an editable install), or
# the data files a wheel installs under the environment's prefix (pyproject: data-files).
CHECKOUT = Path(__file__).resolve().parent.parent
SHARE = Path("share") / "cognito-runbook"


def find_packaged_root() -> Path | None:
    """The folder holding ``notebooks/`` and ``params/`` in this installation, or None.
    Standard library only: the Airflow DAG factory finds the notebooks with it in an
    environment that has none of the runbook's dependencies."""
    for root in (CHECKOUT, Path(sys.prefix) / SHARE, Path(site.USER_BASE or "") / SHARE):
        if any((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            return root
    return None


def locks_dir() -> Path:
    folder = home() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# A file to which every Backend appends the requests it sends, secrets replaced (the
# request contract in tests/contracts is recorded this way).
RECORD_REQUESTS_ENV = "COGNITO_RUNBOOK_RECORD_REQUESTS"

RUN_DIR_ENV = "COGNITO_RUNBOOK_RUN_DIR"  # default run folder where no run_dir parameter is given (nbval, JupyterLab)


def run_dir(given: str | Path | None, params_path: Path, stack: str) -> Path:
    """Where a notebook writes the run summary, outputs.json and the Db2 artefacts: the
    ``run_dir`` parameter (headless runs pass it), else ``$COGNITO_RUNBOOK_RUN_DIR``, else
    ``runs/<stack>`` beside the ``params/`` folder."""
    return Path(given or os.environ.get(RUN_DIR_ENV) or params_path.resolve().parent.parent / "runs" / stack)

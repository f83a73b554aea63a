"""Provision a stack and SIGKILL ourselves at a chosen point (a real process kill).

Usage: python kill_run.py PARAMS.yaml ENDPOINT WHEN OPERATION [N]
WHEN is "before" or "after"; the Nth (default 1st) call of OPERATION triggers the kill.
"""

import os
import signal
import sys
from pathlib import Path

import yaml

from cognito_runbook.backend import Backend
from cognito_runbook.params import parse_params
from cognito_runbook.runbook import Runbook


def main():
    params_file, endpoint, when, operation = sys.argv[1:5]
    nth = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    params = parse_params(yaml.safe_load(Path(params_file).read_text()))
    rb = Runbook(params, Backend("local", params.region, endpoint_url=endpoint))
    seen = [0]

    def maybe_kill(model, **_):
        if model.name == operation:
            seen[0] += 1
            if seen[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    rb.backend.session.events.register(f"{'before' if when == 'before' else 'after'}-call.*.*", maybe_kill)
    rb.provision()


if __name__ == "__main__":
    main()

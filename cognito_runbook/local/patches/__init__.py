"""Where the local AWS changes moto: one module per AWS service, as moto lays out its own.

Where moto accepts what AWS refuses, or answers at once where AWS makes you wait, it is
changed here to fail the way AWS fails; each patch cites the AWS page it follows. Waits
last ``timing.delay_seconds()``. This package and ``local/moto_state.py`` (its reads)
are the only code that touches moto's internals, so a moto upgrade touches only them.
"""

from __future__ import annotations

import threading

from .. import timing
from . import (
    apigatewayv2,
    awslambda,
    cognitoidp,
    cognitoidp_domains,
    cognitoidp_srp,
    cognitoidp_tokens,
    iam,
    secretsmanager,
)
from .dispatch import speed_up_dispatch

__all__ = ["patch_moto", "speed_up_dispatch"]

_lock = threading.Lock()
_applied = False


def patch_moto(delay: float | None = None) -> None:
    """Apply every patch (once per process); ``delay`` sets how long waits last."""
    global _applied
    if delay is not None:
        timing.set_delay(delay)
    with _lock:
        if _applied:
            return
        cognitoidp.patch_user_pools()
        cognitoidp.patch_clients()
        cognitoidp.patch_groups()
        cognitoidp.patch_auth()
        cognitoidp.patch_usernames()
        cognitoidp_srp.patch_srp_sign_in()  # wraps patch_auth's InitiateAuth: keep it after
        cognitoidp_tokens.patch_signing_keys()
        cognitoidp_domains.patch_domains()
        iam.patch_propagation()
        iam.patch_boundaries()  # wraps patch_propagation's CreateRole: keep it after
        iam.patch_policy_sizes()
        awslambda.patch_role_assumption()
        secretsmanager.patch_deleted_names()
        apigatewayv2.patch_stage_updates()
        cognitoidp.patch_pool_tagging()
        _applied = True

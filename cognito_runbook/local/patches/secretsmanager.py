"""Secrets Manager: a deleted secret's name stays taken (part of the one place that touches
moto's internals: see ``patches/__init__.py``)."""

from __future__ import annotations

import time

from ..timing import deadline
from .originals import keep

_held_names: dict[tuple[str, str], float] = {}  # (region, name) -> until (monotonic)


def patch_deleted_names() -> None:
    """A deleted secret's name stays taken: during its recovery window ("You can't create
    this secret because a secret with this name is already scheduled for deletion"), and
    for a short while after a deletion without recovery, which AWS carries out
    asynchronously.
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html"""
    from moto.secretsmanager.exceptions import InvalidRequestException
    from moto.secretsmanager.models import SecretsManagerBackend

    create, delete = SecretsManagerBackend.create_secret, SecretsManagerBackend.delete_secret
    keep(create_secret=create, delete_secret=delete)

    def create_secret(self, name, *args, **kwargs):
        existing = self.secrets.get(name)
        held = _held_names.get((self.region_name, name), 0.0) > time.monotonic()
        if held or (existing is not None and existing.is_deleted()):
            raise InvalidRequestException(
                "You can't create this secret because a secret with this name is already scheduled for deletion."
            )
        return create(self, name, *args, **kwargs)

    def delete_secret(self, secret_id, recovery_window_in_days, force_delete_without_recovery):
        result = delete(self, secret_id, recovery_window_in_days, force_delete_without_recovery)
        if force_delete_without_recovery:
            _held_names[(self.region_name, result[1])] = deadline()
        return result

    SecretsManagerBackend.create_secret = create_secret
    SecretsManagerBackend.delete_secret = delete_secret

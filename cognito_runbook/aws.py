"""AWS plumbing under the stages: paging, error codes, get-or-none, stack tags, retries, waits.

Every stage speaks to AWS through these few helpers, so "not found", "is this ours?"
and "try again while IAM catches up" mean the same thing everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

STACK_TAG = "cognito-runbook:stack"
# Operations that only read (everything else writes: the plan guard refuses those).
READ_PREFIXES = ("Describe", "Get", "List", "AdminGet", "AdminList", "Head")

# The "does not exist" codes of the services we use (Cognito, Lambda, API Gateway,
# Secrets Manager: ResourceNotFoundException; IAM: NoSuchEntity; API Gateway: NotFoundException).
NOT_FOUND = frozenset({"ResourceNotFoundException", "NoSuchEntity", "NotFoundException"})


# Calls that change no resource although their names do not say so: a sign-in issues
# tokens (the runbook's --reset-passwords tests a password with one, plans included).
READ_LIKE = frozenset({"AdminInitiateAuth"})


def is_write(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES) and operation not in READ_LIKE


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def error_message(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Message", "")


def get_or_none(call: Callable[..., Any], *, missing: Iterable[str] = NOT_FOUND, **kwargs) -> Any:
    """``call(**kwargs)``, or None when AWS answers that the resource does not exist."""
    try:
        return call(**kwargs)
    except ClientError as err:
        if error_code(err) in missing:
            return None
        raise


def paginate(client, operation: str, key: str, **kwargs) -> list[dict]:
    """All items of a paginated list call (botocore paginator when there is one)."""
    if client.can_paginate(operation):
        items: list[dict] = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(key, []))
        return items
    return getattr(client, operation)(**kwargs).get(key, [])


def tag_dict(tags: Mapping[str, str] | list[dict] | None) -> dict[str, str]:
    """Tags as a dict, whether the API gave a dict (Cognito, Lambda, API Gateway) or
    a ``[{"Key":, "Value":}]`` list (IAM, Secrets Manager)."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return dict(tags)
    return {t["Key"]: t["Value"] for t in tags}


def tag_list(tags: Mapping[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def stack_tags(stack: str) -> dict[str, str]:
    return {STACK_TAG: stack}


def owned_by(tags: Mapping[str, str] | list[dict] | None, stack: str) -> bool:
    """True if the resource carries this stack's tag: the only proof that it is ours."""
    return tag_dict(tags).get(STACK_TAG) == stack


def owner(tags: Mapping[str, str] | list[dict] | None) -> str | None:
    return tag_dict(tags).get(STACK_TAG)


def same_items(a, b) -> bool:
    return sorted(a or []) == sorted(b or [])


def retry_while(
    predicate: Callable[[ClientError], bool], call: Callable[[], Any], attempts: int = 10, delay: float = 2.0
) -> Any:
    """Repeat ``call`` while it fails with an error ``predicate`` accepts (bounded)."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as err:
            if attempt == attempts - 1 or not predicate(err):
                raise
            time.sleep(delay * (1.5**attempt))


def wait_until(
    check: Callable[[], Any],
    *,
    timeout: float,
    timed_out: Callable[[Any], Exception],
    waiting: Callable[[Any, float], None] | None = None,
    done: Callable[[Any], bool] = bool,
    delay: float = 0.5,
    max_delay: float | None = None,
) -> Any:
    """Call ``check`` until ``done`` accepts its result, which is returned. While not done,
    ``waiting(result, elapsed_seconds)`` can say why, then it sleeps ``delay`` (doubled
    each time up to ``max_delay``; fixed if that is None). Once ``timeout`` seconds have
    passed, ``timed_out(result)`` is raised: AWS settles asynchronously, but not forever."""
    started = time.monotonic()
    while True:
        result = check()
        if done(result):
            return result
        elapsed = time.monotonic() - started
        if elapsed >= timeout:
            raise timed_out(result)
        if waiting:
            waiting(result, elapsed)
        time.sleep(delay)
        if max_delay is not None:
            delay = min(delay * 2, max_delay)


# -- read-merge-write ------------------------------------------------------------------
#
# Cognito's UpdateUserPool and UpdateUserPoolClient reset every setting they are not
# sent to its default (API reference of both). So an update request is built from the
# settings as read, cut down to what the update call takes (botocore's model says), with
# only the fields the runbook manages laid over them.

# Values that mean "not set": an unmanaged setting holding one is not worth reporting.
UNSET_VALUES = (None, "", [], {}, False, "OFF", "INACTIVE", "DISABLED")


def request_shape(client, operation: str):
    return client.meta.service_model.operation_model(operation).input_shape


def fit_to_shape(value: Any, shape) -> Any:
    """``value`` without the keys ``shape`` does not take (at every depth): what was read,
    made fit to be sent back."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, Mapping):
        return {k: fit_to_shape(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list" and isinstance(value, list):
        return [fit_to_shape(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, Mapping):
        return {k: fit_to_shape(v, shape.value) for k, v in value.items()}
    return value


def overlay(base: Mapping, managed: Mapping) -> dict:
    """``base`` with ``managed`` laid over it: dicts merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in managed.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


def update_request(client, operation: str, current: Mapping, managed: Mapping, **identity) -> dict:
    """The full request for an update call that resets what it is not sent."""
    fitted = fit_to_shape(dict(current), request_shape(client, operation))
    return {**overlay(fitted, managed), **identity}


def managed_drift(current: Mapping, managed: Mapping, defaults: Mapping | None = None, prefix: str = "") -> list[str]:
    """Dotted paths of managed fields whose current value differs (lists of plain values
    compare as sets; ``defaults`` supplies what AWS reports by leaving a field out)."""
    drift = []
    defaults = defaults or {}
    for key, want in managed.items():
        path = f"{prefix}{key}"
        have = current.get(key, defaults.get(key)) if isinstance(current, Mapping) else None
        if isinstance(want, Mapping) and not (isinstance(have, Mapping) or have is None):
            drift.append(path)
        elif isinstance(want, Mapping):
            drift += managed_drift(have or {}, want, defaults.get(key) or {}, f"{path}.")
        elif isinstance(want, list) and all(not isinstance(v, (dict, list)) for v in want):
            if not same_items(have, want):
                drift.append(path)
        elif have != want:
            drift.append(path)
    return drift


def unmanaged_settings(
    current: Mapping, managed: Mapping, ignore: Iterable[str] = (), prefix: str = ""
) -> list[tuple[str, Any]]:
    """Settings found on a resource that the runbook does not manage and that hold a value
    (dotted path, value): kept as they are, and worth telling the person about."""
    ignore = set(ignore)
    found = []
    for key, value in current.items():
        path = f"{prefix}{key}"
        if path in ignore or value in UNSET_VALUES:
            continue
        inner = managed.get(key) if isinstance(managed, Mapping) else None
        if isinstance(value, Mapping) and (inner is None or isinstance(inner, Mapping)):
            found += unmanaged_settings(value, inner or {}, ignore, f"{path}.")
        elif inner is None:
            found.append((path, value))
    return found

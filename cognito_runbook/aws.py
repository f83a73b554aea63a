"""AWS plumbing under the stages: paging, error codes, get-or-none, stack tags, retries.

Every stage speaks to AWS through these few helpers, so "not found", "is this ours?"
and "try again while IAM catches up" mean the same thing everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

STACK_TAG = "cognito-runbook:stack"

# The "does not exist" codes of the services we use (Cognito, Lambda, API Gateway,
# Secrets Manager: ResourceNotFoundException; IAM: NoSuchEntity; API Gateway: NotFoundException).
NOT_FOUND = frozenset({"ResourceNotFoundException", "NoSuchEntity", "NotFoundException"})


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

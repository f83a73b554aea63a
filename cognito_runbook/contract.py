"""The request contract: every AWS request the runbook sends, recorded and made comparable.

With ``COGNITO_RUNBOOK_RECORD_REQUESTS=<file>`` set, every ``Backend`` (notebook kernels
included, they inherit the variable) appends each request to that file as a JSON line:
the operation and its parameters, secrets already replaced, so nothing secret is ever
written. It also notes the identifiers AWS answered with (pool IDs, ARNs, ...), so that
``normalize`` can replace them with stable placeholders afterwards. ``tests/contracts/``
keeps the normalized requests of four scenarios, reviewed like code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.validate import ParamValidator

from .constants import LOCAL_ACCOUNT_ID

SECRET_KEYS = {
    "Password",
    "TemporaryPassword",
    "SecretString",
    "ProposedPassword",
    "PreviousPassword",
    # InitiateAuth / AdminInitiateAuth: AuthParameters carry the password or a refresh token
    "PASSWORD",
    "REFRESH_TOKEN",
    "SECRET_HASH",
}
# Identifiers AWS makes up, by the response key that carries them -> placeholder label.
# ARNs built from names and these IDs (pool, role, function) need no placeholder of their own.
IDENTIFIER_KEYS = {
    "Id": "pool-id",
    "ClientId": "client-id",
    "ApiId": "api-id",
    "IntegrationId": "integration-id",
    "RouteId": "route-id",
    "ARN": "secret-arn",  # Secrets Manager adds a random suffix
}


class RequestRecorder:
    """Appends the runbook's requests (secrets replaced) and AWS's identifiers to a file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def install(self, session) -> None:
        session.events.register("provide-client-params.*.*", self._request)
        session.events.register("after-call.*.*", self._response)

    def _write(self, entry: dict) -> None:
        with self.path.open("a") as out:
            out.write(json.dumps(entry, default=str) + "\n")

    def _request(self, params, model, **_):
        service = model.service_model.service_name
        self._write({"call": f"{service}.{model.name}", "params": redact(params)})

    def _response(self, parsed, model, **_):
        found = sorted(set(_identifiers(parsed)))
        if found:
            self._write({"ids": found})


def redact(value: Any, key: str = "") -> Any:
    if key in SECRET_KEYS:
        return "<secret>"
    if isinstance(value, (bytes, bytearray)):
        return "<deployment package>" if key == "ZipFile" else "<bytes>"
    if isinstance(value, Mapping):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    return value


def _identifiers(value: Any):
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k in IDENTIFIER_KEYS and isinstance(v, str) and len(v) >= 6:
                yield (IDENTIFIER_KEYS[k], v)
            else:
                yield from _identifiers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _identifiers(v)


def read_log(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def normalize(entries: list[dict], endpoint: str | None = None) -> list[dict]:
    """The recorded requests with AWS's identifiers, the account and the local endpoint
    replaced by stable placeholders (numbered in order of first appearance)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {}
    for entry in entries:
        for label, value in entry.get("ids", []):
            if value not in names:
                counts[label] = counts.get(label, 0) + 1
                names[value] = f"<{label}>" if counts[label] == 1 else f"<{label}-{counts[label]}>"
    replacements = sorted(names.items(), key=lambda kv: -len(kv[0]))  # ARNs before the IDs inside them
    if endpoint:
        replacements.insert(0, (endpoint, "<endpoint>"))
    replacements.append((LOCAL_ACCOUNT_ID, "<account>"))
    pattern = re.compile("|".join(re.escape(old) for old, _ in replacements))
    table = dict(replacements)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: table[m.group(0)], value)
        if isinstance(value, Mapping):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return [{"call": e["call"], "params": scrub(e["params"])} for e in entries if "call" in e]


def validation_errors(requests: list[dict], session) -> list[str]:
    """Requests that botocore's service model would reject (placeholders are strings, as the
    values they stand for are)."""
    problems = []
    validator = ParamValidator()
    for index, request in enumerate(requests):
        service, operation = request["call"].split(".", 1)
        shape = session.get_service_model(service).operation_model(operation).input_shape
        report = validator.validate(request["params"], shape)
        if report.has_errors():
            problems.append(f"#{index} {request['call']}: {report.generate_report()}")
    return problems


def operations(requests: list[dict]) -> list[str]:
    return sorted({r["call"] for r in requests})

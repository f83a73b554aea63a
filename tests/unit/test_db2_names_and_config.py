"""Db2's naming rules and the built-in JWT configuration, without a network."""

from __future__ import annotations

import pytest

from cognito_runbook import db2


@pytest.mark.parametrize(
    "name, ok",
    [
        ("DB2ADMIN", True),
        ("db2dba", True),
        ("A@#$9", True),
        ("USERS", False),
        ("public", False),
        ("SYSADM", False),
        ("ibmuser", False),
        ("sqlgroup", False),
        ("DB2-ADMIN", False),
        ("", False),
        ("x" * 129, False),
        ("select", False),
    ],
)
def test_db2_name_rules(name, ok):
    assert (db2.db2_name_problems(name) == []) is ok


def test_cfg_for_id_tokens_uses_cognito_username():
    assert "JWT_IDP_AUTHID_CLAIM=cognito:username" in db2.db2token_cfg("https://iss", ["k"], "id")

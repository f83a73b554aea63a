"""What Db2 requires of names, and (later) the artefacts the Db2 side needs.

Rules from IBM's "User, user ID and group naming rules" (see
shared/reference/db2-facts.md): letters, digits, @ # $; not a reserved name or SQL
reserved word; no IBM/SQL/SYS prefix; at most 128 bytes.
"""

import re

MAX_AUTH_NAME_BYTES = 128
RESERVED_NAMES = {"USERS", "ADMINS", "GUESTS", "PUBLIC", "LOCAL"}
RESERVED_PREFIXES = ("IBM", "SQL", "SYS")
# SQL reserved words that are plausible as group names. The full Db2 list is long;
# these are the ones a DBA could realistically type as a group or user name.
SQL_RESERVED_WORDS = {
    "ALL", "ALTER", "AND", "ANY", "AS", "AUTHORIZATION", "BY", "CASE", "CHECK",
    "COLUMN", "CONNECT", "CREATE", "CURRENT", "DATABASE", "DEFAULT", "DELETE",
    "DISTINCT", "DROP", "ELSE", "END", "EXECUTE", "EXISTS", "FOR", "FROM", "GRANT",
    "GROUP", "HAVING", "IN", "INDEX", "INSERT", "INTO", "IS", "JOIN", "LIKE", "NOT",
    "NULL", "OF", "ON", "OR", "ORDER", "PROCEDURE", "REVOKE", "ROLE", "SCHEMA",
    "SELECT", "SESSION_USER", "SET", "TABLE", "THEN", "TO", "UNION", "UPDATE", "USER",
    "USING", "VALUES", "VIEW", "WHERE", "WITH",
}
_ALLOWED = re.compile(r"^[A-Za-z0-9@#$]+$")


def db2_name_problems(name: str) -> list[str]:
    """Why ``name`` cannot be a Db2 user or group name; empty when it can."""
    problems = []
    upper = name.upper()
    if not name:
        return ["is empty; give a name of letters, digits, @, # or $"]
    if not _ALLOWED.match(name):
        bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9@#$]", c)})
        problems.append(
            f"contains {' '.join(repr(c) for c in bad)}; Db2 names allow only letters, digits, @, # and $"
        )
    if upper in RESERVED_NAMES:
        problems.append(f"'{name}' is reserved by Db2 ({', '.join(sorted(RESERVED_NAMES))}); pick another name")
    elif upper in SQL_RESERVED_WORDS:
        problems.append(f"'{name}' is an SQL reserved word; pick another name")
    if upper.startswith(RESERVED_PREFIXES):
        problems.append("must not begin with IBM, SQL or SYS (reserved by Db2); rename it")
    if len(name.encode()) > MAX_AUTH_NAME_BYTES:
        problems.append(f"is {len(name.encode())} bytes; Db2 allows at most {MAX_AUTH_NAME_BYTES}")
    return problems

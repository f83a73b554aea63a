"""What Db2 requires of names, and (later) the artefacts the Db2 side needs.

Rules from IBM's "User, user ID and group naming rules" (see
shared/reference/db2-facts.md): letters, digits, @ # $; not a reserved name or SQL
reserved word; no IBM/SQL/SYS prefix; at most 128 bytes.
"""

import base64 as _base64
import datetime as _dt
import json as _json
import re
from pathlib import Path as _Path

MAX_AUTH_NAME_BYTES = 128
RESERVED_NAMES = {"USERS", "ADMINS", "GUESTS", "PUBLIC", "LOCAL"}
RESERVED_PREFIXES = ("IBM", "SQL", "SYS")
# SQL reserved words that are plausible as group names. The full Db2 list is long;
# these are the ones a DBA could realistically type as a group or user name.
SQL_RESERVED_WORDS = {
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "AS",
    "AUTHORIZATION",
    "BY",
    "CASE",
    "CHECK",
    "COLUMN",
    "CONNECT",
    "CREATE",
    "CURRENT",
    "DATABASE",
    "DEFAULT",
    "DELETE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXECUTE",
    "EXISTS",
    "FOR",
    "FROM",
    "GRANT",
    "GROUP",
    "HAVING",
    "IN",
    "INDEX",
    "INSERT",
    "INTO",
    "IS",
    "JOIN",
    "LIKE",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "PROCEDURE",
    "REVOKE",
    "ROLE",
    "SCHEMA",
    "SELECT",
    "SESSION_USER",
    "SET",
    "TABLE",
    "THEN",
    "TO",
    "UNION",
    "UPDATE",
    "USER",
    "USING",
    "VALUES",
    "VIEW",
    "WHERE",
    "WITH",
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
        problems.append(f"contains {' '.join(repr(c) for c in bad)}; Db2 names allow only letters, digits, @, # and $")
    if upper in RESERVED_NAMES:
        problems.append(f"'{name}' is reserved by Db2 ({', '.join(sorted(RESERVED_NAMES))}); pick another name")
    elif upper in SQL_RESERVED_WORDS:
        problems.append(f"'{name}' is an SQL reserved word; pick another name")
    if upper.startswith(RESERVED_PREFIXES):
        problems.append("must not begin with IBM, SQL or SYS (reserved by Db2); rename it")
    if len(name.encode()) > MAX_AUTH_NAME_BYTES:
        problems.append(f"is {len(name.encode())} bytes; Db2 allows at most {MAX_AUTH_NAME_BYTES}")
    return problems


# -- artefacts for the Db2 server --------------------------------------------------------
#
# Two ways Db2 can accept Cognito tokens (shared/reference/db2-facts.md):
# IBM's AWS security plugin (AWSIAMauth): cognito_userpools.json + IAM permissions for
# the Db2 host; or Db2's built-in JWT support (11.5.4+): db2token.cfg + a GSKit keystore
# holding the pool's signing keys as certificates.


HOST_ACTIONS = [
    "cognito-idp:GetGroup",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:ListUserPoolClients",
]
AUTHID_CLAIM = {"access": "username", "id": "cognito:username"}
KEYDB = "/home/db2inst1/jwtkeys.p12"


def cognito_userpools_json(pool_id: str, pool_name: str) -> dict:
    """For ~/sqllib/security64/plugin/cfg/cognito_userpools.json (one pool only)."""
    return {"UserPools": {"ID": pool_id, "Name": pool_name}}


def host_policy(pool_arn: str) -> dict:
    """What the Db2 host (its EC2 role or credentials) needs on the pool."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Db2AwsSecurityPlugin", "Effect": "Allow", "Action": list(HOST_ACTIONS), "Resource": pool_arn}
        ],
    }


def plugin_signature_check(token: str, jwks: dict) -> tuple[dict, str | None]:
    """The AWS plugin's signature check (``gss/jwt.c``, ``jwk.c``): the key of the header's
    ``kid`` from the key set, an RSA PKCS#1 v1.5 SHA-256 signature over ``header.payload``
    (the ``alg`` header is not read). Returns (the header, why the plugin refuses or None)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from jwt import PyJWK

    head, payload, signature = token.split(".")
    header = _json.loads(_b64url(head))
    kid = header.get("kid") if isinstance(header, dict) else None
    if not isinstance(kid, str) or not kid:
        return {}, "the token's header names no key (kid): the plugin refuses it"
    jwk = next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
    if jwk is None:
        return header, f"key {kid} is not in the pool's key set: the plugin refuses it (and drops its cached keys)"
    try:
        key = PyJWK(jwk, algorithm="RS256").key
        key.verify(_b64url(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return header, "the signature does not match the pool's key: the token was altered or signed elsewhere"
    return header, None


def _b64url(segment: str) -> bytes:
    return _base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def key_label(index: int) -> str:
    return f"cognito-key-{index + 1}"


def db2token_cfg(issuer: str, labels: list[str], token_type: str = "access", keydb: str = KEYDB) -> str:
    """A db2token.cfg for Db2's built-in JWT support. One authid claim per issuer block,
    so the file is for one token type."""
    lines = [
        "VERSION=1",
        "TOKEN_TYPES_SUPPORTED=JWT",
        f"JWT_KEYDB={keydb}",
        f"JWT_IDP_ISSUER={issuer}",
        f"JWT_IDP_AUTHID_CLAIM={AUTHID_CLAIM[token_type]}",
    ]
    lines += [f"JWT_IDP_RSA_CERTIFICATE_LABEL={label}" for label in labels]
    return "\n".join(lines) + "\n"


def jwk_public_key(jwk: dict):
    from jwt import PyJWK

    return PyJWK(jwk, algorithm="RS256").key


def jwk_to_pem(jwk: dict) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return jwk_public_key(jwk).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk_certificates(jwks: dict) -> tuple[bytes, list[tuple[str, bytes]]]:
    """GSKit keystores hold certificates, and Cognito publishes bare RSA keys. Each key is
    wrapped in a certificate whose subject key *is* the Cognito key, signed by a throwaway
    CA made here (its private key is never written anywhere). Db2 only uses the public
    key under the label. Returns (CA certificate PEM, [(label, certificate PEM)])."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cognito-runbook key wrapper CA")])
    now = _dt.datetime.now(_dt.UTC)

    def build(subject, public_key, is_ca):
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1))
            .not_valid_after(now + _dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )

    ca_cert = build(ca_name, ca_key.public_key(), True)
    certs = []
    for i, jwk in enumerate(k for k in jwks.get("keys", []) if k.get("kty") == "RSA"):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Cognito signing key {jwk.get('kid', i)}")])
        cert = build(subject, jwk_public_key(jwk), False)
        certs.append((key_label(i), cert.public_bytes(serialization.Encoding.PEM)))
    return ca_cert.public_bytes(serialization.Encoding.PEM), certs


def gskit_commands(labels: list[str], keydb: str = KEYDB) -> str:
    lines = [
        "# Run as the instance owner on the Db2 server, with KEYSTORE_PASSWORD set to a password you choose",
        "# (-stash keeps it for Db2; it is never written here).",
        'if [ -z "$KEYSTORE_PASSWORD" ]; then echo "set KEYSTORE_PASSWORD first" >&2; exit 1; fi',
        f'gsk8capicmd_64 -keydb -create -db {keydb} -type pkcs12 -stash -pw "$KEYSTORE_PASSWORD"',
        f"gsk8capicmd_64 -cert -add -db {keydb} -stashed -label cognito-runbook-ca -file keys/cognito-runbook-ca.crt -format ascii",
    ]
    lines += [
        f"gsk8capicmd_64 -cert -add -db {keydb} -stashed -label {label} -file keys/{label}.crt -format ascii"
        for label in labels
    ]
    lines += [
        f"gsk8capicmd_64 -cert -list -db {keydb} -stashed",
        "cp db2token.cfg $HOME/sqllib/cfg/db2token.cfg",
        "db2 update dbm cfg using SRVCON_AUTH SERVER_ENCRYPT_TOKEN",
        "db2 \"call sysproc.admin_refresh_config('token')\"",
    ]
    return "\n".join(lines) + "\n"


# plugin-commands.sh: what IBM's README ("Deploying the plugin") and configSecPlugin.sh do on
# the Db2 server, plus what the plugin's code needs that they leave out (the cfg folder,
# DB2_HOME and a region for the engine), and an undo section like configSecPlugin.sh -remove.
PLUGIN_COMMANDS = r"""#!/bin/sh
# IBM's AWS security plugin (AWSIAMauth, db2-samples aws/security_plugins/db2-aws-iam) for the
# Cognito user pool @POOL_ID@ (@REGION@). Written by cognito-runbook: read it before you run it.
#
# Run on the Db2 server as the instance owner, in this folder (it copies cognito_userpools.json),
# once the plugin's libraries are installed (IBM's README, "Deploying the plugin"):
#   sh plugin-commands.sh           set the instance up for the plugin, restart it, check it
#   sh plugin-commands.sh -remove   undo it, as IBM's configSecPlugin.sh -remove does
# The Db2 host also needs db2-host-policy.json (its EC2 role, or credentials the AWS SDK finds).
# The plugin trusts signing keys from ANY issuer URL that ends in the pool ID: allow this server's
# outbound HTTPS only to cognito-idp.@REGION@.amazonaws.com (firewall, proxy or egress rules).

SQLLIB="$HOME/sqllib"
CFG_DIR="$SQLLIB/security64/plugin/cfg"
PROFILE="$SQLLIB/userprofile"
MARK="# cognito-runbook: AWS security plugin"

db2ok() {  # a db2 CLP command; return code 2 is a warning (SQL1362W: applies at the next db2start)
    db2 "$@"
    rc=$?
    if [ "$rc" -gt 2 ]; then echo "plugin-commands.sh: 'db2 $*' failed (return code $rc)" >&2; exit 1; fi
}

restart() {
    db2 terminate >/dev/null
    db2stop || { echo "db2stop failed: disconnect the applications (db2 list applications), run again" >&2; exit 1; }
    db2start || exit 1
}

if [ "$1" = "-remove" ]; then
    # Back to server authentication, as IBM's configSecPlugin.sh -remove does ...
    db2ok update dbm cfg using AUTHENTICATION SERVER
    db2ok update dbm cfg using SRVCON_AUTH NOT_SPECIFIED
    db2ok update dbm cfg using SRVCON_GSSPLUGIN_LIST NULL
    db2ok update dbm cfg using GROUP_PLUGIN NULL
    db2ok update dbm cfg using SRVCON_PW_PLUGIN NULL
    # ... and what it leaves set: the local plugin, DB2AUTH as it was before, our userprofile line.
    db2ok update dbm cfg using LOCAL_GSSPLUGIN NULL
    db2set DB2AUTH="$(cat "$CFG_DIR/DB2AUTH.before" 2>/dev/null)" && rm -f "$CFG_DIR/DB2AUTH.before"
    [ -f "$PROFILE" ] && sed -i "/$MARK/d" "$PROFILE"
    restart
    exit 0
fi

# 1. The pool the plugin trusts, where it reads it (one pool ID per instance).
mkdir -p "$CFG_DIR" && cp cognito_userpools.json "$CFG_DIR/cognito_userpools.json" || exit 1
if [ -n "$AWS_USERPOOL_CFG_ENV" ]; then
    echo "note: AWS_USERPOOL_CFG_ENV is set: the plugin reads \$DB2_HOME/$AWS_USERPOOL_CFG_ENV instead" >&2
fi

# 2. The Db2 engine's environment. The plugin finds the file above, and fetches the pool's keys,
#    only through DB2_HOME: without it every token is refused. Its AWS SDK clients have no region
#    of their own, and the pool is in @REGION@. The engine inherits the environment db2start runs
#    in; sqllib/userprofile (IBM's place for variables Db2 does not manage) sets both in every
#    shell of the instance owner, and this shell exports them for the restart below.
[ -f "$PROFILE" ] && sed -i "/$MARK/d" "$PROFILE"
printf 'export DB2_HOME="$HOME/sqllib" AWS_REGION=@REGION@ AWS_DEFAULT_REGION=@REGION@  %s\n' "$MARK" >>"$PROFILE"
export DB2_HOME="$SQLLIB" AWS_REGION=@REGION@ AWS_DEFAULT_REGION=@REGION@

# 3. The registry setting of IBM's configSecPlugin.sh (the value before is kept for -remove).
[ -f "$CFG_DIR/DB2AUTH.before" ] || db2set | sed -n 's/^DB2AUTH=//p' >"$CFG_DIR/DB2AUTH.before"
db2set DB2AUTH=OSAUTHDB,ALLOW_LOCAL_FALLBACK,PLUGIN_AUTO_RELOAD || exit 1

# 4. The dbm cfg settings of IBM's configSecPlugin.sh: the plugin authenticates remote and local
#    connections (encrypted), and its group plugin gives Db2 the user's Cognito groups.
db2ok update dbm cfg using SRVCON_GSSPLUGIN_LIST AWSIAMauth
db2ok update dbm cfg using SRVCON_AUTH GSS_SERVER_ENCRYPT
db2ok update dbm cfg using LOCAL_GSSPLUGIN AWSIAMauth
db2ok update dbm cfg using AUTHENTICATION GSSPLUGIN
db2ok update dbm cfg using GROUP_PLUGIN AWSIAMauthgroup

# 5. Restart from this shell, so that the engine starts with the settings and the environment.
restart

# 6. Check what the engine runs with (Linux: the db2sysc process's environment).
pid=$(pgrep -u "$(id -un)" -x db2sysc | head -n 1)
[ -r "/proc/$pid/environ" ] || echo "note: cannot read the environment of db2sysc: check DB2_HOME in it by hand" >&2
for var in DB2_HOME AWS_REGION; do
    if [ -r "/proc/$pid/environ" ] && ! tr '\0' '\n' <"/proc/$pid/environ" | grep -q "^$var="; then
        echo "WARNING: the Db2 engine (db2sysc $pid) has no $var: see step 2 of this script" >&2
    fi
done
db2 get dbm cfg | grep -E 'SRVCON_GSSPLUGIN_LIST|SRVCON_AUTH|LOCAL_GSSPLUGIN|GROUP_PLUGIN|[(]AUTHENTICATION[)]'
db2set DB2AUTH
"""


def plugin_commands(pool_id: str) -> str:
    """plugin-commands.sh for the pool ``pool_id`` (its region is the part before the ``_``)."""
    return PLUGIN_COMMANDS.replace("@POOL_ID@", pool_id).replace("@REGION@", pool_id.split("_", 1)[0])


def client_snippets(
    user: str = "<user>", database: str = "<database>", host: str = "<db2-host>", port: str = "<port>"
) -> str:
    """Ready-to-paste connection snippets. Placeholders only: never a real password or token."""
    return (
        "\n".join(
            [
                "# Get a token (curl -u prompts for the password when none is given):",
                f'TOKEN=$(curl -s -u \'{user}\' "$TOKEN_URL" | python3 -c \'import json,sys; print(json.load(sys.stdin)["AuthenticationResult"]["AccessToken"])\')',
                "",
                "# CLP with IBM's AWS security plugin: the bare token, which always works.",
                f'db2 connect to {database} accesstoken "$TOKEN"',
                "# Not '<user>:<token>': the plugin lower-cases the user before ':' and compares it with the",
                "# token's user name, so the form fails for every user whose Cognito name has upper-case",
                "# letters (the connection then gets an empty authorization id, not an error).",
                "# CLP with Db2's built-in JWT support:",
                f'db2 connect to {database} accesstoken "$TOKEN" accesstokentype jwt',
                "",
                "# CLI/ODBC or ibm_db connection string:",
                f"DATABASE={database};HOSTNAME={host};PORT={port};AUTHENTICATION=TOKEN;ACCESSTOKEN=<token>;ACCESSTOKENTYPE=JWT;",
                "",
                "# JDBC properties:",
                "securityMechanism=19",
                "accessToken=<token>",
                "accessTokenType=JWT",
            ]
        )
        + "\n"
    )


def write_stack_artefacts(run_dir, outputs, token_type: str = "access") -> dict[str, _Path]:
    """``write_artefacts`` with the pool's keys as its JWKS URL serves them now."""
    from .tokens import JwksCache, TokenError

    try:
        jwks = JwksCache(outputs.jwks_url).jwks()
    except (OSError, ValueError) as err:
        raise TokenError(f"cannot fetch the JWKS from {outputs.jwks_url}: {err}") from None
    return write_artefacts(run_dir, outputs, jwks, token_type)


def write_artefacts(run_dir, outputs, jwks: dict, token_type: str = "access") -> dict[str, _Path]:
    """Write every Db2-side file into ``<run_dir>/db2``; returns them by name."""
    out = _Path(run_dir) / "db2"
    (out / "keys").mkdir(parents=True, exist_ok=True)
    ca_pem, certs = jwk_certificates(jwks)
    labels = [label for label, _ in certs]
    files = {
        "cognito_userpools.json": _json.dumps(cognito_userpools_json(outputs.pool_id, outputs.pool_name), indent=2)
        + "\n",
        "db2-host-policy.json": _json.dumps(host_policy(outputs.pool_arn), indent=2) + "\n",
        "db2token.cfg": db2token_cfg(outputs.issuer, labels, token_type),
        "gskit-commands.sh": gskit_commands(labels),
        "plugin-commands.sh": plugin_commands(outputs.pool_id),
        "client-snippets.txt": f"TOKEN_URL={outputs.token_url or '<invoke-url>/token'}\n" + client_snippets(),
        "keys/cognito-runbook-ca.crt": ca_pem.decode(),
    }
    for i, jwk in enumerate(k for k in jwks.get("keys", []) if k.get("kty") == "RSA"):
        files[f"keys/{key_label(i)}.pem"] = jwk_to_pem(jwk).decode()
    for label, pem in certs:
        files[f"keys/{label}.crt"] = pem.decode()
    written = {}
    for name, text in files.items():
        (out / name).write_text(text)
        written[name] = out / name
    return written


ARTEFACT_PURPOSE = {
    "cognito_userpools.json": "AWS security plugin: ~/sqllib/security64/plugin/cfg/",
    "db2-host-policy.json": "IAM policy for the Db2 host's role",
    "db2token.cfg": "built-in JWT support: $INSTHOME/sqllib/cfg/",
    "gskit-commands.sh": "builds the JWT keystore (run on the Db2 server)",
    "plugin-commands.sh": "sets up (and -remove undoes) the AWS security plugin on the Db2 server",
    "client-snippets.txt": "CLP, CLI/ODBC and JDBC connection snippets",
    "keys": "pool signing keys (PEM) and their certificates for GSKit",
}


def artefact_purpose(name: str) -> str:
    """What a file of the run folder's ``db2/`` is for (``keys/...``: the signing keys)."""
    return ARTEFACT_PURPOSE.get("keys" if name.startswith("keys/") else name, "")

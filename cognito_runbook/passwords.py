"""Where user passwords come from, and the one owner of the stack's secrets. Passwords
live in memory only, never in a file or output.

Sources (``params.PasswordSource``): ``env:VAR`` (an environment variable), ``prompt``
(getpass, or the password widget of the users form), ``generate`` (random, meets the
pool's policy, kept in AWS Secrets Manager under ``cognito-runbook/<stack>/<user>`` so
later notebooks can sign in as the user). This module creates, replaces, restores,
claims and deletes those secrets; stages only ask it to.
"""

from __future__ import annotations

import getpass
import os
import secrets
import string
import sys

from botocore.exceptions import ClientError

from .aws import error_code, get_or_none, owned_by, paginate, tag_list, wait_until
from .errors import StageError
from .params import PasswordPolicy, PasswordSource

SYMBOLS = "!#%*+-=?@^_"  # within Cognito's allowed special characters, shell- and URL-friendly
GENERATED_LENGTH = 20
NAME_HELD_WAIT = 120.0  # seconds to wait for AWS to free the name of a secret deleted without recovery


def secret_name(stack: str, user: str) -> str:
    return f"cognito-runbook/{stack}/{user}"


def stack_secrets(ctx) -> list[dict]:
    """This stack's secrets (one paginated listing)."""
    prefix = secret_name(ctx.stack, "")
    listing = paginate(
        ctx.client("secretsmanager"), "list_secrets", "SecretList", Filters=[{"Key": "name", "Values": [prefix]}]
    )
    return [s for s in listing if s["Name"].startswith(prefix)]


def generate_password(policy: PasswordPolicy) -> str:
    length = max(GENERATED_LENGTH, policy.min_length)
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS]
    chars = [secrets.choice(c) for c in classes]  # one of each, whatever the policy asks
    alphabet = "".join(classes)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def policy_problems(password: str, policy: PasswordPolicy) -> list[str]:
    """What the pool's policy would reject, checked before any AWS write."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(f"shorter than {policy.min_length} characters")
    if policy.require_uppercase and not any(c.isupper() for c in password):
        problems.append("no upper-case letter")
    if policy.require_lowercase and not any(c.islower() for c in password):
        problems.append("no lower-case letter")
    if policy.require_numbers and not any(c.isdigit() for c in password):
        problems.append("no digit")
    if policy.require_symbols and not any(not c.isalnum() and not c.isspace() for c in password):
        problems.append("no symbol")
    if password != password.strip():
        problems.append("leading or trailing space")
    return problems


class PasswordStore:
    """Resolves a user's password source; talks to Secrets Manager for ``generate``.

    ``stage``: the stage that records the secrets ``resolve`` creates (reading needs none)."""

    def __init__(self, ctx, stage: str | None = None):
        self.ctx = ctx
        self.stage = stage
        self._stored: set[str] | None = None  # names of this stack's secrets, listed once

    def _secret_exists(self, user: str) -> bool:
        if self._stored is None:
            self._stored = {s["Name"] for s in stack_secrets(self.ctx)}
        return secret_name(self.ctx.stack, user) in self._stored

    def has_secret(self, user: str) -> bool:
        """Whether this stack keeps a generated password for ``user`` (one listing for all)."""
        return self._secret_exists(user)

    def generated_users(self) -> list[str]:
        """Users whose generated password this stack keeps (including users added
        through the forms, who are not in the params file)."""
        self._secret_exists("")  # lists once
        prefix = secret_name(self.ctx.stack, "")
        return sorted(name[len(prefix) :] for name in self._stored)

    def existing(self, user) -> str | None:
        """The password if it can be had without creating anything (for signing in later)."""
        if user.name in self.ctx.passwords:
            return self.ctx.passwords[user.name]
        source: PasswordSource = user.password
        if source.kind == "env":
            return os.environ.get(source.var)
        if source.generated:
            return self._read_secret(user.name)
        return None

    def resolve(self, user, index: int) -> str:
        """The password to set for a new user; creates the generated secret if needed."""
        field = f"users[{index}].password"
        password = self.ctx.passwords.get(user.name)
        source: PasswordSource = user.password
        if password is None and source.kind == "env":
            password = os.environ.get(source.var)
            if not password:
                raise StageError(
                    f"{field}: environment variable {source.var} is not set; export it before running (or use generate)"
                )
        elif password is None and source.kind == "prompt":
            if not sys.stdin or not sys.stdin.isatty():
                raise StageError(
                    f"{field}: 'prompt' needs someone at a terminal or the users form; for headless runs use env:VAR or generate"
                )
            password = getpass.getpass(f"Password for {user.name}: ")
        elif password is None and source.generated:
            # One listing of the stack's secrets instead of a failed read per new user.
            password = (
                self._read_secret(user.name) if self._secret_exists(user.name) else None
            ) or self._create_secret(user.name)
        problems = policy_problems(password or "", self.ctx.params.user_pool.password_policy)
        if problems:
            raise StageError(
                f"{field}: the password for '{user.name}' does not meet the pool's policy ({', '.join(problems)}); choose another (nothing was created)"
            )
        return password

    def _read_secret(self, user: str) -> str | None:
        # InvalidRequestException: the secret is scheduled for deletion (in its recovery window).
        found = get_or_none(
            self.ctx.client("secretsmanager").get_secret_value,
            SecretId=secret_name(self.ctx.stack, user),
            missing={"ResourceNotFoundException", "InvalidRequestException"},
        )
        return found["SecretString"] if found else None

    def _create_secret(self, user: str) -> str:
        password = generate_password(self.ctx.params.user_pool.password_policy)
        name = secret_name(self.ctx.stack, user)
        if self.stage is None:
            raise RuntimeError("PasswordStore(stage=...) is needed to create a secret")  # a bug, not a user error
        secrets_manager = self.ctx.client("secretsmanager")

        def created() -> str | None:
            try:
                self.ctx.apply(
                    self.stage,
                    "create",
                    "secret",
                    name,
                    secrets_manager.create_secret,
                    Name=name,
                    SecretString=password,
                    Tags=tag_list(self.ctx.tags),
                    Description=f"Password of Cognito user {user} (cognito-runbook stack {self.ctx.stack})",
                )
                return password
            except ClientError as err:
                if error_code(err) != "InvalidRequestException" or "scheduled for deletion" not in str(err):
                    raise
                self.ctx.retract()  # the create did not happen
            # The name is held by a deleted secret (a teardown moments ago, or one deleted with a
            # recovery window). Ours and recoverable: restore it with the new password; else wait.
            held = get_or_none(secrets_manager.describe_secret, SecretId=name)
            if held is not None and held.get("DeletedDate") and owned_by(held.get("Tags"), self.ctx.stack):
                self._restore(name, password)
                return password
            return None

        def waiting(*_) -> None:
            if self.ctx.progress:
                self.ctx.progress(f"secret {name}: name still held by a deleted secret; waiting")

        return wait_until(
            created,
            waiting=waiting,
            timeout=NAME_HELD_WAIT,
            delay=2.0,
            timed_out=lambda _: StageError(
                f"secret {name}: the name is still held by a deleted secret after {NAME_HELD_WAIT:.0f} s "
                "(AWS frees it asynchronously); re-run this stage in a minute"
            ),
        )

    def replace(self, user: str, password: str, detail: str) -> None:
        """A new value for the user's secret (Secrets Manager keeps the old one as AWSPREVIOUS)."""
        self.ctx.apply(
            self.stage,
            "update",
            "secret",
            secret_name(self.ctx.stack, user),
            self.ctx.client("secretsmanager").put_secret_value,
            detail=detail,
            SecretId=secret_name(self.ctx.stack, user),
            SecretString=password,
        )

    def _restore(self, name: str, password: str) -> None:
        secrets_manager = self.ctx.client("secretsmanager")
        self.ctx.apply(
            self.stage,
            "update",
            "secret",
            name,
            secrets_manager.restore_secret,
            detail="restored from its recovery window",
            SecretId=name,
        )
        secrets_manager.put_secret_value(SecretId=name, SecretString=password)


# -- the stack's secrets as a whole -------------------------------------------------------


def foreign_secrets(ctx) -> list[dict]:
    """Secrets under the stack's prefix that are not the stack's (they block its names)."""
    return [s for s in stack_secrets(ctx) if not owned_by(s.get("Tags"), ctx.stack)]


def owned_secrets(ctx) -> dict[str, dict]:
    """This stack's own secrets (tagged as its) by name, in one listing."""
    return {s["Name"]: s for s in stack_secrets(ctx) if owned_by(s.get("Tags"), ctx.stack)}


def delete_stack_secrets(ctx, stage: str) -> None:
    """Remove every secret this stack made, in name order (however they were made)."""
    owned = owned_secrets(ctx)
    for name in sorted(owned):
        delete_secret(ctx, stage, owned[name])


def delete_secret(ctx, stage: str, secret: dict) -> None:
    """Delete at once, not after a recovery window: a re-created user gets a new password."""
    ctx.apply(
        stage,
        "delete",
        "secret",
        secret["Name"],
        ctx.client("secretsmanager").delete_secret,
        SecretId=secret["ARN"],
        ForceDeleteWithoutRecovery=True,
    )

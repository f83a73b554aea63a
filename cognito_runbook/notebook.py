"""What the notebooks call: one short line per step, a readable table per result.

Presentation only, with no AWS calls of its own: every AWS read goes through ``Runbook``
(which keeps what it found until a stage changes it), a stage's ``describe``-style
function, or the module that owns it (sign-ins and their passwords: ``sign_ins``; the
pool's keys: ``db2``); saving a form goes through ``params_file``. Each notebook opens
the runbook from its params file and finds what earlier notebooks created by looking
in AWS, so any notebook can run on its own in a fresh kernel.
"""

from __future__ import annotations

import os
from pathlib import Path

from IPython.display import HTML, display

from . import oauth, params_file, sign_ins, summary
from .constants import run_dir as resolve_run_dir
from .display import Diff, Table, Tables, changes_table, key_value_table
from .errors import RunbookError, StageError, aws_errors
from .params import Params, load_params
from .project import find_file
from .runbook import Runbook, StackOutputs, StageResult
from .sign_ins import SignIn
from .stages import groups as groups_stage
from .stages import memberships as memberships_stage
from .stages import token_function as token_function_stage
from .stages import users as users_stage
from .stages.common import sign_in_name
from .tokens import TokenVerifier, readable_claims, truncate
from .widgets import GroupsForm, MembershipsForm, UsersForm

_ARTEFACT_KEYS = ("pool_id", "pool_arn", "issuer", "jwks_url", "token_url")


def open_runbook(
    params_file: str,
    plan: bool = False,
    run_dir: str = "",
    namespace: dict | None = None,
    reset_passwords: bool = False,
) -> NotebookRunbook:
    """Open the stack described by ``params_file``.

    ``namespace``: the notebook's globals. Top-level params keys found there (injected by
    ``papermill -f params/x.yaml`` or ``-p region eu-north-1``) override the file's values.
    """
    path = find_file(params_file)
    overrides = {k: v for k, v in (namespace or {}).items() if k in Params.model_fields}
    text = path.read_text() if path.is_file() else ""
    runbook = Runbook.open(path, plan=plan, overrides=overrides, reset_passwords=reset_passwords)
    runbook.run_dir = resolve_run_dir(run_dir, path, runbook.params.stack)
    return NotebookRunbook(runbook, path.resolve(), text)


class NotebookRunbook:
    def __init__(self, runbook: Runbook, params_path: Path, file_text: str):
        self.runbook = runbook
        self.params_path = params_path
        self._file_text = file_text  # the params file as read: a form's change is laid over it
        self._verifier: tuple[tuple, TokenVerifier] | None = None

    @property
    def params(self):
        return self.runbook.params

    @property
    def run_dir(self) -> Path:
        return self.runbook.run_dir

    # -- 00 --------------------------------------------------------------------

    def connection(self) -> Table:
        b = self.runbook.backend
        rows = [("stack", self.params.stack), ("backend", b.kind), ("region", b.region), ("account", b.account_id)]
        if b.kind == "local":
            rows.append(("local AWS endpoint", b.endpoint_url))
        else:
            rows.append(("profile", self.params.profile or "(default credential chain)"))
        rows.append(("plan mode", "yes: nothing will be changed" if b.plan else "no"))
        return key_value_table(rows, "Connected")

    def names(self) -> Table:
        """The account-wide names the stack needs, and who holds each now. Raises (naming
        each one and the params field to change) if another stack or someone holds one."""
        claims = self.runbook.check_names()
        stack = self.params.stack
        rows = [
            [c.resource, c.name, "free" if c.holder is None else ("this stack" if c.holder == stack else c.holder)]
            for c in claims
        ]
        return Table(["resource", "name", "held by"], rows, "Names the stack needs (unique per account or region)")

    def iam_policy(self):
        """The least-privilege policy a person needs to run every notebook of this stack on
        AWS (derived from the request contract), and how to create it."""
        from IPython.display import Markdown

        from . import iam_policy

        params_file = f"{self.params_path.parent.name}/{self.params_path.name}"
        return Markdown(iam_policy.setup_markdown(self.params, self.runbook.backend.account_id, params_file))

    # -- stages ------------------------------------------------------------------

    def stage(self, name: str) -> Table:
        return changes_table(self.runbook.run_stage(name))

    def outputs(self, *keys: str) -> Table:
        values = self.runbook.outputs(*keys).as_dict()
        return key_value_table([(k, values[k]) for k in (keys or values)], "Stack outputs")

    def write_outputs(self) -> Path:
        return self.runbook.write_outputs()

    # -- forms: the params file is the source of truth ------------------------------------

    def _commit(self, **sections) -> Diff | None:
        """Make the form's sections the params and save them to the params file (see
        ``params_file.save_sections``); show the file's change. Headless (the form as the
        params filled it) there is no change and the file is not touched."""
        saved = params_file.save_sections(
            self.params_path, self._file_text, self.params, sections, plan=self.runbook.plan
        )
        if saved is None:
            return None
        self._file_text = saved.text
        self.runbook.params = saved.params
        if not saved.diff:
            return None
        caption = (
            f"Saved to {self.params_path}"
            if saved.written
            else f"Would change {self.params_path.name} (plan: not written)"
        )
        return Diff(saved.diff, caption)

    # -- 01 adopting a pool built by hand ----------------------------------------------------

    def adopt(self, pool_id: str = "", confirm: bool = False, **resources: str) -> Tables | HTML:
        """Compare a hand-built pool (and ``client_id``, ``function``, ``api_id``) with the
        params; with ``confirm``, write what AWS has into the params file and tag them as the
        stack's. Without a ``pool_id`` there is nothing to do."""
        from . import adopt

        if not pool_id:
            return HTML("<p>Nothing to adopt: set <code>adopt_pool_id</code> to adopt a pool built by hand.</p>")
        survey = adopt.survey(self.runbook, self.params_path, pool_id, write_params=True, **resources)
        edit = survey.edit
        if not confirm or self.runbook.plan:
            preview = Diff(edit.diff(), f"Would change {self.params_path.name}") if edit.changed else None
            display(Tables(*adopt.report(survey).tables, preview))
            # Stop here: the next cell would otherwise create a new pool beside the one to adopt.
            raise RunbookError(
                f"adopting {pool_id}: nothing was changed. Review the tables above, then set adopt_confirm = True "
                "and run the notebook again"
            )
        diff = edit.diff()
        changes = adopt.adopt(survey)
        self._file_text = edit.original
        self.runbook.params = load_params(self.params_path)
        return Tables(
            Diff(diff, f"Saved to {self.params_path}") if diff else None,
            changes_table(StageResult("adopt", changes, 0.0)),
        )

    # -- 02 users ---------------------------------------------------------------------

    def users_form(self) -> UsersForm:
        return UsersForm(self.params.users, db2_names=self.params.user_pool.sign_in == "username")

    def apply_users(self, form: UsersForm) -> Tables:
        """Save the form to the params file, then apply it (headless: the params unchanged);
        show the file's change, what changed in AWS and the pool's users."""
        try:
            users, typed = form.values()
            names = {u["name"] for u in users}
            saved = self._commit(
                users=users, memberships={u: g for u, g in self.params.memberships.items() if u in names}
            )
            self.runbook.ctx.passwords.update(typed)
            return Tables(saved, self.stage("users"), self.users_table())
        finally:
            form.clear_passwords()  # typed passwords leave the widgets once used

    def users_table(self) -> Table:
        pool = self.runbook.pool()
        if pool is None:
            return Table(["user", "status"], [], "No user pool yet")
        with aws_errors("listing users"):
            found = users_stage.pool_users(self.runbook.ctx, pool["Id"])
        listed = {users_stage.user_key(self.runbook.ctx, u.name) for u in self.params.users}
        rows = [
            [
                sign_in_name(self.runbook.ctx, u),
                u["UserStatus"],
                "yes" if u.get("Enabled", True) else "no",
                "yes" if key in listed else "no",
            ]
            for key, u in found.items()
        ]
        return Table(["user", "status", "enabled", "in the params"], sorted(rows), f"Users in {pool['Name']}")

    def rotate(self, users: list[str] | None = None) -> Tables | HTML:
        """New generated passwords for ``users`` (every generated one when empty is not
        assumed here: name them), refresh tokens revoked, then a fresh token verified."""
        if not users:
            return HTML("<p>No password rotated: list users in <code>rotate_users</code> to rotate theirs.</p>")
        result = self.runbook.rotate(users)
        if self.runbook.plan:
            return Tables(changes_table(result))
        rotated = sorted({c.name for c in result.changes if c.resource == "password"})
        try:
            rows = [[r.user, r.status] for r in self.runbook.sign_in(rotated)]
        except sign_ins.NoTokenApi:
            rows = [[name, sign_ins.NOT_CHECKED] for name in rotated]
        return Tables(changes_table(result), Table(["user", "fresh token"], rows, "Signing in with the new password"))

    # -- 03 groups ----------------------------------------------------------------------

    def groups_form(self) -> GroupsForm:
        return GroupsForm(self.params.groups)

    def apply_groups(self, form: GroupsForm) -> Tables:
        groups = form.values()
        names = {g["name"] for g in groups}
        memberships = {u: [g for g in gs if g in names] for u, gs in self.params.memberships.items()}
        saved = self._commit(groups=groups, memberships=memberships)
        return Tables(saved, self.stage("groups"), self.groups_table())

    def groups_table(self) -> Table:
        pool = self.runbook.pool()
        with aws_errors("listing groups"):
            found = groups_stage.pool_groups(self.runbook.ctx, pool["Id"]) if pool else {}
        listed = {g.name for g in self.params.groups}
        return Table(
            ["group", "description", "in the params"],
            [
                [g["GroupName"], g.get("Description", ""), "yes" if g["GroupName"] in listed else "no"]
                for g in sorted(found.values(), key=lambda g: g["GroupName"])
            ],
            "Groups in the pool",
        )

    # -- 04 memberships -------------------------------------------------------------------

    def memberships_form(self, page_size: int = 25) -> MembershipsForm:
        """The params file's users and groups, ticked as the params say. (Users made outside
        the runbook join the params through ``cognito-runbook adopt --write-params``.)"""
        return MembershipsForm(
            [u.name for u in self.params.users],
            [g.name for g in self.params.groups],
            self.params.memberships,
            page_size,
        )

    def apply_memberships(self, form: MembershipsForm) -> Tables:
        saved = self._commit(memberships=form.values())
        changes = self.stage("memberships")
        pool = self.runbook.pool()
        with aws_errors("listing memberships"):
            current = memberships_stage.pool_memberships(self.runbook.ctx, pool["Id"], form.groups) if pool else {}
        members = Table(
            ["user", "groups (as Cognito reports them to Db2)"],
            [[u, ", ".join(sorted(g))] for u, g in sorted(current.items())],
            "Memberships in the pool",
        )
        return Tables(saved, changes, members)

    # -- 05 / 06 ---------------------------------------------------------------------------

    def function_table(self) -> Table:
        with aws_errors("reading the function"):
            fn, policy = self.runbook.found.function, self.runbook.found.role_policy or {}
        if fn is None:
            return Table(["", ""], [], "No generateToken function yet")
        config = fn["Configuration"]
        env = config.get("Environment", {}).get("Variables", {})
        rows = [
            ("function", config["FunctionName"]),
            ("runtime", config["Runtime"]),
            ("handler", config["Handler"]),
            ("timeout", f"{config['Timeout']} s"),
            ("role", token_function_stage.role_name(self.runbook.ctx)),
        ]
        rows += [(f"env {k}", v) for k, v in sorted(env.items())]
        for st in policy.get("Statement", []):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            rows.append((f"allows ({st.get('Sid', '')})", f"{', '.join(actions)} on {st['Resource']}"))
        return key_value_table(rows, "generateToken")

    # -- 07 tokens through the API -----------------------------------------------------------

    def verifier(self, out: StackOutputs | None = None) -> TokenVerifier:
        """The stack's token verifier, kept while the pool, client and JWKS URL stay the same
        (its JWKS and verified-token caches then serve every cell of the notebook)."""
        out = out or self.runbook.outputs(*sign_ins.TOKEN_KEYS)
        if not out.client_id:
            raise StageError("no app client found; run notebook 01 first")
        key = (out.issuer, out.client_id, out.jwks_url)
        if self._verifier is None or self._verifier[0] != key:
            self._verifier = (key, TokenVerifier.for_stack(out))
        return self._verifier[1]

    def tokens_via_api(self, users: list[str] | None = None, record: bool = True) -> list[SignIn]:
        """GET /token for each user (as ``curl -u`` does), then verify both tokens: the params
        users and those whose generated password the stack keeps. ``record``: keep the
        (shortened) result in the run summary."""
        out = self.runbook.outputs(*sign_ins.TOKEN_KEYS)
        verifier = self.verifier(out) if out.token_url and out.client_id else None
        results = self.runbook.sign_in(users, stored=True, verifier=verifier)
        if record:
            self._record_tokens(results)
        return results

    @staticmethod
    def require_tokens(results: list[SignIn]) -> None:
        """Fail (naming each user and the fix) unless every user the runbook can sign in as got
        verified tokens. Users whose password is typed (``prompt``) are not checked headless."""
        sign_ins.require(results)

    def _record_tokens(self, results: list[SignIn]) -> None:
        rows = [
            {
                "user": r.user,
                "status": r.outcome.value,
                "id_token": truncate(r.tokens.id_token, 8) if r.tokens else "",
                "access_token": truncate(r.tokens.access_token, 8) if r.tokens else "",
                "groups": ",".join(r.groups),
            }
            for r in results
        ]
        summary.record_tokens(self.run_dir, rows)

    @staticmethod
    def tokens_table(results: list[SignIn]) -> Table:
        rows = [
            [
                r.user,
                r.status,
                truncate(r.tokens.id_token) if r.tokens else "",
                truncate(r.tokens.access_token) if r.tokens else "",
                ", ".join(r.groups),
            ]
            for r in results
        ]
        return Table(["user", "result", "ID token", "access token", "cognito:groups"], rows, "Tokens from GET /token")

    @staticmethod
    def claims_table(claims: dict, title: str) -> Table:
        return Table(["claim", "value"], [list(pair) for pair in readable_claims(claims)], title)

    @staticmethod
    def inspect_token(token: str, title: str = "token") -> Table:
        """Claims of a token from elsewhere, decoded WITHOUT verification (says so)."""
        from .tokens import decode_unverified

        return Table(
            ["claim", "value"],
            [list(p) for p in readable_claims(decode_unverified(token))],
            f"{title}: NOT verified (decoded only)",
        )

    def show_claims(self, results: list[SignIn]) -> None:
        for r in results:
            if r.id_claims:
                display(self.claims_table(r.id_claims, f"{r.user}: ID token claims (verified)"))
                display(self.claims_table(r.access_claims, f"{r.user}: access token claims (verified)"))

    # -- 08 hosted UI ------------------------------------------------------------------------

    def hosted_ui_sign_in(self, flow: str = "") -> oauth.SignIn:
        """``flow``: "implicit", "code", or "" for code + PKCE when the client allows it."""
        return sign_ins.hosted_ui_session(self.params, self.runbook.outputs("hosted_ui_url", "client_id"), flow)

    def login_link(self, sign_in: oauth.SignIn) -> HTML:
        return HTML(
            f'<p>Open the hosted UI and sign in: <a href="{sign_in.login_url}" target="_blank">login page</a></p>'
            f"<p>After signing in the browser lands on <code>{sign_in.redirect_uri}</code> (nothing listens there, "
            "so the page fails to load: that is expected). Copy the whole URL from the address bar into the box below.</p>"
        )

    def redirect_url(
        self, sign_in: oauth.SignIn, redirect_url_env: str = "", typed: str = "", user: str | None = None
    ) -> str:
        """Where the redirect URL comes from: typed into the widget, an environment
        variable named by a parameter (papermill writes parameters into the notebook,
        and this URL can hold live tokens), or, headless, a scripted sign-in as a params
        user whose password the runbook can read."""
        if typed.strip():
            return typed.strip()
        if redirect_url_env and os.environ.get(redirect_url_env):
            return os.environ[redirect_url_env]
        redirect = sign_ins.hosted_ui_redirect(self.runbook.ctx, sign_in.login_url, user)
        if redirect:
            return redirect
        raise RunbookError(
            "no redirect URL: paste it into the box above, or set the environment variable named by redirect_url_env"
        )

    # -- 09 Db2 ----------------------------------------------------------------------------

    def db2_artefacts(self, token_type: str = "access") -> Table:
        from . import db2

        out = self.runbook.outputs(*_ARTEFACT_KEYS)
        if not out.pool_id:
            raise StageError("no user pool found; run notebook 01 first")
        files = db2.write_stack_artefacts(self.run_dir, out, token_type)
        rows = [[name, db2.artefact_purpose(name)] for name in files]
        return Table(["file (in run folder/db2)", "what it is for"], rows, "Db2 artefacts")

    def show_artefact(self, name: str) -> None:
        from IPython.display import Markdown

        text = (self.run_dir / "db2" / name).read_text()
        display(Markdown(f"`{name}`\n```\n{text}```"))

    def preflight(self, user: str | None = None, token_use: str = "access"):
        """What Db2 would make of a token from ``GET /token`` for ``user`` (default: the
        first params user whose password the runbook can read)."""
        from .preflight import db2_preflight

        candidates = [user] if user else [u.name for u in self.params.users if u.enabled]
        for name in candidates:
            results = [r for r in self.tokens_via_api([name], record=False) if r.tokens]
            if results:
                tokens = results[0].tokens
                token = tokens.access_token if token_use == "access" else tokens.id_token
                with aws_errors("preflight"):
                    return db2_preflight(token, self.runbook.outputs("pool_id"), self.runbook.backend)
        raise StageError("no token to check: notebook 07 must be able to get tokens for a params user")

    # -- 99 ---------------------------------------------------------------------------------

    def teardown(self, confirm_stack: str = "") -> Table:
        return changes_table(self.runbook.teardown(confirm_stack))

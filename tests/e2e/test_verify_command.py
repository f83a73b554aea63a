"""`cognito-runbook verify` against the local AWS: one definition of signing in, one verdict for every caller."""

from __future__ import annotations

import pytest
import yaml
from conftest import as_admin

from cognito_runbook import sign_ins
from cognito_runbook.passwords import PasswordStore
from cognito_runbook.sign_ins import Outcome


def test_verify_and_every_other_check_agree_on_a_password_changed_by_hand(provisioned, make_stack, tmp_path, capsys):
    from cognito_runbook.cli import main
    from cognito_runbook.errors import EXIT_FAILED, EXIT_OK
    from cognito_runbook.notebook import NotebookRunbook
    from cognito_runbook.stages import users as users_stage

    rb, out = provisioned
    params_file = tmp_path / f"{rb.params.stack}.yaml"
    params_file.write_text(yaml.safe_dump(rb.params.model_dump(mode="json", exclude_none=True)))

    assert main(["verify", str(params_file)]) == EXIT_OK
    shown = capsys.readouterr()
    assert "db2dba   verified" in shown.out and "appuser  verified" in shown.out, shown

    # A person changes appuser's password in the console (or with the aws CLI).
    as_admin(rb).client("cognito-idp").admin_set_user_password(
        UserPoolId=out.pool_id, Username="appuser", Password="Changed-by-hand-1", Permanent=True
    )
    assert main(["verify", str(params_file)]) == EXIT_FAILED
    shown = capsys.readouterr()
    assert "1 user(s) cannot get tokens" in shown.err
    assert "  - appuser: failed: GET /token answered 401" in shown.err
    assert "no longer signs in" in shown.err and "cognito-runbook rotate <params file> --user appuser" in shown.err
    assert main(["verify", str(params_file), "--user", "db2dba"]) == EXIT_OK  # only the named user
    assert main(["verify", str(params_file), "--user", "nobody"]) == 2
    capsys.readouterr()

    # Notebook 07 (through the facade) and the --reset-passwords check: the same verdict, the same fix.
    facade = NotebookRunbook(rb, params_file, params_file.read_text())
    rb.run_dir = tmp_path / "run"
    by_notebook = {r.user: r for r in facade.tokens_via_api()}
    appuser = rb.params.users[1]
    by_reset = users_stage.password_check(rb.ctx, rb.pool(), appuser, PasswordStore(rb.ctx), rb.client_id())
    [by_verify] = rb.sign_in(["appuser"])
    assert by_notebook["db2dba"].outcome is Outcome.VERIFIED
    assert by_notebook["appuser"].outcome is by_reset.outcome is by_verify.outcome is Outcome.FAILED
    assert by_notebook["appuser"].fix == by_reset.fix == by_verify.fix
    with pytest.raises(sign_ins.SignInsFailed, match="appuser: failed"):
        facade.require_tokens(list(by_notebook.values()))

    # The stage acts on that verdict when asked: --reset-passwords would set appuser's password again.
    plan = make_stack(plan=True)
    plan.ctx.reset_passwords = True
    updates = [(c.name, c.detail) for c in plan.run_stage("users").changes if c.action == "update"]
    assert updates == [("appuser", "the password from 'generate' no longer signs in: set again")]

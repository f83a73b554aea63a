"""The command line as a new user meets it: every command that writes checks names first,
a --yes must name this stack, and a stack that does not exist is said to not exist."""

from __future__ import annotations

import yaml
from conftest import as_admin

from cognito_runbook.cli import main
from cognito_runbook.errors import EXIT_FAILED, EXIT_USAGE


def params_file_of(rb, tmp_path, **changes):
    raw = rb.params.model_dump(mode="json", exclude_none=True)
    raw.update(changes)
    path = tmp_path / f"{raw['stack']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def stack_resources(rb, stack: str) -> dict:
    """What of ``stack`` exists, found by its tag or its names."""
    b = as_admin(rb)  # looking around the account as a person would, not as the operator
    cognito, secrets, iam = b.client("cognito-idp"), b.client("secretsmanager"), b.client("iam")
    pools = [
        p["Id"]
        for p in cognito.list_user_pools(MaxResults=60)["UserPools"]
        if cognito.describe_user_pool(UserPoolId=p["Id"])["UserPool"]
        .get("UserPoolTags", {})
        .get("cognito-runbook:stack")
        == stack
    ]
    listed = secrets.list_secrets(Filters=[{"Key": "name", "Values": [f"cognito-runbook/{stack}/"]}])["SecretList"]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(stack)]
    return {"pools": pools, "secrets": [s["Name"] for s in listed], "roles": roles}


def test_provision_refuses_every_taken_name_before_any_write(provisioned, tmp_path, capsys):
    rb, _ = provisioned
    first = rb.params
    second = params_file_of(
        rb,
        tmp_path,
        stack="second-of-two",
        user_pool={**first.user_pool.model_dump(mode="json", exclude_none=True)},  # the first's domain prefix
        token_function={"name": first.token_function.name},  # and its function name
    )
    assert main(["provision", str(second)]) == EXIT_FAILED
    message = capsys.readouterr().err
    assert "2 name(s) the stack needs are taken (nothing was changed)" in message
    assert f"Lambda function '{first.token_function.name}' belongs to stack {first.stack}" in message
    assert f"hosted-UI domain prefix '{first.domain_prefix}' belongs to stack {first.stack}" in message
    assert stack_resources(rb, "second-of-two") == {"pools": [], "secrets": [], "roles": []}


def test_a_yes_naming_another_stack_deletes_nothing_on_any_backend(provisioned, tmp_path, capsys):
    rb, out = provisioned
    params_file = params_file_of(rb, tmp_path)
    assert rb.backend.kind == "local"
    assert main(["teardown", str(params_file), "--yes", "some-other-stack"]) == EXIT_USAGE
    message = capsys.readouterr().err
    assert f"'some-other-stack' is not this stack; the params name stack {rb.params.stack}" in message
    assert rb.outputs().pool_id == out.pool_id  # still there


def test_outputs_of_a_stack_never_provisioned_say_so(make_stack, tmp_path, capsys):
    rb = make_stack()
    params_file = params_file_of(rb, tmp_path)
    assert main(["outputs", str(params_file)]) == EXIT_FAILED
    message = capsys.readouterr().err
    assert f"stack {rb.params.stack} is not provisioned in {rb.params.region}" in message
    assert f"cognito-runbook run {params_file}" in message


def test_a_plan_says_passwords_were_not_checked_and_how_to_check_them(provisioned, tmp_path, capsys):
    rb, _ = provisioned
    params_file = params_file_of(rb, tmp_path)
    assert main(["provision", str(params_file), "--plan", "--out", str(tmp_path / "plan")]) == 0
    summary = (tmp_path / "plan" / "summary.txt").read_text()
    assert f"passwords: not checked (a plan signs in as no one); `cognito-runbook verify {params_file}`" in summary

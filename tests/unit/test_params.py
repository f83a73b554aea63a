"""Params validation: every problem named by its field, before any AWS call."""

import pytest
from conftest import ROOT

from cognito_runbook.errors import ParamsError
from cognito_runbook.params import load_params, parse_params

BASE = {
    "users": [{"name": "db2dba", "password": "generate"}],
    "groups": [{"name": "DB2ADMIN"}],
    "memberships": {"db2dba": ["DB2ADMIN"]},
}

MALFORMED = [
    ({"region": "mars-1"}, "region: is not an AWS region name"),
    ({"region": 5}, "region:"),
    ({"backend": "gcp"}, "backend:"),
    ({"colour": "blue"}, "colour: is not a known setting"),
    ({"user_pool": {"nmae": "x"}}, "user_pool.nmae: is not a known setting"),
    ({"stack": "1-bad"}, "stack: must start with a letter"),
    ({"user_pool": {"domain_prefix": "My_Prefix"}}, "user_pool.domain_prefix: must be 1-63 lower-case"),
    ({"user_pool": {"domain_prefix": "my-cognito"}}, "user_pool.domain_prefix: must not contain 'cognito'"),
    ({"user_pool": {"sign_in": "phone"}}, "user_pool.sign_in:"),
    (
        {"app_client": {"callback_urls": ["http://example.com"]}},
        "app_client.callback_urls: 'http://example.com' is not allowed",
    ),
    ({"app_client": {"oauth_flows": ["password"]}}, "app_client.oauth_flows[0]:"),
    ({"token_function": {"runtime": "python3.11"}}, "token_function.runtime: python3.11 is deprecated"),
    ({"token_function": {"runtime": "nodejs20.x"}}, "token_function.runtime: must be one of"),
    ({"token_function": {"name": "bad name"}}, "token_function.name: must be 1-64"),
    ({"token_api": {"throttling": {"burst_limit": 0}}}, "token_api.throttling.burst_limit:"),
    ({"users": [{"name": "db2dba", "password": "Hunter2!"}]}, "users[0].password: is not a password source"),
    (
        {"users": [{"name": "db2dba", "password": "env:1BAD"}]},
        "users[0].password: the environment variable name after env: is not valid",
    ),
    ({"users": [{"name": "db2dba", "email": "nope"}]}, "users[0].email: is not an e-mail address"),
    ({"users": [{"name": "db2dba"}, {"name": "DB2DBA"}]}, "users[1].name: 'DB2DBA' repeats users[0]"),
    ({"users": [{"name": "first.last"}]}, "users[0].name: Db2 user name contains '.'"),
    ({"users": [{"name": "SYSADM1"}]}, "users[0].name: Db2 user name must not begin with IBM, SQL or SYS"),
    ({"users": [{}]}, "users[0].name: Field required"),
    ({"groups": [{"name": "PUBLIC"}]}, "groups[0].name: Db2 group name 'PUBLIC' is reserved"),
    ({"groups": [{"name": "select"}]}, "groups[0].name: Db2 group name 'select' is an SQL reserved word"),
    ({"groups": [{"name": "DB2-ADMIN"}]}, "groups[0].name: Db2 group name contains '-'"),
    ({"groups": [{"name": "G" * 129}]}, "groups[0].name:"),
    ({"groups": [{"name": "A"}, {"name": "a"}]}, "groups[1].name: 'a' repeats groups[0]"),
    ({"memberships": {"nobody": ["DB2ADMIN"]}}, "memberships.nobody: no user 'nobody'"),
    ({"memberships": {"db2dba": ["NOGROUP"]}}, "memberships.db2dba: no group 'NOGROUP'"),
    ({"user_pool": {"sign_in": "email"}}, "users[0].name: the pool signs in with e-mail"),
]


@pytest.mark.parametrize("change, expected", MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_malformed_params_name_the_field(change, expected):
    with pytest.raises(ParamsError) as err:
        parse_params({**BASE, **change})
    assert expected in str(err.value), str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ParamsError) as err:
        parse_params(
            {"stack": "s", "region": "x", "colour": 1, "groups": [{"name": "PUBLIC"}], "memberships": {"ghost": []}}
        )
    assert len(err.value.problems) == 4, err.value.problems


def test_literal_password_is_never_echoed():
    with pytest.raises(ParamsError) as err:
        parse_params({"users": [{"name": "db2dba", "password": "S3cret-Value!"}]})
    assert "S3cret-Value!" not in str(err.value)
    assert "env:VAR_NAME" in str(err.value) and "generate" in str(err.value)


def test_defaults_follow_the_console_runbook():
    p = parse_params({"stack": "db2-stack"})
    assert p.user_pool.name == "DB2UserPool"
    assert p.app_client.callback_urls == ["http://localhost"]
    assert p.app_client.oauth_flows == ["implicit"]
    assert p.app_client.oauth_scopes == ["phone", "openid", "email"]
    assert (p.token_function.name, p.token_function.runtime) == ("db2-stack-generateToken", "python3.13")
    assert (
        parse_params({"stack": "s", "token_function": {"name": "generateToken"}}).token_function.name == "generateToken"
    )
    assert p.token_api.name == "getToken"
    assert p.user_pool.case_sensitive_usernames is False


@pytest.mark.parametrize("name", ["local.yaml", "aws-example.yaml"])
def test_shipped_params_files_are_valid(name):
    params = load_params(ROOT / "params" / name)
    assert params.users and params.groups and params.memberships


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="does not exist"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [\n")
    with pytest.raises(ParamsError, match="not valid YAML at line"):
        load_params(bad)


def test_overrides_use_dotted_keys(tmp_path):
    params = load_params(ROOT / "params" / "local.yaml", {"region": "eu-north-1", "user_pool.name": "Other"})
    assert (params.region, params.user_pool.name) == ("eu-north-1", "Other")


def test_an_empty_file_or_one_without_stack_is_refused(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ParamsError, match=r"the file is empty.*needs at least `stack:`.*params/local.yaml"):
        load_params(empty)
    with pytest.raises(ParamsError, match=r"stack: is required.*params/local.yaml"):
        parse_params({"region": "us-east-1"})


@pytest.mark.parametrize("region", ["us-middle-9", "eu-north-9"])
def test_a_well_formed_region_that_does_not_exist_is_refused(region):
    with pytest.raises(ParamsError, match=rf"region: '{region}' is not a region where Cognito, Lambda and API Gateway"):
        parse_params({"stack": "s", "region": region})
    assert parse_params({"stack": "s", "region": "eu-north-1"}).region == "eu-north-1"


def test_the_default_domain_prefix_is_checked_too():
    with pytest.raises(ParamsError, match=r"user_pool.domain_prefix: the default \(the stack name, 'my-aws-stack'\)"):
        parse_params({"stack": "my-aws-stack"})


def test_notebook_01_and_the_readme_agree_on_the_oauth_grants():
    import json

    default = parse_params({"stack": "s"}).app_client.oauth_flows
    assert default == ["implicit"]  # the console runbook's choice
    readme = (ROOT / "README.md").read_text()
    assert "| `app_client.oauth_flows`, `oauth_scopes` | `[implicit]`" in readme
    notebook = json.loads((ROOT / "notebooks" / "01_user_pool.ipynb").read_text())
    prose = " ".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown").replace("\n", " ")
    assert "only the **implicit grant**" in prose and "code grant with PKCE" in prose
    assert "`params/local.yaml` enables both" in prose
    assert load_params(ROOT / "params" / "local.yaml").app_client.oauth_flows == ["implicit", "code"]


def test_a_password_source_is_parsed_once_and_written_back_as_its_text():
    params = parse_params(
        {
            "stack": "s",
            "users": [{"name": "A", "password": "env:A_PW"}, {"name": "B"}, {"name": "C", "password": "prompt"}],
        }
    )
    a, b, c = (u.password for u in params.users)
    assert (a.kind, a.var) == ("env", "A_PW") and b.generated and (c.kind, c.var) == ("prompt", None)
    assert [u["password"] for u in params.model_dump()["users"]] == ["env:A_PW", "generate", "prompt"]
    assert parse_params(params.model_dump()) == params


def test_a_bad_variable_name_is_named_as_such_without_echoing_the_value():
    with pytest.raises(ParamsError) as err:
        parse_params({"stack": "s", "users": [{"name": "A", "password": "env:Hunter2!"}]})
    assert "environment variable name after env: is not valid" in str(err.value)
    assert "Hunter2" not in str(err.value)


def test_bad_values_injected_into_a_notebook_are_named_as_injected(tmp_path):
    """papermill -f other.yaml / -p region ...: the notebook's globals override the file."""
    from cognito_runbook.notebook import open_runbook

    path = tmp_path / "stack.yaml"
    path.write_text((ROOT / "params" / "local.yaml").read_text())
    with pytest.raises(ParamsError) as err:
        open_runbook(str(path), namespace={"region": "xx-nowhere-1", "workers": 0, "stack": "db2-local"})
    message = str(err.value)
    assert "with the injected parameter(s) region, workers (papermill -p/-f)" in message
    assert "region: 'xx-nowhere-1' is not a region" in message
    assert "(injected parameter region, not from stack.yaml)" in message
    assert "(injected parameter workers, not from stack.yaml)" in message


def test_problems_of_the_file_itself_still_name_the_file(tmp_path):
    path = tmp_path / "stack.yaml"
    path.write_text("stack: s\nregion: xx-nowhere-1\n")
    with pytest.raises(ParamsError) as err:
        load_params(path, {"workers": 4})
    assert f"in {path}:" in str(err.value) and "injected" not in str(err.value)

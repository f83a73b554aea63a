"""The README's "From Python" snippet, run as written (only the params file's path
replaced by a stack of its own) against the local AWS."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml
from conftest import ROOT


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**From Python.**") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_snippet_provisions_signs_in_and_prints_the_token_url(local_aws, local_params_raw, tmp_path):
    raw = {**local_params_raw, "stack": "readme-python"}
    raw["user_pool"] = {**raw["user_pool"], "domain_prefix": "readme-python"}
    params_file = tmp_path / "readme.yaml"
    params_file.write_text(yaml.safe_dump(raw))
    code = readme_snippet().replace("params/local.yaml", str(params_file))
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.splitlines()
        users = [u["name"] for u in raw["users"] if u.get("enabled", True)]
        assert [line.split()[:2] for line in lines[:-1]] == [[u, "True"] for u in users]
        assert lines[-1].startswith("http://127.0.0.1:") and lines[-1].endswith("/token")
    finally:
        subprocess.run(
            [sys.executable, "-m", "cognito_runbook.cli", "teardown", str(params_file)],
            capture_output=True,
            timeout=300,
        )

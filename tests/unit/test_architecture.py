"""The package's plan holds: layered imports with no circle, and one table of stages."""

import ast
from pathlib import Path

import pytest
from conftest import ROOT

from cognito_runbook.runbook import LAST_PROVISIONING_NOTEBOOK, STAGES, TEARDOWN_NOTEBOOK, notebook_of, provider
from cognito_runbook.runner import NOTEBOOKS_DIR, select_notebooks

PACKAGE = ROOT / "cognito_runbook"

# Top to bottom. A module may import from its own layer or any layer below it, never above.
LAYERS = [
    ("entry points", {"cli", "docs", "airflow"}),
    ("presentation", {"notebook", "runner", "widgets"}),
    ("pipeline", {"runbook", "preflight", "summary", "kernels", "iam_policy", "adopt"}),
    ("stages", {"stages"}),
    (
        "services",
        {
            "passwords",
            "aws",
            "backend",
            "pacing",
            "params",
            "params_file",
            "params_checks",
            "tokens",
            "sign_ins",
            "oauth",
            "db2",
            "display",
            "contract",
        },
    ),
    ("local AWS", {"local"}),  # a separate program: only the foundation below it
    ("foundation", {"constants", "errors", "quotas", "project"}),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Package modules imported anywhere in the file (function-level imports too)."""
    name = module_name(path)
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # "from . import summary" imports the module summary
                candidate = f"{target}.{alias.name}" if target else alias.name
                found.add(candidate if _exists(candidate) else target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cognito_runbook"):
            found.add(node.module.removeprefix("cognito_runbook").lstrip("."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("cognito_runbook.") for a in node.names if a.name.startswith("cognito_runbook.")
            }
    return {m for m in found if m and m != name}


def _exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py") if "lambda_src" not in p.parts}


def layer_of(module: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        if module.split(".")[0] in members:
            return index
    raise AssertionError(f"module {module} is in no layer: add it to LAYERS (and to the README's diagram)")


def test_every_module_has_a_layer_and_no_import_goes_up():
    upward = [
        f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
        for a, targets in graph().items()
        if a
        for b in targets
        if layer_of(b) < layer_of(a)
    ]
    assert not upward, "imports that point upward:\n" + "\n".join(upward)


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []

    def visit(node, path):
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_walk_sees_imports():
    """Guards the two tests above against passing because the walk finds nothing."""
    edges = graph()
    assert {"backend", "summary", "stages.user_pool"} <= edges["runbook"]
    assert "constants" in edges["local.control"] and "local.moto_state" in edges["local.server"]
    assert "summary" in edges["notebook"]  # "from . import oauth, summary"


def test_the_deployed_handler_imports_nothing_of_the_package():
    source = (PACKAGE / "lambda_src" / "generate_token.py").read_text()
    assert "cognito_runbook" not in source and "from ." not in source


def test_the_stage_table_matches_the_notebooks():
    numbers = [s.notebook for s in STAGES.values()]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "table order is notebook order"
    files = {int(p.name[:2]): p.name for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")}
    for stage in STAGES.values():
        assert stage.name in files[stage.notebook], (
            f"stage {stage.name}: notebook {stage.notebook:02d} is {files.get(stage.notebook)}"
        )
    assert max(numbers) == LAST_PROVISIONING_NOTEBOOK and TEARDOWN_NOTEBOOK in files


def test_needs_are_provided_by_an_earlier_stage():
    order = list(STAGES)
    for stage in STAGES.values():
        for resource in stage.needs:
            assert order.index(provider(resource).name) < order.index(stage.name), f"{stage.name} needs {resource}"


@pytest.mark.parametrize(("given", "number"), [("3", 3), (4, 4), ("users", 2), ("token_api", 6), ("teardown", 99)])
def test_from_and_to_take_numbers_or_stage_names(given, number):
    assert notebook_of(given) == number


def test_teardown_selects_connect_and_teardown_only():
    assert [p.name[:2] for p in select_notebooks(NOTEBOOKS_DIR, teardown=True)] == ["00", "99"]


LONG_MODULE_LINES = 450


def test_modules_are_short_or_say_why():
    """One concept per module: a module past about 450 lines says in its docstring why it
    is one piece ("Long because ...")."""
    long = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > LONG_MODULE_LINES and "Long because" not in doc:
            long.append(f"{path.relative_to(PACKAGE)}: {lines} lines")
    assert not long, "split these modules, or say in the docstring why each is one piece:\n" + "\n".join(long)

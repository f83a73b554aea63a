"""Where the notebooks and the example params files are, in a checkout or an installed
wheel, ``cognito-runbook init`` to copy them into a folder of one's own, and how a
notebook finds its params file wherever it runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from .constants import CHECKOUT as CHECKOUT  # where it was defined before; runner imports it from here
from .constants import find_packaged_root
from .errors import UsageError

EXAMPLE_PARAMS = ("local.yaml", "aws-example.yaml")


def _has_notebooks(folder: Path) -> bool:
    return any(folder.glob("[0-9][0-9]_*.ipynb"))


def packaged_root() -> Path:
    """The folder holding ``notebooks/`` and ``params/``: the checkout, else the wheel's data."""
    root = find_packaged_root()
    if root is not None:
        return root
    raise UsageError(
        "notebooks: none found in this installation; reinstall cognito-runbook "
        "(pip install 'cognito-runbook[lab,local]'), or run from a checkout"
    )


def notebooks_for(params_file: str | Path) -> Path:
    """The notebooks of the project a params file belongs to: ``../notebooks`` beside its
    ``params/`` folder (a checkout, or a folder made by ``init``), else the installed ones."""
    beside = Path(params_file).resolve().parent.parent / "notebooks"
    return beside if _has_notebooks(beside) else packaged_root() / "notebooks"


def init(target: str | Path, force: bool = False) -> list[Path]:
    """Copy the notebooks and the example params files into ``target``; never overwrite a
    file that is there unless ``force``. Returns the files written."""
    root, target = packaged_root(), Path(target)
    sources = [*sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")), root / "notebooks" / "nbval_sanitize.cfg"]
    pairs = [(s, target / "notebooks" / s.name) for s in sources if s.exists()]
    pairs += [(root / "params" / name, target / "params" / name) for name in EXAMPLE_PARAMS]
    existing = [dest for _, dest in pairs if dest.exists()]
    if existing and not force:
        raise UsageError(
            f"init: {len(existing)} file(s) already in {target} (e.g. {existing[0]}); nothing was copied. "
            "Choose an empty folder, or pass --force to overwrite them"
        )
    for source, dest in pairs:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return [dest for _, dest in pairs]


def find_file(path: str | Path) -> Path:
    """A relative path is looked up from the current directory, then its parents, so
    notebooks find ``params/...`` whether run from the project root (papermill) or
    from ``notebooks/`` (JupyterLab, nbval)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    for parent in list(Path.cwd().parents)[:3]:
        if (parent / path).exists():
            return parent / path
    return path  # load_params reports it as missing

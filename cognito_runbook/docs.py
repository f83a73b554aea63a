"""Regenerate the committed notebook outputs (``make docs``).

Executes every notebook in place, in order, against a fresh private local AWS, with
widget state and timings left out so the committed files change only when what they
show changes. ``pytest --nbval notebooks/`` re-runs them the same way and compares.
"""

from __future__ import annotations

from pathlib import Path

from .runner import NOTEBOOKS_DIR, skip_slow_optional_imports

skip_slow_optional_imports()
# After the import guard above:
import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from .kernels import IpcKernelManager, remove_socket_dir  # noqa: E402
from .local import control  # noqa: E402


def build_docs(notebooks_dir: Path = NOTEBOOKS_DIR, progress=print) -> None:
    notebooks = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    with control.private():  # run folder: the notebooks' default, runs/<stack>
        for notebook in notebooks:
            progress(f"executing {notebook.name}")
            nb = nbformat.read(notebook, as_version=4)
            NotebookClient(
                nb,
                kernel_name="python3",
                timeout=600,
                store_widget_state=False,
                record_timing=False,
                kernel_manager_class=IpcKernelManager,
                resources={"metadata": {"path": str(notebooks_dir)}},
            ).execute()
            nb.metadata.pop("widgets", None)
            nbformat.write(nb, notebook)
    remove_socket_dir()

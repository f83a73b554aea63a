"""Kernels for headless execution.

- IPC sockets instead of TCP: traffic stays inside this machine's file permissions and
  kernels do not warn about unencrypted TCP on every start.
- Started ahead: the runner starts the next notebook's kernel (a fresh process, never
  reused) while the current notebook runs, with the runbook module imported during
  boot. Kernel start and imports dominate a headless run; this hides most of them.
- One private folder per run (mode 0700, named after the run's process) holds the sockets
  and the connection files, which carry each kernel's signing key. A run that was killed
  cannot remove it; the next run of the same user does, once that process is gone.
"""

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import HasTraits, default

PRELOAD = "import cognito_runbook.notebook, cognito_runbook.backend; cognito_runbook.backend.warm_up()"


_SOCKET_DIR: str | None = None
FOLDER_PREFIX = "cognito-runbook-kernels-"
MAX_SOCKET_BASE = 40  # + "/cognito-runbook-kernels-<pid>-XXXXXXXX/<12 hex>-<n>" stays well under 107
UNNAMED_FOLDER_AGE = 3600  # seconds: a folder of an older version (no process in its name) is left that long


def _base() -> str:
    # A Unix socket path holds at most 107 bytes: under a long TMPDIR use /tmp.
    return tempfile.gettempdir() if len(tempfile.gettempdir()) <= MAX_SOCKET_BASE else "/tmp"


def private_dir() -> str:
    """This run's private folder (mkdtemp: mode 0700, a fresh name nobody else can own)."""
    global _SOCKET_DIR
    if _SOCKET_DIR is None or not os.path.isdir(_SOCKET_DIR):
        remove_abandoned_dirs()
        _SOCKET_DIR = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=_base())
    return _SOCKET_DIR


def _socket_prefix() -> str:
    # For IPC, "ip" is the socket path prefix: keep it out of the working directory.
    return os.path.join(private_dir(), uuid.uuid4().hex[:12])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def remove_abandoned_dirs() -> list[Path]:
    """Remove this user's kernel folders whose run has ended without removing them (a run
    killed with SIGKILL): the process named in the folder is gone. Returns what went."""
    removed = []
    for folder in Path(_base()).glob(f"{FOLDER_PREFIX}*"):
        with contextlib.suppress(OSError):
            info = folder.lstat()
            if not folder.is_dir() or folder.is_symlink() or info.st_uid != os.getuid():
                continue
            pid = folder.name.removeprefix(FOLDER_PREFIX).split("-")[0]
            abandoned = not _alive(int(pid)) if pid.isdigit() else time.time() - info.st_mtime > UNNAMED_FOLDER_AGE
            if abandoned:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def remove_socket_dir() -> None:
    """Remove the private socket folder once the kernels using it are shut down."""
    global _SOCKET_DIR
    if _SOCKET_DIR is not None:
        shutil.rmtree(_SOCKET_DIR, ignore_errors=True)
        _SOCKET_DIR = None


class _IpcTransport(HasTraits):
    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        return _socket_prefix()


class IpcKernelManager(_IpcTransport, AsyncKernelManager):
    """For nbclient (docs build)."""


class _SyncIpcKernelManager(_IpcTransport, KernelManager):
    """For kernels started ahead by the runner."""


def start_kernel_ahead(kernel_name: str = "python3") -> KernelManager:
    """Launch a kernel process now (returns at once; it boots in the background)."""
    # The connection file (it holds the kernel's signing key) goes in the private folder too,
    # not in a world-listable temp file of its own.
    connection_file = os.path.join(private_dir(), f"kernel-{uuid.uuid4().hex[:12]}.json")
    km = _SyncIpcKernelManager(kernel_name=kernel_name, connection_file=connection_file)
    km.start_kernel(extra_arguments=[f"--IPKernelApp.exec_lines={PRELOAD}"])
    return km

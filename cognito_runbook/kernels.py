"""Kernels for headless execution.

- IPC sockets instead of TCP: traffic stays inside this machine's file permissions and
  kernels do not warn about unencrypted TCP on every start.
- Started ahead: the runner starts the next notebook's kernel (a fresh process, never
  reused) while the current notebook runs, with the runbook module imported during
  boot. Kernel start and imports dominate a headless run; this hides most of them.
"""

import os
import shutil
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import HasTraits, default

PRELOAD = "import cognito_runbook.notebook, cognito_runbook.backend; cognito_runbook.backend.warm_up()"


_SOCKET_DIR: str | None = None
MAX_SOCKET_BASE = 48  # + "/cognito-runbook-kernels-XXXXXXXX/<12 hex>-<n>" stays well under 107


def _socket_prefix() -> str:
    # For IPC, "ip" is the socket path prefix: keep it out of the working directory, in a
    # private folder of our own (mkdtemp: mode 0700, a fresh name nobody else can own).
    global _SOCKET_DIR
    if _SOCKET_DIR is None or not os.path.isdir(_SOCKET_DIR):
        # A Unix socket path holds at most 107 bytes: under a long TMPDIR use /tmp.
        base = tempfile.gettempdir() if len(tempfile.gettempdir()) <= MAX_SOCKET_BASE else "/tmp"
        _SOCKET_DIR = tempfile.mkdtemp(prefix="cognito-runbook-kernels-", dir=base)
    return os.path.join(_SOCKET_DIR, uuid.uuid4().hex[:12])


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
    km = _SyncIpcKernelManager(kernel_name=kernel_name)
    km.start_kernel(extra_arguments=[f"--IPKernelApp.exec_lines={PRELOAD}"])
    return km

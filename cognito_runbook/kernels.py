"""Kernels for headless execution.

- IPC sockets instead of TCP: traffic stays inside this machine's file permissions and
  kernels do not warn about unencrypted TCP on every start.
- Started ahead: the runner starts the next notebook's kernel (a fresh process, never
  reused) while the current notebook runs, with the runbook module imported during
  boot. Kernel start and imports dominate a headless run; this hides most of them.
"""

import os
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import default

PRELOAD = "import cognito_runbook.notebook, cognito_runbook.backend; cognito_runbook.backend.warm_up()"


def _socket_prefix() -> str:
    # For IPC, "ip" is the socket path prefix: keep it out of the working directory.
    folder = os.path.join(tempfile.gettempdir(), "cognito-runbook-kernels")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return os.path.join(folder, uuid.uuid4().hex[:12])


class IpcKernelManager(AsyncKernelManager):
    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        return _socket_prefix()


class _SyncIpcKernelManager(KernelManager):
    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        return _socket_prefix()


def start_kernel_ahead(kernel_name: str = "python3") -> KernelManager:
    """Launch a kernel process now (returns at once; it boots in the background)."""
    km = _SyncIpcKernelManager(kernel_name=kernel_name)
    km.start_kernel(extra_arguments=[f"--IPKernelApp.exec_lines={PRELOAD}"])
    return km

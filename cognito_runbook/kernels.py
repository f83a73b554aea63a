"""Kernel managers for headless execution: IPC sockets instead of TCP.

Notebook kernels started by papermill or nbclient listen on TCP by default, and every
kernel then warns that its traffic is unencrypted. A local unix-socket transport keeps
the traffic inside this machine's file permissions and the output clean.
"""

import os
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager
from traitlets import default


class IpcKernelManager(AsyncKernelManager):
    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # For IPC, "ip" is the socket path prefix: keep it out of the working directory.
        folder = os.path.join(tempfile.gettempdir(), "cognito-runbook-kernels")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        return os.path.join(folder, uuid.uuid4().hex[:12])

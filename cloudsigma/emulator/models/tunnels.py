"""The VNC tunnels that are open, one per running server at most (ADDENDUM section 5).

The model decides when a tunnel opens (``open_vnc`` on a running server) and closes
(``close_vnc``, or the server stopping); a listener set by the HTTP side binds the port and
speaks RFB. Without one (a backend used on its own) a tunnel only gets a port number.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

#: Where the API's tunnels were seen (41000-44000); used when no listener binds real ports.
PORTS = (41000, 44000)


class TunnelListener(Protocol):
    """What binds tunnel ports (:class:`cloudsigma.emulator.http.vnc.VncListeners`)."""

    def open(self, password: Callable[[], str], name: str) -> int: ...
    def close(self, port: int) -> None: ...


class Tunnels:
    """Open VNC tunnels by server uuid, and the listener that serves them."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self.listener: TunnelListener | None = None

    def open(self, server_uuid: str, password: Callable[[], str], name: str) -> int:
        """The port of the server's tunnel, opened now unless it is open already."""
        if server_uuid not in self.ports:
            if self.listener is None:
                port = random.randrange(*PORTS)
            else:
                port = self.listener.open(password, name)
            self.ports[server_uuid] = port
        return self.ports[server_uuid]

    def close(self, server_uuid: str) -> None:
        """Close the server's tunnel, if it has one."""
        port = self.ports.pop(server_uuid, None)
        if port is not None and self.listener is not None:
            self.listener.close(port)

    def close_all(self) -> None:
        for server_uuid in list(self.ports):
            self.close(server_uuid)

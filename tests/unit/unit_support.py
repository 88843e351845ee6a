"""Constants and small helpers shared by the unit tests."""

from __future__ import annotations

import socket
import threading

API = "https://api.test/api/2.0/"
USERNAME = "user@example.com"
PASSWORD = "s3cret-Passw0rd"


class RawServer:
    """A TCP server on 127.0.0.1 that hands each connection to :meth:`serve` on its own thread
    (by default it never answers) and keeps every connection until :meth:`close`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.accepted: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/2.0/"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)
            thread = threading.Thread(target=self.serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def serve(self, connection: socket.socket) -> None:
        """What the server does with a connection: nothing, here."""

    def close(self) -> None:
        self.stop.set()
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.accepting.join(5)
        for thread in self.threads:
            thread.join(5)
        for connection in self.accepted:
            connection.close()

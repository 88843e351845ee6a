"""The VNC tunnels of running servers: a TCP listener per open tunnel that speaks RFB
(RFC 6143) far enough for a VNC client to log in with the server's ``vnc_password`` and see a
blank screen.

The model (:class:`~cloudsigma.emulator.models.tunnels.Tunnels`) decides when a tunnel opens
and closes; this module binds the port and answers the protocol. VNC authentication encrypts
a challenge with DES, which comes from the ``cryptography`` package (part of the ``emulator``
extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import cast

LOG = logging.getLogger("cloudsigma.emulator.vnc")

VERSION = b"RFB 003.008\n"
#: Security types (RFC 6143 section 7.1.2) and the result codes of section 7.1.3.
VNC_AUTHENTICATION = 2
AUTH_OK, AUTH_FAILED = 0, 1
#: The blank screen every tunnel shows: 32 bits per pixel, true colour, little endian.
WIDTH, HEIGHT = 640, 480
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
#: How many more bytes each client message type carries after its type byte (the variable
#: parts of SetEncodings and ClientCutText follow a fixed part).
CLIENT_MESSAGES = {0: 19, 2: 3, 3: 9, 4: 7, 5: 5, 6: 7}


def vnc_key(password: str) -> bytes:
    """The DES key of a VNC password: its first 8 bytes, zero-padded, each byte's bits
    reversed (the VNC convention; longer passwords count only with their first 8)."""
    raw = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    return bytes(int(f"{byte:08b}"[::-1], 2) for byte in raw)


def des_encrypt(key: bytes, data: bytes) -> bytes:
    """DES in ECB mode: triple DES with the same key three times is single DES."""
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # cryptography < 43
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def vnc_response(password: str, challenge: bytes) -> bytes:
    """The answer a client with ``password`` sends to a 16-byte VNC challenge."""
    return des_encrypt(vnc_key(password), challenge)


class RfbSession:
    """One client connection of a tunnel: handshake, VNC authentication, then a blank screen.

    :param password: the server's ``vnc_password``, read when the client answers.
    :param name: the desktop name sent in ServerInit (the server's name).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        password: Callable[[], str],
        name: str,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.password, self.name = password, name
        self.bytes_per_pixel = 4

    async def run(self) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            minor = await self.handshake()
            if minor is not None and await self.authenticate(minor):
                await self.initialise()
                await self.serve()

    async def handshake(self) -> int | None:
        """Agree on 3.3, 3.7 or 3.8 (RFC 6143 7.1.1); ``None`` when the client is no RFB client."""
        self.writer.write(VERSION)
        await self.writer.drain()
        answer = await self.reader.readexactly(12)
        match = re.fullmatch(rb"RFB (\d{3})\.(\d{3})\n", answer)
        if match is None or int(match.group(1)) != 3:
            return None
        minor = int(match.group(2))
        return 8 if minor >= 8 else 7 if minor == 7 else 3

    async def authenticate(self, minor: int) -> bool:
        if minor >= 7:
            self.writer.write(bytes([1, VNC_AUTHENTICATION]))
            await self.writer.drain()
            if (await self.reader.readexactly(1))[0] != VNC_AUTHENTICATION:
                return await self.refuse(minor, "only VNC authentication is offered")
        else:
            self.writer.write(struct.pack(">I", VNC_AUTHENTICATION))
        challenge = os.urandom(16)
        self.writer.write(challenge)
        await self.writer.drain()
        response = await self.reader.readexactly(16)
        if not hmac.compare_digest(response, vnc_response(self.password(), challenge)):
            return await self.refuse(minor, "Authentication failed")
        self.writer.write(struct.pack(">I", AUTH_OK))
        await self.writer.drain()
        return True

    async def refuse(self, minor: int, reason: str) -> bool:
        """SecurityResult "failed", with the reason from 3.8 on; the connection then ends."""
        text = reason.encode()
        self.writer.write(struct.pack(">I", AUTH_FAILED))
        if minor >= 8:
            self.writer.write(struct.pack(">I", len(text)) + text)
        await self.writer.drain()
        return False

    async def initialise(self) -> None:
        await self.reader.readexactly(1)  # ClientInit: the shared flag
        name = self.name.encode("utf-8")
        self.writer.write(struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT)
        self.writer.write(struct.pack(">I", len(name)) + name)
        await self.writer.drain()

    async def serve(self) -> None:
        """Answer client messages until the client leaves or sends something unknown."""
        while True:
            kind = (await self.reader.readexactly(1))[0]
            if kind not in CLIENT_MESSAGES:
                return
            body = await self.reader.readexactly(CLIENT_MESSAGES[kind])
            if kind == 0:  # SetPixelFormat
                self.bytes_per_pixel = max(1, body[3] // 8)
            elif kind == 2:  # SetEncodings
                await self.reader.readexactly(4 * struct.unpack(">H", body[1:3])[0])
            elif kind == 6:  # ClientCutText
                await self.reader.readexactly(struct.unpack(">I", body[3:7])[0])
            elif kind == 3 and body[0] == 0:  # a full FramebufferUpdateRequest
                await self.send_screen(*struct.unpack(">HHHH", body[1:9]))
            # Incremental requests wait for a change, and the blank screen never changes.

    async def send_screen(self, x: int, y: int, width: int, height: int) -> None:
        x, y = min(x, WIDTH), min(y, HEIGHT)
        width, height = min(width, WIDTH - x), min(height, HEIGHT - y)
        header = struct.pack(">BxHHHHHi", 0, 1, x, y, width, height, 0)  # one raw rectangle
        self.writer.write(header + bytes(width * height * self.bytes_per_pixel))
        await self.writer.drain()


class Tunnel:
    """The listening socket of one tunnel, its asyncio server once it serves, and the
    connections it accepted (known from the moment they are made, before their handler runs)."""

    def __init__(self, listening: socket.socket) -> None:
        self.listening = listening
        self.server: asyncio.Server | None = None
        self.task: asyncio.Task | None = None
        self.connections: set[asyncio.Transport] = set()
        self.closed = False

    def close(self) -> None:
        """Stop accepting at once and end the connections (callable before it serves)."""
        self.closed = True
        if self.server is not None:
            self.server.close()  # stops accepting and closes the listening socket now
        else:
            with contextlib.suppress(OSError):
                self.listening.close()
        if self.task is not None:
            self.task.cancel()
        for transport in list(self.connections):
            transport.abort()  # at once, without waiting for a client that is not reading


class TunnelProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, telling its tunnel about the connection as soon as it is
    made: a connection whose handler has not started yet is still ended when the tunnel
    closes, and a connection made after the close is ended at once."""

    def __init__(self, tunnel: Tunnel, handler: Callable[..., Awaitable[None]]) -> None:
        super().__init__(asyncio.StreamReader(), handler)
        self.tunnel = tunnel
        self.connection: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.connection = cast(asyncio.Transport, transport)  # a TCP server's are full ones
        self.tunnel.connections.add(self.connection)
        super().connection_made(transport)
        if self.tunnel.closed:
            self.connection.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.connection is not None:
            self.tunnel.connections.discard(self.connection)
        super().connection_lost(exc)


class VncListeners:
    """Binds the port of each open tunnel on ``host`` and serves RFB there (what
    :class:`~cloudsigma.emulator.models.tunnels.Tunnels` calls, on the emulator's loop).

    :param host: a callable giving the address to bind (the emulator's public host).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, host: Callable[[], str]) -> None:
        self.loop = loop
        self.host = host
        self._tunnels: dict[int, Tunnel] = {}

    def open(self, password: Callable[[], str], name: str) -> int:
        """Listen on a free port for one tunnel; returns the port."""
        listening = socket.create_server((self.host(), 0))
        listening.setblocking(False)
        tunnel = Tunnel(listening)

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                if not tunnel.closed:  # a connection accepted as the tunnel closed ends at once
                    await RfbSession(reader, writer, password, name).run()
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        async def serve() -> None:
            # Not serving until serve_forever, so a close() before that leaves nothing behind.
            server = await self.loop.create_server(
                lambda: TunnelProtocol(tunnel, accept), sock=listening, start_serving=False
            )
            tunnel.server = server
            if tunnel.closed:
                server.close()
                return
            await server.serve_forever()

        port = listening.getsockname()[1]
        tunnel.task = self.loop.create_task(serve())
        self._tunnels[port] = tunnel
        return port

    def close(self, port: int) -> None:
        """Stop listening on ``port`` and end the tunnel's connections."""
        tunnel = self._tunnels.pop(port, None)
        if tunnel is not None:
            tunnel.close()

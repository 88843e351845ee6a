"""The websocket: each account's open connections get a frame for every change the backend
announces (guide section 7)."""

from __future__ import annotations

import asyncio
import collections
import json
import threading

from aiohttp import WSCloseCode, WSMsgType, web

from ..backend import Backend
from ..models.kernel import Account
from .auth import Auth


class EventHub:
    """Delivers websocket frames to the open connections of each account, from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queues: dict[str, set[asyncio.Queue]] = collections.defaultdict(set)
        self._loop_thread = threading.get_ident()

    def publish(self, account: Account, frame: dict) -> None:
        queues = self.queues.get(account.uuid)
        if not queues:
            return
        text = json.dumps(frame)
        for queue in list(queues):
            if threading.get_ident() == self._loop_thread:
                queue.put_nowait(text)
            else:
                self.loop.call_soon_threadsafe(queue.put_nowait, text)


class Websockets:
    """``GET /websocket``: opened with a fresh ``async_auth`` cookie, closed on shutdown."""

    def __init__(self, backend: Backend, auth: Auth) -> None:
        self.backend = backend
        self.auth = auth
        self.hub: EventHub | None = None
        self.sockets: set[web.WebSocketResponse] = set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin delivering the backend's changes (on the event loop that serves the sockets).

        Starting again on the same loop (a second listener) changes nothing; on a new loop
        (a restart) the new hub replaces the old one.
        """
        if self.hub is not None:
            if self.hub.loop is loop:
                return
            self.backend.listeners.remove(self.hub.publish)
        self.hub = EventHub(loop)
        self.backend.listeners.append(self.hub.publish)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        account = self.auth.async_account(request.cookies.get("async_auth", ""))
        if account is None or self.hub is None:
            return self.auth.unauthorized(
                "the websocket needs a fresh async_auth cookie from "
                "accounts/action/?do=authenticate_asynchronous"
            )
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.add(socket)
        queue: asyncio.Queue = asyncio.Queue()
        self.hub.queues[account.uuid].add(queue)
        reader = asyncio.ensure_future(self.drain(socket))
        try:
            await self.pump(socket, queue, reader)
        finally:
            self.sockets.discard(socket)
            self.hub.queues[account.uuid].discard(queue)
            reader.cancel()
            await socket.close()
        return socket

    async def close_all(self, app: web.Application) -> None:
        """Close every open websocket (on shutdown, so stopping never waits for clients)."""
        for socket in list(self.sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"emulator stopping")

    @staticmethod
    async def drain(socket: web.WebSocketResponse) -> None:
        """Read (and drop) what the client sends, until it closes."""
        async for message in socket:
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                return

    @staticmethod
    async def pump(socket: web.WebSocketResponse, queue: asyncio.Queue, reader) -> None:
        """Send queued frames until the client's side (``reader``) ends.

        A client that closes while frames are still queued (many changes at once) ends the
        socket quietly: the frames it no longer reads are dropped.
        """
        while not reader.done():
            getter = asyncio.ensure_future(queue.get())
            done, _pending = await asyncio.wait(
                {getter, reader}, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                return
            try:
                await socket.send_str(getter.result())
            except ConnectionError:  # the client went away between two frames
                return

"""Faults applied to API answers (errors, TCP resets, latency, cut-off bodies), as drawn by a
:class:`~cloudsigma.emulator.faults.FaultInjector`, and their control route
``/_emulator/faults``."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..faults import FaultError, FaultInjector
from .responses import JSON_HEADERS

CONTROL_PATHS = ("/_emulator/faults", "/_emulator/faults/")
#: The error answers that replace a request: error type and message, by status.
ERROR_MESSAGES = {
    "503": ("concurrency", "the service is temporarily overloaded; try again"),
    "429": ("ratelimit", "too many requests; retry after the time in Retry-After"),
}


class FaultMiddleware:
    """The outermost middleware and the control routes of one injector.

    :meth:`install` must run before the application's other routes are added, so that
    ``/_emulator/faults`` is matched before any catch-all control route.
    """

    def __init__(self, injector: FaultInjector) -> None:
        self.injector = injector

    def install(self, app: web.Application) -> None:
        """Add the ``/_emulator/faults`` routes and the fault middleware (outermost) to ``app``."""
        for path in CONTROL_PATHS:
            app.router.add_get(path, self.control_get)
            app.router.add_post(path, self.control_post)
        app.middlewares.insert(0, self.middleware)

    async def control_get(self, request: web.Request) -> web.Response:
        return web.json_response(self.injector.report())

    async def control_post(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
            if not isinstance(body, (dict, str)):
                raise FaultError('send a JSON object of settings, or {"spec": "..."}')
            self.injector.configure(body)
        except (ValueError, FaultError) as error:
            problem = [
                {"error_point": None, "error_type": "validation", "error_message": str(error)}
            ]
            return web.json_response(problem, status=400)
        return web.json_response(self.injector.report())

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        kind, delay = self.injector.draw(request.method, request.path)
        if delay:
            await asyncio.sleep(delay)
        if kind is None:
            return await handler(request)
        self.injector.count(kind)
        if kind in ERROR_MESSAGES:
            return self.error_answer(kind)
        if kind == "reset_before":
            return self.reset(request)
        response = await handler(request)
        if kind == "reset_after":
            return self.reset(request)
        return await self.truncate(request, response)

    def error_answer(self, kind: str) -> web.Response:
        error_type, message = ERROR_MESSAGES[kind]
        body = [{"error_point": None, "error_type": error_type, "error_message": message}]
        response = web.Response(status=int(kind), text=json.dumps(body), headers=JSON_HEADERS)
        if kind == "429":
            response.headers["Retry-After"] = f"{self.injector.config.retry_after:g}"
        return response

    @staticmethod
    def reset(request: web.Request) -> web.StreamResponse:
        """Drop the connection with a TCP reset; nothing of the answer is sent."""
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        # never sent: aiohttp finds the transport closed and drops it quietly
        return web.Response(status=204)

    @staticmethod
    async def truncate(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        """Promise the whole body in Content-Length, send half of it, then close."""
        body = getattr(response, "body", None)
        if not isinstance(body, bytes) or not body or request.method == "HEAD":
            return response
        cut = web.StreamResponse(status=response.status, headers=response.headers)
        cut.content_length = len(body)
        await cut.prepare(request)
        await cut.write(body[: len(body) // 2])
        transport = request.transport
        if transport is not None:
            transport.close()
        return cut

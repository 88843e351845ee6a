"""The aiohttp application: middleware (request ids, journal, errors), authentication and
dispatch of ``/api/2.0/`` through the route table to the handlers of each part.

Handlers are short and leave behaviour to :class:`~cloudsigma.emulator.backend.Backend`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..backend import Backend
from ..faults import FaultInjector
from ..models.errors import ApiError
from .accounts import AccountActions
from .auth import Auth, Unauthorized, carries_credentials
from .collections import CollectionHandlers, answers_visitors, serves
from .control import Control, Journal
from .events import Websockets
from .faults import FaultMiddleware
from .formats import check_accept, encode_answer
from .guard import ControlGuard
from .hosts import ALL, ROLE, HostRoles
from .parsing import MAX_JSON_BODY, BodyReader
from .responses import error_response
from .routes import BASIC_ONLY, LITERAL_ROOTS, is_public, match_route
from .strict import RequestChecks, collect_warnings
from .transfers import Transfers
from .vnc import VncListeners

LOG = logging.getLogger("cloudsigma.emulator")

#: The largest chunk accepted by the upload endpoints.
MAX_CHUNK = 512 * 1024 * 1024
Handler = Callable[..., Awaitable[web.StreamResponse]]


#: Paths whose requests a configured latency delays: the API and the websocket.
DELAYED_PREFIXES = ("/api/2.0", "/websocket", "/2.0/websocket")
#: Methods whose requests change no object: the account's use is not computed again after them.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def round_trip_wait(seconds: float) -> None:
    """Wait out half of a configured latency (a separate function so tests can hold it)."""
    await asyncio.sleep(seconds)


def check_latency(seconds: object) -> float:
    """``seconds`` as a latency: a finite number >= 0.

    :raises ValueError: for anything else.
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds < float("inf")
    ):
        raise ValueError(f"latency must be a number of seconds >= 0, not {seconds!r}")
    return float(seconds)


class ApiServer:
    """Holds the backend and answers requests; :meth:`app` builds the aiohttp application.

    :param max_body: the largest JSON request body accepted, in bytes.
    :param access_log: log every request at INFO level.
    :param strict: refuse unknown filters, parameters and body fields with 400 instead of
        ignoring them with a warning in the journal (see :mod:`.strict`).
    :ivar latency: seconds added to each API and websocket request, half before it is
        handled and half after (never blocking the other requests).
    :param control_token: the token control requests must carry (default: a random one).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        max_body: int = MAX_JSON_BODY,
        access_log: bool = False,
        strict: bool = False,
        control_token: str | None = None,
    ) -> None:
        self.backend = backend
        #: What requests to ``/_emulator/`` must send in ``X-Emulator-Token``.
        self.control_token = control_token or secrets.token_urlsafe(24)
        self.guard = ControlGuard(self.control_token, lambda: self.backend.host)
        self.access_log = access_log
        self.checks = RequestChecks(backend, strict)
        self.latency = 0.0
        self.on_reset: Callable[[], None] | None = None
        self.bodies = BodyReader(max_body)
        self.journal = Journal()
        self.auth = Auth(backend)
        self.faults = FaultInjector()
        self.websockets = Websockets(backend, self.auth)
        self.control = Control(backend, self.journal, self.bodies, self.reset, self.checks)
        self.hosts = HostRoles()
        self.handlers: dict[str, Handler] = {
            **CollectionHandlers(backend, self.bodies, self.checks).handlers(),
            **Transfers(backend, self.hosts).handlers(),
            **AccountActions(backend, self.auth, self.bodies).handlers(),
        }
        self._id_prefix = secrets.token_hex(4)
        self._request_ids = itertools.count(1)

    # what tests and the runner look at -----------------------------------------
    @property
    def strict(self) -> bool:
        """Strict mode: refuse what the real API would silently ignore or answer elsewhere
        (unknown filters, parameters and body fields; requests sent to the wrong host)."""
        return self.checks.strict

    @strict.setter
    def strict(self, strict: bool) -> None:
        self.checks.strict = strict

    @property
    def max_body(self) -> int:
        return self.bodies.max_body

    @property
    def sessions(self) -> dict[str, tuple[str, str]]:
        return self.auth.sessions

    @property
    def async_tokens(self) -> dict[str, tuple[str, float]]:
        return self.auth.async_tokens

    def reset(self) -> None:
        """Forget every account, object, session and pending transition."""
        self.backend.reset()
        self.auth.clear()
        self.journal.entries.clear()
        if self.on_reset is not None:
            self.on_reset()

    # the application -------------------------------------------------------------
    def app(self, role: str = ALL) -> web.Application:
        """The application of one listener; ``role`` says which host it is (see :mod:`.hosts`)."""
        app = web.Application(
            middlewares=[self.middleware, self.guard.middleware], client_max_size=MAX_CHUNK + 65536
        )
        app[ROLE] = role
        # first, so /_emulator/faults wins over /_emulator/{name}
        FaultMiddleware(self.faults).install(app)
        app.router.add_route("*", "/api/2.0/{tail:.*}", self.dispatch)
        app.router.add_route("*", "/api/2.0", self.dispatch)
        app.router.add_get("/websocket", self.websocket)
        app.router.add_get("/2.0/websocket", self.websocket)
        app.router.add_route("*", "/_emulator/{name}", self.control.handle)
        app.router.add_route("*", "/_emulator/{name}/", self.control.handle)
        app.router.add_route("*", "/{tail:.*}", self.not_found)
        app.on_response_prepare.append(self.add_request_id)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.websockets.close_all)
        app.on_shutdown.append(self.close_tunnels)
        return app

    async def on_startup(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.websockets.start(loop)
        self.backend.transitions.attach(loop.call_later)
        if self.backend.tunnels.listener is None:
            self.backend.tunnels.listener = VncListeners(loop, lambda: self.backend.host)

    async def close_tunnels(self, app: web.Application) -> None:
        """Close the VNC tunnels and forget their listener (it belongs to this loop)."""
        self.backend.tunnels.close_all()
        self.backend.tunnels.listener = None
        await asyncio.sleep(0)  # aborted connections let go of their sockets before the loop ends

    async def add_request_id(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-REQUEST-ID"] = f"{self._id_prefix}{next(self._request_ids):08x}"

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Turn errors into the API's error list, write every answer in the format and coding
        asked for, and journal (and maybe log) it."""
        delay = (
            self.latency / 2 if self.latency and request.path.startswith(DELAYED_PREFIXES) else 0
        )
        if delay:
            await round_trip_wait(delay)  # the way there; the way back follows the answer
        warnings = collect_warnings()
        try:
            response = await handler(request)
        except ApiError as error:
            response = error_response(error)
        except web.HTTPException as error:
            response = error_response(ApiError(error.status, "validation", error.reason))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:
            LOG.exception("emulator error on %s %s", request.method, request.path)
            response = error_response(ApiError(500, "backend", "unknown error"))
        response = encode_answer(request, response)
        self.journal.record(request.method, journal_path(request), response.status, warnings)
        if self.access_log:
            LOG.info("%s %s %s", request.method, request.path, response.status)
        if delay and not response.prepared:  # a websocket has sent its answer already
            await round_trip_wait(delay)
        return response

    async def not_found(self, request: web.Request) -> web.Response:
        raise ApiError(404, "notexist", f"nothing is served at {request.path}")

    # dispatch ----------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Find the route of an ``/api/2.0/`` request, authenticate it and run its handler."""
        segments = [seg for seg in request.match_info.get("tail", "").split("/") if seg]
        if request.method == "OPTIONS":
            return options(self.backend, segments)
        handler, params, allowed = match_route(request.method, segments)
        if handler is None:
            raise self.unmatched(request, segments, allowed)
        refusal = self.hosts.refusal(request.app[ROLE], handler, self.strict)
        if refusal is not None:
            raise refusal
        account = None
        if not self.anonymous(request, handler, params):
            try:
                account = self.auth.authenticate(request, basic_only=handler in BASIC_ONLY)
            except Unauthorized as problem:
                return self.auth.unauthorized(problem)
        changes = request.method not in READ_ONLY_METHODS
        if account is not None:
            self.backend.meter(account, changes)
        check_accept(request)
        try:
            return await self.handlers[handler](request, account, **params)
        finally:
            if changes:  # also what it changed after awaiting (an upload's body, say)
                self.backend.usage_may_have_changed()

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        refusal = self.hosts.websocket_refusal(request.app[ROLE], self.strict)
        if refusal is not None:
            raise refusal
        return await self.websockets.handle(request)

    def anonymous(self, request: web.Request, handler: str, params: dict) -> bool:
        """Whether the request goes without credentials: a public route, or a route that its
        collection answers to visitors, asked by a request that carries none."""
        if is_public(handler, request.query):
            return True
        collection = self.backend.collections.get(params.get("res", ""))
        return (
            collection is not None
            and answers_visitors(collection, handler)
            and not carries_credentials(request)
        )

    def unmatched(self, request: web.Request, segments: list[str], allowed: set[str]) -> ApiError:
        """405 for a known collection asked with the wrong method, else 404."""
        known = bool(segments) and (
            segments[0] in self.backend.collections or segments[0] in LITERAL_ROOTS
        )
        if allowed and known:
            methods = ", ".join(sorted(allowed))
            return ApiError(
                405, "validation", f"{request.method} is not allowed here; use {methods}"
            )
        return ApiError(404, "notexist", f"nothing is served at {request.path}")


class Listener:
    """An :class:`ApiServer` listening on ``host:port`` (aiohttp's runner and TCP site) as the
    host of ``role`` (every role by default)."""

    def __init__(
        self,
        api: ApiServer,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        role: str = ALL,
    ) -> None:
        self.api = api
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self.role = role
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the port (the one picked when ``port`` was 0)."""
        # Bodies are inflated by the handlers, which refuse a broken stream with a 400.
        self._runner = web.AppRunner(
            self.api.app(self.role),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            auto_decompress=False,
        )
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=self.ssl_context, reuse_address=True
        )
        await site.start()
        return self.addresses[0][1]

    @property
    def addresses(self) -> list[Any]:
        """The bound socket addresses."""
        return [] if self._runner is None else list(self._runner.addresses)

    async def close(self) -> None:
        """Stop listening, closing open websockets first.

        Connections still open are then cut: under TLS a closed connection waits for its
        peer's close_notify, which a client gone away never sends, and the loop ends before
        that wait would (the socket would be left unclosed).
        """
        if self._runner is None:
            return
        server = self._runner.server
        transports = [c.transport for c in list(server.connections)] if server else []
        await self._runner.cleanup()
        for transport in transports:
            if transport is not None:
                transport.abort()


def options(backend: Backend, segments: list[str]) -> web.Response:
    """``OPTIONS``: the methods the resource at the path really allows, in ``Allow``."""
    allowed = {"OPTIONS"}
    for method in ("GET", "POST", "PUT", "DELETE"):
        handler, params, _ = match_route(method, segments)
        if handler is None:
            continue
        collection = backend.collections.get(params.get("res", ""))
        if collection is None and "res" in params and params["res"] not in LITERAL_ROOTS:
            continue
        if collection is None or serves(collection, handler):
            allowed.add(method)
    text = ",".join(sorted(allowed))
    return web.Response(status=200, text=text, headers={"Allow": text})


def journal_path(request: web.Request) -> str:
    """The path as the journal keeps it: one-time upload links are masked."""
    path = request.path
    if "/upload/" in path:
        path = re.sub(r"(/upload/)[^/]+/?$", r"\1<link>/", path)
    return path

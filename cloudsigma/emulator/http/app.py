"""The HTTP layer: parse, authenticate, call the backend, serialise (aiohttp).

Routes are the table :data:`ROUTES`; each handler is short and leaves behaviour to
:class:`~cloudsigma.emulator.backend.Backend`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..backend import Backend
from ..faults import FaultInjector
from ..models import fields
from ..models.errors import ApiError, permission, validation
from ..models.kernel import Account, Singleton
from ..models.listing import make_filter, order, page, select_fields
from .transfers import TransferHandlers

LOG = logging.getLogger("cloudsigma.emulator")

#: The largest JSON body accepted (bigger ones get 400 ``validation``).
MAX_JSON_BODY = 16 * 1024 * 1024
#: The largest chunk accepted by the upload endpoints.
MAX_CHUNK = 512 * 1024 * 1024
JSON_HEADERS = {"Content-Type": "application/json"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ASYNC_AUTH_LIFETIME = 120
JSON_TYPES = ("application/json", "application/*", "*/*", "text/*", "text/json", "text/plain")

#: (method, path pattern below /api/2.0/, handler name). The first match wins; ``*`` matches
#: any method; ``{x}`` one segment; ``{rest*}`` the remaining ones.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "accounts/action", "account_action"),
    ("GET", "drives/{uuid}/upload", "resumable_check"),
    ("POST", "drives/{uuid}/upload", "resumable_chunk"),
    ("POST", "drives/{uuid}/upload/{token}", "link_chunk"),
    ("POST", "drives/upload/{rest*}", "simple_upload"),
    ("POST", "drives/upload", "simple_upload"),
    ("GET", "drives/{uuid}/download", "download"),
    ("GET", "{res}/availability_groups", "availability_groups"),
    ("GET", "{res}/availability_groups/{uuid}", "availability_group"),
    ("GET", "servers/{uuid}/runtime", "server_runtime"),
    ("GET", "{res}/schema", "schema"),
    ("GET", "{res}/detail", "list_detail"),
    ("GET", "tags/{uuid}/{kind}", "tagged"),
    ("GET", "tags/{uuid}/{kind}/detail", "tagged_detail"),
    ("POST", "{res}/action", "collection_action"),
    ("POST", "{res}/{uuid}/action", "action"),
    ("GET", "{res}", "list"),
    ("POST", "{res}", "create"),
    ("PUT", "{res}", "put_collection"),
    ("DELETE", "{res}", "bulk_delete"),
    ("GET", "{res}/{uuid}", "get"),
    ("PUT", "{res}/{uuid}", "update"),
    ("DELETE", "{res}/{uuid}", "delete"),
)
#: Control endpoints under /_emulator/: (method, name) -> handler.
CONTROL = {
    ("POST", "reset"): "control_reset",
    ("GET", "transitions"): "control_transitions",
    ("POST", "transitions"): "control_set_transitions",
    ("GET", "journal"): "control_journal",
    ("GET", "accounts"): "control_list_accounts",
    ("POST", "accounts"): "control_accounts",
}
#: Handlers that need no credentials (the link itself is the secret).
PUBLIC = frozenset({"link_chunk"})


class _Route:
    """One row of :data:`ROUTES`, compiled to literal checks and parameter positions."""

    __slots__ = ("method", "handler", "size", "literals", "params", "rest")

    def __init__(self, method: str, pattern: str, handler: str) -> None:
        parts = pattern.split("/")
        self.method, self.handler = method, handler
        self.rest = parts[-1][1:-2] if parts[-1].endswith("*}") else None
        if self.rest is not None:
            parts = parts[:-1]
        self.size = len(parts)
        self.literals = tuple((i, p) for i, p in enumerate(parts) if not p.startswith("{"))
        self.params = tuple((i, p[1:-1]) for i, p in enumerate(parts) if p.startswith("{"))

    def match(self, segments: list[str]) -> dict | None:
        if self.rest is None and len(segments) != self.size:
            return None
        if self.rest is not None and len(segments) <= self.size:
            return None
        for index, literal in self.literals:
            if segments[index] != literal:
                return None
        params = {name: segments[index] for index, name in self.params}
        if self.rest is not None:
            params[self.rest] = "/".join(segments[self.size :])
        return params


_COMPILED = [_Route(*row) for row in ROUTES]
_BY_LENGTH: dict[int, list[_Route]] = {}


def _candidates(length: int) -> list[_Route]:
    """Routes that can match a path of ``length`` segments, in table order (cached)."""
    found = _BY_LENGTH.get(length)
    if found is None:
        found = [r for r in _COMPILED if (r.size == length if r.rest is None else length > r.size)]
        if length < 16:
            _BY_LENGTH[length] = found
    return found


def match_route(method: str, segments: list[str]) -> tuple[str | None, dict, set[str]]:
    """Find the handler for ``segments``; also return the methods the path allows."""
    allowed: set[str] = set()
    for route in _candidates(len(segments)):
        params = route.match(segments)
        if params is None:
            continue
        if route.method == method or (method == "HEAD" and route.method == "GET"):
            return route.handler, params, allowed
        allowed.add(route.method)
    return None, {}, allowed


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode("ascii")


def json_response(status: int, value: Any) -> web.Response:
    return web.Response(status=status, body=dumps(value), headers=JSON_HEADERS)


def error_response(error: ApiError) -> web.Response:
    return json_response(error.status, error.errors)


def unauthorized(message: str = "Authentication credentials were not provided") -> web.Response:
    response = error_response(ApiError(401, "permission", message))
    response.headers["WWW-Authenticate"] = 'Basic realm="CloudSigma"'
    return response


class Journal:
    """The request journal served at ``/_emulator/journal`` (method, path, status; no secrets)."""

    def __init__(self, size: int = 10_000) -> None:
        self.entries: collections.deque = collections.deque(maxlen=size)

    def record(self, method: str, path: str, status: int) -> None:
        self.entries.append({"method": method, "path": path, "status": status})


class EventHub:
    """Delivers websocket frames to the open connections of each account."""

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


class ApiServer(TransferHandlers):
    """Holds the backend and answers requests; :meth:`app` builds the aiohttp application."""

    def __init__(
        self, backend: Backend, *, max_body: int = MAX_JSON_BODY, access_log: bool = False
    ) -> None:
        self.backend = backend
        self.max_body = max_body
        self.journal = Journal()
        self.sessions: dict[str, tuple[str, str]] = {}
        self.async_tokens: dict[str, tuple[str, float]] = {}
        self._basic_cache: dict[str, tuple[str, str]] = {}
        self.hub: EventHub | None = None
        self.access_log = access_log
        self.on_reset: Callable[[], None] | None = None
        self.sockets: set[web.WebSocketResponse] = set()
        self._id_prefix = secrets.token_hex(4)
        self._request_ids = itertools.count(1)
        self.faults = FaultInjector()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware], client_max_size=MAX_CHUNK + 65536)
        self.faults.install(app)  # first, so /_emulator/faults wins over /_emulator/{name}
        app.router.add_route("*", "/api/2.0/{tail:.*}", self.dispatch)
        app.router.add_route("*", "/api/2.0", self.dispatch)
        app.router.add_get("/websocket", self.websocket)
        app.router.add_get("/2.0/websocket", self.websocket)
        app.router.add_route("*", "/_emulator/{name}", self.control)
        app.router.add_route("*", "/_emulator/{name}/", self.control)
        app.router.add_route("*", "/{tail:.*}", self.not_found)
        app.on_response_prepare.append(self.add_request_id)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.close_sockets)
        return app

    async def on_startup(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self.hub = EventHub(loop)
        self.backend.listeners.append(self.hub.publish)
        self.backend.transitions.attach(loop.call_later)

    async def add_request_id(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-REQUEST-ID"] = f"{self._id_prefix}{next(self._request_ids):08x}"

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[..., Awaitable]):
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
        self.journal.record(request.method, self.journal_path(request), response.status)
        if self.access_log:
            LOG.info("%s %s %s", request.method, request.path, response.status)
        return response

    @staticmethod
    def journal_path(request: web.Request) -> str:
        path = request.path
        if "/upload/" in path:
            path = re.sub(r"(/upload/)[^/]+/?$", r"\1<link>/", path)
        return path

    async def not_found(self, request: web.Request) -> web.Response:
        raise ApiError(404, "notexist", f"nothing is served at {request.path}")

    # authentication --------------------------------------------------------
    def authenticate(self, request: web.Request) -> Account:
        """The account making the request (Basic auth or a session with its CSRF token).

        :raises ApiError: 401 without valid credentials, 403 for a missing CSRF token.
        """
        header = request.headers.get("Authorization")
        if header:
            return self.basic_account(header)
        session_id = request.cookies.get("sessionid")
        if session_id and session_id in self.sessions:
            account_uuid, csrf = self.sessions[session_id]
            account = self.backend.accounts.get(account_uuid)
            if account is not None:
                if request.method not in SAFE_METHODS and not secrets.compare_digest(
                    request.headers.get("X-CSRFToken", ""), csrf
                ):
                    raise permission(
                        "CSRF verification failed: send the csrftoken cookie value "
                        "in the X-CSRFToken header"
                    )
                return account
        raise _Unauthorized("Authentication credentials were not provided")

    def basic_account(self, header: str) -> Account:
        cached = self._basic_cache.get(header)
        if cached is not None:
            account = self.backend.accounts.get(cached[0])
            if account is not None and account.password == cached[1]:
                return account
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise _Unauthorized("Only Basic authentication is supported here")
        try:
            email, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            raise _Unauthorized("Malformed Basic authentication header")
        account = self.backend.authenticate(email, password)
        if account is None:
            raise _Unauthorized("Invalid username or password")
        if len(self._basic_cache) > 1000:
            self._basic_cache.clear()
        self._basic_cache[header] = (account.uuid, account.password)
        return account

    # request parsing -------------------------------------------------------
    async def read_json(self, request: web.Request, default: Any = None) -> Any:
        """The JSON body, or ``default`` when it is empty.

        :raises ApiError: 400 for a body that is too large or not JSON.
        """
        if request.content_length is not None and request.content_length > self.max_body:
            raise validation(f"the request body is larger than {self.max_body} bytes")
        raw = bytearray()
        async for block in request.content.iter_chunked(65536):
            raw.extend(block)
            if len(raw) > self.max_body:
                raise validation(f"the request body is larger than {self.max_body} bytes")
        if not raw.strip():
            if default is None:
                raise validation("the request body is empty; send a JSON object")
            return default
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise validation(f"Malformed JSON in the request body: {error}")
        except RecursionError:
            raise validation("Malformed JSON in the request body: nested too deeply")

    @staticmethod
    def objects_of(body: Any) -> list:
        if isinstance(body, dict) and "objects" in body:
            body = body["objects"]
            if not isinstance(body, list):
                raise validation("objects must be a list", "objects")
        items = body if isinstance(body, list) else [body]
        if not items:
            raise validation("no objects to create", "objects")
        return items

    def collection(self, name: str, method: str | None = None):
        found = self.backend.collections.get(name)
        if found is None:
            raise ApiError(404, "notexist", f"no resource {name!r} in this API")
        if method is not None and method not in found.methods:
            raise ApiError(405, "validation", f"{method} is not allowed on /{name}/")
        return found

    @staticmethod
    def check_accept(request: web.Request) -> None:
        accept = request.headers.get("Accept")
        fmt = request.query.get("format")
        if fmt is not None and fmt != "json":
            raise ApiError(406, "validation", f"format {fmt!r} is not available; use json")
        if accept and not any(kind in accept for kind in JSON_TYPES):
            raise ApiError(
                406, "validation", f"cannot answer in {accept!r}; accept application/json"
            )

    # dispatch -------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        segments = [seg for seg in request.match_info.get("tail", "").split("/") if seg]
        if request.method == "OPTIONS":
            return self.options(segments)
        handler, params, allowed = match_route(request.method, segments)
        known = bool(segments) and (
            segments[0] in self.backend.collections or segments[0] == "accounts"
        )
        if handler is None:
            if allowed and known:
                raise ApiError(
                    405,
                    "validation",
                    f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}",
                )
            raise ApiError(404, "notexist", f"nothing is served at {request.path}")
        if handler in PUBLIC or (
            handler == "account_action" and request.query.get("do") in ("create", "login")
        ):
            account = None
        else:
            try:
                account = self.authenticate(request)
            except _Unauthorized as problem:
                return unauthorized(str(problem))
        self.check_accept(request)
        return await getattr(self, "on_" + handler)(request, account, **params)

    def options(self, segments: list[str]) -> web.Response:
        allowed = {
            m for m in ("GET", "POST", "PUT", "DELETE") if match_route(m, segments)[0] is not None
        }
        allowed.add("OPTIONS")
        text = ",".join(sorted(allowed))
        return web.Response(status=200, text=text, headers={"Allow": text})

    # collections ----------------------------------------------------------
    def listing_answer(
        self, request: web.Request, account: Account, name: str, detail: bool
    ) -> web.Response:
        collection = self.collection(name)
        if isinstance(collection, Singleton):
            return json_response(200, collection.read(account))
        if "list" not in collection.methods:
            raise ApiError(405, "validation", f"GET is not allowed on /{name}/")
        query = request.query
        objects = collection.listing(account, query)
        predicate = make_filter(query.items(), collection.own_filters)
        if predicate is not None:
            objects = [obj for obj in objects if predicate(obj)]
        objects = order(objects, query)
        chosen, meta = page(objects, query, collection.default_limit)
        chosen = select_fields(chosen, query, None if detail else collection.short_fields)
        body = {"meta": meta, "objects": chosen}
        extra = getattr(collection, "envelope", None)
        if extra is not None:
            body.update(extra(account, objects))
        return json_response(200, body)

    async def on_list(self, request: web.Request, account: Account, res: str) -> web.StreamResponse:
        return self.listing_answer(request, account, res, detail=False)

    async def on_list_detail(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        return self.listing_answer(request, account, res, detail=True)

    async def on_get(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        collection = self.collection(res)
        if "get" not in collection.methods or isinstance(collection, Singleton):
            raise ApiError(405, "validation", f"GET is not allowed on /{res}/<uuid>/")
        obj = collection.get(account, uuid)
        if "fields" in request.query:
            obj = select_fields([obj], request.query, None)[0]
        return json_response(200, obj)

    async def on_schema(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        return json_response(200, self.collection(res).schema())

    async def on_create(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        collection = self.collection(res)
        if isinstance(collection, Singleton):
            if "create" not in collection.methods:
                raise ApiError(405, "validation", f"POST is not allowed on /{res}/")
            status, body = collection.write(account, await self.read_json(request, {}))
            return json_response(status, body)
        if "create" not in collection.methods:
            raise ApiError(405, "validation", f"POST is not allowed on /{res}/")
        items = self.objects_of(await self.read_json(request))
        created = collection.create_many(account, items, request.query)
        answer = getattr(collection, "create_answer", None)
        body = answer(created) if answer else {"objects": created}
        return json_response(collection.create_status, body)

    async def on_put_collection(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        collection = self.collection(res)
        writer = getattr(collection, "write", None)
        if writer is None or (
            "update" not in collection.methods and res != "notification_preferences"
        ):
            raise ApiError(405, "validation", f"PUT is not allowed on /{res}/")
        status, body = writer(account, await self.read_json(request))
        return json_response(status, body)

    async def on_update(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        collection = self.collection(res, "update")
        body = await self.read_json(request)
        if not isinstance(body, dict):
            raise validation("the request body must be a JSON object")
        return json_response(collection.update_status, collection.update(account, uuid, body))

    async def on_delete(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        collection = self.collection(res, "delete")
        body = collection.delete(account, uuid, request.query)
        if body is None:
            return web.Response(status=204, content_type="text/html", charset="utf-8")
        return json_response(collection.delete_status, body)

    async def on_bulk_delete(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        collection = self.collection(res)
        if not collection.bulk_delete:
            raise ApiError(405, "validation", f"DELETE is not allowed on /{res}/")
        items = self.objects_of(await self.read_json(request))
        uuids = []
        for item in items:
            uuid = item.get("uuid") if isinstance(item, dict) else item
            if not isinstance(uuid, str):
                raise validation("each object to delete needs a uuid", "objects")
            uuids.append(uuid)
        collection.delete_many(account, uuids)
        return web.Response(status=204, content_type="text/html", charset="utf-8")

    async def on_action(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        return await self.run_action(request, account, res, uuid)

    async def on_collection_action(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        return await self.run_action(request, account, res, None)

    async def run_action(self, request, account, res, uuid):
        collection = self.collection(res)
        name = request.query.get("do")
        if not name:
            raise validation("say which action to run with ?do=NAME", "do")
        body = await self.read_json(request, {})
        if not isinstance(body, dict):
            raise validation("the action body must be a JSON object")
        if uuid is not None and res not in ("subscriptioncalculator",):
            collection.find(account, uuid)
        status, answer = collection.action(account, uuid, name, body, request.query)
        return json_response(status, answer)

    async def on_availability_groups(
        self, request: web.Request, account: Account, res: str
    ) -> web.StreamResponse:
        self.collection(res)
        return json_response(200, [])

    async def on_availability_group(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        self.collection(res).find(account, uuid)
        return json_response(200, [])

    async def on_server_runtime(
        self, request: web.Request, account: Account, uuid: str
    ) -> web.StreamResponse:
        server = self.collection("servers").find(account, uuid)
        return json_response(200, server["runtime"])

    async def on_tagged(
        self, request: web.Request, account: Account, uuid: str, kind: str, detail: bool = False
    ) -> web.StreamResponse:
        tags = self.collection("tags")
        objects = tags.tagged(account, uuid, kind)
        chosen, meta = page(objects, request.query, 20)
        short = None if detail else self.collection(kind).short_fields
        return json_response(
            200, {"meta": meta, "objects": select_fields(chosen, request.query, short)}
        )

    async def on_tagged_detail(
        self, request: web.Request, account: Account, uuid: str, kind: str
    ) -> web.StreamResponse:
        return await self.on_tagged(request, account, uuid, kind, detail=True)

    # accounts -------------------------------------------------------------
    # control endpoints (/_emulator/) ----------------------------------------------
    async def control(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        handler = CONTROL.get((request.method, name))
        if handler is None:
            raise ApiError(
                404, "notexist", f"no control endpoint {request.method} /_emulator/{name}/"
            )
        body = await self.read_json(request, {}) if request.method == "POST" else {}
        if not isinstance(body, dict):
            raise validation("the request body must be a JSON object")
        return getattr(self, handler)(body)

    def control_reset(self, body: dict) -> web.Response:
        self.reset()
        return json_response(200, {"reset": True})

    def reset(self) -> None:
        """Forget every account, object, session and pending transition."""
        self.backend.reset()
        self.sessions.clear()
        self.async_tokens.clear()
        self._basic_cache.clear()
        self.journal.entries.clear()
        if self.on_reset is not None:
            self.on_reset()

    def control_transitions(self, body: dict) -> web.Response:
        transitions = self.backend.transitions
        return json_response(200, {"delay": transitions.delay, "pending": transitions.pending})

    def control_set_transitions(self, body: dict) -> web.Response:
        transitions = self.backend.transitions
        if "delay" in body:
            delay = body["delay"]
            if delay is not None and (
                isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0
            ):
                raise validation("delay must be a number of seconds >= 0, or null", "delay")
            transitions.delay = delay
        applied = 0
        if body.get("advance") is not None and body.get("advance") is not False:
            seconds = None if body["advance"] is True else body["advance"]
            if seconds is not None and not isinstance(seconds, int | float):
                raise validation("advance must be true or a number of seconds", "advance")
            applied = transitions.advance(seconds)
        return json_response(
            200, {"delay": transitions.delay, "pending": transitions.pending, "applied": applied}
        )

    def control_journal(self, body: dict) -> web.Response:
        return json_response(200, {"objects": list(self.journal.entries)})

    def control_accounts(self, body: dict) -> web.Response:
        email = fields.text(body, "email")
        account = self.backend.create_account(email, fields.text(body, "password", None))
        return json_response(201, {"uuid": account.uuid, "email": account.email})

    def control_list_accounts(self, body: dict) -> web.Response:
        return json_response(
            200,
            {
                "objects": [
                    {"uuid": a.uuid, "email": a.email} for a in self.backend.accounts.values()
                ]
            },
        )

    async def on_account_action(
        self, request: web.Request, account: Account, **_: Any
    ) -> web.StreamResponse:
        name = request.query.get("do", "")
        body = await self.read_json(request, {})
        if not isinstance(body, dict):
            raise validation("the request body must be a JSON object")
        handler = {
            "create": self.account_create,
            "login": self.account_login,
            "logout": self.account_logout,
            "check_login": self.account_check_login,
            "check_login_with_return_uuid": self.account_check_login,
            "authenticate_asynchronous": self.account_async,
        }.get(name)
        if handler is None:
            raise validation(f"accounts have no action {name!r}", "do")
        return handler(request, account, body)

    def account_create(self, request: web.Request, account: Account, body: dict) -> web.Response:
        email = fields.text(body, "email")
        created = self.backend.create_account(email, fields.text(body, "password", None))
        return json_response(200, {"success": True, "uuid": created.uuid})

    def account_login(self, request: web.Request, account: Account, body: dict) -> web.Response:
        email, password = body.get("username"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise validation("login needs a username and a password", "username")
        found = self.backend.authenticate(email, password)
        if found is None:
            return unauthorized("Invalid username or password")
        session_id, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.sessions[session_id] = (found.uuid, csrf)
        response = json_response(200, {"uuid": found.uuid})
        response.set_cookie("csrftoken", csrf, max_age=31449600, path="/")
        response.set_cookie("sessionid", session_id, httponly=True, path="/")
        return response

    def account_logout(self, request: web.Request, account: Account, body: dict) -> web.Response:
        session_id = request.cookies.get("sessionid")
        self.sessions.pop(session_id or "", None)
        response = json_response(200, {})
        response.del_cookie("sessionid", path="/")
        return response

    def account_check_login(
        self, request: web.Request, account: Account, body: dict
    ) -> web.Response:
        if request.query.get("do") == "check_login_with_return_uuid":
            return json_response(200, {"uuid": account.uuid})
        return web.Response(status=200)

    def account_async(self, request: web.Request, account: Account, body: dict) -> web.Response:
        token = secrets.token_urlsafe(24)
        self.async_tokens[token] = (account.uuid, time.monotonic() + ASYNC_AUTH_LIFETIME)
        response = json_response(200, {})
        response.set_cookie("async_auth", token, max_age=ASYNC_AUTH_LIFETIME, path="/")
        return response


def _reject_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON; refuse them instead of storing them."""
    raise ValueError(f"{name} is not a JSON value")


class _Unauthorized(Exception):
    """Raised inside authentication; turned into a 401 with a Basic challenge."""

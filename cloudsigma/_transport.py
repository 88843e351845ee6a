"""The only module that imports requests and urllib3: sending one attempt of a request.

Each client keeps its own ``requests.Session`` (credentials, cookies, hooks); underneath,
:class:`SharedTransport` sends through one process-wide connection pool per host and TLS
setting, so a new client (``Drive().get(uuid)`` in a loop) reuses the TCP and TLS
connection of the previous one. :class:`Environment` reads proxies and the CA bundle from
the environment once per host instead of once per request.

:func:`send_once` sends one attempt and reads its answer: it never follows a redirect,
never reads more than the client's limit, and ends a connection that is still busy when
the call's deadline passes (a server dripping a byte a second defeats any read timeout).
A failure comes back as a :class:`Failure` of one of the kinds of
:mod:`cloudsigma.policies`, for the client to retry or turn into a library error.

:mod:`cloudsigma.generic` imports this module when it makes its first client, so that
importing the SDK does not load requests.
"""

from __future__ import annotations

import collections
import heapq
import os
import re
import socket
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.auth import AuthBase, HTTPDigestAuth
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from cloudsigma import _isolation, policies
from cloudsigma._redact import safe_url

__all__ = [
    "CaseInsensitiveDict",
    "DigestAuth",
    "Environment",
    "Failure",
    "PreparedRequest",
    "Response",
    "Session",
    "SharedTransport",
    "TRANSFER_ERRORS",
    "build_request",
    "classify",
    "never_reached_server",
    "new_session",
    "send_once",
    "stream_once",
    "transfer_send",
    "transfer_session",
]

Response = requests.Response
PreparedRequest = requests.PreparedRequest
Session = requests.Session
_Consumed = TypeVar("_Consumed")

#: Idle connections kept per host (urllib3's ``maxsize``): enough for the clients of a
#: default ThreadPoolExecutor (32 workers at most) without urllib3 discarding connections
#: and warning that the pool is full. Busier moments open more connections, then close them.
POOL_SIZE = 32

#: Hosts whose pools are kept while no live client uses them; beyond that the least
#: recently used idle ones are closed.
MAX_IDLE_HOSTS = 32

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: (scheme, host, port, verify, client cert, pool size): what makes a connection reusable.
PoolKey = tuple[str, str, int | None, bool | str, Any, int]


def origin_of(url: str) -> str:
    """The ``scheme://host:port`` start of an absolute URL, as written."""
    start = url.find("//") + 2
    slash = url.find("/", start)
    return url if slash < 0 else url[:slash]


def _pool_key(url: str, verify: bool | str, cert: Any) -> PoolKey:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # requests reports the bad port when it sends
        port = None
    return (scheme, (parts.hostname or "").lower(), port, verify, cert, POOL_SIZE)


class _Registry:
    """The process-wide pools, by :data:`PoolKey`, with the transports using each one."""

    def __init__(self, generation: int = 0) -> None:
        self.generation = generation
        self.lock = threading.Lock()
        self.adapters: collections.OrderedDict[PoolKey, HTTPAdapter] = collections.OrderedDict()
        self.users: dict[PoolKey, weakref.WeakSet[SharedTransport]] = {}

    def adapter(self, key: PoolKey, user: SharedTransport) -> HTTPAdapter:
        """The adapter for ``key`` (made on first use), now counted as used by ``user``."""
        with self.lock:
            adapter = self.adapters.get(key)
            if adapter is None:
                adapter = self.adapters[key] = WatchedAdapter(pool_maxsize=POOL_SIZE)
                self.users[key] = weakref.WeakSet()
            self.adapters.move_to_end(key)
            self.users[key].add(user)
            self._close_idle_beyond_limit()
            return adapter

    def release(self, key: PoolKey, user: SharedTransport) -> None:
        """``user`` is closed: close the pool of ``key`` if no other live client uses it."""
        with self.lock:
            users = self.users.get(key)
            if users is None:
                return
            users.discard(user)
            if not users:
                self.adapters[key].close()

    def _close_idle_beyond_limit(self) -> None:
        idle = [key for key in self.adapters if not self.users[key]]  # least recent first
        for key in idle[: max(len(idle) - MAX_IDLE_HOSTS, 0)]:
            self.adapters.pop(key).close()
            del self.users[key]


_registry = _Registry()


def _forget_pools_after_fork() -> None:
    """A forked child must not use its parent's sockets: it starts with no pooled connection.

    The parent's pools are dropped, not closed: closing would shut down TLS sessions the
    parent still uses.
    """
    global _registry
    _registry = _Registry(_registry.generation + 1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


class SharedTransport(BaseAdapter):
    """A ``requests`` transport adapter for one client's Session, over the shared pools.

    Mounted for ``http://`` and ``https://``, it hands each request to the process-wide
    ``HTTPAdapter`` for its scheme, host, port, TLS verification and client certificate.
    Credentials, cookies and hooks stay in the client's own Session: a pooled connection
    carries none of them. Mounting another adapter on the Session replaces this one, as
    with any ``requests`` adapter.
    """

    def __init__(self) -> None:
        super().__init__()
        self._adapters: dict[tuple[str, bool | str, Any], tuple[PoolKey, HTTPAdapter]] = {}
        self._generation = _registry.generation

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._adapters)} pools in use)"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send ``request`` through the shared pool for it (arguments as ``HTTPAdapter.send``)."""
        adapter = self._adapter_for(request.url or "", verify, cert)
        return adapter.send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )

    def _adapter_for(self, url: str, verify: bool | str, cert: Any) -> HTTPAdapter:
        if self._generation != _registry.generation:  # forked: the pools known are the parent's
            self._adapters = {}
            self._generation = _registry.generation
        cert = tuple(cert) if isinstance(cert, list) else cert
        route = (origin_of(url), verify, cert)
        found = self._adapters.get(route)
        if found is None:
            key = _pool_key(url, verify, cert)
            found = self._adapters[route] = (key, _registry.adapter(key, self))
        return found[1]

    def close(self) -> None:
        """Stop using the shared pools, closing those no other live client uses."""
        used, self._adapters = self._adapters, {}
        if self._generation == _registry.generation:
            for key in {key for key, _ in used.values()}:
                _registry.release(key, self)


class Environment:
    """What the environment says about connecting to each host, read on first use.

    The rules are those of ``requests.Session.merge_environment_settings``:
    ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` give the proxies unless ``NO_PROXY``
    matches the host, and ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is the CA file
    when TLS verification is on without a CA file of its own. Reading them took a good
    part of each request, so each host's answer is kept.
    """

    def __init__(self) -> None:
        self._proxies: dict[str, dict[str, str]] = {}
        self._ca_bundle: str | None = None

    def proxies(self, url: str) -> dict[str, str]:
        """The proxies the environment gives for ``url``'s host (a new dict each time)."""
        origin = origin_of(url)
        found = self._proxies.get(origin)
        if found is None:
            found = self._proxies[origin] = dict(get_environ_proxies(url))
        return dict(found)

    def verify(self, verify: bool | str) -> bool | str:
        """``verify`` itself, unless it is True: then the environment's CA bundle, if any."""
        if verify is not True:
            return verify
        if self._ca_bundle is None:
            environ = os.environ
            self._ca_bundle = (
                environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or ""
            )
        return self._ca_bundle or True

    def send_settings(
        self, url: str, verify: bool | str, session: requests.Session
    ) -> dict[str, Any]:
        """The ``proxies``, ``verify`` and ``cert`` for sending ``url`` through ``session``.

        The same as ``session.merge_environment_settings(url, {}, None, verify, None)``:
        the environment's proxies over the session's, and the session's client certificate.
        """
        proxies = self.proxies(url)
        if session.proxies:
            proxies = merge_setting(proxies, session.proxies)
        return {"proxies": proxies, "verify": self.verify(verify), "cert": session.cert}


# --- the deadline of a call -------------------------------------------------------------------


class _Watch:
    """The connections one attempt uses, to be shut down if they outlive the deadline."""

    __slots__ = ("deadline_at", "connections", "expired", "done")

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at
        self.connections: list[Any] = []
        self.expired = False
        self.done = False

    def __lt__(self, other: _Watch) -> bool:
        return self.deadline_at < other.deadline_at


class _Watchdog:
    """One daemon thread that shuts down the connections of attempts past their deadline.

    Registering an attempt costs a heap push, and finishing it a pop; the thread sleeps
    until the earliest deadline and is woken only when an earlier one comes in.
    """

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.heap: list[_Watch] = []
        self.thread: threading.Thread | None = None
        self.waiting_until = float("inf")

    def start(self, deadline_at: float) -> _Watch:
        watch = _Watch(deadline_at)
        with self.condition:
            heapq.heappush(self.heap, watch)
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="cloudsigma-deadline", daemon=True
                )
                self.thread.start()
            if deadline_at < self.waiting_until:
                self.condition.notify()
        return watch

    def stop(self, watch: _Watch) -> None:
        with self.condition:
            watch.done = True
            while self.heap and self.heap[0].done:
                heapq.heappop(self.heap)

    def add(self, watch: _Watch, connection: Any) -> None:
        with self.condition:
            if watch.expired:
                _shut_down(connection)
            else:
                watch.connections.append(connection)

    def _run(self) -> None:
        with self.condition:
            while True:
                while self.heap and self.heap[0].done:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.waiting_until = float("inf")
                    self.condition.wait()
                    continue
                first = self.heap[0]
                wait = first.deadline_at - time.monotonic()
                if wait > 0:
                    self.waiting_until = first.deadline_at
                    self.condition.wait(wait)
                    continue
                heapq.heappop(self.heap)
                first.expired = True
                for connection in first.connections:
                    _shut_down(connection)


def _shut_down(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # the plain socket's shutdown, also under TLS: the reading thread sees the end
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


_watchdog = _Watchdog()
_current = threading.local()


def _new_watchdog_after_fork() -> None:
    global _watchdog
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_watchdog_after_fork)


def _watch_connection(connection: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        _watchdog.add(watch, connection)


class _WatchedHTTPPool(HTTPConnectionPool):
    """A pool whose connections are ended when the attempt using them passes its deadline."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _watch_connection(conn)
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(HTTPSConnectionPool):
    """The same for HTTPS; unverified TLS is warned about once by the client, not per request."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _watch_connection(conn)
        return super()._make_request(conn, *args, **kwargs)

    def _validate_conn(self, conn: Any) -> None:
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()  # as urllib3 does, without its InsecureRequestWarning


_POOL_CLASSES = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """``requests``' HTTPAdapter over the watched pools."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOL_CLASSES)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOL_CLASSES)
        return manager


# --- one attempt ------------------------------------------------------------------------------


@dataclass
class Failure:
    """An attempt that got no usable answer.

    :param kind: one of the failure kinds of :mod:`cloudsigma.policies`.
    :param cause: the exception of the HTTP library, if there was one.
    :param response: the answer, when its status arrived but its body did not.
    :param partial: the bytes of the body that arrived before it broke off.
    :param detail: what the SDK itself found (an oversized body, a foreign endpoint).
    """

    kind: str
    cause: BaseException | None = None
    response: Response | None = None
    partial: bytes = b""
    detail: str = ""

    @property
    def reason(self) -> str:
        """The innermost, most telling reason of the failure."""
        if self.detail or self.cause is None:
            return self.detail
        return root_reason(self.cause)


class DigestAuth(HTTPDigestAuth):
    """HTTP Digest authentication (MD5, ``qop=auth``) as requests implements it.

    requests answers the server's 401 challenge, keeps the nonce and counts its uses, so
    later calls authenticate at once. The client sends one prepared request again when an
    attempt fails; requests would answer a challenge only for the first attempt, so here
    every answer that reaches the hook may be answered once.
    """

    #: How many of the latest Authorization headers are remembered for redaction.
    REMEMBERED = 32

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._sent: collections.deque[str] = collections.deque(maxlen=self.REMEMBERED)
        self._sent_lock = threading.Lock()

    def handle_401(self, r: Response, **kwargs: Any) -> Response:
        try:
            return super().handle_401(r, **kwargs)  # type: ignore[no-any-return]
        finally:
            self._thread_local.num_401_calls = 1  # type: ignore[attr-defined]

    def build_digest_header(self, method: str, url: str) -> str | None:
        header: str | None = super().build_digest_header(method, url)
        if header:
            values = [header.removeprefix("Digest ")]
            values += _DIGEST_SECRET_FIELDS.findall(header)
            with self._sent_lock:
                self._sent.extend(values)
        return header

    def sent_values(self) -> list[str]:
        """What the latest Authorization headers held that a server could replay: each
        header's value, its ``response`` hash and ``cnonce`` (secrets to redact by value)."""
        with self._sent_lock:
            return list(self._sent)


#: The fields of a Digest Authorization header that are derived from the password.
_DIGEST_SECRET_FIELDS = re.compile(r'\b(?:response|cnonce)="?([^",\s]+)')


def new_session(user_agent: str) -> Session:
    """A Session for one client: its own cookies and credentials, over the shared pools."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    transport = SharedTransport()
    session.mount("https://", transport)
    session.mount("http://", transport)
    return session


def build_request(
    session: Session,
    method: str,
    url: str,
    *,
    data: Any = None,
    files: Any = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    auth: tuple[str, str] | AuthBase | None = None,
    with_session: bool = True,
) -> PreparedRequest | Failure:
    """The prepared request; ``with_session`` adds the session's cookies and headers.

    :returns: a :class:`Failure` (kind ``unsendable``) for a URL that cannot be sent.
    """
    request = requests.Request(
        method, url, data=data, files=files, headers=headers, params=params, auth=auth
    )
    try:
        return session.prepare_request(request) if with_session else request.prepare()
    except (requests.exceptions.InvalidURL, ValueError) as exc:
        return Failure(policies.UNSENDABLE, exc)


def send_once(
    session: Session,
    prepared: PreparedRequest,
    *,
    timeout: tuple[float, float],
    settings: dict[str, Any],
    deadline_at: float | None = None,
    max_bytes: int | None = None,
) -> Response | Failure:
    """Send one attempt and read its whole body, never following a redirect.

    :param timeout: ``(connect, read)`` seconds.
    :param settings: ``proxies``, ``verify`` and ``cert`` (see :meth:`Environment.send_settings`).
    :param deadline_at: a ``time.monotonic()`` reading; a connection still in use then is
        shut down and the attempt fails with kind ``deadline``.
    :param max_bytes: the largest body accepted, counted after decompression.
    """

    def send() -> Response:
        return session.send(
            prepared, timeout=timeout, allow_redirects=False, stream=True, **settings
        )

    outcome = _attempt(prepared.url or "", send, _body_reader(max_bytes), deadline_at)
    return outcome if isinstance(outcome, Failure) else outcome[0]


def stream_once(
    session: Session,
    prepared: PreparedRequest,
    consume: Callable[[Response], _Consumed],
    *,
    timeout: tuple[float, float],
    settings: dict[str, Any],
    deadline_at: float | None = None,
) -> tuple[Response, _Consumed] | Failure:
    """Send one attempt and hand the answer, body unread, to ``consume`` (a download).

    A failure while ``consume`` reads the body comes back as a :class:`Failure`; what
    ``consume`` raises itself goes through. The connection is released afterwards.
    """

    def send() -> Response:
        return session.send(
            prepared, timeout=timeout, allow_redirects=False, stream=True, **settings
        )

    return _attempt(prepared.url or "", send, consume, deadline_at)


def _attempt(
    url: str,
    send: Callable[[], Response],
    read: Callable[[Response], _Consumed],
    deadline_at: float | None,
) -> tuple[Response, _Consumed] | Failure:
    """Send under the deadline's watch, then ``read`` the answer: ``(answer, what read
    returned)``, or the Failure (a :class:`Failure` returned by ``read`` included)."""
    refusal = _isolation.check(url, safe_url(url))
    if refusal:
        return Failure(policies.FOREIGN, detail=refusal)
    watch = None if deadline_at is None else _watchdog.start(deadline_at)
    _current.watch = watch
    try:
        response = send()
        try:
            result = read(response)
        finally:
            response.close()
    except requests.RequestException as exc:
        return classify(exc, watch)
    finally:
        _current.watch = None
        if watch is not None:
            _watchdog.stop(watch)
    if isinstance(result, Failure):
        if watch is not None and watch.expired:
            result.kind = policies.DEADLINE
        return result
    return response, result


def _body_reader(max_bytes: int | None) -> Callable[[Response], Failure | None]:
    def read(response: Response) -> Failure | None:
        method = response.request.method if response.request is not None else None
        return _read_body(response, method, max_bytes)

    return read


def _read_body(response: Response, method: str | None, max_bytes: int | None) -> Failure | None:
    """Read the body into ``response``; a body cut short or too large is a Failure."""
    raw = response.raw
    if hasattr(raw, "enforce_content_length"):
        raw.enforce_content_length = False  # checked below, keeping the bytes that arrived
    announced = response.headers.get("Content-Length", "")
    plain = not response.headers.get("Content-Encoding")
    if max_bytes is not None and plain and announced.isdigit() and int(announced) > max_bytes:
        return _too_large(response, max_bytes, f"announces {int(announced)} bytes")
    chunks: list[bytes] = []
    received = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            received += len(chunk)
            if max_bytes is not None and received > max_bytes:
                return _too_large(response, max_bytes, f"went past {max_bytes} bytes")
            chunks.append(chunk)
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    ) as exc:
        return Failure(policies.CUT_OFF, exc, response, b"".join(chunks))
    except requests.ConnectionError as exc:
        if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):
            raise requests.ReadTimeout(exc.args[0]) from exc  # requests calls it a ConnectionError
        raise
    response._content = b"".join(chunks)
    missing = _missing_bytes(method, response)
    if missing:
        cause = urllib3.exceptions.IncompleteRead(missing[0], missing[1])
        return Failure(policies.CUT_OFF, cause, response, response._content)
    return None


def _too_large(response: Response, max_bytes: int, found: str) -> Failure:
    return Failure(
        policies.TOO_LARGE,
        response=response,
        detail=f"the answer {found}, more than the {max_bytes} bytes accepted",
    )


def _missing_bytes(method: str | None, response: Response) -> tuple[int, int] | None:
    """``(received, expected)`` when fewer bytes arrived than Content-Length announced."""
    expected = response.headers.get("Content-Length", "")
    if method == "HEAD" or response.status_code in (204, 304) or not expected.isdigit():
        return None
    received = response.raw.tell() if hasattr(response.raw, "tell") else None
    if received is None or received >= int(expected):
        return None
    return received, int(expected)


def failure_kind(exc: BaseException, watch: _Watch | None = None) -> str:
    """The kind (see :mod:`cloudsigma.policies`) of a failure of ``requests``."""
    if watch is not None and watch.expired:
        return policies.DEADLINE
    if isinstance(exc, requests.exceptions.SSLError):
        return policies.TLS
    if isinstance(exc, requests.ConnectTimeout):
        return policies.CONNECT_TIMEOUT
    if isinstance(exc, requests.ReadTimeout) or "Read timed out" in root_reason(exc):
        return policies.READ_TIMEOUT
    if never_reached_server(exc):
        return policies.REFUSED
    if isinstance(
        exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return policies.CUT_OFF
    if isinstance(exc, requests.ConnectionError):
        return policies.RESET
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)):
        return policies.UNSENDABLE
    return policies.RESET


def never_reached_server(exc: BaseException) -> bool:
    """True when ``exc`` proves that no byte of the request reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def root_reason(exc: BaseException) -> str:
    """The innermost, most telling reason of a ``requests`` failure."""
    reason: Any = exc
    for _ in range(4):
        inner = getattr(reason, "reason", None)
        if inner is None and getattr(reason, "args", None):
            inner = reason.args[0] if isinstance(reason.args[0], BaseException) else None
        if inner is None:
            break
        reason = inner
    return str(reason) or type(reason).__name__


# --- drive transfers --------------------------------------------------------------------------

#: Failures of the HTTP library that a transfer attempt may meet.
TRANSFER_ERRORS: tuple[type[BaseException], ...] = (requests.RequestException,)


class _TransferSession(requests.Session):
    """A worker's session: redirects (if any are allowed) never carry credentials elsewhere."""

    def rebuild_auth(self, prepared_request: PreparedRequest, response: Response) -> None:
        if _isolation.origin(prepared_request.url or "") != _isolation.origin(
            response.request.url or ""
        ):
            prepared_request.headers.pop("Authorization", None)
            prepared_request.headers.pop("Cookie", None)
            prepared_request.prepare_auth(None)  # type: ignore[arg-type]
            return
        super().rebuild_auth(prepared_request, response)


def transfer_session(
    auth: tuple[str, str] | None,
    verify: bool | str,
    user_agent: str,
    *,
    redirects: int = 0,
    pool_size: int = 1,
) -> Session:
    """A keep-alive session for one transfer worker thread, with its own small pool.

    Retries are not left to urllib3: the caller retries a chunk or a range as a whole.

    :param redirects: how many redirects to follow (0: a redirect is a failure); one to
        another scheme, host or port goes without credentials.
    """
    session = _TransferSession()
    adapter = WatchedAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = auth
    session.verify = verify
    session.max_redirects = redirects
    session.headers["User-Agent"] = user_agent
    return session


def transfer_send(
    session: Any,
    method: str,
    url: str,
    *,
    deadline_at: float | None = None,
    max_bytes: int | None = None,
    consume: Callable[[Response], _Consumed] | None = None,
    **kwargs: Any,
) -> Response | tuple[Response, _Consumed] | Failure:
    """One transfer request through a worker's session, under the call's deadline.

    Without ``consume`` the body is read (at most ``max_bytes``) and the response
    returned; with it, ``consume`` reads the body and ``(response, what it returned)``
    comes back. Failures of the HTTP library come back as a :class:`Failure`; a redirect
    beyond what the session follows is one of kind ``unsendable``, naming the target.
    """

    def send() -> Response:
        return getattr(session, method.lower())(url, stream=True, **kwargs)  # type: ignore[no-any-return]

    if consume is not None:
        return _attempt(url, send, consume, deadline_at)
    outcome = _attempt(url, send, _body_reader(max_bytes), deadline_at)
    return outcome if isinstance(outcome, Failure) else outcome[0]


def _redirect_detail(exc: requests.TooManyRedirects) -> str:
    response = exc.response
    location = response.headers.get("Location", "") if response is not None else ""
    status = response.status_code if response is not None else "a redirect"
    return (
        f"the server answered {status} redirecting to {safe_url(location) or '(no Location)'}, "
        "which this transfer does not follow"
    )


@overload
def classify(exc: requests.RequestException, watch: _Watch | None = None) -> Failure: ...
@overload
def classify(exc: BaseException, watch: _Watch | None = None) -> Failure | None: ...
def classify(exc: BaseException, watch: _Watch | None = None) -> Failure | None:
    """A failure of the HTTP library as a :class:`Failure`; None for anything else."""
    if isinstance(exc, requests.TooManyRedirects):
        return Failure(policies.UNSENDABLE, exc, exc.response, detail=_redirect_detail(exc))
    if isinstance(exc, requests.RequestException):
        return Failure(failure_kind(exc, watch), exc)
    return None

"""Misbehaving HTTP servers on loopback for the SDK's adversarial tests.

A :class:`Stage` is a few servers on port 0: the configured API endpoint on 127.0.0.1, a
foreign host (127.0.0.2) and another port of the same host. Each server records every
request it received as it arrived (the ``Host`` header says which origin the client
thought it was talking to, so ``localhost`` and ``127.0.0.1`` count apart), and answers
from a script: a well-behaved API (login with session cookie and CSRF token, a Digest
challenge, drives, actions, ranged downloads) until the request the script picks, then
one :class:`Misbehaviour` (silent, drip-feed, half a body, HTML, echo, redirects, deep
JSON, huge and gzip-bomb bodies, long ``Retry-After``, a reset, garbage).
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

API_PATH = "/api/2.0/"
USERNAME = "adversary@example.com"
PASSWORD = "Adv3rsarial-pa55word"
DRIVE_UUID = "2a7b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
SERVER_UUID = "9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f"
#: Bytes of the drive that downloads fetch.
DRIVE_IMAGE = bytes(range(256)) * 16
#: Answers the client may accept: far less than the huge bodies below.
MAX_RESPONSE_BYTES = 256 * 1024
#: A JSON body many times the cap, and a gzip body that inflates to as much.
HUGE_SIZE = 48 * 1024**2
HUGE_JSON = b'["' + b"a" * (HUGE_SIZE - 4) + b'"]'
GZIP_BOMB = gzip.compress(b" " * HUGE_SIZE, compresslevel=9)
#: JSON nested 100,000 deep.
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000

#: What a misbehaviour can be, with the statuses it may come with.
KINDS = (
    "silent",
    "drip",
    "drip_status",
    "half_body",
    "html",
    "echo",
    "echo_headers",
    "redirect",
    "deep_json",
    "huge",
    "gzip_bomb",
    "retry_after",
    "reset",
    "garbage",
)
#: Where a redirect points.
REDIRECT_TARGETS = ("foreign_host", "other_port", "localhost", "self", "relative", "ping_pong")


@dataclass(frozen=True)
class Misbehaviour:
    """How the API server misbehaves, from request number ``at`` (counting from 0) on.

    :param kind: one of :data:`KINDS`.
    :param status: the status sent with it, where the kind sends one.
    :param target: where a redirect points (one of :data:`REDIRECT_TARGETS`).
    :param at: how many requests are answered well first.
    :param variant: the kind's second form: a chunked body (html, huge, gzip_bomb), the raw
        request as the whole body (echo), nested arrays instead of objects (deep_json).
    :param retry_after: the ``Retry-After`` value of ``retry_after``.
    """

    kind: str
    status: int = 200
    target: str = "foreign_host"
    at: int = 0
    variant: bool = False
    retry_after: str = "100000"


@dataclass
class Received:
    """One request as a server read it."""

    server: str
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    raw: bytes

    @property
    def origin(self) -> str:
        """The origin the client addressed: ``http://`` and the Host header it sent."""
        return "http://" + self.headers.get("host", "").lower()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Secrets:
    """Every credential value of a run, as the servers issued or received them."""

    values: set[str] = field(default_factory=set)

    def add(self, *values: str) -> None:
        self.values.update(value for value in values if value and len(value) >= 6)

    def found_in(self, text: str) -> list[str]:
        return sorted(value for value in self.values if value in text)


class Server:
    """One loopback server: accepts connections on its own thread and answers each request
    through ``stage.answer``."""

    def __init__(self, stage: Stage, name: str, host: str) -> None:
        self.stage = stage
        self.name = name
        self.listener = socket.create_server((host, 0))
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _accept(self) -> None:
        while not self.stage.closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self.stage.lock:
                if self.stage.closing.is_set():
                    connection.close()
                    return
                self.connections.append(connection)
                thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
                self.threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        reader = _Reader(connection)
        try:
            while not self.stage.closing.is_set():
                request = reader.request(self.name)
                if request is None:
                    return
                if not self.stage.answer(self, connection, request):
                    return
        except OSError:
            return
        finally:
            connection.close()

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self.accepting.join(5)
        with self.stage.lock:
            connections, threads = list(self.connections), list(self.threads)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(5)
        for connection in connections:
            connection.close()


class _Reader:
    """Reads HTTP/1.1 requests (Content-Length bodies) off one connection."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.connection.recv(65536)
        self.buffer += data
        return bool(data)

    def request(self, server: str) -> Received | None:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Received(server, method, target, headers, body, head + b"\r\n\r\n" + body)


def _response(status: int, headers: dict[str, str], body: bytes, chunked: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _json(status: int, value: Any, extra: dict[str, str] | None = None) -> bytes:
    headers = {"Content-Type": "application/json", "X-REQUEST-ID": "adv-request"}
    headers.update(extra or {})
    return _response(status, headers, json.dumps(value).encode())


def _drive() -> dict[str, Any]:
    return {
        "uuid": DRIVE_UUID,
        "name": "adversarial",
        "size": len(DRIVE_IMAGE),
        "status": "unmounted",
        "media": "disk",
        "runtime": {"is_downloadable": True},
    }


class Stage:
    """The configured API server, a foreign host and another port, scripted together.

    :param misbehaviour: what the API server does from request ``misbehaviour.at`` on.
    :param login_method: ``basic``, ``session`` or ``digest`` (the well-behaved answers
        follow it: a session cookie and CSRF token at login, a Digest challenge).
    :param foreign_redirects_back: the foreign servers redirect to the API server instead
        of answering.
    """

    def __init__(
        self,
        misbehaviour: Misbehaviour,
        login_method: str = "basic",
        *,
        foreign_redirects_back: bool = False,
    ) -> None:
        self.misbehaviour = misbehaviour
        self.login_method = login_method
        self.foreign_redirects_back = foreign_redirects_back
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.secrets = Secrets()
        self.secrets.add(PASSWORD, _basic_token(), f"{USERNAME}:{PASSWORD}")
        self.session_id = f"sess{time.monotonic_ns():x}id"
        self.csrf_token = f"csrf{time.monotonic_ns():x}tok"
        self.secrets.add(self.session_id, self.csrf_token)
        self.api_requests = 0
        #: True answers every request well whatever the misbehaviour (a test switches it).
        self.behaving = False
        self.api = Server(self, "api", "127.0.0.1")
        self.foreign = Server(self, "foreign", "127.0.0.2")
        self.other_port = Server(self, "other_port", "127.0.0.1")

    @property
    def api_endpoint(self) -> str:
        return f"{self.api.origin}{API_PATH}"

    def close(self) -> None:
        self.closing.set()
        for server in (self.api, self.foreign, self.other_port):
            server.close()

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # --- what the servers received -------------------------------------------------------------

    def foreign_requests(self) -> list[Received]:
        """Requests that reached any origin but the configured one."""
        with self.lock:
            return [r for r in self.received if r.origin != self.api.origin]

    def leaks(self) -> list[str]:
        """Credentials that reached another origin: credential headers or secret values."""
        found = []
        for request in self.foreign_requests():
            for name in ("authorization", "proxy-authorization", "cookie", "x-csrftoken"):
                if request.header(name):
                    found.append(f"{name} to {request.origin} ({request.method} {request.target})")
            text = request.raw.decode("latin-1")
            for value in self.secrets.found_in(text) + self._password_in(request):
                found.append(f"{value!r} to {request.origin} ({request.method} {request.target})")
        return found

    @staticmethod
    def _password_in(request: Received) -> list[str]:
        return ["a password field"] if b'"password"' in request.body else []

    # --- answering -----------------------------------------------------------------------------

    def answer(self, server: Server, connection: socket.socket, request: Received) -> bool:
        """Answer ``request``; False closes the connection."""
        with self.lock:
            self.received.append(request)
            self._remember_credentials(request)
            number = None
            if server is self.api:
                number, self.api_requests = self.api_requests, self.api_requests + 1
        if server is not self.api:
            return self._answer_foreign(connection, request)
        if self.behaving is False and number is not None and number >= self.misbehaviour.at:
            return self._misbehave(connection, request)
        connection.sendall(self._well_behaved(request))
        return True

    def _remember_credentials(self, request: Received) -> None:
        authorization = request.header("authorization")
        if authorization.startswith("Digest "):
            self.secrets.add(authorization[len("Digest ") :])
            for part in authorization[len("Digest ") :].split(","):
                name, _, value = part.strip().partition("=")
                if name in ("response", "cnonce"):
                    self.secrets.add(value.strip('"'))

    def _answer_foreign(self, connection: socket.socket, request: Received) -> bool:
        if self.foreign_redirects_back:
            back = self.api_endpoint + "drives/"
            connection.sendall(_response(302, {"Location": back}, b""))
        else:
            connection.sendall(_json(200, {"objects": [_drive()], "meta": {"total_count": 1}}))
        return True

    def _well_behaved(self, request: Received) -> bytes:
        path, _, query = request.target.partition("?")
        params = urllib.parse.parse_qs(query)
        if self.login_method == "digest" and not request.header("authorization"):
            challenge = (
                'Digest realm="adversarial", nonce="n0nce5eed", qop="auth", '
                'algorithm=MD5, opaque="0paque"'
            )
            return _json(401, [{"error_type": "auth"}], {"WWW-Authenticate": challenge})
        if path.endswith("/accounts/action/") and params.get("do") == ["login"]:
            cookies = {
                "Set-Cookie": f"sessionid={self.session_id}; Path=/; HttpOnly",
            }
            head = _json(200, {"uuid": "account"}, cookies)
            # a second Set-Cookie header: the CSRF token
            return head.replace(
                b"\r\n\r\n",
                f"\r\nSet-Cookie: csrftoken={self.csrf_token}; Path=/\r\n\r\n".encode(),
                1,
            )
        if path.endswith("/download/"):
            return self._range_answer(request)
        if path.endswith("/action/"):
            return _json(
                202, {"action": params.get("do", [""])[0], "result": "success", "uuid": SERVER_UUID}
            )
        if request.method == "POST":
            return _json(201, {"objects": [_drive()]})
        if path.rstrip("/").endswith(DRIVE_UUID):
            return _json(200, _drive())
        return _json(200, {"objects": [_drive()], "meta": {"total_count": 1}})

    @staticmethod
    def _range_answer(request: Received) -> bytes:
        wanted = request.header("range").partition("=")[2]
        start_text, _, end_text = wanted.partition("-")
        start = int(start_text or 0)
        end = min(int(end_text or len(DRIVE_IMAGE) - 1), len(DRIVE_IMAGE) - 1)
        return _response(
            206,
            {
                "Content-Type": "application/octet-stream",
                "Content-Range": f"bytes {start}-{end}/{len(DRIVE_IMAGE)}",
            },
            DRIVE_IMAGE[start : end + 1],
        )

    # --- misbehaving ---------------------------------------------------------------------------

    def _misbehave(self, connection: socket.socket, request: Received) -> bool:
        bad = self.misbehaviour
        kind = bad.kind
        if kind == "silent":
            self.closing.wait()
            return False
        if kind == "drip":
            head = _response(bad.status, {"Content-Type": "application/json"}, b"")
            head = head.replace(b"Content-Length: 0", b"Content-Length: 100000")
            connection.sendall(head)
            self._drip(connection, b"[" + b"1," * 50000)
            return False
        if kind == "drip_status":
            self._drip(connection, _json(bad.status, {"objects": []}))
            return False
        if kind == "half_body":
            whole = _json(bad.status, {"objects": [_drive()] * 20})
            connection.sendall(whole[: len(whole) - 200])
            return False
        if kind == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            connection.sendall(
                _response(bad.status, {"Content-Type": "text/html"}, page, bad.variant)
            )
            return True
        if kind == "echo":
            echo = request.raw.decode("latin-1")
            body = json.dumps([{"error_type": "echo", "error_message": echo}]).encode()
            if bad.variant:
                body = request.raw
            connection.sendall(_response(bad.status, {"Content-Type": "application/json"}, body))
            return True
        if kind == "echo_headers":
            echoed = {f"X-Echo-{name}": value for name, value in request.headers.items()}
            echoed["X-Echo-Body"] = request.body.decode("latin-1").replace("\r\n", " ")
            echoed["Content-Type"] = "application/json"
            body = json.dumps({"objects": [_drive()], "meta": {}}).encode()
            connection.sendall(_response(bad.status, echoed, body))
            return True
        if kind == "redirect":
            connection.sendall(_response(bad.status, {"Location": self._redirect_to(request)}, b""))
            return True
        if kind in ("deep_json", "huge", "gzip_bomb"):
            body = {"deep_json": DEEP_JSON if bad.variant else DEEP_OBJECT, "huge": HUGE_JSON}.get(
                kind
            )
            headers = {"Content-Type": "application/json"}
            if kind == "gzip_bomb":
                body, headers["Content-Encoding"] = GZIP_BOMB, "gzip"
            assert body is not None
            self._send_large(
                connection, bad.status, headers, body, bad.variant and kind != "deep_json"
            )
            return False
        if kind == "retry_after":
            headers = {"Retry-After": bad.retry_after}
            connection.sendall(_json(bad.status, [{"error_type": "backend"}], headers))
            return True
        if kind == "reset":  # closed with a zero linger: the client reads a reset
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        connection.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage \x00\xff\r\n\r\n")
        return False

    def _redirect_to(self, request: Received) -> str:
        target = self.misbehaviour.target
        path = request.target
        if target == "foreign_host":
            return f"{self.foreign.origin}{path}"
        if target == "other_port":
            return f"{self.other_port.origin}{path}"
        if target == "localhost":
            return f"http://localhost:{self.api.port}{path}"
        if target == "relative":
            return path
        if target == "ping_pong":
            self.foreign_redirects_back = True
            return f"{self.foreign.origin}{path}"
        return f"{self.api.origin}{path}"

    def _drip(self, connection: socket.socket, data: bytes) -> None:
        for index in range(len(data)):
            if self.closing.wait(0.05):
                return
            connection.sendall(data[index : index + 1])

    def _send_large(
        self,
        connection: socket.socket,
        status: int,
        headers: dict[str, str],
        body: bytes,
        chunked: bool,
    ) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        view = memoryview(body)
        block = 256 * 1024
        for start in range(0, len(view), block):
            if self.closing.is_set():
                return
            piece = view[start : start + block]
            if chunked:
                connection.sendall(f"{len(piece):x}\r\n".encode())
            connection.sendall(piece)
            if chunked:
                connection.sendall(b"\r\n")
        if chunked:
            connection.sendall(b"0\r\n\r\n")


def _basic_token() -> str:
    import base64

    return base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


def every_text_of(exc: BaseException) -> Iterator[str]:
    """The texts an exception shows: str and repr of it and of its causes, and its notes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from getattr(current, "__notes__", ())
        current = current.__cause__ or current.__context__

"""The websocket client and the event waiter, over a fake websocket connection."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
import websocket
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import errors, resource
from cloudsigma.generic import WebsocketClient, WebsocketClosedError, WebsocketTimeoutError

WS = "ws://events.test/websocket"
AUTH_URL = API + "accounts/action/?do=authenticate_asynchronous"
DRIVE_URI = "/api/2.0/drives/d1/"


def frame(resource_type: str, uri: str) -> str:
    return json.dumps({"resource_type": resource_type, "resource_uri": uri})


class FakeConnection:
    """Plays back frames (or raises exceptions), then times out like websocket-client does."""

    def __init__(self, items: list[Any]) -> None:
        self.items = list(items)
        self.timeout: float | None = 10
        self.connected = True
        self.timeouts_seen: list[float | None] = []

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def recv(self) -> Any:
        self.timeouts_seen.append(self.timeout)
        if not self.items:
            raise websocket.WebSocketTimeoutException("Connection timed out")
        item = self.items.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self, **kwargs: Any) -> None:
        self.connected = False

    def shutdown(self) -> None:
        self.socket_closed = True


class FakeServer:
    """Stands in for ``websocket.create_connection``: one FakeConnection per connect."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.connections: list[FakeConnection] = []
        self.scripts: list[Any] = []
        self.connects: list[dict[str, Any]] = []
        monkeypatch.setattr(websocket, "create_connection", self.connect)

    def connect(self, url: str, **kwargs: Any) -> FakeConnection:
        self.connects.append({"url": url, **kwargs})
        script = self.scripts.pop(0)
        if isinstance(script, BaseException):
            raise script
        connection = FakeConnection(script)
        self.connections.append(connection)
        return connection


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    return FakeServer(monkeypatch)


def test_client_connects_with_the_cookie_and_decodes_frames(server: FakeServer) -> None:
    server.scripts.append([frame("drives", DRIVE_URI), "raw text"])
    client = WebsocketClient("cookie-1", 7, ws_endpoint=WS)
    assert server.connects[0]["url"] == WS
    assert server.connects[0]["header"] == ["Cookie: async_auth=cookie-1"]
    assert server.connects[0]["timeout"] == 7
    assert client.recv() == {"resource_type": "drives", "resource_uri": DRIVE_URI}
    assert client.recv(timeout=2, return_raw=True) == "raw text"
    connection = server.connections[0]
    assert connection.timeouts_seen == [10, 2] and connection.timeout == 10
    assert "cookie-1" not in repr(client)


def test_client_reads_ws_endpoint_from_config(server: FakeServer, write_config: Any) -> None:
    write_config(f"ws_endpoint = {WS}\n")
    server.scripts.append([])
    assert WebsocketClient("c").ws_endpoint == WS


@pytest.mark.parametrize(
    ("item", "error_class"),
    [
        (None, WebsocketTimeoutError),
        ("", WebsocketClosedError),
        (websocket.WebSocketConnectionClosedException("gone"), WebsocketClosedError),
        (ConnectionResetError(104, "reset"), WebsocketClosedError),
        ("not json", errors.InvalidResponseError),
    ],
    ids=["timeout", "close-frame", "closed", "reset", "bad-json"],
)
def test_client_failures_become_library_errors(
    server: FakeServer, item: Any, error_class: type[Exception]
) -> None:
    server.scripts.append([] if item is None else [item])
    client = WebsocketClient("c", ws_endpoint=WS)
    with pytest.raises(error_class):
        client.recv(timeout=0.01)


def test_timeout_error_is_a_library_timeout(server: FakeServer) -> None:
    server.scripts.append([])
    with pytest.raises(errors.RequestTimeoutError) as caught:
        WebsocketClient("c", ws_endpoint=WS).recv(timeout=1)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value.__cause__, websocket.WebSocketTimeoutException)


@pytest.mark.parametrize(
    ("failure", "error_class", "text"),
    [
        (
            websocket.WebSocketBadStatusException("Handshake status %d", 401),
            errors.AuthError,
            "authenticate again",
        ),
        (ConnectionRefusedError(111, "refused"), errors.TransportError, "check ws_endpoint"),
        (websocket.WebSocketTimeoutException("slow"), WebsocketTimeoutError, "took longer"),
    ],
)
def test_connect_failures_become_library_errors(
    server: FakeServer, failure: Exception, error_class: type[Exception], text: str
) -> None:
    server.scripts.append(failure)
    with pytest.raises(error_class, match=text) as caught:
        WebsocketClient("secret-cookie", ws_endpoint=WS)
    assert "secret-cookie" not in str(caught.value)


def test_reconnect_uses_the_new_cookie(server: FakeServer) -> None:
    server.scripts.extend([[], [frame("drives", DRIVE_URI)]])
    client = WebsocketClient("old", ws_endpoint=WS)
    client.reconnect("new")
    assert server.connections[0].connected is False
    assert server.connects[1]["header"] == ["Cookie: async_auth=new"]
    assert client.recv()["resource_uri"] == DRIVE_URI


# --- the waiter ------------------------------------------------------------------------------


def serve_auth(*cookies: str) -> None:
    for cookie in cookies:
        responses.post(AUTH_URL, json={}, headers={"Set-Cookie": f"async_auth={cookie}; Path=/"})


def open_websocket(**kwargs: Any) -> resource.Websocket:
    return resource.Websocket(
        5, api_endpoint=API, username=USERNAME, password=PASSWORD, ws_endpoint=WS, retry=0, **kwargs
    )


@responses.activate
def test_websocket_authenticates_with_its_own_client(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([])
    ws = open_websocket()
    request = responses.calls[0].request
    assert request.headers["Authorization"].startswith("Basic ")
    assert json.loads(request.body) == {}
    assert server.connects[0]["url"] == WS
    assert server.connects[0]["header"] == ["Cookie: async_auth=c1"]
    assert ws.accounts.c.username == USERNAME


@responses.activate
def test_websocket_without_cookie_is_an_invalid_response(server: FakeServer) -> None:
    responses.post(AUTH_URL, json={})
    with pytest.raises(errors.InvalidResponseError, match="async_auth"):
        open_websocket()
    assert server.connects == []


@responses.activate
def test_wait_returns_every_event_up_to_the_matching_one(server: FakeServer) -> None:
    serve_auth("c1")
    other = frame("servers", "/api/2.0/servers/s1/")
    server.scripts.append([other, frame("drives", DRIVE_URI), frame("drives", "/x/")])
    message_filter = {"resource_type": "drives"}
    events = open_websocket().wait(message_filter)
    assert [e["resource_uri"] for e in events] == ["/api/2.0/servers/s1/", DRIVE_URI]
    assert message_filter == {"resource_type": "drives"}


@responses.activate
def test_wait_without_filter_returns_the_first_event(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([frame("balance", "/api/2.0/balance/")])
    assert open_websocket().wait() == [
        {"resource_type": "balance", "resource_uri": "/api/2.0/balance/"}
    ]


@responses.activate
def test_wait_times_out_with_websocket_timeout_error(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([frame("servers", "/api/2.0/servers/s1/")])
    with pytest.raises(resource.WebsocketTimeoutError, match="resource_uri") as caught:
        open_websocket().wait({"resource_uri": [DRIVE_URI]}, timeout=1)
    assert isinstance(caught.value, errors.ApiClientError)


@pytest.mark.parametrize(
    ("message_filter", "matches"),
    [
        (None, True),
        ({}, True),
        ({"resource_type": "drives"}, True),
        ({"resource_type": ["servers", "drives"]}, True),
        ({"resource_uri": "/api/2.0/drives/d2/"}, False),
        ({"resource_uri": "/api/2.0/drives/d2/", "resource_type": "drives"}, True),
        ({"missing": "x"}, False),
    ],
)
def test_filter_frame(message_filter: Any, matches: bool) -> None:
    ws = resource.Websocket.__new__(resource.Websocket)
    frame_dict = {"resource_type": "drives", "resource_uri": DRIVE_URI}
    assert ws.filter_frame(message_filter, frame_dict) is matches


@responses.activate
def test_wait_obj_uri_and_type_get_the_object_with_the_same_client(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([frame("drives", DRIVE_URI), frame("drives", DRIVE_URI)])
    responses.get(API + "drives/d1/", json={"uuid": "d1", "status": "mounted"})
    ws = open_websocket()
    assert ws.wait_obj_uri(DRIVE_URI, resource.Drive) == {"uuid": "d1", "status": "mounted"}
    assert ws.wait_obj_type("drives", resource.Drive)["uuid"] == "d1"
    gets = [c.request for c in responses.calls if c.request.method == "GET"]
    assert len(gets) == 2 and all(g.headers["Authorization"].startswith("Basic ") for g in gets)


@responses.activate
def test_wait_for_status_reads_events_until_the_object_has_the_status(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([frame("drives", DRIVE_URI)] * 3)
    for status in ("creating", "creating", "unmounted"):
        responses.get(API + "drives/d1/", json={"uuid": "d1", "status": status})
    drive = open_websocket().wait_for_status(DRIVE_URI, resource.Drive, "unmounted", timeout=5)
    assert drive["status"] == "unmounted"


@responses.activate
def test_wait_for_status_times_out(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([frame("drives", DRIVE_URI)])
    responses.get(API + "drives/d1/", json={"uuid": "d1", "status": "creating"})
    with pytest.raises(resource.WebsocketTimeoutError) as caught:
        open_websocket().wait_for_status(DRIVE_URI, resource.Drive, "unmounted", timeout=5)
    assert str(caught.value) == (
        f"{DRIVE_URI} did not reach status unmounted within 5 s; last seen status: creating"
    )


@responses.activate
def test_dropped_connection_is_reconnected_once_with_a_fresh_cookie(server: FakeServer) -> None:
    serve_auth("c1", "c2")
    dropped = websocket.WebSocketConnectionClosedException("dropped")
    server.scripts.extend([[dropped], [frame("drives", DRIVE_URI)]])
    events = open_websocket(reconnect=True).wait({"resource_uri": DRIVE_URI})
    assert events == [{"resource_type": "drives", "resource_uri": DRIVE_URI}]
    assert [c["header"] for c in server.connects] == [
        ["Cookie: async_auth=c1"],
        ["Cookie: async_auth=c2"],
    ]


@responses.activate
def test_second_drop_is_raised(server: FakeServer) -> None:
    serve_auth("c1", "c2")
    dropped = websocket.WebSocketConnectionClosedException("dropped")
    server.scripts.extend([[dropped], [dropped]])
    with pytest.raises(WebsocketClosedError):
        open_websocket(reconnect=True).wait()


@responses.activate
def test_drop_without_reconnect_is_raised(server: FakeServer) -> None:
    serve_auth("c1")
    server.scripts.append([websocket.WebSocketConnectionClosedException("dropped")])
    with pytest.raises(errors.TransportError):
        open_websocket().wait()
    assert len(server.connects) == 1


# --- a real websocket handshake on 127.0.0.1 -------------------------------------------------


class LoopbackWebsocketServer:
    """A minimal websocket server: records each handshake, sends scripted text frames.

    A script item is a str (sent as a text frame), bytes (sent as they are), a float (seconds
    of silence before the next item) or None (close the connection).
    """

    def __init__(self, scripts: list[list[Any]]) -> None:
        import socket
        import threading

        self.scripts = scripts
        self.handshakes: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}/websocket"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.scripts:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                self._handshake(connection)
                self._play(connection, self.scripts.pop(0))

    def _handshake(self, connection: Any) -> None:
        import base64
        import hashlib

        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(4096)
        text = request.decode()
        self.handshakes.append(text)
        key = next(
            line.split(":", 1)[1].strip()
            for line in text.split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        accept = base64.b64encode(hashlib.sha1(magic.encode()).digest()).decode()
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )

    def _play(self, connection: Any, script: list[Any]) -> None:
        for item in script:
            if item is None:
                return
            if isinstance(item, float):
                self._stop.wait(item)
                continue
            if isinstance(item, bytes):
                connection.sendall(item)
                continue
            payload = item.encode()
            assert len(payload) < 126
            connection.sendall(bytes([0x81, len(payload)]) + payload)
        self._answer_close(connection)

    def _answer_close(self, connection: Any) -> None:
        """Stay silent until the client sends a close frame, then close back."""
        connection.settimeout(5)
        try:
            while (header := connection.recv(2)) and header[0] & 0x0F != 0x8:
                connection.recv(65536)
        except OSError:
            return
        connection.sendall(b"\x88\x00")

    def close(self) -> None:
        import socket

        self._stop.set()
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(timeout=5)


@pytest.fixture
def loopback() -> Any:
    servers: list[LoopbackWebsocketServer] = []

    def start(*scripts: list[Any]) -> LoopbackWebsocketServer:
        servers.append(LoopbackWebsocketServer(list(scripts)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_real_handshake_sends_the_cookie_and_frames_decode(loopback: Any) -> None:
    server = loopback([frame("drives", DRIVE_URI)])
    client = WebsocketClient("cookie-xyz", 5, ws_endpoint=server.url)
    assert client.recv() == {"resource_type": "drives", "resource_uri": DRIVE_URI}
    assert "Cookie: async_auth=cookie-xyz\r\n" in server.handshakes[0]
    client.close()


def test_real_silence_becomes_a_websocket_timeout(loopback: Any) -> None:
    server = loopback([])
    client = WebsocketClient("c", 5, ws_endpoint=server.url)
    with pytest.raises(WebsocketTimeoutError):
        client.recv(timeout=0.05)
    client.close()


def test_closing_after_the_server_closed_first_releases_the_socket(loopback: Any) -> None:
    server = loopback([b"\x88\x00", 2.0, None])  # a close frame, then silence
    client = WebsocketClient("c", 5, ws_endpoint=server.url)
    with pytest.raises(WebsocketClosedError):
        client.recv(timeout=2)
    client.close()
    assert client.conn.sock is None


def test_real_close_becomes_a_closed_error_and_reconnect_recovers(loopback: Any) -> None:
    server = loopback([None], [frame("drives", DRIVE_URI)])
    client = WebsocketClient("first", 5, ws_endpoint=server.url)
    with pytest.raises(WebsocketClosedError):
        client.recv(timeout=2)
    client.reconnect("second")
    assert client.recv(timeout=2)["resource_uri"] == DRIVE_URI
    assert "async_auth=second" in server.handshakes[1]
    client.close()

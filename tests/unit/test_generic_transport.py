"""Timeouts and connection pooling, against servers the tests start on 127.0.0.1."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from unit_support import API, PASSWORD, USERNAME, RawServer

from cloudsigma import errors
from cloudsigma.generic import GenericClient, Retry, Timeout

TINY = Timeout(connect=2.0, read=0.05)


class SilentServer(RawServer):
    """Accepts TCP connections and never answers; counts them."""


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_no_answer_raises_request_timeout_error(silent_server: SilentServer) -> None:
    client = GenericClient(silent_server.endpoint, USERNAME, PASSWORD, timeout=TINY, retry=0)
    with pytest.raises(errors.RequestTimeoutError) as caught:
        client.get("/drives/")
    message = str(caught.value)
    assert f"GET {silent_server.endpoint}drives/" in message
    assert "no answer within 0.05 s" in message and "read_timeout" in message
    assert isinstance(caught.value, errors.TransportError)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value.__cause__, requests.RequestException)


def test_get_read_timeout_is_retried_on_new_connections(
    silent_server: SilentServer, sleeps: list[float]
) -> None:
    retry = Retry(total=2, jitter=False)
    client = GenericClient(silent_server.endpoint, USERNAME, PASSWORD, timeout=TINY, retry=retry)
    with pytest.raises(errors.RequestTimeoutError):
        client.get("/drives/")
    assert len(sleeps) == 2
    assert len(silent_server.accepted) == 3


def test_post_read_timeout_is_not_repeated(
    silent_server: SilentServer, sleeps: list[float]
) -> None:
    client = GenericClient(silent_server.endpoint, USERNAME, PASSWORD, timeout=TINY, retry=3)
    with pytest.raises(errors.RequestTimeoutError, match="check before sending it again"):
        client.post("/drives/", {"objects": [{"name": "x"}]})
    assert sleeps == []
    assert len(silent_server.accepted) == 1


@responses.activate
def test_connect_timeout_is_a_request_timeout_error_naming_the_setting() -> None:
    client = GenericClient(API, USERNAME, PASSWORD, timeout=Timeout(connect=3, read=9), retry=0)
    responses.get(API + "drives/", body=requests.ConnectTimeout("connect timed out"))
    with pytest.raises(errors.RequestTimeoutError, match="no connection within 3 s"):
        client.get("/drives/")


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (None, Timeout(10.0, 60.0)),
        (5, Timeout(5, 5)),
        ((1, 2), Timeout(1, 2)),
        (Timeout(3, 4), Timeout(3, 4)),
    ],
)
def test_timeout_argument_forms(timeout: Any, expected: Timeout) -> None:
    assert GenericClient(API, USERNAME, PASSWORD, timeout=timeout).timeout == expected


@pytest.mark.parametrize("value", [0, -1, "10", True])
def test_invalid_timeout_is_rejected(value: Any) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        Timeout(connect=value)


class CountingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        body = b'{"objects": [{"uuid": "a"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class CountingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CountingHandler)
        self.connections = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        self.connections += 1  # before accept(), so failed TLS handshakes count too
        return super().get_request()


def test_one_client_reuses_one_connection_for_many_calls() -> None:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/api/2.0/"
        with GenericClient(endpoint, USERNAME, PASSWORD) as client:
            results = [client.get("/drives/") for _ in range(20)]
        assert results == [{"uuid": "a"}] * 20
        assert server.connections == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _read_whole_request(connection: socket.socket) -> None:
    """Read one request, headers and Content-Length body, whatever the packet split."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return
        body += chunk


class CannedServer:
    """Answers every connection with the same raw bytes, then closes it; counts connections."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                self.connections += 1
                _read_whole_request(connection)
                connection.sendall(self.answer)
                # Closing with unread bytes would reset the connection instead of
                # ending the body, and the client would see a reset, not a cut.
                connection.shutdown(socket.SHUT_WR)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/api/2.0/"

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(timeout=5)


CUT_OFF = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n"
    b"X-REQUEST-ID: cut-1\r\n\r\n"
    b'{"objects": [{"uuid": "a'
)


@pytest.mark.parametrize(("method", "connections"), [("get", 2), ("post", 1)])
def test_body_cut_off_is_an_invalid_response_retried_only_when_safe(
    sleeps: list[float], method: str, connections: int
) -> None:
    server = CannedServer(CUT_OFF)
    try:
        client = GenericClient(server.endpoint, USERNAME, PASSWORD, retry=Retry(total=1))
        call = client.get if method == "get" else lambda url: client.post(url, {})
        with pytest.raises(errors.InvalidResponseError) as caught:
            call("/drives/")
        assert server.connections == connections
    finally:
        server.close()
    error = caught.value
    assert error.status_code == 200 and error.request_id == "cut-1"
    assert "cut off after 24 bytes" in str(error)
    assert '{"objects": [{"uuid": "a' in str(error)
    assert len(sleeps) == connections - 1


def test_tls_is_verified_with_the_configured_ca_bundle(tmp_path: Any) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server = CountingServer()
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    endpoint = f"https://127.0.0.1:{server.server_address[1]}/api/2.0/"
    try:
        trusted = GenericClient(endpoint, USERNAME, PASSWORD, verify=str(ca_path))
        assert trusted.get("/drives/") == {"uuid": "a"}
        untrusted = GenericClient(endpoint, USERNAME, PASSWORD, retry=3)
        with pytest.raises(errors.TransportError, match="TLS verification failed") as caught:
            untrusted.get("/drives/")
        assert "ca_bundle" in str(caught.value)
        assert server.connections == 2  # the certificate failure was not retried
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

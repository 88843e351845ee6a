"""What keeps the client fast, checked as behaviour: lazy imports and shared connections."""

from __future__ import annotations

import base64
import gc
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from unit_support import PASSWORD, USERNAME

from cloudsigma import _transport, errors
from cloudsigma.generic import GenericClient
from cloudsigma.resource import Drive

HEAVY_MODULES = ("requests", "urllib3", "simplejson", "websocket")
#: Loaded on first use too: the event stream's modules and typing (annotations only).
DEFERRED_MODULES = ("typing", "cloudsigma.websocket", "cloudsigma._isolation")
#: A drive uuid; the test servers answer every path alike (ids are checked before sending).
A = "5c33a9b1-0000-4000-8000-00000000000a"


def loaded_after(code: str, modules: tuple[str, ...] = HEAVY_MODULES) -> list[str]:
    """Those of ``modules`` in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    report = f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_resource_loads_no_http_or_json_library() -> None:
    assert loaded_after("import cloudsigma.resource") == []


def test_importing_every_module_resource_uses_loads_no_http_or_json_library() -> None:
    code = "import cloudsigma.generic, cloudsigma.policies, cloudsigma._redact, cloudsigma.errors"
    assert loaded_after(code) == []


def test_importing_resource_defers_typing_and_the_event_stream() -> None:
    at_startup = loaded_after("pass", DEFERRED_MODULES)
    assert loaded_after("import cloudsigma.resource", DEFERRED_MODULES) == at_startup


def test_pycloudsigma_websocket_names_load_the_event_stream_on_first_use() -> None:
    code = (
        "import cloudsigma.generic, cloudsigma.resource\n"
        "from cloudsigma.websocket.connection import WebsocketClient\n"
        "from cloudsigma.websocket.events import Websocket\n"
        "assert cloudsigma.generic.WebsocketClient is WebsocketClient\n"
        "assert cloudsigma.resource.Websocket is Websocket\n"
        "from cloudsigma.resource import *\n"
        "assert Websocket is cloudsigma.resource.Websocket"
    )
    assert "cloudsigma.websocket" in loaded_after(code, DEFERRED_MODULES)


def test_the_probe_sees_requests_once_a_client_exists() -> None:
    # the check above is only worth something if the probe can see a loaded library
    code = (
        "import cloudsigma.resource\n"
        "cloudsigma.resource.Drive('http://127.0.0.1:9/api/2.0/', 'a@example.com', 'pw')"
    )
    assert "requests" in loaded_after(code)


# --- loopback servers -------------------------------------------------------------------------


@dataclass
class Seen:
    """One request as a server (or proxy) received it."""

    request_line: str
    headers: dict[str, str]


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Answers any request with a drive, logs in on ``do=login``, refuses CONNECT."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: RecordingServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self._answer()

    def do_CONNECT(self) -> None:  # noqa: N802
        self._record()
        self.send_error(403, "no tunnels here")

    def _record(self) -> None:
        self.server.seen.append(Seen(self.requestline, dict(self.headers.items())))

    def _answer(self) -> None:
        self._record()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"objects": [{"uuid": "a"}]}'
        self.send_response(200)
        if "do=login" in self.path:
            number = len(self.server.seen)
            self.send_header("Set-Cookie", f"csrftoken=csrf-{number}-token; Path=/")
            self.send_header("Set-Cookie", f"sessionid=session-{number}-id; Path=/; HttpOnly")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class RecordingServer(http.server.ThreadingHTTPServer):
    """A loopback HTTP(S) server or proxy that records requests and counts TCP connections."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.connections = 0
        self.seen: list[Seen] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        self.connections += 1  # before accept(), so failed TLS handshakes count too
        return super().get_request()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[RecordingServer]:
    server = RecordingServer(tls)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with serving() as running:
        yield running


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable of the machine running the tests, in either case."""
    for name in list(os.environ):
        if name.lower() in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}:
            monkeypatch.delenv(name)
    return monkeypatch


def drive(endpoint: str, **kwargs: Any) -> Drive:
    return Drive(endpoint + "/api/2.0/", USERNAME, PASSWORD, retry=0, **kwargs)


# --- one pool of connections for every client -------------------------------------------------


def test_two_clients_share_one_connection(server: RecordingServer) -> None:
    first, second = drive(server.url()), drive(server.url())
    answers = [first.get(A), second.get(A), first.get(A), second.get(A)]
    assert answers == [{"uuid": "a"}] * 4
    assert server.connections == 1
    assert first.c.http is not second.c.http  # each client still has its own Session


def test_a_new_drive_for_every_call_reuses_the_connection(server: RecordingServer) -> None:
    assert [drive(server.url()).get(A) for _ in range(5)] == [{"uuid": "a"}] * 5
    assert server.connections == 1


def test_closing_one_client_keeps_the_connection_another_live_client_uses(
    server: RecordingServer,
) -> None:
    first, second = drive(server.url()), drive(server.url())
    first.get(A)
    second.get(A)
    first.c.close()
    second.get(A)
    assert server.connections == 1
    second.c.close()  # the last user: the pool is closed
    drive(server.url()).get(A)
    assert server.connections == 2


def test_pools_of_hosts_no_live_client_uses_are_closed_beyond_the_limit(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_transport, "MAX_IDLE_HOSTS", 0)
    kept = drive(server.url())
    kept.get(A)
    with serving() as other_server:
        dropped = drive(server.url())
        dropped.get(A)
        del dropped
        gc.collect()
        drive(other_server.url()).get(A)  # the pool of `server` is still in use by `kept`
        kept.get(A)
        assert server.connections == 1
        del kept
        gc.collect()
        drive(other_server.url()).get(A)  # now nobody uses the pool of `server`
        drive(server.url()).get(A)
    assert server.connections == 2


def test_session_cookies_of_one_client_never_reach_another_sharing_the_connection(
    server: RecordingServer,
) -> None:
    endpoint = server.url() + "/api/2.0/"
    session_client = GenericClient(endpoint, "a@example.com", "password-a", login_method="session")
    basic_client = GenericClient(endpoint, "b@example.com", "password-b")
    session_client.get("/drives/")
    basic_client.get("/drives/")
    session_client.get("/drives/")
    login, session_get, basic_get, second_session_get = server.seen
    assert server.connections == 1  # the four requests went over one shared connection
    assert "sessionid=session-1-id" in session_get.headers["Cookie"]
    assert "Cookie" not in basic_get.headers and "X-CSRFToken" not in basic_get.headers
    assert basic_get.headers["Authorization"] == "Basic " + base64.b64encode(
        b"b@example.com:password-b"
    ).decode("ascii")
    assert "Authorization" not in second_session_get.headers
    assert second_session_get.headers["X-CSRFToken"] == "csrf-1-token"
    assert list(basic_client.http.cookies) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_opens_its_own_connection(server: RecordingServer) -> None:
    client = drive(server.url())
    client.get(A)
    pid = os.fork()
    if pid == 0:  # the child: it must not write into the parent's socket
        try:
            ok = client.get(A) == {"uuid": "a"} and drive(server.url()).get(A) == {"uuid": "a"}
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.get(A)  # the parent still has its own connection
    assert server.connections == 2
    assert len(server.seen) == 4


# --- the environment, read once per host ------------------------------------------------------


def test_http_proxy_from_the_environment_is_used(no_proxy_settings: pytest.MonkeyPatch) -> None:
    with serving() as proxy:
        no_proxy_settings.setenv("HTTP_PROXY", proxy.url())
        assert drive("http://api.test").get(A) == {"uuid": "a"}
    assert [seen.request_line for seen in proxy.seen] == [
        f"GET http://api.test/api/2.0/drives/{A}/ HTTP/1.1"
    ]


def test_https_proxy_from_the_environment_gets_a_connect(
    no_proxy_settings: pytest.MonkeyPatch,
) -> None:
    with serving() as proxy:
        no_proxy_settings.setenv("HTTPS_PROXY", proxy.url())
        with pytest.raises(errors.TransportError):
            drive("https://api.test:8443").get(A)  # this proxy refuses tunnels
    assert [seen.request_line.rpartition(" ")[0] for seen in proxy.seen] == [
        "CONNECT api.test:8443"
    ]


def test_no_proxy_sends_directly_and_is_decided_per_host(
    server: RecordingServer, no_proxy_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chunk = tmp_path / "chunk.img"
    chunk.write_bytes(b"x" * 10)
    with serving() as proxy:
        no_proxy_settings.setenv("HTTP_PROXY", proxy.url())
        no_proxy_settings.setenv("NO_PROXY", "127.0.0.1")
        client = drive(server.url())
        assert client.get(A) == {"uuid": "a"}
        # an upload link on another host of the same client goes through the proxy
        client.upload_chunk("http://direct.test/upload/1/", str(chunk), 0, 10)
    assert [seen.request_line for seen in server.seen] == [f"GET /api/2.0/drives/{A}/ HTTP/1.1"]
    assert [seen.request_line for seen in proxy.seen] == [
        "POST http://direct.test/upload/1/ HTTP/1.1"
    ]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RecordingServer, str, str]]:
    """An HTTPS server, the CA file that signed its certificate and an unrelated CA file."""
    import trustme

    server_ca, other_ca = trustme.CA(), trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert("127.0.0.1").configure_cert(context)
    paths = {"server-ca.pem": server_ca, "other-ca.pem": other_ca}
    for name, ca in paths.items():
        ca.cert_pem.write_to_path(str(tmp_path / name))
    with serving(context) as running:
        yield running, str(tmp_path / "server-ca.pem"), str(tmp_path / "other-ca.pem")


def test_requests_ca_bundle_is_used_when_verify_is_not_given(
    tls_server: tuple[RecordingServer, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, server_ca, other_ca = tls_server
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server_ca)
    assert drive(server.url("https")).get(A) == {"uuid": "a"}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca)
    with pytest.raises(errors.TransportError, match="TLS verification failed"):
        drive(server.url("https")).get(A)


def test_curl_ca_bundle_is_used_when_requests_ca_bundle_is_unset(
    tls_server: tuple[RecordingServer, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, server_ca, _ = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("CURL_CA_BUNDLE", server_ca)
    assert drive(server.url("https")).get(A) == {"uuid": "a"}


@pytest.mark.parametrize("how", ["argument", "config"])
def test_an_explicit_ca_bundle_wins_over_requests_ca_bundle(
    tls_server: tuple[RecordingServer, str, str],
    monkeypatch: pytest.MonkeyPatch,
    write_config: Callable[[str], Path],
    how: str,
) -> None:
    server, server_ca, other_ca = tls_server

    def client_trusting(ca_file: str) -> Drive:
        if how == "argument":
            return drive(server.url("https"), verify=ca_file)
        write_config(f"ca_bundle = {ca_file}\n")
        return drive(server.url("https"))

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca)
    assert client_trusting(server_ca).get(A) == {"uuid": "a"}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server_ca)
    with pytest.raises(errors.TransportError, match="TLS verification failed"):
        client_trusting(other_ca).get(A)


def test_a_verified_client_never_reuses_an_unverified_clients_connection(
    tls_server: tuple[RecordingServer, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, server_ca, other_ca = tls_server
    # unverified TLS is warned about through logging, not with urllib3's raw warning
    assert drive(server.url("https"), verify=False).get(A) == {"uuid": "a"}
    assert "TLS verification is off" in caplog.text
    with pytest.raises(errors.TransportError, match="TLS verification failed"):
        drive(server.url("https"), verify=other_ca).get(A)
    assert drive(server.url("https"), verify=server_ca).get(A) == {"uuid": "a"}
    assert server.connections == 3

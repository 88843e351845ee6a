"""``login_method = digest``: HTTP Digest (MD5, qop=auth) against a local server that checks
every response hash itself."""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from unit_support import PASSWORD, USERNAME

from cloudsigma import errors, resource
from cloudsigma.generic import GenericClient

REALM = "digest-test"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class DigestServer(http.server.ThreadingHTTPServer):
    """Answers ``/api/2.0/...`` with JSON once a Digest answer is right, else a 401 challenge.

    It checks the hash over USERNAME/PASSWORD, the realm, that the nonce is its own, that
    the nonce count grows, and that ``uri`` is the request's path; it records every request.
    """

    daemon_threads = True

    def __init__(self, *, answer_503_once: bool = False, echo: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), DigestHandler)
        self.nonces: dict[str, int] = {}
        self.seen: list[dict[str, Any]] = []
        self.answer_503_once = answer_503_once
        self.echo = echo
        self.lock = threading.Lock()
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/2.0/"

    def challenge(self) -> str:
        nonce = secrets.token_hex(16)
        self.nonces[nonce] = 0
        return f'Digest realm="{REALM}", nonce="{nonce}", qop="auth", algorithm=MD5'

    def verdict(self, method: str, path: str, header: str | None) -> str | None:
        """None when the Digest answer is right, else why it is not."""
        if not header or not header.startswith("Digest "):
            return "no Digest answer"
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', header[len("Digest ") :]))
        if params.get("uri") != path or params.get("realm") != REALM:
            return "wrong uri or realm"
        count = int(params.get("nc", "0"), 16)
        with self.lock:
            if self.nonces.get(params.get("nonce", ""), count) >= count:
                return "unknown nonce or a count already used"
            self.nonces[params["nonce"]] = count
        ha1 = md5(f"{params['username']}:{REALM}:{PASSWORD}")
        ha2 = md5(f"{method}:{path}")
        expected = md5(
            f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}"
        )
        if params["username"] != USERNAME or params["response"] != expected:
            return "wrong response hash"
        return None

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


class DigestHandler(http.server.BaseHTTPRequestHandler):
    server: DigestServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        header = self.headers.get("Authorization")
        problem = self.server.verdict(self.command, self.path, header)
        self.server.seen.append(
            {"method": self.command, "path": self.path, "auth": header, "problem": problem}
        )
        if problem is not None:
            self.send("401", 401, {"WWW-Authenticate": self.server.challenge()})
            return
        if self.server.answer_503_once:
            self.server.answer_503_once = False
            self.send("503", 503, {})
            return
        if self.server.echo:  # as a proxy that echoes the request does
            self.send(json.dumps({"error_message": header}), 400, {"X-Echo-Auth": str(header)})
            return
        sent = json.loads(body) if body else None
        self.send(json.dumps({"objects": [{"uuid": "u1", "sent": sent}]}), 200, {})

    def send(self, text: str, status: int, headers: dict[str, str]) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[DigestServer]:
    running = DigestServer()
    yield running
    running.close()


def digest_client(server: DigestServer, **kwargs: Any) -> GenericClient:
    return GenericClient(server.endpoint, USERNAME, PASSWORD, login_method="digest", **kwargs)


def test_login_method_digest_is_a_constant_and_a_choice() -> None:
    assert GenericClient.LOGIN_METHOD_DIGEST == "digest"
    assert "digest" in GenericClient.LOGIN_METHODS


def test_the_first_call_answers_the_challenge_and_later_calls_reuse_the_nonce(server) -> None:
    with digest_client(server, retry=0) as client:
        assert client.get("/drives/") == {"uuid": "u1", "sent": None}
        assert client.post("/drives/", {"name": "d"}) == {"uuid": "u1", "sent": {"name": "d"}}
        assert client.get("/servers/", query_params={"limit": 0}) == {"uuid": "u1", "sent": None}
    problems = [entry["problem"] for entry in server.seen]
    assert problems == ["no Digest answer", None, None, None]
    nonces = {re.search(r'nonce="(\w+)"', e["auth"]).group(1) for e in server.seen[1:]}
    assert len(nonces) == 1
    assert server.seen[-1]["path"] == "/api/2.0/servers/?limit=0"


def test_the_password_is_never_sent(server) -> None:
    with digest_client(server, retry=0) as client:
        client.get("/drives/")
    for entry in server.seen:
        assert PASSWORD not in (entry["auth"] or "")
        assert not (entry["auth"] or "").startswith("Basic ")


def test_a_wrong_password_raises_auth_error_after_one_answer(server) -> None:
    client = GenericClient(
        server.endpoint, USERNAME, "not-the-password", login_method="digest", retry=0
    )
    with client, pytest.raises(errors.AuthError) as refused:
        client.get("/drives/")
    assert refused.value.status_code == 401
    assert [e["problem"] for e in server.seen] == ["no Digest answer", "wrong response hash"]
    assert "not-the-password" not in str(refused.value)


def test_a_retried_call_answers_a_new_challenge(sleeps) -> None:
    flaky = DigestServer(answer_503_once=True)
    try:
        with digest_client(flaky, retry=2) as client:
            assert client.get("/drives/") == {"uuid": "u1", "sent": None}
    finally:
        flaky.close()
    # the challenge, the 503, then the first request again (sent before any nonce was
    # known): challenged anew, and answered again
    assert [e["problem"] for e in flaky.seen] == [
        "no Digest answer",
        None,
        "no Digest answer",
        None,
    ]
    assert len(sleeps) == 1


def test_digest_material_echoed_back_is_hidden_in_errors_and_logs(caplog) -> None:
    echoing = DigestServer(echo=True)
    caplog.set_level(logging.DEBUG)
    try:
        client = digest_client(echoing, retry=0, request_log_level="DEBUG")
        with client, pytest.raises(errors.ClientError) as refused:
            client.get("/drives/")
    finally:
        echoing.close()
    header = echoing.seen[-1]["auth"]
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', header[len("Digest ") :]))
    shown = [str(refused.value), repr(refused.value), caplog.text]
    for secret in (header[len("Digest ") :], params["response"], params["cnonce"]):
        assert all(secret not in text for text in shown), secret
    assert "X-Echo-Auth" in caplog.text  # the exchange was logged, with the value hidden


def test_a_resource_works_with_digest(server) -> None:
    drives = resource.Drive(server.endpoint, USERNAME, PASSWORD, login_method="digest", retry=0)
    assert drives.get("5c33a9b1-0000-4000-8000-000000000001")["uuid"] == "u1"
    drives.c.close()


def test_digest_from_the_configuration(server, write_config) -> None:
    write_config(
        f"api_endpoint = {server.endpoint}\nusername = {USERNAME}\n"
        f"password = {PASSWORD}\nlogin_method = digest\n"
    )
    with GenericClient(retry=0) as client:
        assert client.login_method == "digest"
        assert client.get("/drives/")["uuid"] == "u1"


def test_the_request_log_redacts_the_digest_answer(server, caplog) -> None:
    client = digest_client(server, retry=0, request_log_level="DEBUG")
    with client, caplog.at_level(logging.DEBUG, logger="cloudsigma.generic"):
        client.get("/drives/")
    logged = caplog.text
    assert "Digest username" not in logged
    assert PASSWORD not in logged

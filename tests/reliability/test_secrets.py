"""No secret reaches a log line, an exception message or a repr during a whole flow.

The flow logs every exchange at DEBUG (config ``request_log_level`` and the root logger at
DEBUG, every logger captured: cloudsigma, urllib3, websocket). The config-permission warning
is tested in tests/unit/test_conf.py (test_readable_by_others_is_warned_about).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudsigma import errors
from cloudsigma.generic import GenericClient
from cloudsigma.resource import Drive, Server, Websocket

GIB = 1024**3


@pytest.fixture
def logged_config(emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file for the emulator with request logging at DEBUG."""
    path = tmp_path / "cloudsigma.conf"
    path.write_text(
        "\n".join(
            [
                f"api_endpoint = {emu.api_endpoint}",
                f"ws_endpoint = {emu.ws_endpoint}",
                f"username = {emu.username}",
                f"password = {emu.password}",
                "request_log_level = DEBUG",
                "max_retries = 0",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    for name in ("API_ENDPOINT", "WS_ENDPOINT", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"CLOUDSIGMA_{name}", raising=False)
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", str(path))
    return path


@pytest.fixture
def every_log_line(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG.

    websocket-client's own wire trace (``websocket.enableTrace(True)``, off unless the
    program turns it on) dumps raw request headers, the async_auth cookie included; it is
    an opt-in of that library, like ``http.client``'s debuglevel, and is left off here.
    """
    caplog.set_level(logging.DEBUG)
    for name in ("cloudsigma", "urllib3", "websocket", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def collected_secrets(emu: Any, clients: list[GenericClient]) -> set[str]:
    """Every credential of the run, from both ends: password, Basic token, cookies, CSRF."""
    token = base64.b64encode(f"{emu.username}:{emu.password}".encode()).decode()
    found = {emu.password, token, emu.password + "-wrong"}

    def server_side() -> set[str]:
        values = set(emu.api.async_tokens)
        for session_id, (_, csrf) in emu.api.sessions.items():
            values |= {session_id, csrf}
        return values

    found |= emu.call(server_side)
    for client in clients:
        found |= {cookie.value for cookie in client.http.cookies if cookie.value}
        if client._csrf_token:
            found.add(client._csrf_token)
    return {value for value in found if value}


def run_flow(emu: Any) -> tuple[list[Any], list[BaseException]]:
    """The integration flow, plus a few forced errors; returns the objects and the errors."""
    drives, servers = Drive(), Server()
    drive = drives.create({"name": "secret-flow-disk", "size": GIB, "media": "disk"})
    drives.wait_for_status(drive["uuid"], "unmounted", timeout=30, interval=0.01)
    server = servers.create(
        {
            "name": "secret-flow-server",
            "cpu": 1000,
            "mem": GIB,
            "vnc_password": "vnc-secret",
            "drives": [
                {"boot_order": 1, "dev_channel": "0:0", "device": "virtio", "drive": drive["uuid"]}
            ],
        }
    )
    servers.update(
        server["uuid"],
        {
            "name": "secret-flow-server",
            "cpu": 2000,
            "mem": GIB,
            "vnc_password": "vnc-secret",
            "meta": {"k": "v"},
        },
    )
    with Websocket(timeout=5) as events:
        servers.start(server["uuid"])
        events.wait({"resource_type": "servers"}, timeout=5)
        servers.wait_for_status(server["uuid"], "running", timeout=30, interval=0.01)
        servers.stop(server["uuid"])
        servers.wait_for_status(server["uuid"], "stopped", timeout=30, interval=0.01)
    session_drives = Drive(login_method="session")
    session_drive = session_drives.create({"name": "by-session", "size": GIB, "media": "disk"})
    session_drives.update(session_drive["uuid"], {"meta": {"via": "session"}})
    failures: list[BaseException] = []
    forced = [
        lambda: drives.get("00000000-0000-0000-0000-000000000000"),
        lambda: drives.create({"name": "x", "size": -1, "media": "disk"}),
        lambda: session_drives.create({"name": "x", "size": "big", "media": "disk"}),
        lambda: servers.stop(server["uuid"]),
        lambda: session_drives.c.post(
            "/accounts/action/", {"password": emu.password}, query_params={"do": "nope"}
        ),
        lambda: Drive(password=emu.password + "-wrong").list(),
        lambda: GenericClient(
            emu.api_endpoint.replace("://", f"://{emu.username}:{emu.password}@").replace(
                f":{emu.port}/", ":1/"
            ),
            emu.username,
            emu.password,
            retry=0,
        ).get("/drives/"),
    ]
    for call in forced:
        with pytest.raises(errors.ApiClientError) as caught:
            call()
        failures.append(caught.value)
    session_drives.delete(session_drive["uuid"])
    servers.delete(server["uuid"])
    drives.delete(drive["uuid"])
    return [drives, servers, session_drives, drives.c, session_drives.c, events], failures


def test_no_secret_in_logs_errors_or_reprs(
    emu: Any,
    logged_config: Path,
    every_log_line: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    objects, failures = run_flow(emu)
    clients = [obj for obj in objects if isinstance(obj, GenericClient)]
    secrets = collected_secrets(emu, clients)
    # passwords (right and wrong), Basic token, async_auth, sessionid, csrftoken
    assert len(secrets) >= 6
    log_text = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        for record in every_log_line.records
    )
    assert "-----REQUEST:" in log_text and "<redacted>" in log_text  # the exchanges were logged
    assert "urllib3.connectionpool" in log_text
    error_text = "\n".join(
        f"{failure!s} {failure!r} {failure.errors!r} {failure.__cause__!s}" for failure in failures
    )
    assert any(isinstance(failure, errors.AuthError) for failure in failures)
    assert any(isinstance(failure, errors.TransportError) for failure in failures)
    repr_text = "\n".join(repr(obj) for obj in [*objects, emu])
    output = capfd.readouterr()
    for secret in secrets:
        assert secret not in log_text
        assert secret not in error_text
        assert secret not in repr_text
        assert secret not in output.out + output.err

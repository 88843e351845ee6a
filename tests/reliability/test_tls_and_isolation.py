"""TLS is verified by default; the emulator listens on loopback, asks for credentials on every
private route, and keeps each account's objects away from the others (sharing through ACL
grants is tested in tests/emulator/test_sharing.py).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from reliability_support import state_snapshot

from cloudsigma import errors
from cloudsigma.emulator.http.routes import PUBLIC, ROUTES
from cloudsigma.generic import GenericClient, WebsocketClient

GIB = 1024**3
OTHER = ("intruder@example.com", "intruder-password")


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Any]:
    from cloudsigma.emulator import Emulator

    with Emulator(host="127.0.0.1", tls=True, transition_delay=0) as emulator:
        yield emulator


@pytest.fixture
def plain_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config file, so that nothing but the arguments decides."""
    path = tmp_path / "cloudsigma.conf"
    path.write_text("", encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", str(path))
    for name in ("API_ENDPOINT", "WS_ENDPOINT", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"CLOUDSIGMA_{name}", raising=False)
    return path


def test_self_signed_emulator_is_refused_by_default_with_a_tls_error(
    tls_emulator: Any, plain_config: Path
) -> None:
    client = GenericClient(tls_emulator.api_endpoint, tls_emulator.username, tls_emulator.password)
    assert client.verify is True
    with client, pytest.raises(errors.TransportError, match="TLS verification failed") as caught:
        client.get("/drives/")
    assert "ca_bundle" in str(caught.value)
    assert tls_emulator.journal == []  # refused before any request was sent


def test_self_signed_emulator_is_accepted_with_its_ca_as_verify(
    tls_emulator: Any, plain_config: Path
) -> None:
    emu = tls_emulator
    with GenericClient(emu.api_endpoint, emu.username, emu.password, verify=emu.ca_path) as c:
        assert isinstance(c.get("/drives/"), list)


def test_self_signed_emulator_is_accepted_with_ca_bundle_in_config(
    tls_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", tls_emulator.config_path)
    assert f"ca_bundle = {tls_emulator.ca_path}" in Path(tls_emulator.config_path).read_text()
    with GenericClient() as client:
        assert client.verify == tls_emulator.ca_path
        assert isinstance(client.get("/drives/"), list)


def test_websocket_to_a_self_signed_emulator_is_refused_without_its_ca(
    tls_emulator: Any, plain_config: Path
) -> None:
    with pytest.raises(errors.TransportError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        WebsocketClient("cookie", 5, ws_endpoint=tls_emulator.ws_endpoint)


# --- listening and credentials -----------------------------------------------------------------


def test_emulator_binds_to_loopback_by_default() -> None:
    from cloudsigma.emulator import Emulator
    from cloudsigma.emulator.__main__ import parse_args

    assert parse_args([]).host == "127.0.0.1"
    with Emulator() as emulator:
        assert emulator.host == "127.0.0.1"
        (listener,) = emulator.listeners
        assert {address[0] for address in listener.addresses} == {"127.0.0.1"}
    with Emulator(direct_port=0) as emulator:
        assert len(emulator.listeners) == 2
        for listener in emulator.listeners:
            assert {address[0] for address in listener.addresses} == {"127.0.0.1"}


def concrete_paths(emu: Any, uuid: str) -> Iterator[tuple[str, str, str]]:
    """(method, path, handler) for every route, with every collection for ``{res}``."""
    collections = sorted(emu.backend.collections)
    values = {"uuid": uuid, "token": "some-token", "kind": "drives", "rest*": "a/b"}
    for method, pattern, handler in ROUTES:
        names = collections if "{res}" in pattern else [""]
        for name in names:
            parts = [
                name if part == "{res}" else values.get(part.strip("{}"), part)
                for part in pattern.split("/")
            ]
            yield method, "/".join(parts) + "/", handler


def test_every_private_route_answers_401_without_credentials(emu: Any) -> None:
    drive = emu.call(
        lambda: emu.backend.collections["drives"].create_many(
            emu.account(), [{"name": "d", "size": GIB, "media": "disk"}], {}
        )
    )[0]
    checked = 0
    with requests.Session() as anonymous:
        for method, path, handler in concrete_paths(emu, drive["uuid"]):
            params = {"do": "check_login"} if handler == "account_action" else {}
            answer = anonymous.request(
                method, emu.api_endpoint + path, params=params, json={}, timeout=10
            )
            if handler in PUBLIC:
                assert answer.status_code != 401, (method, path)
                continue
            assert answer.status_code == 401, (method, path, answer.status_code, answer.text)
            assert answer.json()[0]["error_type"] == "permission"
            checked += 1
    assert checked > 500
    assert len(emu.account().objects["drives"]) == 1


@pytest.mark.parametrize("action", ["create", "login"])
def test_account_create_and_login_need_no_credentials(emu: Any, action: str) -> None:
    body = (
        {"email": "new@example.com", "password": "new-password-1"}
        if action == "create"
        else {"username": emu.username, "password": emu.password}
    )
    answer = requests.post(
        emu.api_endpoint + "accounts/action/", params={"do": action}, json=body, timeout=10
    )
    assert answer.status_code == 200, answer.text


# --- isolation between accounts ------------------------------------------------------------------

ED25519_BLOB = base64.b64encode(
    struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + bytes(range(32))
).decode()
OWN_OBJECTS = {
    "drives": {"name": "d", "size": GIB, "media": "disk"},
    "servers": {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "v"},
    "tags": {"name": "t"},
    "fwpolicies": {"name": "f", "rules": []},
    "acls": {"name": "a", "rules": []},
    "snapshots": None,  # made from the drive below
    "notification_contacts": {"name": "n", "email": "n@example.com", "phone": ""},
    "keypairs": {"name": "k", "public_key": "ssh-ed25519 " + ED25519_BLOB},
    "subscriptions": {"amount": 1, "period": "1 month", "resource": "ip"},
}


@pytest.fixture
def owned(emu: Any) -> dict[str, str]:
    """One object of each kind that can be created, owned by the default account."""
    uuids: dict[str, str] = {}
    with requests.Session() as http:
        http.auth = (emu.username, emu.password)
        for resource, values in OWN_OBJECTS.items():
            if resource == "snapshots":
                values = {"drive": uuids["drives"], "name": "snap"}
            answer = http.post(f"{emu.api_endpoint}{resource}/", json=values, timeout=10)
            assert answer.status_code in (200, 201, 202), (resource, answer.text)
            uuids[resource] = answer.json()["objects"][0]["uuid"]
        for resource in ("ips", "vlans"):
            listed = http.get(f"{emu.api_endpoint}{resource}/", timeout=10).json()["objects"]
            if listed:
                uuids[resource] = listed[0]["uuid"]
    assert {"ips", "vlans"} <= set(uuids)  # given by the subscription
    return uuids


def test_another_account_can_neither_see_nor_touch_any_object(
    emu: Any, owned: dict[str, str]
) -> None:
    emu.create_account(*OTHER)
    emu.advance()
    before = state_snapshot(emu)
    with requests.Session() as intruder:
        intruder.auth = OTHER
        for resource, uuid in owned.items():
            base = f"{emu.api_endpoint}{resource}/"
            for method, url, params in [
                ("GET", f"{base}{uuid}/", {}),
                ("PUT", f"{base}{uuid}/", {}),
                ("DELETE", f"{base}{uuid}/", {}),
                ("POST", f"{base}{uuid}/action/", {"do": "start"}),
                ("POST", f"{base}{uuid}/action/", {"do": "clone"}),
            ]:
                answer = intruder.request(
                    method, url, params=params, json={"name": "x"}, timeout=10
                )
                if answer.status_code == 405:  # the method is not served on this collection at all
                    unknown = url.replace(uuid, "00000000-0000-4000-8000-000000000000")
                    again = intruder.request(method, unknown, params=params, json={}, timeout=10)
                    assert again.status_code == 405, (method, url)
                    continue
                assert answer.status_code == 404, (method, url, answer.status_code, answer.text)
            for listing in (base, base + "detail/"):
                answer = intruder.get(listing, params={"limit": 0}, timeout=10)
                assert answer.status_code == 200, answer.text
                seen = {obj.get("uuid") for obj in answer.json()["objects"]}
                assert uuid not in seen, (resource, listing)
    assert state_snapshot(emu) == before

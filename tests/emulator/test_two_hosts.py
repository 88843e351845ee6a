"""Two hosts like the cloud: the API host and the direct host (raw upload, downloads and the
websocket), signed download links between them, and strict mode refusing mixed-up hosts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from emulator_support import GIB, Api, assert_api_error

from cloudsigma.emulator import Emulator
from cloudsigma.emulator.http import hosts

IMAGE = bytes(range(256)) * 4096  # 1 MiB, every byte value


@pytest.fixture(scope="module")
def split_server() -> Iterator[Emulator]:
    with Emulator(transition_delay=None, direct_port=0) as emulator:
        yield emulator


@pytest.fixture
def split(split_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    split_server.reset()
    monkeypatch.setattr(split_server, "strict", False)
    return split_server


@pytest.fixture
def strict(split: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setattr(split, "strict", True)
    return split


def clients(emu: Emulator) -> tuple[Api, Api]:
    return (
        Api(emu.api_endpoint, emu.username, emu.password),
        Api(emu.direct_endpoint, emu.username, emu.password),
    )


@pytest.fixture
def api_host(split: Emulator) -> Iterator[Api]:
    client = clients(split)[0]
    yield client
    client.close()


@pytest.fixture
def direct_host(split: Emulator) -> Iterator[Api]:
    client = clients(split)[1]
    yield client
    client.close()


def raw_upload(client: Api, data: bytes = IMAGE, name: str = "image.raw") -> requests.Response:
    return client.post(
        f"drives/upload/{name}", data=data, headers={"Content-Type": "application/octet-stream"}
    )


@pytest.fixture
def uploaded(direct_host: Api) -> str:
    response = raw_upload(direct_host)
    assert response.status_code == 200, response.text
    return response.text


def test_the_hosts_listen_apart_and_are_written_to_config_and_locations(split, api_host):
    assert split.direct_port and split.direct_port != split.port
    assert split.direct_endpoint == f"http://127.0.0.1:{split.direct_port}/api/2.0/"
    assert split.ws_endpoint == f"ws://127.0.0.1:{split.direct_port}/websocket"
    with open(split.config_path, encoding="utf-8") as config:
        text = config.read()
    assert f"api_endpoint = {split.api_endpoint}\n" in text
    assert f"direct_endpoint = {split.direct_endpoint}\n" in text
    assert f"ws_endpoint = {split.ws_endpoint}\n" in text
    (location,) = api_host.ok("GET", "locations/")["objects"]
    assert location["api_endpoint"] == split.api_endpoint
    assert location["upload_url"] == split.direct_endpoint
    assert location["websocket_url"] == split.ws_endpoint


def test_one_listener_serves_every_role_by_default(emu, api):
    (location,) = api.ok("GET", "locations/")["objects"]
    assert location["upload_url"] == location["api_endpoint"] == emu.api_endpoint
    assert emu.direct_endpoint == emu.api_endpoint
    assert f"direct_endpoint = {emu.api_endpoint}" in emu.config_lines()


def test_raw_upload_on_the_direct_host_answers_the_uuid(api_host, uploaded):
    drive = api_host.ok("GET", f"drives/{uploaded}/")
    assert drive["status"] == "unmounted"
    assert drive["name"] == "image.raw"


def test_download_from_the_direct_host_with_credentials(direct_host, uploaded):
    response = direct_host.get(f"drives/{uploaded}/download/", headers={"Range": "bytes=0-1023"})
    assert response.status_code == 206
    assert response.content == IMAGE[:1024]


def test_download_from_the_api_host_redirects_to_a_signed_link(split, api_host, uploaded):
    response = api_host.get(f"drives/{uploaded}/download/", allow_redirects=False)
    assert response.status_code == 302
    link = response.headers["Location"]
    assert link.startswith(f"{split.direct_endpoint}drives/{uploaded}/download/")
    with requests.get(link, headers={"Range": f"bytes=0-{len(IMAGE) - 1}"}, timeout=10) as fetched:
        assert fetched.status_code == 206
        assert fetched.content == IMAGE
        assert fetched.headers["Content-Disposition"] == f'attachment; filename="{uploaded}"'


def test_following_the_redirect_does_not_send_the_credentials_on(split, api_host, uploaded):
    response = api_host.get(f"drives/{uploaded}/download/", headers={"Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.content == IMAGE[:10]
    assert [r.status_code for r in response.history] == [302]
    assert "Authorization" in response.history[0].request.headers
    assert "Authorization" not in response.request.headers
    assert response.url.startswith(split.direct_endpoint)


def test_the_api_host_checks_the_drive_before_redirecting(api_host):
    missing = api_host.get("drives/00000000-0000-4000-8000-000000000000/download/")
    assert_api_error(missing, 404, "notexist")


def test_a_signed_link_of_another_account_drive_or_a_tampered_one_is_refused(
    split, api_host, uploaded
):
    link = api_host.get(f"drives/{uploaded}/download/", allow_redirects=False).headers["Location"]
    tampered = link[:-2] + ("0" if link[-2] != "0" else "1") + "/"
    assert_api_error(requests.get(tampered, timeout=10), 403, "permission", "not valid")
    other = api_host.ok("POST", "drives/", 201, json={"name": "o", "size": GIB, "media": "disk"})
    moved = link.replace(uploaded, other["objects"][0]["uuid"])
    assert_api_error(requests.get(moved, timeout=10), 403, "permission", "not valid")


def test_a_signed_link_expires(api_host, uploaded, monkeypatch):
    link = api_host.get(f"drives/{uploaded}/download/", allow_redirects=False).headers["Location"]
    later = time.time() + hosts.LINK_LIFETIME + 1
    monkeypatch.setattr(hosts.time, "time", lambda: later)
    assert_api_error(requests.get(link, timeout=10), 403, "permission", "expired")


def test_the_websocket_is_on_the_direct_host(split, api_host):
    answer = api_host.post("accounts/action/", params={"do": "authenticate_asynchronous"}, json={})
    cookie = f"async_auth={answer.cookies['async_auth']}"
    for path in ("/websocket", "/2.0/websocket"):
        url = split.ws_endpoint.replace("/websocket", path)
        socket = websocket.create_connection(url, cookie=cookie, timeout=5)
        try:
            api_host.ok("POST", "drives/", 201, json={"name": path, "size": GIB, "media": "disk"})
            assert json.loads(socket.recv())["resource_type"] == "drives"
        finally:
            socket.close()


def test_without_strict_the_api_host_accepts_a_raw_upload(api_host):
    response = raw_upload(api_host, b"x" * 4096)
    assert response.status_code == 200


def test_strict_refuses_a_raw_upload_on_the_api_host_naming_the_direct_host(strict):
    api_host, direct_host = clients(strict)
    error = assert_api_error(raw_upload(api_host, b"x" * 4096), 400, "validation", "direct host")
    assert strict.direct_endpoint + "drives/upload/" in error["error_message"]
    assert raw_upload(direct_host, b"x" * 4096).status_code == 200
    before = {d["uuid"] for d in api_host.ok("GET", "drives/")["objects"]}
    assert len(before) == 1  # the refused upload left no drive behind


def test_strict_refuses_api_calls_on_the_direct_host_naming_the_api_host(strict):
    api_host, direct_host = clients(strict)
    error = assert_api_error(direct_host.get("drives/"), 400, "validation", "API calls")
    assert strict.api_endpoint in error["error_message"]
    assert api_host.get("drives/").status_code == 200


def test_strict_serves_the_websocket_only_on_the_direct_host(strict):
    api_host, _ = clients(strict)
    answer = api_host.post("accounts/action/", params={"do": "authenticate_asynchronous"}, json={})
    cookie = f"async_auth={answer.cookies['async_auth']}"
    on_api_host = f"ws://127.0.0.1:{strict.port}/websocket"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(on_api_host, cookie=cookie, timeout=5)
    assert refused.value.status_code == 400
    websocket.create_connection(strict.ws_endpoint, cookie=cookie, timeout=5).close()


def test_strict_download_from_the_api_host_still_redirects(strict, monkeypatch):
    api_host, direct_host = clients(strict)
    uuid = raw_upload(direct_host, b"y" * 4096).text
    response = api_host.get(f"drives/{uuid}/download/", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206 and response.content == b"yyyy"


def test_strict_has_no_effect_on_a_single_listener(emu, api, monkeypatch: Any):
    monkeypatch.setattr(emu, "strict", True)
    assert raw_upload(api, b"z" * 4096).status_code == 200
    assert api.get("drives/").status_code == 200

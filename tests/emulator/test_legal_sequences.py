"""Legal client sequences and odd but valid input get the API's own 4xx, never a 500, and a
refused request changes nothing."""

from __future__ import annotations

import base64
import gzip
import threading
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
from emulator_support import GIB, assert_api_error, server_body, state_of

from cloudsigma.emulator.http import transfers
from cloudsigma.emulator.models.listing import order


def power(api: Any, server: dict, action: str) -> requests.Response:
    return api.post(f"servers/{server['uuid']}/action/", params={"do": action}, json={})


def status_of(api: Any, server: dict) -> str:
    return api.ok("GET", f"servers/{server['uuid']}/")["status"]


@pytest.mark.parametrize("action", ["stop", "shutdown"])
def test_stopping_a_starting_server_is_refused_and_the_start_goes_on(emu, api, server, action):
    assert power(api, server, "start").status_code == 202
    before = state_of(emu)
    answer = power(api, server, action)
    assert_api_error(answer, 403, "permission", "Cannot")
    assert '"starting"' in answer.json()[0]["error_message"]
    assert state_of(emu) == before
    emu.advance()
    assert status_of(api, server) == "running"


def test_a_shutdown_overtaken_by_a_stop_and_a_start_does_not_stop_the_server(emu, api, server):
    power(api, server, "start")
    emu.advance()
    assert power(api, server, "shutdown").status_code == 202
    assert power(api, server, "stop").status_code == 202
    assert emu.step()  # the stop happens; the shutdown must not happen later
    assert status_of(api, server) == "stopped"
    assert power(api, server, "start").status_code == 202
    emu.advance()
    assert status_of(api, server) == "running"


def test_a_restart_overtaken_by_a_stop_ends_stopped(emu, api, server):
    power(api, server, "start")
    emu.advance()
    assert power(api, server, "restart").status_code == 202
    assert power(api, server, "stop").status_code == 202
    emu.advance()
    assert status_of(api, server) == "stopped"


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("password", ["é", "emulator-test-password\u2603", "\U0001f600"])
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "drives/"), ("POST", "servers/"), ("DELETE", "drives/x/")]
)
def test_the_right_username_with_a_non_ascii_password_is_401(emu, method, path, password):
    before = state_of(emu)
    answer = requests.request(
        method,
        emu.api_endpoint + path,
        headers=basic(emu.username, password),
        json=server_body(),
        timeout=10,
    )
    assert_api_error(answer, 401, "permission")
    assert state_of(emu) == before


@pytest.mark.parametrize("password", ["é", "\U0001f600"])
def test_a_login_with_a_non_ascii_password_is_401(emu, password):
    answer = requests.post(
        emu.api_endpoint + "accounts/action/",
        params={"do": "login"},
        json={"username": emu.username, "password": password},
        timeout=10,
    )
    assert_api_error(answer, 401, "permission")
    assert "sessionid" not in answer.cookies


@pytest.mark.parametrize("token", ["é".encode(), b"\xff\xfe", "\u2603".encode()])
def test_a_non_ascii_csrf_token_is_403(emu, token):
    login = requests.post(
        emu.api_endpoint + "accounts/action/",
        params={"do": "login"},
        json={"username": emu.username, "password": emu.password},
        timeout=10,
    )
    before = state_of(emu)
    answer = requests.post(
        emu.api_endpoint + "drives/",
        cookies=login.cookies,
        headers={"X-CSRFToken": token},
        json={"name": "d", "size": GIB, "media": "disk"},
        timeout=10,
    )
    assert_api_error(answer, 403, "permission", "CSRF")
    assert state_of(emu) == before


def test_order_by_a_field_holding_numbers_and_strings_sorts_numbers_first():
    objects = [{"k": "b"}, {"k": 10}, {"k": None}, {"k": 2.5}, {"k": "a"}, {"k": [1]}]
    keys = [obj["k"] for obj in order(objects, {"order_by": "k"})]
    assert keys == [2.5, 10, "a", "b", [1], None]
    assert [obj["k"] for obj in order(objects, {"order_by": "-k"})] == keys[::-1]


@pytest.mark.parametrize(
    "timing",
    [
        {"period": "10000 years"},
        {"period": "99999999999999999999 days"},
        {"end_time": "9999-12-31T23:59:59+00:00"},
        {"start_time": "9999-12-31T12:00:00", "period": "1 day"},
        {"end_time": "0001-01-01T00:00:00", "period": "2 days"},
    ],
)
@pytest.mark.parametrize("collection", ["subscriptions", "subscriptioncalculator"])
def test_subscription_times_beyond_the_calendar_are_400(emu, api, collection, timing):
    before = state_of(emu)
    answer = api.post(f"{collection}/", json={"resource": "dssd", "amount": 1, **timing})
    error = assert_api_error(answer, 400, "validation")
    assert error["error_point"] in ("period", "start_time", "end_time")
    assert state_of(emu) == before


def nested(depth: int) -> str:
    return '{"k": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [900, 5000])
@pytest.mark.parametrize(
    ("path", "wrap"),
    [
        ("global_context/", "{}"),
        ("drives/", '{"name": "d", "size": 1073741824, "media": "disk", "meta": {}}'),
        ("tags/", '{"name": "t", "meta": {}}'),
    ],
)
def test_values_nested_too_deep_are_400(emu, api, path, wrap, depth):
    body = wrap.replace("{}", nested(depth), 1) if path != "global_context/" else nested(depth)
    before = state_of(emu)
    answer = api.post(path, data=body, headers={"Content-Type": "application/json"})
    assert_api_error(answer, 400, "validation", "nested")
    assert state_of(emu) == before


def test_a_value_nested_moderately_is_kept(emu, api):
    api.ok("POST", "global_context/", data=nested(30), headers={"Content-Type": "application/json"})
    assert "k" in api.ok("GET", "global_context/")


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(b'{"name": "d", "size": 1073741824, "media": "disk"}', mtime=0)[:-8],
        b"\x1f\x8b\x08\x00garbage that is not deflate",
        gzip.compress(b"{}", mtime=0)[:10],
    ],
    ids=["truncated", "not-deflate", "header-only"],
)
def test_a_broken_gzip_body_is_400(emu, api, body):
    before = state_of(emu)
    answer = api.post(
        "drives/",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert_api_error(answer, 400, "validation", "gzip")
    assert state_of(emu) == before


def test_a_good_gzip_body_is_read(emu, api):
    body = gzip.compress(b'{"name": "zipped", "size": 1073741824, "media": "disk"}')
    answer = api.ok(
        "POST",
        "drives/",
        201,
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert answer["objects"][0]["name"] == "zipped"


class SlowBody:
    """A request body that stops after ``first`` until ``gate`` is set; it has a length, so
    it is sent with a Content-Length (a bare generator would be sent chunked)."""

    def __init__(self, first: bytes, gate: threading.Event, rest: bytes) -> None:
        self.parts, self.gate = (first, rest), gate

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __iter__(self):
        yield self.parts[0]
        assert self.gate.wait(10)
        yield self.parts[1]


@pytest.fixture
def upload_started(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once the emulator begins to read an upload body."""
    started = threading.Event()
    original = transfers.stream_into

    async def signalling(*args: Any, **kwargs: Any) -> int:
        started.set()
        return await original(*args, **kwargs)

    monkeypatch.setattr(transfers, "stream_into", signalling)
    return started


def multipart_chunk(size: int, boundary: str) -> tuple[bytes, bytes]:
    """The start (with 1000 bytes of data) and the rest of a resumable chunk body."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + b"x" * 1000
    return head, b"y" * (size - 1000) + f"\r\n--{boundary}--\r\n".encode()


def test_deleting_a_drive_while_its_upload_streams_in_refuses_the_rest(emu, api, upload_started):
    size = 256 * 1024
    drive = api.ok("POST", "initupload/", 201, json={"name": "u", "size": size, "media": "disk"})
    uuid = drive["objects"][0]["uuid"]
    gate, answers = threading.Event(), []
    params = {"resumableChunkNumber": 1, "resumableChunkSize": size, "resumableTotalSize": size}
    head, rest = multipart_chunk(size, "b0undary")

    def upload() -> None:
        headers = {"Content-Type": "multipart/form-data; boundary=b0undary"}
        body = SlowBody(head, gate, rest)
        answers.append(
            api.post(f"drives/{uuid}/upload/", params=params, data=body, headers=headers)
        )

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert upload_started.wait(10)
        assert api.delete(f"drives/{uuid}/").status_code == 204
    finally:
        gate.set()
        uploader.join(30)
    assert_api_error(answers[0], 404, "notexist")
    assert api.get(f"drives/{uuid}/").status_code == 404
    assert emu.call(lambda: uuid not in emu.backend.images and uuid not in emu.backend.uploads)


def test_deleting_a_drive_while_its_simple_upload_streams_in_refuses_the_rest(
    emu, api, upload_started
):
    gate, answers = threading.Event(), []
    body = SlowBody(b"a" * 1000, gate, b"b" * 3096)

    def upload() -> None:
        headers = {"Content-Type": "application/octet-stream"}
        answers.append(api.post("drives/upload/", data=body, headers=headers))

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert upload_started.wait(10)
        uuid = api.ok("GET", "drives/")["objects"][0]["uuid"]
        assert api.delete(f"drives/{uuid}/").status_code == 204
    finally:
        gate.set()
        uploader.join(30)
    assert_api_error(answers[0], 404, "notexist")
    assert api.ok("GET", "drives/")["objects"] == []
    assert emu.call(lambda: not emu.backend.images and not emu.backend.uploads)


@pytest.mark.parametrize("segment", ["%08", "%1F", "a%00b", "%EF%BF%BF"])
def test_an_xml_answer_naming_control_characters_is_well_formed(emu, api, segment):
    answer = api.get(f"drives/{segment}/", headers={"Accept": "application/xml"})
    assert answer.status_code == 404
    root = ElementTree.fromstring(answer.content)
    assert root.find("object/error_type").text == "notexist"

"""The control routes answer only requests no web page can send, and only with the token of
the emulator's configuration file."""

from __future__ import annotations

import pytest
import requests
from emulator_support import assert_api_error, state_of

from cloudsigma.conf import parse_config_text

CONTROL = ["reset", "accounts", "transitions", "journal", "faults"]


def control(emu, method: str, name: str, **kwargs) -> requests.Response:
    headers = {**emu.control_headers, **kwargs.pop("headers", {})}
    for key in [k for k, v in headers.items() if v is None]:
        del headers[key]
    url = f"{emu.base_url}/_emulator/{name}/"
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "10.0.0.1"])
@pytest.mark.parametrize(("method", "name"), [("GET", "accounts"), ("POST", "reset")])
def test_a_foreign_host_is_refused(emu, api, drive, method, name, host):
    before = state_of(emu)
    answer = control(emu, method, name, headers={"Host": f"{host}:{emu.port}"}, json={})
    assert_api_error(answer, 403, "permission", "loopback Host")
    assert emu.username not in answer.text
    assert state_of(emu) == before


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.evil:80"])
@pytest.mark.parametrize("name", CONTROL)
def test_a_foreign_origin_is_refused(emu, api, drive, name, origin):
    before = state_of(emu)
    answer = control(emu, "POST", name, headers={"Origin": origin}, json={})
    assert_api_error(answer, 403, "permission", origin)
    assert state_of(emu) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
@pytest.mark.parametrize("name", ["reset", "accounts", "transitions", "faults"])
def test_a_post_that_is_not_json_is_refused(emu, api, drive, name, content_type):
    before = state_of(emu)
    body = '{"email": "x@example.com", "password": "p", "delay": 5, "spec": "503=1"}'
    answer = control(emu, "POST", name, headers={"Content-Type": content_type}, data=body)
    assert_api_error(answer, 415, "validation", "application/json")
    assert state_of(emu) == before
    assert emu.api.faults.report()["active"] is False


@pytest.mark.parametrize("token", [None, "", "wrong", "é"])
@pytest.mark.parametrize(
    ("method", "name"), [("GET", "journal"), ("POST", "reset"), ("GET", "faults")]
)
def test_a_request_without_the_token_is_refused(emu, api, drive, method, name, token):
    before = state_of(emu)
    answer = control(emu, method, name, headers={"X-Emulator-Token": token}, json={})
    assert_api_error(answer, 401, "permission", "X-Emulator-Token")
    assert state_of(emu) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_hosts_with_the_token_are_served(emu, host):
    answer = control(emu, "GET", "transitions", headers={"Host": f"{host}:{emu.port}"})
    assert answer.status_code == 200 and answer.json()["pending"] == 0


def test_the_same_origin_is_served(emu):
    answer = control(emu, "GET", "accounts", headers={"Origin": emu.base_url})
    assert answer.status_code == 200


def test_the_token_is_in_the_configuration_file(emu):
    with open(emu.config_path, encoding="utf-8") as config_file:
        values = parse_config_text(config_file.read())
    assert values["emulator_token"] == emu.control_token
    assert len(emu.control_token) >= 32

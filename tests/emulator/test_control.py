"""Control endpoints under /_emulator/ and the in-process Emulator API."""

from __future__ import annotations

import os
import stat

import requests
from emulator_support import GIB


def control(emu, method, name, **kwargs):
    url = f"{emu.base_url}/_emulator/{name}/"
    response = requests.request(method, url, headers=emu.control_headers, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_reset_forgets_objects_and_recreates_the_default_account(emu, api, drive):
    old_uuid = api.ok("GET", "profile/")["uuid"]
    assert control(emu, "POST", "reset") == {"reset": True}
    assert api.ok("GET", "drives/")["meta"]["total_count"] == 0
    assert api.ok("GET", "profile/")["uuid"] != old_uuid


def test_transition_delay_can_be_read_set_and_advanced(emu, api):
    assert control(emu, "GET", "transitions") == {"delay": None, "pending": 0, "timing": "uniform"}
    drive = api.create("drives", name="d", size=GIB, media="disk")
    assert control(emu, "GET", "transitions")["pending"] == 1
    answer = control(emu, "POST", "transitions", json={"advance": True})
    assert answer["applied"] == 1 and answer["pending"] == 0
    assert api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "unmounted"
    assert control(emu, "POST", "transitions", json={"delay": 0.5})["delay"] == 0.5
    assert emu.transition_delay == 0.5


def test_bad_transition_delay_is_400(emu):
    response = requests.post(
        f"{emu.base_url}/_emulator/transitions/",
        json={"delay": -1},
        headers=emu.control_headers,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()[0]["error_point"] == "delay"


def test_journal_records_method_path_status_without_credentials(emu, api, anonymous):
    api.get("drives/")
    anonymous.get("servers/")
    entries = control(emu, "GET", "journal")["objects"]
    assert {"method": "GET", "path": "/api/2.0/drives/", "status": 200} in entries
    assert {"method": "GET", "path": "/api/2.0/servers/", "status": 401} in entries
    assert emu.password not in str(entries)


def test_accounts_can_be_created_through_control(emu):
    created = control(emu, "POST", "accounts", json={"email": "c@example.com", "password": "pw"})
    assert created["email"] == "c@example.com" and "password" not in created
    response = requests.get(emu.api_endpoint + "profile/", auth=("c@example.com", "pw"), timeout=10)
    assert response.json()["uuid"] == created["uuid"]


def test_control_endpoints_are_not_under_the_api(emu, api):
    assert api.post("_emulator/reset/").status_code == 404


def test_in_process_attributes_and_config_file(emu):
    assert emu.api_endpoint == f"http://127.0.0.1:{emu.port}/api/2.0/"
    assert emu.ws_endpoint == f"ws://127.0.0.1:{emu.port}/websocket"
    mode = stat.S_IMODE(os.stat(emu.config_path).st_mode)
    assert mode == 0o600
    with open(emu.config_path, encoding="utf-8") as config_file:
        text = config_file.read()
    assert f"api_endpoint = {emu.api_endpoint}" in text
    assert f"password = {emu.password}" in text
    assert os.environ["CLOUDSIGMA_CONFIG"] == emu.config_path


def test_backend_exposes_state_and_create_account(emu, api, drive):
    other = emu.create_account("direct@example.com", "pw")
    assert emu.backend.by_email["direct@example.com"] is other
    assert drive["uuid"] in emu.account().objects["drives"]


def test_step_applies_one_change_at_a_time(emu, api):
    first = api.create("drives", name="a", size=GIB, media="disk")
    second = api.create("drives", name="b", size=GIB, media="disk")
    assert emu.step() is True
    assert api.ok("GET", f"drives/{first['uuid']}/")["status"] == "unmounted"
    assert api.ok("GET", f"drives/{second['uuid']}/")["status"] == "creating"
    assert emu.step() is True and emu.step() is False


def test_a_real_delay_moves_states_on_its_own(emu, api):
    emu.transition_delay = 0
    drive = api.create("drives", name="a", size=GIB, media="disk")
    for _ in range(200):
        if api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "unmounted":
            break
    assert api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "unmounted"

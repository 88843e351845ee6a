"""A serial context device named after a server stays with that server once it is found."""

from __future__ import annotations

import json

from emulator_support import server_body
from test_serial_context import ask


def test_a_device_asked_for_by_name_follows_its_server_through_a_rename(emu, api):
    device = emu.serial_device("web")
    server = api.create("servers", **server_body("web"))
    assert ask(device, "uuid") == server["uuid"]
    api.ok("PUT", f"servers/{server['uuid']}/", json={"name": "renamed"})
    assert ask(device, "name") == "renamed"


def test_another_server_taking_the_name_does_not_take_the_device(emu, api):
    device = emu.serial_device("web")
    first = api.create("servers", **server_body("web"))
    assert ask(device, "uuid") == first["uuid"]
    api.ok("PUT", f"servers/{first['uuid']}/", json={"name": "old-web"})
    api.create("servers", **server_body("web"))
    assert ask(device, "uuid") == first["uuid"]


def test_a_device_whose_server_was_deleted_answers_nothing(emu, api):
    device = emu.serial_device("web")
    first = api.create("servers", **server_body("web"))
    assert ask(device, "name") == "web"
    api.delete(f"servers/{first['uuid']}/")
    api.create("servers", **server_body("web"))
    assert json.loads(ask(device, "") or "{}") == {}


def test_a_device_asked_for_before_its_server_exists_binds_when_it_appears(emu, api):
    device = emu.serial_device("later")
    assert ask(device, "name") == ""
    server = api.create("servers", **server_body("later"))
    assert ask(device, "uuid") == server["uuid"]

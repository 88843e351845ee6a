"""Websocket events: wait for a change to an object, and for its deletion."""

from __future__ import annotations

import pytest
from integration_support import GIB, assert_gone, unique_name

from cloudsigma import resource

pytestmark = pytest.mark.live


def test_wait_obj_uri_returns_the_changed_drive(api, tracker, wait_timeout):
    with api.websocket(timeout=wait_timeout) as websocket:
        drive = api.drives.create({"name": unique_name("ws"), "size": GIB, "media": "disk"})
        tracker.track("drives", drive)
        seen = websocket.wait_obj_uri(drive["resource_uri"], resource.Drive, timeout=wait_timeout)

    assert seen["uuid"] == drive["uuid"]
    assert seen["name"] == drive["name"]


def test_wait_for_status_follows_a_server_start(api, make_server, wait_timeout):
    server = make_server("ws-start")
    with api.websocket(timeout=wait_timeout) as websocket:
        api.servers.start(server["uuid"])
        running = websocket.wait_for_status(
            server["resource_uri"], resource.Server, "running", timeout=wait_timeout
        )

    assert running["uuid"] == server["uuid"]
    assert running["status"] == "running"


def test_deletion_sends_an_event_for_the_object(api, make_drive, wait_timeout):
    drive = make_drive("ws-delete")
    with api.websocket(timeout=wait_timeout) as websocket:
        api.drives.delete(drive["uuid"])
        events = websocket.wait({"resource_uri": drive["resource_uri"]}, timeout=wait_timeout)

    assert events[-1]["resource_uri"] == drive["resource_uri"]
    api.drives.wait_deleted(drive["uuid"], timeout=wait_timeout)
    assert_gone(api.drives, drive["uuid"])

"""Server actions, drive clone and resize, and ``wait``, run as commands against the emulator."""

from __future__ import annotations

import cli_support
import pytest
from cli_support import UNKNOWN_UUID, api_error, assert_reports_api_error, record_fields

from cloudsigma import resource


def running_server() -> dict:
    servers = resource.Server()
    server = cli_support.server()
    servers.start(server["uuid"])
    return servers.wait_for_status(server["uuid"], "running", timeout=30)


#: action verb -> (needs a running server, status after --wait or None)
SERVER_ACTIONS = {
    "start": (False, "running"),
    "stop": (True, "stopped"),
    "shutdown": (True, "stopped"),
    "restart": (True, "running"),
    "open-vnc": (True, None),
    "close-vnc": (True, None),
}


@pytest.mark.parametrize("verb", list(SERVER_ACTIONS))
def test_server_action_prints_the_outcome_and_reports_unknown_servers(cli, verb):
    needs_running, settles_in = SERVER_ACTIONS[verb]
    make = running_server if needs_running else cli_support.server
    first, second = make(), make()
    api_name = verb.replace("-", "_")

    if settles_in:
        shown = cli("servers", verb, first["uuid"], "--wait", "--wait-timeout", "30").expect(0)
        assert record_fields(shown.stdout)["status"] == settles_in
        answer = cli("--json", "servers", verb, second["uuid"]).expect(0).json()
        assert answer["action"] == api_name
        assert answer["uuid"] == second["uuid"]
        resource.Server().wait_for_status(second["uuid"], settles_in, timeout=30)
    elif verb == "open-vnc":
        url = cli("servers", verb, first["uuid"]).expect(0).stdout.strip()
        assert url.startswith("vnc://")
        answer = cli("servers", verb, second["uuid"], "--json").expect(0).json()
        assert answer["vnc_url"].startswith("vnc://")
    else:
        resource.Server().open_vnc(first["uuid"])
        shown = cli("servers", verb, first["uuid"]).expect(0)
        assert record_fields(shown.stdout)["action"] == api_name
        assert (
            cli("--json", "servers", verb, second["uuid"]).expect(0).json()["uuid"]
            == (second["uuid"])
        )

    error = api_error(lambda: getattr(resource.Server(), api_name)(UNKNOWN_UUID))
    assert_reports_api_error(cli("servers", verb, UNKNOWN_UUID), error)


def test_server_action_refused_by_state_shows_the_api_reason(cli):
    stopped = cli_support.server()
    error = api_error(lambda: resource.Server().stop(stopped["uuid"]))
    assert error.status_code == 403
    assert_reports_api_error(cli("servers", "stop", stopped["uuid"]), error)


def test_drive_clone_copies_and_waits(cli):
    source = cli_support.drive("source-disk")
    shown = cli("drives", "clone", source["uuid"], "--name", "copy", "--wait").expect(0)
    fields = record_fields(shown.stdout)
    assert (fields["name"], fields["status"]) == ("copy", "unmounted")
    assert fields["uuid"] != source["uuid"]

    clone = cli("--json", "drives", "clone", source["uuid"]).expect(0).json()
    assert clone["uuid"] not in (source["uuid"], fields["uuid"])
    assert clone["size"] >= source["size"]

    error = api_error(lambda: resource.Drive().clone(UNKNOWN_UUID))
    assert_reports_api_error(cli("drives", "clone", UNKNOWN_UUID), error)


def test_drive_resize_grows_the_drive_and_rejects_bad_sizes(cli):
    drive = cli_support.drive(size=cli_support.GIB)
    cli("drives", "resize", drive["uuid"], "2G", "--wait").expect(0)
    assert resource.Drive().get(drive["uuid"])["size"] >= 2 * cli_support.GIB

    cli("--json", "drives", "resize", drive["uuid"], "3G").expect(0).json()
    grown = resource.Drive().wait_for_status(drive["uuid"], "unmounted", timeout=30)
    assert grown["size"] >= 3 * cli_support.GIB

    bad = cli("drives", "resize", drive["uuid"], "lots").expect(2)
    assert "invalid size 'lots'" in bad.stderr
    error = api_error(lambda: resource.Drive().get(UNKNOWN_UUID))
    assert_reports_api_error(cli("drives", "resize", UNKNOWN_UUID, "2G"), error)


def test_wait_returns_at_the_status_and_fails_after_the_timeout(cli):
    server = cli_support.server()
    resource.Server().start(server["uuid"])
    shown = cli("wait", "servers", server["uuid"], "running", "--wait-timeout", "30").expect(0)
    assert record_fields(shown.stdout)["status"] == "running"
    again = cli("--json", "wait", "servers", server["uuid"], "running").expect(0).json()
    assert again["status"] == "running"

    drive = cli_support.drive()
    resource.Drive().delete(drive["uuid"])
    gone = cli("wait", "drives", drive["uuid"], "deleted", "--wait-timeout", "30").expect(0)
    assert gone.stdout.strip() == f"drive {drive['uuid']} is deleted"

    late = cli("wait", "servers", server["uuid"], "paused", "--wait-timeout", "0.5").expect(1)
    assert "did not reach status paused" in late.stderr

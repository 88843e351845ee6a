"""Server behaviour: power state machine, PUT rules, NICs, clone, recursive delete."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_support import GIB, assert_api_error, server_body

START_MESSAGE = 'Cannot start guest in state "started". Guest should be in state "stopped"'
STOP_MESSAGE = (
    'Cannot stop guest in state "stopped". Guest should be in state '
    "\"['started', 'running_legacy']\""
)


def status(api, server):
    return api.ok("GET", f"servers/{server['uuid']}/")["status"]


def test_new_server_defaults(server):
    assert server["status"] == "stopped" and server["runtime"] is None
    assert server["smp"] == 1 and server["context"] is True and server["nics"] == []
    assert server["cpu_type"] == "amd" and server["hypervisor"] == "kvm"


def test_start_goes_starting_then_running_with_runtime(api, emu, server):
    answer = api.action("servers", server["uuid"], "start")
    assert answer == {"action": "start", "result": "success", "uuid": server["uuid"]}
    assert status(api, server) == "starting"
    emu.advance()
    running = api.ok("GET", f"servers/{server['uuid']}/")
    assert running["status"] == "running" and running["runtime"]["active_since"]
    assert api.ok("GET", f"servers/{server['uuid']}/runtime/") == running["runtime"]


def test_start_accepts_an_empty_body(api, server):
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "start"})
    assert response.status_code == 202


def test_start_of_a_running_server_is_403_with_the_api_message(api, emu, server):
    api.action("servers", server["uuid"], "start")
    emu.advance()
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "start"}, json={})
    assert assert_api_error(response, 403, "permission")["error_message"] == START_MESSAGE


def test_stop_of_a_stopped_server_is_403_with_the_api_message(api, server):
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "stop"}, json={})
    assert assert_api_error(response, 403, "permission")["error_message"] == STOP_MESSAGE


@pytest.mark.parametrize("action", ["stop", "shutdown"])
def test_stop_and_shutdown_go_through_stopping(api, emu, server, action):
    api.action("servers", server["uuid"], "start")
    emu.advance()
    api.action("servers", server["uuid"], action)
    assert status(api, server) == "stopping"
    emu.advance()
    stopped = api.ok("GET", f"servers/{server['uuid']}/")
    assert stopped["status"] == "stopped" and stopped["runtime"] is None


def test_restart_ends_running_again(api, emu, server):
    api.action("servers", server["uuid"], "start")
    emu.advance()
    api.action("servers", server["uuid"], "restart")
    emu.advance()
    assert status(api, server) == "running"


def test_vnc_and_console_urls_need_a_running_server(api, emu, server):
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "open_vnc"}, json={})
    assert_api_error(response, 403, "permission")
    api.action("servers", server["uuid"], "start")
    emu.advance()
    vnc = api.action("servers", server["uuid"], "open_vnc")
    assert vnc["vnc_url"].startswith("vnc://127.0.0.1:") and vnc["result"] == "success"
    console = api.action("servers", server["uuid"], "open_console")
    assert console["console_url"].startswith("csconsole://")
    assert api.action("servers", server["uuid"], "close_vnc")["action"] == "close_vnc"
    assert api.action("servers", server["uuid"], "close_console")["action"] == "close_console"


def test_starting_with_a_drive_that_is_not_ready_is_refused(api):
    created = api.create("drives", name="d", size=GIB, media="disk")
    entry = {"device": "virtio", "dev_channel": "0:0", "drive": created["uuid"]}
    server = api.create("servers", **server_body(drives=[entry]))
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "start"}, json={})
    assert_api_error(response, 403, "permission", "creating")


def test_starting_without_funds_is_402(api, emu, server):
    emu.account().balance["balance"] = "0"
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "start"}, json={})
    assert_api_error(response, 402, "payment")


def test_put_on_a_running_server_applies_only_name_meta_tags(api, emu, server):
    api.action("servers", server["uuid"], "start")
    emu.advance()
    updated = api.ok(
        "PUT",
        f"servers/{server['uuid']}/",
        json={"name": "new", "meta": {"k": "v"}, "cpu": 2000, "mem": 2 * GIB},
    )
    assert updated["name"] == "new" and updated["meta"] == {"k": "v"}
    assert updated["cpu"] == 1000 and updated["mem"] == GIB


def test_put_on_a_stopped_server_changes_hardware(api, server):
    updated = api.ok("PUT", f"servers/{server['uuid']}/", json={"cpu": 2000, "smp": 2})
    assert updated["cpu"] == 2000 and updated["smp"] == 2


def test_new_nics_get_macs_and_defaults(api):
    server = api.create("servers", **server_body(nics=[{"ip_v4_conf": {"conf": "dhcp"}}]))
    nic = server["nics"][0]
    assert nic["mac"].startswith("22:") and nic["model"] == "virtio"
    assert nic["ip_v4_conf"] == {"conf": "dhcp", "ip": None} and nic["vlan"] is None


def fill_in(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every string that is a key of ``names`` replaced by its value."""
    if isinstance(value, dict):
        return {key: fill_in(item, names) for key, item in value.items()}
    return names.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("nic", "message"),
    [
        ({"vlan": "VLAN", "ip_v4_conf": {"conf": "dhcp"}}, "Cannot assign both Private and Public"),
        ({"ip_v4_conf": {"conf": "dhcp", "ip": "IP"}}, "cannot carry an IP"),
        ({"ip_v4_conf": {"conf": "static"}}, "needs an ip"),
        ({"ip_v4_conf": {"conf": "magic"}}, "conf must be one of"),
        ({"mac": "22:00:00:00:00:01"}, "unknown MAC"),
    ],
)
def test_nic_rules_give_400(api, nic, message):
    owned = {
        "VLAN": api.ok("GET", "vlans/")["objects"][0]["uuid"],
        "IP": api.ok("GET", "ips/")["objects"][0]["uuid"],
    }
    body = server_body(nics=[fill_in(nic, owned)])
    assert_api_error(api.post("servers/", json=body), 400, "validation", message)


def test_static_ip_is_claimed_and_cannot_be_used_twice(api):
    ip = api.ok("GET", "ips/")["objects"][0]["uuid"]
    nic = {"ip_v4_conf": {"conf": "static", "ip": ip}}
    server = api.create("servers", **server_body("a", nics=[nic]))
    assert api.ok("GET", f"ips/{ip}/")["server"]["uuid"] == server["uuid"]
    body = server_body("b", nics=[nic])
    assert_api_error(api.post("servers/", json=body), 400, "validation", "already used")
    api.ok("PUT", f"servers/{server['uuid']}/", json={"nics": []})
    assert api.ok("GET", f"ips/{ip}/")["server"] is None


def test_put_matches_nics_by_mac_and_drops_missing_ones(api):
    nics = [{"ip_v4_conf": {"conf": "dhcp"}}, {"model": "e1000"}]
    server = api.create("servers", **server_body(nics=nics))
    first, second = server["nics"]
    vlan = api.ok("GET", "vlans/")["objects"][0]["uuid"]
    updated = api.ok(
        "PUT",
        f"servers/{server['uuid']}/",
        json={"nics": [{"mac": second["mac"], "vlan": vlan}, {"ip_v4_conf": {"conf": "manual"}}]},
    )
    assert [n["mac"] for n in updated["nics"]][0] == second["mac"]
    assert updated["nics"][0]["model"] == "e1000"
    assert updated["nics"][0]["vlan"]["uuid"] == vlan
    assert first["mac"] not in {n["mac"] for n in updated["nics"]}
    assert api.ok("GET", f"vlans/{vlan}/")["servers"][0]["uuid"] == server["uuid"]


def test_duplicate_dev_channel_is_400(api, emu):
    drives = [api.create("drives", name=f"d{i}", size=GIB, media="disk") for i in range(2)]
    emu.advance()
    entries = [{"device": "virtio", "dev_channel": "0:0", "drive": d["uuid"]} for d in drives]
    body = server_body(drives=entries)
    assert_api_error(api.post("servers/", json=body), 400, "validation", "dev_channel")


def test_deleting_a_running_server_is_refused(api, emu, server):
    api.action("servers", server["uuid"], "start")
    emu.advance()
    assert_api_error(api.delete(f"servers/{server['uuid']}/"), 403, "permission", "stop it")


@pytest.mark.parametrize(
    ("recurse", "deleted"),
    [(None, set()), ("disks", {"disk"}), ("cdroms", {"cdrom"}), ("all_drives", {"disk", "cdrom"})],
)
def test_recursive_delete(api, emu, recurse, deleted):
    disk = api.create("drives", name="disk", size=GIB, media="disk")
    cdrom = api.create("drives", name="cdrom", size=GIB, media="cdrom")
    emu.advance()
    entries = [
        {"device": "virtio", "dev_channel": "0:0", "drive": disk["uuid"]},
        {"device": "ide", "dev_channel": "0:1", "drive": cdrom["uuid"]},
    ]
    server = api.create("servers", **server_body(drives=entries))
    params = {"recurse": recurse} if recurse else {}
    assert api.delete(f"servers/{server['uuid']}/", params=params).status_code == 204
    left = {d["name"]: d for d in api.ok("GET", "drives/detail/")["objects"]}
    assert set(left) == {"disk", "cdrom"} - deleted
    assert all(d["status"] == "unmounted" for d in left.values())


def test_bad_recurse_value_is_400(api, server):
    response = api.delete(f"servers/{server['uuid']}/", params={"recurse": "everything"})
    assert_api_error(response, 400, "validation", "recurse")


def test_clone_copies_disks_shares_cdroms_and_renews_macs(api, emu):
    disk = api.create("drives", name="disk", size=GIB, media="disk")
    cdrom = api.create("drives", name="cd", size=GIB, media="cdrom")
    emu.advance()
    entries = [
        {"device": "virtio", "dev_channel": "0:0", "drive": disk["uuid"]},
        {"device": "ide", "dev_channel": "0:1", "drive": cdrom["uuid"]},
    ]
    source = api.create(
        "servers",
        name="web",
        cpu=1000,
        mem=GIB,
        vnc_password="secret",
        drives=entries,
        nics=[{"ip_v4_conf": {"conf": "dhcp"}}],
    )
    clone = api.action("servers", source["uuid"], "clone", name="copy", random_vnc_password=True)
    assert clone["name"] == "copy" and clone["status"] == "stopped"
    assert clone["vnc_password"] != "secret" and len(clone["vnc_password"]) == 8
    assert clone["nics"][0]["mac"] != source["nics"][0]["mac"]
    by_channel = {a["dev_channel"]: a["drive"]["uuid"] for a in clone["drives"]}
    assert by_channel["0:1"] == cdrom["uuid"] and by_channel["0:0"] != disk["uuid"]
    job = api.ok("GET", f"jobs/{clone['jobs'][0]['uuid']}/")
    assert job["operation"] == "server_clone"
    assert [child["operation"] for child in job["children"]] == ["drive_clone"]
    emu.advance()
    cloned_disk = api.ok("GET", f"drives/{by_channel['0:0']}/")
    assert cloned_disk["status"] == "mounted" and cloned_disk["name"] == "disk_1"
    assert api.ok("GET", f"jobs/{job['uuid']}/")["state"] == "success"


def test_gpus_and_epcs_are_kept(api, server):
    updated = api.ok(
        "PUT",
        f"servers/{server['uuid']}/",
        json={"gpus": [{"model": "tesla"}], "epcs": [{"size": 1024}]},
    )
    assert updated["gpus"] == [{"model": "tesla", "gpu": None}]
    assert updated["epcs"] == [{"size": 1024}]


def test_bulk_create_giving_one_static_ip_twice_creates_nothing(api):
    ip = api.ok("GET", "ips/")["objects"][0]["uuid"]
    nic = {"ip_v4_conf": {"conf": "static", "ip": ip}}
    servers = [server_body(name, nics=[nic]) for name in ("a", "b")]
    response = api.post("servers/", json={"objects": servers})
    assert_api_error(response, 400, "validation", "two NICs")
    assert api.ok("GET", "servers/")["meta"]["total_count"] == 0


def test_stop_completion_is_in_the_audit_log(api, emu, server):
    api.action("servers", server["uuid"], "start")
    emu.advance()
    api.action("servers", server["uuid"], "stop")
    emu.advance()
    actions = [e["action"] for e in api.ok("GET", "logs/", params={"limit": 2})["objects"]]
    assert actions == ["stop", "stop_send"]


def test_a_refused_start_is_in_the_audit_log_with_its_error(api, server):
    api.action("servers", server["uuid"], "start")
    api.post(f"servers/{server['uuid']}/action/", params={"do": "start"}, json={})
    entry = api.ok("GET", "logs/", params={"limit": 1})["objects"][0]
    assert entry["action"] == "start" and entry["success"] is False
    assert entry["error_type"] == "permission" and "Cannot start" in entry["error_message"]
    assert entry["uuid"] == server["uuid"]

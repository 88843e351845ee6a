"""Servers: create with drives and NICs, power cycle, runtime, edit, clone, delete with recurse."""

from __future__ import annotations

import pytest
from integration_support import GIB, assert_gone, drive_uuid, unique_name

from cloudsigma import errors

pytestmark = pytest.mark.live

DHCP_NIC = {"ip_v4_conf": {"conf": "dhcp", "ip": None}, "model": "virtio", "vlan": None}


def attachment(drive: dict, channel: str = "0:0", boot_order: int | None = 1) -> dict:
    return {
        "boot_order": boot_order,
        "dev_channel": channel,
        "device": "virtio",
        "drive": drive["uuid"],
    }


def test_server_created_with_drive_and_nic_mounts_the_drive(
    api, make_drive, make_server, wait_timeout
):
    drive = make_drive("boot")

    server = make_server("with-drive", drives=[attachment(drive)], nics=[DHCP_NIC])

    assert server["status"] == "stopped"
    assert server["runtime"] is None
    assert [drive_uuid(d) for d in server["drives"]] == [drive["uuid"]]
    assert len(server["nics"]) == 1
    assert server["nics"][0]["mac"]
    assert server["nics"][0]["ip_v4_conf"]["conf"] == "dhcp"
    mounted = api.drives.wait_for_status(drive["uuid"], "mounted", timeout=wait_timeout)
    assert server["uuid"] in {ref["uuid"] for ref in mounted["mounted_on"]}
    assert server["uuid"] in {s["uuid"] for s in api.servers.list()}


def test_server_with_static_ip_and_vlan_nics(api, make_server):
    vlans = api.vlans.list()
    free_ips = [ip for ip in api.ips.list_detail() if ip["server"] is None and ip["subscription"]]
    if not vlans or not free_ips:
        pytest.skip("the account has no VLAN or no free subscribed IP; the suite does not buy one")
    vlan, ip = vlans[0]["uuid"], free_ips[0]["uuid"]

    server = make_server(
        "networks",
        nics=[
            {"ip_v4_conf": {"conf": "static", "ip": ip}, "model": "virtio"},
            {"vlan": vlan, "model": "virtio"},
        ],
    )

    public, private = server["nics"]
    assert public["ip_v4_conf"]["conf"] == "static"
    assert public["ip_v4_conf"]["ip"]["uuid"] == ip
    assert private["vlan"]["uuid"] == vlan
    assert public["mac"] != private["mac"]
    assert api.ips.get(ip)["server"]["uuid"] == server["uuid"]
    assert server["uuid"] in {ref["uuid"] for ref in api.vlans.get(vlan)["servers"]}


def test_start_runtime_and_stop(api, make_server, wait_timeout):
    server = make_server("power", nics=[DHCP_NIC])

    answer = api.servers.start(server["uuid"])
    assert answer["result"] == "success"
    running = api.servers.wait_for_status(server["uuid"], "running", timeout=wait_timeout)

    assert running["runtime"] is not None
    runtime = api.servers.runtime(server["uuid"])
    assert runtime["active_since"]
    assert [nic["mac"] for nic in runtime["nics"]] == [server["nics"][0]["mac"]]

    api.servers.stop(server["uuid"])
    stopped = api.servers.wait_for_status(server["uuid"], "stopped", timeout=wait_timeout)
    assert stopped["runtime"] is None


def test_starting_a_running_server_is_refused(api, make_server, wait_timeout):
    server = make_server("double-start")
    api.servers.start(server["uuid"])
    api.servers.wait_for_status(server["uuid"], "running", timeout=wait_timeout)

    with pytest.raises(errors.PermissionError) as raised:
        api.servers.start(server["uuid"])

    assert raised.value.status_code == 403


def test_shutdown_stops_a_server_whose_guest_honours_acpi(api, make_server, wait_timeout):
    if api.live:
        pytest.skip(
            "a server without an operating system ignores the ACPI shutdown; the live "
            "shutdown is covered by test_vm_over_ssh.py on the persistent drive"
        )
    server = make_server("shutdown")
    api.servers.start(server["uuid"])
    api.servers.wait_for_status(server["uuid"], "running", timeout=wait_timeout)

    api.servers.shutdown(server["uuid"])

    assert api.servers.wait_for_status(server["uuid"], "stopped", timeout=wait_timeout)


def test_edit_stopped_server_changes_resources_and_meta(api, make_server):
    server = make_server("edit")
    new_name = unique_name("edited")

    answer = api.servers.update(
        server["uuid"],
        {
            "name": new_name,
            "cpu": 2000,
            "mem": 2 * GIB,
            "vnc_password": "changed1",
            "meta": {"role": "test"},
        },
    )

    assert (answer["name"], answer["cpu"], answer["mem"]) == (new_name, 2000, 2 * GIB)
    stored = api.servers.get(server["uuid"])
    assert stored["meta"] == {"role": "test"}
    assert stored["cpu"] == 2000


def test_attach_and_detach_drive_by_update(api, make_drive, make_server, wait_timeout):
    server = make_server("attach")
    drive = make_drive("attach")

    attached = api.servers.update(
        server["uuid"], {**server, "drives": [attachment(drive, channel="0:1")]}
    )

    assert [(d["dev_channel"], drive_uuid(d)) for d in attached["drives"]] == [
        ("0:1", drive["uuid"])
    ]
    api.drives.wait_for_status(drive["uuid"], "mounted", timeout=wait_timeout)

    detached = api.servers.update(server["uuid"], {**attached, "drives": []})

    assert detached["drives"] == []
    assert api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)


def test_clone_copies_the_disks_and_attaches_them(
    api, make_drive, make_server, tracker, wait_timeout
):
    drive = make_drive("clone-disk")
    source = make_server("clone-src", drives=[attachment(drive)], nics=[DHCP_NIC])
    api.drives.wait_for_status(drive["uuid"], "mounted", timeout=wait_timeout)
    clone_name = unique_name("clone")

    clone = tracker.track("servers", api.servers.clone(source["uuid"], {"name": clone_name}))

    assert clone["uuid"] != source["uuid"]
    assert clone["name"] == clone_name
    assert clone["status"] == "stopped"
    cloned_drives = [drive_uuid(d) for d in clone["drives"]]
    tracker.track("drives", cloned_drives)
    assert len(cloned_drives) == 1
    assert cloned_drives[0] != drive["uuid"]
    cloned = api.drives.wait_for_status(cloned_drives[0], "mounted", timeout=wait_timeout * 4)
    assert cloned["size"] >= drive["size"]
    assert len(clone["nics"]) == 1


def test_delete_with_disks_removes_server_and_its_disks(api, make_drive, make_server, wait_timeout):
    drive = make_drive("recurse")
    server = make_server("recurse", drives=[attachment(drive)])
    api.drives.wait_for_status(drive["uuid"], "mounted", timeout=wait_timeout)

    api.servers.delete(server["uuid"], recurse="disks")

    api.servers.wait_deleted(server["uuid"], timeout=wait_timeout)
    api.drives.wait_deleted(drive["uuid"], timeout=wait_timeout)
    assert_gone(api.servers, server["uuid"])
    assert_gone(api.drives, drive["uuid"])


def test_delete_without_recurse_keeps_the_drive(api, make_drive, make_server, wait_timeout):
    drive = make_drive("keep")
    server = make_server("keep", drives=[attachment(drive)])
    api.drives.wait_for_status(drive["uuid"], "mounted", timeout=wait_timeout)

    api.servers.delete(server["uuid"])

    api.servers.wait_deleted(server["uuid"], timeout=wait_timeout)
    assert api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)

"""Attaching drives and NICs, clones and restores, tags, ACLs and the VPC family."""

from __future__ import annotations

import cli_support
from cli_support import record_fields

from cloudsigma import resource


def test_attach_drive_picks_a_free_channel_and_boot_order_and_detach_removes_it(cli):
    server = cli_support.server("host")
    system, data = cli_support.drive("system"), cli_support.drive("data")
    cli("servers", "attach-drive", "host", "system").expect(0)
    shown = cli("servers", "attach-drive", "host", "data", "--device", "virtio", "-o", "json")
    drives = {entry["drive"]["uuid"]: entry for entry in shown.expect(0).json()["drives"]}
    assert drives[system["uuid"]]["dev_channel"] == "0:0"
    assert drives[system["uuid"]]["boot_order"] == 1  # the first drive is bootable
    assert drives[data["uuid"]]["dev_channel"] == "0:1"
    assert drives[data["uuid"]]["boot_order"] is None
    assert resource.Drive().get(data["uuid"])["mounted_on"][0]["uuid"] == server["uuid"]

    again = cli("servers", "attach-drive", "host", "data").expect(1)
    assert "already attached" in again.stderr
    clash = cli(
        "servers", "attach-drive", "host", cli_support.drive("x")["uuid"], "--channel", "0:0"
    )
    assert "holds drive" in clash.expect(1).stderr

    left = cli("servers", "detach-drive", "host", "system", "-o", "yaml").expect(0).yaml()
    assert [entry["drive"]["uuid"] for entry in left["drives"]] == [data["uuid"]]
    assert "is not attached" in cli("servers", "detach-drive", "host", "system").expect(1).stderr
    bad = cli("servers", "attach-drive", "host", "data", "--channel", "zero").expect(2)
    assert "invalid channel 'zero'" in bad.stderr


def test_a_cdrom_goes_on_ide_by_default(cli):
    cli_support.server("with-cd")
    cdrom = resource.Drive().create({"name": "iso", "size": cli_support.GIB, "media": "cdrom"})
    resource.Drive().wait_for_status(cdrom["uuid"], "unmounted", timeout=30)
    server = cli("servers", "attach-drive", "with-cd", "iso", "-o", "json").expect(0).json()
    assert (server["drives"][0]["device"], server["drives"][0]["dev_channel"]) == ("ide", "0:0")


def test_changes_to_a_running_server_are_refused_not_silently_dropped(cli):
    server = cli_support.server("busy")
    resource.Server().start(server["uuid"])
    resource.Server().wait_for_status(server["uuid"], "running", timeout=30)
    refused = cli("servers", "attach-nic", "busy", "--dhcp").expect(1)
    assert "is running" in refused.stderr and "stop it first" in refused.stderr
    assert resource.Server().get(server["uuid"])["nics"] == []


def test_attach_nic_dhcp_static_and_vlan_then_detach_by_mac(cli):
    server = cli_support.server("networked")
    address, vlan = cli_support.ip()["uuid"], cli_support.vlan()["uuid"]
    cli("servers", "attach-nic", "networked", "--dhcp").expect(0)
    cli("servers", "attach-nic", "networked", "--ip", address, "--model", "e1000").expect(0)
    nics = cli("servers", "attach-nic", "networked", "--vlan", vlan, "-o", "json").expect(0)
    nics = nics.json()["nics"]
    assert nics[0]["ip_v4_conf"]["conf"] == "dhcp"
    assert (nics[1]["ip_v4_conf"]["ip"]["uuid"], nics[1]["model"]) == (address, "e1000")
    assert nics[2]["vlan"]["uuid"] == vlan
    table = cli("servers", "list").expect(0)
    assert address in table.stdout  # the IPS column

    dropped = cli("servers", "detach-nic", "networked", nics[0]["mac"], "-o", "yaml").expect(0)
    assert [nic["mac"] for nic in dropped.yaml()["nics"]] == [nics[1]["mac"], nics[2]["mac"]]
    unknown = cli("servers", "detach-nic", "networked", "22:00:00:00:00:00").expect(1)
    assert "no NIC with MAC 22:00:00:00:00:00" in unknown.stderr
    neither = cli("servers", "attach-nic", "networked").expect(2)
    assert "one of the arguments --dhcp --manual --ip --vlan is required" in neither.stderr
    assert resource.Server().get(server["uuid"])["nics"][0]["mac"] == nics[1]["mac"]


def test_server_clone_snapshot_clone_and_restore_from(cli):
    cli_support.server("original")
    clone = cli("servers", "clone", "original", "--name", "copy", "--wait", "-o", "json")
    assert (clone.expect(0).json()["name"], clone.json()["status"]) == ("copy", "stopped")
    assert record_fields(cli("servers", "get", "copy").expect(0).stdout)["name"] == "copy"

    snapshot = cli_support.snapshot("nightly")
    restored = cli("drives", "restore-from", "nightly", "--name", "back", "--wait").expect(0)
    fields = record_fields(restored.stdout)
    assert (fields["name"], fields["status"]) == ("back", "unmounted")
    copied = cli("snapshots", "clone", snapshot["uuid"], "--media", "cdrom", "-o", "yaml")
    assert copied.expect(0).yaml()["media"] == "cdrom"
    missing = cli("drives", "restore-from", "no-such-snapshot").expect(1)
    assert "no snapshot is named 'no-such-snapshot'" in missing.stderr


def test_tags_add_and_remove_objects_by_name(cli):
    server, drive = cli_support.server("tag-me"), cli_support.drive("tag-me-too")
    tag = cli_support.tag("team")
    added = cli("tags", "add", "team", "tag-me", "tag-me-too", "-o", "json").expect(0).json()
    assert {ref["uuid"] for ref in added["resources"]} == {server["uuid"], drive["uuid"]}
    assert cli("servers", "list", "--filter", "tag=team", "-q").expect(0).lines() == [
        server["uuid"]
    ]
    removed = cli("tags", "remove", "team", "tag-me", "-o", "yaml").expect(0).yaml()
    assert [ref["uuid"] for ref in removed["resources"]] == [drive["uuid"]]
    assert resource.Tags().get(tag["uuid"])["resources"][0]["uuid"] == drive["uuid"]
    cli_support.drive("tag-me")  # now a server and a drive share the name
    both = cli("tags", "add", "team", "tag-me").expect(1)
    assert "names several objects" in both.stderr
    only_servers = cli("tags", "add", "team", "tag-me", "--kind", "servers").expect(0)
    assert server["uuid"] in only_servers.stdout


def test_acls_grant_permissions_on_a_tag_by_name(cli, cloudsigma_emulator):
    other = cloudsigma_emulator.create_account("friend@example.com", "friend-password")
    cli_support.tag("shared")
    made = cli(
        "acls", "create", "--name", "ops", "--grantee", other.uuid,
        "--permission", "LIST", "--permission", "START", "--tag", "shared", "-o", "json",
    ).expect(0).json()  # fmt: skip
    assert [rule["permission"] for rule in made["rules"]] == ["LIST", "START"]
    assert made["grantees"][0]["uuid"] == other.uuid
    table = cli("acls", "list").expect(0)
    assert "friend@example.com" in table.stdout and "LIST,START" in table.stdout
    bad = cli("acls", "create", "--permission", "DESTROY").expect(2)
    assert "invalid choice: 'DESTROY'" in bad.stderr


def test_vpc_link_and_unlink_a_node(cli):
    vpcs = resource.ResourceBase()
    vpcs.resource_name = "vpc"
    nodes = resource.ResourceBase()
    nodes.resource_name = "nodes"
    # VPCs and dedicated hosts are bought, as on the API
    for bought in ("vpc", "dedicated_host_6148"):
        resource.Subscriptions().create({"resource": bought, "amount": 1, "period": "1 month"})
    vpc = vpcs.update(vpcs.list()[0]["uuid"], {"name": "prod-vpc"})
    node = nodes.list()[0]
    linked = cli("vpc", "link-node", "prod-vpc", node["uuid"], "-o", "json").expect(0).json()
    assert [ref["uuid"] if isinstance(ref, dict) else ref for ref in linked["nodes"]] == [
        node["uuid"]
    ]
    table = cli("vpc", "list").expect(0)
    assert table.lines()[0].split()[:4] == ["UUID", "NAME", "STATUS", "NODES"]
    assert "prod-vpc" in table.stdout
    twice = cli("vpc", "link-node", "prod-vpc", node["uuid"]).expect(1)
    assert "already in VPC" in twice.stderr
    unlinked = cli("vpc", "unlink-node", vpc["uuid"], node["uuid"], "-o", "yaml").expect(0)
    assert unlinked.yaml()["nodes"] == []
    for command in ("nodes", "host-pools", "zones"):
        assert cli(command, "list", "-o", "json").expect(0).json() is not None

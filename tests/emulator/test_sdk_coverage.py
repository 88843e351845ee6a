"""The SDK's classes and verbs for the whole documented API, against the emulator."""

from __future__ import annotations

import base64
import datetime
import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from emulator_support import GIB

from cloudsigma import errors, metadata, payloads, resource
from cloudsigma.generic import GenericClient

#: An OpenSSH ed25519 public key (the private half was thrown away).
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq6dYbJJrIyWGf+3AhHWSpNHbqXq6Pm0CRw7yJYYWqO sdk-test"
)


@pytest.fixture
def connect(emu: Any) -> Callable[..., Any]:
    """``connect(resource.Drive)``: a resource of the emulator's default account."""
    made: list[resource.ResourceBase] = []

    def make(cls: type[resource.ResourceBase], **kwargs: Any) -> Any:
        instance = cls(emu.api_endpoint, emu.username, emu.password, **kwargs)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.c.close()


@pytest.fixture
def drive(connect: Callable[..., Any], emu: Any) -> dict:
    created = connect(resource.Drive).create({"name": "disk", "size": GIB, "media": "disk"})
    emu.advance()
    return created


# --- keypairs and pubkeys -----------------------------------------------------------------


def test_keypair_from_a_public_key_gets_a_fingerprint_and_no_private_key(connect):
    keypairs = connect(resource.Keypairs)
    keypair = keypairs.create({"name": "laptop", "public_key": PUBLIC_KEY})
    assert keypair["public_key"] == PUBLIC_KEY
    assert keypair["private_key"] in (None, "")
    assert len(keypair["fingerprint"].split(":")) == 16
    assert [k["uuid"] for k in keypairs.list()] == [keypair["uuid"]]


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_generate_returns_the_private_key_once_and_pubkeys_only_flag_it(connect, algorithm):
    keypair = connect(resource.Keypairs).generate("made-here", algorithm)
    assert "PRIVATE KEY" in keypair["private_key"]
    assert keypair["public_key"].startswith(
        "ssh-ed25519 " if algorithm == "ed25519" else "ssh-rsa "
    )
    public = connect(resource.Pubkeys).get(keypair["uuid"])
    assert public["has_private_key"] is True
    assert "private_key" not in public
    assert public["fingerprint"] == keypair["fingerprint"]


def test_keypair_update_and_delete(connect):
    keypairs = connect(resource.Keypairs)
    keypair = keypairs.create({"name": "old", "public_key": PUBLIC_KEY})
    assert keypairs.update(keypair["uuid"], {"name": "new"})["name"] == "new"
    keypairs.delete(keypair["uuid"])
    with pytest.raises(errors.ClientError) as gone:
        keypairs.get(keypair["uuid"])
    assert gone.value.status_code == 404


def test_a_keypair_attached_to_a_server_is_in_its_pubkeys(connect):
    keypair = connect(resource.Keypairs).create({"name": "k", "public_key": PUBLIC_KEY})
    server = connect(resource.Server).create(
        {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "x", "pubkeys": [keypair["uuid"]]}
    )
    assert [ref["uuid"] for ref in server["pubkeys"]] == [keypair["uuid"]]


# --- backup schedulers --------------------------------------------------------------------


def test_backup_schedulers_filter_by_type_and_a_drive_joins_one(connect, drive):
    schedulers = connect(resource.BackupSchedulers)
    snapshot = schedulers.create({"name": "nightly", "type": "snapshot"})
    schedulers.create({"name": "weekly", "type": "backup"})
    assert [s["uuid"] for s in schedulers.list({"type": "snapshot"})] == [snapshot["uuid"]]
    answer = connect(resource.Drive).set_scheduler(drive["uuid"], snapshot["uuid"])
    assert answer["backup_scheduler"]["uuid"] == snapshot["uuid"]
    stored = connect(resource.Drive).get(drive["uuid"])
    assert stored["backup_scheduler"]["uuid"] == snapshot["uuid"]


def test_backup_schedulers_are_deleted_in_bulk(connect):
    schedulers = connect(resource.BackupSchedulers)
    made = [schedulers.create({"name": f"s{i}", "type": "snapshot"}) for i in range(3)]
    schedulers.delete_many([s["uuid"] for s in made[:2]])
    assert [s["uuid"] for s in schedulers.list()] == [made[2]["uuid"]]


# --- bulk deletes -------------------------------------------------------------------------


def test_drives_are_deleted_in_bulk_and_all_or_none(connect, emu):
    drives = connect(resource.Drive)
    made = drives.create([{"name": f"d{i}", "size": GIB, "media": "disk"} for i in range(3)])
    emu.advance()
    with pytest.raises(errors.ClientError) as refused:
        drives.delete_many([made[0]["uuid"], "00000000-0000-4000-8000-000000000000"])
    assert refused.value.status_code == 404
    assert len(drives.list()) == 3
    drives.delete_many(d["uuid"] for d in made[:2])
    assert [d["uuid"] for d in drives.list()] == [made[2]["uuid"]]


def test_snapshots_are_deleted_in_bulk(connect, drive, emu):
    snapshots = connect(resource.Snapshot)
    made = [snapshots.create({"drive": drive["uuid"], "name": f"s{i}"}) for i in range(2)]
    emu.advance()
    snapshots.delete_many([s["uuid"] for s in made])
    assert snapshots.list() == []


@pytest.mark.parametrize("uuids, problem", [("5c33", TypeError), ([], ValueError)])
def test_delete_many_refuses_a_lone_uuid_or_nothing_before_sending(connect, emu, uuids, problem):
    journal_before = len(emu.journal)
    with pytest.raises(problem):
        connect(resource.Drive).delete_many(uuids)
    assert len(emu.journal) == journal_before


# --- verbs on resources the SDK had -------------------------------------------------------


def test_library_drive_clone_copies_it_into_the_account(connect, emu):
    library = connect(resource.LibDrive)
    source = next(d for d in library.list_detail() if d["media"] == "disk")
    clone = library.clone(source["uuid"], {"name": "from-library"})
    assert clone["name"] == "from-library"
    emu.advance()
    mine = connect(resource.Drive).get(clone["uuid"])
    assert mine["status"] == "unmounted" and mine["size"] == source["size"]


def test_server_start_sends_avoid_and_allocation_method(connect, emu):
    servers = connect(resource.Server)
    other = servers.create({"name": "a", "cpu": 1000, "mem": GIB, "vnc_password": "x"})
    server = servers.create({"name": "b", "cpu": 1000, "mem": GIB, "vnc_password": "x"})
    answer = servers.start(server["uuid"], allocation_method="lazy", avoid=[other["uuid"]])
    assert answer["action"] == "start" and answer["result"] == "success"
    start = [e for e in emu.journal if e["path"].endswith(f"{server['uuid']}/action/")]
    assert start and start[-1]["status"] == 202
    emu.advance()
    assert servers.get(server["uuid"])["status"] == "running"


def test_subscription_auto_renew_sets_and_toggles(connect):
    subscriptions = connect(resource.Subscriptions)
    subscription = subscriptions.list()[0]
    assert subscriptions.auto_renew(subscription["id"], False)["auto_renew"] is False
    assert subscriptions.auto_renew(subscription["id"])["auto_renew"] is True
    assert subscriptions.get(subscription["id"])["auto_renew"] is True


def test_grouped_subscriptions_list_the_chains(connect):
    grouped = connect(resource.GroupedSubscriptions).list()
    assert grouped and all("descendants" in chain for chain in grouped)


# --- accounts -----------------------------------------------------------------------------


def test_check_login_and_logout_of_a_session(connect, emu):
    accounts = connect(resource.Accounts, login_method="session")
    assert accounts.check_login() is True
    assert accounts.check_login_with_return_uuid() == emu.account().uuid
    accounts.logout()
    # the client logs in again by itself after the session ended
    assert accounts.check_login() is True


def test_check_login_is_false_for_wrong_credentials(emu):
    accounts = resource.Accounts(emu.api_endpoint, emu.username, "not-the-password", retry=0)
    try:
        assert accounts.check_login() is False
        with pytest.raises(errors.AuthError):
            accounts.check_login_with_return_uuid()
    finally:
        accounts.c.close()


# --- virtual routers ----------------------------------------------------------------------


@pytest.fixture
def router(connect, emu) -> dict:
    vlan = connect(resource.VLAN).list()[0]["uuid"]
    lan = {"name": "LAN 1", "ip_address": "10.0.1.1/24", "vlan": vlan}
    created = connect(resource.VirtualRouters).create(
        {"configuration": {"name": "r", "lan_interface": [lan]}}
    )
    emu.advance()
    return created


@pytest.mark.parametrize("verb", ["enable_vpn", "disable_vpn", "get_keys", "export_key"])
def test_router_vpn_and_key_actions(connect, router, verb):
    answer = getattr(connect(resource.VirtualRouters), verb)(router["uuid"])
    assert answer["action"] == verb and answer["uuid"] == router["uuid"]


def test_tunnels_are_created_listed_and_deleted(connect, router, emu):
    tunnels = connect(resource.Tunnels)
    tunnel = tunnels.create({"name": "to-office", "virtual_router": router["uuid"]})
    emu.advance()
    assert [t["uuid"] for t in tunnels.list()] == [tunnel["uuid"]]
    tunnels.delete(tunnel["uuid"])
    emu.advance()
    assert tunnels.list() == []


@pytest.mark.parametrize("given", ["nope", "00000000-0000-4000-8000-000000000000", ""])
def test_a_tunnel_needs_a_router_of_the_account_as_a_route_does(connect, router, emu, given):
    tunnels, routes = connect(resource.Tunnels), connect(resource.Routes)
    with pytest.raises(errors.ApiClientError) as tunnel_refused:
        tunnels.create({"name": "to-office", "virtual_router": given})
    with pytest.raises(errors.ApiClientError) as route_refused:
        routes.create({"inet": "inet", "network": "10.0.0.0/24", "virtual_router": given})
    assert tunnel_refused.value.status_code == route_refused.value.status_code
    assert tunnel_refused.value.status_code in (400, 404)
    emu.advance()
    assert tunnels.list() == []


# --- read-only families -------------------------------------------------------------------


def test_usage_between_two_poll_times(connect, drive):
    usage = connect(resource.Usage)
    now = datetime.datetime.now(datetime.timezone.utc)
    samples = usage.list(poll_time_gt=now - datetime.timedelta(hours=1), poll_time_lt="2999-01-01")
    assert any(s["uuid"] == drive["uuid"] and s["resource"] == "dssd" for s in samples)
    assert usage.list(poll_time_lt=datetime.date(2001, 1, 1)) == []


def test_daily_burst_usage_lists(connect):
    assert isinstance(connect(resource.DailyBurstUsage).list({"date__gt": "2020-01-01"}), list)


def test_vmware_servers_list_what_the_account_has(connect, emu):
    listed = connect(resource.VmwareServers).list()
    assert listed == []


def test_drive_availability_groups_list_and_get(connect, drive):
    groups = connect(resource.DrivesAvailabilityGroups)
    assert isinstance(groups.list(), list)
    one = groups.get(drive["uuid"])
    assert isinstance(one, list)


# --- typed payloads -----------------------------------------------------------------------


def typed_keys(typed_dict: type) -> set[str]:
    return set(typing.get_type_hints(typed_dict))


def test_typed_payloads_name_every_key_the_api_returns(connect, drive, emu):
    keypair = connect(resource.Keypairs).generate("k", "ed25519")
    server = connect(resource.Server).create(
        {
            "name": "s",
            "cpu": 1000,
            "mem": GIB,
            "vnc_password": "x",
            "pubkeys": [keypair["uuid"]],
            "drives": [{"drive": drive["uuid"], "dev_channel": "0:0", "device": "virtio"}],
            "nics": [{"ip_v4_conf": {"conf": "dhcp"}, "model": "virtio"}],
        }
    )
    snapshot = connect(resource.Snapshot).create({"drive": drive["uuid"], "name": "s"})
    emu.advance()
    checks = [
        (payloads.DriveDict, connect(resource.Drive).get(drive["uuid"])),
        (payloads.ServerDict, connect(resource.Server).get(server["uuid"])),
        (payloads.SnapshotDict, connect(resource.Snapshot).get(snapshot["uuid"])),
        (payloads.KeypairDict, connect(resource.Keypairs).get(keypair["uuid"])),
        (payloads.KeypairDict, connect(resource.Pubkeys).get(keypair["uuid"])),
    ]
    fetched = checks[1][1]
    checks += [(payloads.NicDict, nic) for nic in fetched["nics"]]
    checks += [(payloads.ServerDriveDict, attached) for attached in fetched["drives"]]
    checks += [(payloads.IpConfDict, fetched["nics"][0]["ip_v4_conf"])]
    for typed, answer in checks:
        assert set(answer) <= typed_keys(typed), (typed.__name__, set(answer) - typed_keys(typed))


def test_typed_payloads_are_plain_dicts_at_run_time(connect, drive):
    fetched: payloads.DriveDict = connect(resource.Drive).get(drive["uuid"])
    assert type(fetched) is dict
    assert fetched["status"] == "unmounted"


# --- logins and answer formats ------------------------------------------------------------


def test_digest_login_against_the_emulator(connect, emu):
    drives = connect(resource.Drive, login_method="digest")
    created = drives.create({"name": "digest", "size": GIB, "media": "disk"})
    assert [d["uuid"] for d in drives.list()] == [created["uuid"]]
    assert drives.c.resp.request.headers["Authorization"].startswith("Digest ")
    journal = [entry["status"] for entry in emu.journal]
    assert journal.count(401) == 1  # one challenge, then the nonce is reused


def test_gzipped_answers_are_decoded(connect, drive):
    drives = connect(resource.Drive)
    listed = drives.list_detail()
    assert drives.c.resp.headers["Content-Encoding"] == "gzip"
    assert [d["uuid"] for d in listed] == [drive["uuid"]]


def test_allowed_methods_of_a_collection_and_an_object(connect, drive):
    drives = connect(resource.Drive)
    assert {"GET", "POST", "DELETE", "OPTIONS"} <= set(drives.allowed_methods())
    assert {"GET", "PUT", "DELETE"} <= set(drives.allowed_methods(drive["uuid"]))
    assert "DELETE" not in connect(resource.Profile).allowed_methods()


def test_allowed_methods_raise_the_api_error_of_a_refused_call(connect, emu):
    drives = connect(resource.Drive, retry=0)
    emu.set_faults("seed=1,503=1")
    try:
        with pytest.raises(errors.ServerError) as refused:
            drives.allowed_methods()
    finally:
        emu.set_faults(None)
    assert refused.value.status_code == 503
    assert refused.value.error_type == "concurrency"


# --- the server context -------------------------------------------------------------------


def test_base64_fields_of_the_meta_are_decoded(connect, emu):
    user_data = b"#cloud-config\npackages: [htop]\n\x00\xff"
    encoded = base64.b64encode(user_data).decode()
    server = connect(resource.Server).create(
        {
            "name": "ctx",
            "cpu": 1000,
            "mem": GIB,
            "vnc_password": "x",
            "meta": {"cloudinit-user-data": encoded, "base64_fields": "cloudinit-user-data"},
        }
    )
    meta = metadata.GetServerMetadata(device=emu.serial_device(server["uuid"])).get("/meta")
    decoded = metadata.decode_base64_fields(meta)
    assert decoded["cloudinit-user-data"] == user_data
    assert meta["cloudinit-user-data"] == encoded  # the answer itself is left alone


def test_cloud_status_is_one_object_of_flags(connect):
    status = connect(resource.CloudStatus).get()
    assert isinstance(status, dict)
    assert status["guest"] is False
    assert isinstance(status["vpc"], bool) and isinstance(status["sso"], list)


def test_xml_answers_reach_a_caller_of_stream_as_bytes(emu, drive):
    with GenericClient(emu.api_endpoint, emu.username, emu.password) as client:
        status, kind, body = client.stream(
            "GET",
            "/drives/?format=xml",
            lambda answer: (answer.status_code, answer.headers["Content-Type"], answer.content),
        )
    assert (status, kind) == (200, "application/xml; charset=utf-8")
    assert ET.fromstring(body).find("objects/object/uuid").text == drive["uuid"]

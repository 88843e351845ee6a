"""``cloudsigma <collection> list|get|create|update|delete`` against the emulator."""

from __future__ import annotations

import json

import cli_support
import pytest
from cli_support import UNKNOWN_UUID, api_error, assert_reports_api_error, record_fields

from cloudsigma import resource

COLLECTIONS = list(cli_support.MAKERS)

#: SDK class and a key that names no object, by collection.
SDK_CLASSES = {
    "drives": resource.Drive,
    "servers": resource.Server,
    "snapshots": resource.Snapshot,
    "libdrives": resource.LibDrive,
    "ips": resource.IP,
    "vlans": resource.VLAN,
    "tags": resource.Tags,
    "subscriptions": resource.Subscriptions,
}
UNKNOWN_KEYS = {"ips": "203.0.113.99", "subscriptions": "987654"}


def unknown_key(collection: str) -> str:
    return UNKNOWN_KEYS.get(collection, UNKNOWN_UUID)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_list_prints_a_table_json_and_rejects_a_malformed_filter(cli, collection):
    obj, key = cli_support.make(collection)
    key_name = cli_support.KEYS.get(collection, "uuid")

    table = cli(collection, "list", "--limit", "50").expect(0)
    header, *rows = table.stdout.splitlines()
    assert header.split()[0] == key_name.upper()
    assert any(row.split()[0] == key for row in rows)
    if "name" in obj and collection != "vlans":
        assert obj["name"] in table.stdout

    listed = cli(collection, "list", "--json", "--detail").expect(0).json()
    found = next(item for item in listed if str(item[key_name]) == key)
    assert found["resource_uri"] == obj["resource_uri"]

    bad = cli(collection, "list", "--filter", "name").expect(2)
    assert "expected key=value" in bad.stderr


def test_list_filters_and_limits(cli):
    cli_support.drive("alpha-disk")
    cli_support.drive("beta-disk")
    only_beta = cli("--json", "drives", "list", "--detail", "--filter", "name=beta-disk").expect(0)
    assert [drive["name"] for drive in only_beta.json()] == ["beta-disk"]
    detail = cli("drives", "list", "--detail", "--filter", "name=beta-disk").expect(0)
    assert record_fields(detail.stdout)["name"] == "beta-disk"
    assert record_fields(detail.stdout)["size"] == f"1 GiB ({1024**3} bytes)"
    one = cli("drives", "list", "--limit", "1").expect(0)
    assert len(one.stdout.splitlines()) == 2  # header and one row


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_get_prints_a_record_json_and_the_api_error_for_an_unknown_key(cli, collection):
    obj, key = cli_support.make(collection)
    key_name = cli_support.KEYS.get(collection, "uuid")

    record = cli(collection, "get", key).expect(0)
    fields = record_fields(record.stdout)
    assert fields[key_name] == key
    assert fields["resource_uri"] == obj["resource_uri"]

    got = cli("--json", collection, "get", key).expect(0).json()
    assert str(got[key_name]) == key
    assert got["resource_uri"] == obj["resource_uri"]

    missing = unknown_key(collection)
    error = api_error(lambda: SDK_CLASSES[collection]().get(missing))
    assert error.status_code == 404
    assert_reports_api_error(cli(collection, "get", missing), error)


CREATE_CASES = {
    "drives": (
        ["--name", "made-by-cli", "--size", "512M"],
        {"name": "made-by-cli", "size": 512 * 1024**2, "media": "disk"},
        ["--name", "no-size"],
    ),
    "servers": (
        ["--name", "web", "--cpu", "2000", "--mem", "1G", "--vnc-password", "vnc-secret"],
        {"name": "web", "cpu": 2000, "mem": 1024**3},
        ["--cpu", "2000", "--mem", "1G"],
    ),
    "snapshots": (
        ["--name", "nightly"],
        {"name": "nightly"},
        ["--name", "no-drive"],
    ),
    "tags": (["--name", "production"], {"name": "production"}, []),
    "subscriptions": (
        ["--resource", "vlan", "--amount", "1", "--period", "1 month"],
        {"resource": "vlan", "amount": "1"},
        ["--resource", "vlan"],
    ),
}


#: The status ``create --wait`` waits for.
READY_STATUS = {"drives": "unmounted", "snapshots": "available"}


@pytest.mark.parametrize("collection", list(CREATE_CASES))
def test_create_from_flags_and_from_json_and_refuses_a_missing_field(cli, collection):
    flags, expected, incomplete = CREATE_CASES[collection]
    if collection == "snapshots":
        flags = [*flags, "--drive", cli_support.drive()["uuid"]]
    key_name = cli_support.KEYS.get(collection, "uuid")

    ready = READY_STATUS.get(collection)
    record = cli(collection, "create", *flags, *(["--wait"] if ready else [])).expect(0)
    assert record_fields(record.stdout)[key_name]
    if ready:
        assert record_fields(record.stdout)["status"] == ready
    created = cli("--json", collection, "create", *flags).expect(0).json()
    created = created[0] if isinstance(created, list) else created
    stored = SDK_CLASSES[collection]().get(str(created[key_name]))
    assert {key: stored[key] for key in expected} == expected

    body = dict(expected)
    if collection == "snapshots":
        body["drive"] = flags[-1]
    if collection == "servers":
        body["vnc_password"] = "from-json"
    if collection == "subscriptions":
        body["period"] = "1 month"
    from_data = cli(collection, "create", "--data", json.dumps(body), "--json").expect(0).json()
    from_data = from_data[0] if isinstance(from_data, list) else from_data
    assert {key: from_data[key] for key in expected} == expected

    refused = cli(collection, "create", *incomplete).expect(2)
    assert f"{collection} create needs" in refused.stderr


def test_create_reports_the_api_validation_error(cli):
    body = {"name": "bad", "size": 1024**3, "media": "floppy"}
    error = api_error(lambda: resource.Drive().create(dict(body)))
    assert_reports_api_error(cli("drives", "create", "--data", json.dumps(body)), error)


def test_create_reads_the_body_from_a_file_and_from_stdin(cli, tmp_path):
    body = tmp_path / "drive.json"
    body.write_text(json.dumps({"name": "from-file", "size": 1024**3, "media": "cdrom"}))
    made = cli("--json", "drives", "create", "--file", str(body)).expect(0).json()
    assert (made["name"], made["media"]) == ("from-file", "cdrom")
    piped = cli("--json", "tags", "create", "--file", "-", stdin='{"name": "piped"}').expect(0)
    assert piped.json()["name"] == "piped"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    failed = cli("drives", "create", "--file", str(broken)).expect(1)
    assert "does not hold valid JSON" in failed.stderr


UPDATABLE = ["drives", "servers", "snapshots", "tags", "ips", "vlans"]


@pytest.mark.parametrize("collection", UPDATABLE)
def test_update_merges_meta_sets_name_and_reports_unknown_keys(cli, collection):
    obj, key = cli_support.make(collection)
    api = SDK_CLASSES[collection]()
    api.update(key, {"meta": {"kept": "yes"}})
    named = "name" in obj
    rename = ["--name", "renamed"] if named else []

    record = cli(collection, "update", key, *rename, "--meta", "role=web", "--meta", "x=a=b")
    record.expect(0)
    stored = api.get(key)
    assert stored["meta"] == {"kept": "yes", "role": "web", "x": "a=b"}
    if named:
        assert stored["name"] == "renamed"
        assert "renamed" in record.stdout

    replaced = cli(collection, "update", key, "--data", '{"meta": {"only": "this"}}', "--json")
    assert replaced.expect(0).json()["meta"] == {"only": "this"}
    assert api.get(key)["meta"] == {"only": "this"}

    nothing = cli(collection, "update", key).expect(2)
    assert "nothing to update" in nothing.stderr
    missing = unknown_key(collection)
    error = api_error(lambda: api.update(missing, {"meta": {}}))
    assert_reports_api_error(cli(collection, "update", missing, "--meta", "a=b"), error)


DELETABLE = ["drives", "servers", "snapshots", "tags"]


@pytest.mark.parametrize("collection", DELETABLE)
def test_delete_waits_for_the_object_to_go_and_reports_unknown_keys(cli, collection):
    api = SDK_CLASSES[collection]()
    first, first_key = cli_support.make(collection)
    done = cli(collection, "delete", first_key, "--wait", "--wait-timeout", "30").expect(0)
    assert done.stdout.strip() == f"deleted {collection_singular(collection)} {first_key}"
    assert api_error(lambda: api.get(first_key)).status_code == 404

    second, second_key = cli_support.make(collection)
    answer = cli("--json", collection, "delete", second_key, "--wait").expect(0).json()
    assert answer == {"uuid": second_key, "deleted": True}

    error = api_error(lambda: api.delete(UNKNOWN_UUID))
    assert_reports_api_error(cli(collection, "delete", UNKNOWN_UUID), error)


def collection_singular(collection: str) -> str:
    return collection[:-1]


def test_delete_server_with_recurse_deletes_its_drives(cli):
    server = cli_support.server()
    disk = cli_support.drive()
    server["drives"] = [
        {"device": "virtio", "dev_channel": "0:0", "drive": disk["uuid"], "boot_order": 1}
    ]
    resource.Server().update(server["uuid"], server)
    cli("servers", "delete", server["uuid"], "--recurse", "all_drives", "--wait").expect(0)
    resource.Drive().wait_deleted(disk["uuid"], timeout=30)
    bad = cli("servers", "delete", server["uuid"], "--recurse", "everything").expect(2)
    assert "invalid choice" in bad.stderr


@pytest.mark.parametrize(
    ("collection", "verb"),
    [
        ("libdrives", "create"),
        ("libdrives", "delete"),
        ("ips", "create"),
        ("vlans", "delete"),
        ("subscriptions", "update"),
        ("subscriptions", "delete"),
    ],
)
def test_verbs_the_api_lacks_are_explained(cli, collection, verb):
    refused = cli(collection, verb, "x").expect(2)
    assert f"the API offers no '{verb}' for {collection}" in refused.stderr

"""Objects named by uuid or by exact name, and references refused before anything is sent."""

from __future__ import annotations

import cli_support
import pytest
from cli_support import UNKNOWN_UUID, record_fields
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsigma import resource
from cloudsigma.cli.refs import escape_filter_value, is_uuid


def test_get_takes_a_name_in_table_json_and_yaml(cli):
    drive = cli_support.drive("web-data")
    table = cli("drives", "get", "web-data").expect(0)
    assert record_fields(table.stdout)["uuid"] == drive["uuid"]
    assert cli("drives", "get", "web-data", "-o", "json").expect(0).json()["uuid"] == drive["uuid"]
    assert cli("drives", "get", "web-data", "-o", "yaml").expect(0).yaml()["uuid"] == drive["uuid"]


def test_a_name_resolves_in_one_filtered_request(cli, cloudsigma_emulator):
    server = cli_support.server("api-1")
    before = len(cloudsigma_emulator.journal)
    cli("servers", "get", "api-1", "-q").expect(0)
    seen = cloudsigma_emulator.journal[before:]
    assert [entry["method"] for entry in seen] == ["GET", "GET"]
    assert seen[0]["path"] == "/api/2.0/servers/detail/"  # filtered by ?name= (not journaled)
    assert seen[1]["path"].startswith(f"/api/2.0/servers/{server['uuid']}/")


def test_an_unknown_name_and_an_ambiguous_one_are_errors_that_say_so(cli):
    first, second = cli_support.drive("twin"), cli_support.drive("twin")
    unknown = cli("drives", "get", "nobody").expect(1)
    assert "no drive is named 'nobody'" in unknown.stderr
    ambiguous = cli("drives", "delete", "twin").expect(1)
    assert "2 drives are named 'twin'" in ambiguous.stderr
    assert first["uuid"] in ambiguous.stderr and second["uuid"] in ambiguous.stderr
    assert len(resource.Drive().list()) == 2  # nothing was deleted


def test_names_work_in_every_verb_that_takes_an_object(cli):
    cli_support.drive("old-name")
    cli("drives", "update", "old-name", "--name", "new-name").expect(0)
    assert cli("drives", "get", "new-name", "-q").expect(0).stdout.strip()
    snapshot = cli("snapshots", "create", "--drive", "new-name", "--wait", "-o", "json").expect(0)
    assert snapshot.json()["status"] == "available"
    doomed = cli_support.drive("doomed")
    gone = cli("drives", "delete", "doomed", "--wait", "-o", "yaml").expect(0)
    assert gone.yaml() == {"uuid": doomed["uuid"], "deleted": True}


def test_filter_tag_takes_a_tag_name(cli):
    tagged, _ = cli_support.drive("tagged"), cli_support.drive("plain")
    tag = resource.Tags().create({"name": "prod", "resources": [tagged["uuid"]]})
    by_name = cli("drives", "list", "--filter", "tag=prod", "-q").expect(0)
    by_uuid = cli("drives", "list", "--filter", f"tag={tag['uuid']}", "-q").expect(0)
    assert by_name.lines() == by_uuid.lines() == [tagged["uuid"]]
    missing = cli("drives", "list", "--filter", "tag=nonesuch").expect(1)
    assert "no tag is named 'nonesuch'" in missing.stderr


def test_names_resolve_in_a_real_process(cli):
    drive = cli_support.drive("from-shell")
    shown = cli.subprocess("drives", "get", "from-shell", "-o", "json").expect(0)
    assert shown.json()["uuid"] == drive["uuid"]


#: Names a person might give: any text without '/', control characters or surrounding blanks.
NAMES = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"),
    min_size=1,
    max_size=30,
).filter(lambda name: name.strip() == name and name not in (".", "..") and not is_uuid(name))


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=NAMES)
def test_any_name_resolves_to_its_drive(cli, name):
    drives = resource.Drive()
    drive = drives.create({"name": name, "size": 1024**3, "media": "disk"})
    try:
        assert cli("drives", "get", name, "-q").expect(0).stdout.strip() == drive["uuid"]
    finally:
        drives.delete(drive["uuid"])


@given(st.text(max_size=20))
@settings(max_examples=200, derandomize=True)
def test_filter_escaping_keeps_a_name_one_value(name):
    from cloudsigma.emulator.models.listing import split_values

    assert split_values(escape_filter_value(name)) == [name]


def test_a_name_with_a_comma_is_one_name(cli):
    drive = cli_support.drive("a,b")
    cli_support.drive("a")
    assert cli("drives", "get", "a,b", "-q").expect(0).stdout.strip() == drive["uuid"]


# -- references refused before any request --------------------------------------------------

BAD_REFERENCES = [
    ("drives", "delete", "../servers/{server}", "'/' and '..'"),
    ("drives", "get", "", "it is empty"),
    ("drives", "delete", "", "it is empty"),
    ("drives", "delete", "  ", "it is empty"),
    ("servers", "start", "..", "'/' and '..'"),
    ("drives", "get", "a\nb", "control character"),
    ("ips", "get", "not-an-ip", "IPs are named by their address"),
    ("subscriptions", "get", "12a", "named by their number"),
    ("vlans", "get", "backend", "have no names"),
]


@pytest.mark.parametrize(("collection", "verb", "reference", "reason"), BAD_REFERENCES)
def test_a_reference_that_could_change_the_url_fails_before_sending_anything(
    cli, cloudsigma_emulator, collection, verb, reference, reason
):
    server = cli_support.server("keep-me")
    before = len(cloudsigma_emulator.journal)
    refused = cli(collection, verb, reference.format(server=server["uuid"])).expect(2)
    assert reason in refused.stderr
    assert cloudsigma_emulator.journal[before:] == []
    assert resource.Server().get(server["uuid"])["uuid"] == server["uuid"]


@pytest.mark.parametrize(
    "args",
    [
        ("drives", "delete", "../servers/{server}"),
        ("drives", "get", ""),
        ("drives", "delete", ""),
    ],
)
def test_bad_references_fail_in_a_real_process_and_nothing_is_deleted(
    cli, cloudsigma_emulator, args
):
    server = cli_support.server("survivor")
    drive = cli_support.drive("survivor-disk")
    before = len(cloudsigma_emulator.journal)
    refused = cli.subprocess(*(arg.format(server=server["uuid"]) for arg in args)).expect(2)
    assert "is not a drive uuid or name" in refused.stderr
    assert cloudsigma_emulator.journal[before:] == []
    assert resource.Server().get(server["uuid"])["uuid"] == server["uuid"]
    assert resource.Drive().get(drive["uuid"])["uuid"] == drive["uuid"]


def test_a_uuid_is_used_as_it_is_without_a_lookup(cli, cloudsigma_emulator):
    before = len(cloudsigma_emulator.journal)
    cli("drives", "get", UNKNOWN_UUID).expect(1)
    assert [entry["path"] for entry in cloudsigma_emulator.journal[before:]] == [
        f"/api/2.0/drives/{UNKNOWN_UUID}/"
    ]

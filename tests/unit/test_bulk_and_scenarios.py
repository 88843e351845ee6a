"""Bulk drive operations and the scenario functions built on them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import errors, resource, scenarios
from cloudsigma.bulk import DrivesBulk
from cloudsigma.generic import GenericClient

DRIVES = API + "drives/"
# drive uuids (ids are checked before anything is sent)
U1 = "5c33a9b1-0000-4000-8000-0000000000a1"
U2 = "5c33a9b1-0000-4000-8000-0000000000a2"
O1 = "5c33a9b1-0000-4000-8000-0000000000b1"
MINE = [
    {
        "uuid": U1,
        "name": "load-00001",
        "status": "unmounted",
        "media": "disk",
        "size": 5,
        "meta": {},
        "affinities": [],
    },
    {
        "uuid": U2,
        "name": "load-00002",
        "status": "unavailable",
        "media": "disk",
        "size": 5,
        "meta": {},
        "affinities": [],
    },
]
OTHERS = [
    {
        "uuid": O1,
        "name": "keep-me",
        "status": "mounted",
        "media": "disk",
        "size": 9,
        "meta": {"a": "b"},
        "affinities": ["ssd"],
    }
]


@pytest.fixture
def bulk(sleeps: list[float]) -> DrivesBulk:
    return DrivesBulk(id_prefix="load", client=GenericClient(API, USERNAME, PASSWORD, retry=0))


@pytest.fixture
def configured(write_config: Any) -> None:
    write_config(f"api_endpoint = {API}\nusername = {USERNAME}\npassword = {PASSWORD}\n")


def serve_listing(drives: list[dict[str, Any]], path: str = "drives/") -> None:
    responses.get(API + path, json={"meta": {"total_count": len(drives)}, "objects": drives})
    responses.get(API + path + "detail/", json={"meta": {}, "objects": drives})


def test_names_count_up_from_the_prefix(bulk: DrivesBulk) -> None:
    assert [bulk.get_name() for _ in range(2)] == ["load-00001", "load-00002"]


def test_bulk_resources_share_one_client(bulk: DrivesBulk) -> None:
    assert bulk.c_drive.c is bulk.c and bulk.c_libdrive.c is bulk.c and bulk.c_guest.c is bulk.c
    assert isinstance(bulk.c_guest, resource.Server)


@responses.activate
def test_create_posts_one_definition_per_drive(bulk: DrivesBulk) -> None:
    for uuid in ("n1", "n2"):
        responses.post(DRIVES, json={"objects": [{"uuid": uuid, "name": "x"}]}, status=201)
    drives = bulk.create(2)
    assert [d["uuid"] for d in drives] == ["n1", "n2"]
    bodies = [json.loads(c.request.body) for c in responses.calls]
    assert [b["objects"][0]["name"] for b in bodies] == ["load-00001", "load-00002"]
    assert bodies[0]["objects"][0] == {
        "media": "disk",
        "name": "load-00001",
        "size": 10 * 1024**3,
        "meta": {"description": "some descr"},
    }


def test_definition_defaults_come_from_config(write_config: Any) -> None:
    write_config(
        f"api_endpoint = {API}\nusername = u\npassword = p\n"
        "CREATE_DRIVE_MEDIA = cdrom\nCREATE_DRIVE_SIZE = 1024\nCREATE_DRIVE_DESCRIPTION = t\n"
    )
    definition = DrivesBulk(id_prefix="p").generate_definition()
    assert definition == {
        "media": "cdrom",
        "name": "p-00001",
        "size": 1024,
        "meta": {"description": "t"},
    }


@responses.activate
def test_get_list_and_wipe_touch_only_the_prefixed_drives(bulk: DrivesBulk) -> None:
    serve_listing(MINE + OTHERS)
    for uuid in (U1, U2):
        responses.delete(DRIVES + f"{uuid}/", status=204)
    assert [d["uuid"] for d in bulk.get_list()] == [U1, U2]
    assert "fields=name%2Cuuid" in responses.calls[0].request.url
    bulk.wipe()
    deleted = [c.request.url for c in responses.calls if c.request.method == "DELETE"]
    assert deleted == [DRIVES + f"{U1}/", DRIVES + f"{U2}/"]


@responses.activate
def test_lookup_falls_back_to_library_drives(bulk: DrivesBulk) -> None:
    serve_listing(OTHERS)
    serve_listing([{"uuid": "lib1", "name": "Ubuntu 24.04"}], path="libdrives/")
    assert bulk.lookup("keep")["uuid"] == O1
    assert bulk.lookup("Ubuntu")["uuid"] == "lib1"
    assert bulk.lookup("lib1")["uuid"] == "lib1"


@responses.activate
def test_lookup_of_nothing_is_a_lookup_error(bulk: DrivesBulk) -> None:
    serve_listing([])
    serve_listing([], path="libdrives/")
    with pytest.raises(LookupError, match="'ghost'"):
        bulk.lookup("ghost")


@responses.activate
def test_clone_waits_until_no_clone_is_cloning(bulk: DrivesBulk, sleeps: list[float]) -> None:
    responses.get(DRIVES + "detail/", json={"objects": OTHERS})
    for uuid in ("c1", "c2"):
        responses.post(DRIVES + f"{O1}/action/", json={"objects": [{"uuid": uuid, "name": uuid}]})
    clones = [{"uuid": "c1", "name": "load-00001"}, {"uuid": "c2", "name": "load-00002"}]
    responses.get(
        DRIVES + "detail/",
        json={
            "objects": [
                {**clones[0], "status": "cloning_dst"},
                {**clones[1], "status": "unmounted"},
            ]
        },
    )
    responses.get(
        DRIVES + "detail/",
        json={
            "objects": [{**clones[0], "status": "unmounted"}, {**clones[1], "status": "unmounted"}]
        },
    )
    drives = bulk.clone(2, O1)
    assert [d["uuid"] for d in drives] == ["c1", "c2"]
    assert sleeps == [10.0]
    sent = json.loads(responses.calls[1].request.body)
    assert sent == {
        "media": "disk",
        "name": "load-00001",
        "size": 9,
        "meta": {"a": "b"},
        "affinities": ["ssd"],
    }


@responses.activate
def test_clone_gives_up_after_the_clone_wait(
    bulk: DrivesBulk, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    monkeypatch.setattr(resource, "_monotonic", lambda: now[0])
    monkeypatch.setattr(resource, "_sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    responses.get(DRIVES + "detail/", json={"objects": OTHERS})
    responses.post(DRIVES + f"{O1}/action/", json={"objects": [{"uuid": "c1", "name": "c1"}]})
    stuck = {"uuid": "c1", "name": "load-00001", "status": "cloning_dst"}
    responses.get(DRIVES + "detail/", json={"objects": [stuck]})
    with pytest.raises(errors.WaitTimeoutError, match="c1: cloning_dst"):
        bulk.clone(1, O1)
    assert now[0] == 3600


@responses.activate
def test_clone_all_skips_unavailable_drives(bulk: DrivesBulk) -> None:
    serve_listing(MINE)
    responses.post(DRIVES + f"{U1}/action/", json={"objects": [{"uuid": "c", "name": "clone"}]})
    assert len(bulk.clone_all(2)) == 2
    names = [json.loads(c.request.body)["name"] for c in responses.calls if c.request.body]
    assert names == ["clone_load-00001_0", "clone_load-00001_1"]


@responses.activate
def test_get_by_uuids(bulk: DrivesBulk) -> None:
    serve_listing(MINE + OTHERS)
    assert [d["uuid"] for d in bulk.get_by_uuids([U2, O1])] == [U2, O1]


@responses.activate
def test_scenarios_print_what_they_find(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_listing(MINE + OTHERS)
    scenarios.drives_number("load")
    scenarios.drives_list("load")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Number of DRIVES: 2"
    assert f"'{U1}'" in out[1] and O1 not in out[1]


@responses.activate
def test_scenario_create_takes_count_as_text(configured: None) -> None:
    responses.post(DRIVES, json={"objects": [{"uuid": "n", "name": "x"}]}, status=201)
    scenarios.drives_create("load", "3")
    assert len(responses.calls) == 3


@responses.activate
def test_scenario_wipe_and_detail(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    serve_listing(MINE)
    responses.delete(DRIVES + f"{U1}/", status=204)
    responses.delete(DRIVES + f"{U2}/", json=[{"error_type": "permission"}], status=403)
    scenarios.drives_detail("load")
    assert "unavailable" in capsys.readouterr().out
    with pytest.raises(errors.PermissionError):
        scenarios.drives_wipe("load")

"""Snapshots, remote snapshots and jobs: their state machines and links to drives."""

from __future__ import annotations

import re

import pytest
from emulator_support import GIB, assert_api_error


def test_snapshot_is_creating_then_available_with_default_name(api, emu, drive):
    snapshot = api.create("snapshots", drive=drive["uuid"])
    assert snapshot["status"] == "creating" and snapshot["allocated_size"] is None
    assert re.fullmatch(rf"{drive['uuid']}__\d{{4}}-\d\d-\d\d__\d\d_\d\d_\d\d", snapshot["name"])
    assert api.ok("GET", f"drives/{drive['uuid']}/")["snapshots"] == [
        {"resource_uri": snapshot["resource_uri"], "uuid": snapshot["uuid"]}
    ]
    emu.advance()
    done = api.ok("GET", f"snapshots/{snapshot['uuid']}/")
    assert done["status"] == "available" and done["allocated_size"] == 0


def test_snapshot_list_filters_by_drive(api, emu):
    drives = [api.create("drives", name=f"d{i}", size=GIB, media="disk") for i in range(2)]
    emu.advance()
    for drive in drives:
        api.create("snapshots", drive=drive["uuid"], name=drive["name"])
    found = api.ok("GET", "snapshots/detail/", params={"drive": drives[1]["uuid"]})["objects"]
    assert [s["name"] for s in found] == ["d1"]


def test_snapshot_needs_an_existing_drive(api):
    assert_api_error(
        api.post("snapshots/", json={"name": "x"}), 400, "validation", "This field is required"
    )
    assert_api_error(api.post("snapshots/", json={"drive": "nope"}), 404, "notexist")


def test_snapshot_clone_gives_a_drive_with_a_job(api, emu, drive):
    snapshot = api.create("snapshots", drive=drive["uuid"], name="snap")
    response = api.post(f"snapshots/{snapshot['uuid']}/action/", params={"do": "clone"}, json={})
    assert_api_error(response, 403, "permission", "creating")
    emu.advance()
    api.ok("PUT", "profile/", json={"clone_naming": "NONE"})
    clone = api.action("snapshots", snapshot["uuid"], "clone")
    assert clone["status"] == "cloning_dst" and clone["name"] == "snap"
    assert clone["size"] == GIB and clone["media"] == "disk" and clone["jobs"]
    emu.advance()
    assert api.ok("GET", f"drives/{clone['uuid']}/")["status"] == "unmounted"


def test_snapshot_rename_and_delete(api, emu, drive):
    snapshot = api.create("snapshots", drive=drive["uuid"])
    emu.advance()
    renamed = api.ok(
        "PUT", f"snapshots/{snapshot['uuid']}/", json={"name": "n", "meta": {"a": "b"}}
    )
    assert renamed["name"] == "n" and renamed["meta"] == {"a": "b"}
    assert api.delete(f"snapshots/{snapshot['uuid']}/").status_code == 204
    assert api.ok("GET", f"drives/{drive['uuid']}/")["snapshots"] == []


def test_deleting_a_drive_deletes_its_snapshots(api, emu, drive):
    snapshot = api.create("snapshots", drive=drive["uuid"])
    emu.advance()
    api.delete(f"drives/{drive['uuid']}/")
    assert_api_error(api.get(f"snapshots/{snapshot['uuid']}/"), 404, "notexist")


def test_snapshots_bulk_delete(api, emu, drive):
    snapshots = [api.create("snapshots", drive=drive["uuid"]) for _ in range(2)]
    emu.advance()
    body = {"objects": [{"uuid": s["uuid"]} for s in snapshots]}
    assert api.delete("snapshots/", json=body).status_code == 204
    assert api.ok("GET", "snapshots/")["objects"] == []


def test_remote_snapshot_goes_creating_transferring_available_and_outlives_its_drive(
    api, emu, drive
):
    remote = api.ok(
        "POST", "remotesnapshots/", 201, json={"drive": drive["uuid"], "location": "ZRH"}
    )["objects"][0]
    assert remote["status"] == "creating"
    assert remote["drive_meta"]["src_uuid"] == drive["uuid"]
    assert_api_error(api.delete(f"remotesnapshots/{remote['uuid']}/"), 403, "permission")
    states = []
    while emu.step():
        states.append(api.ok("GET", f"remotesnapshots/{remote['uuid']}/")["status"])
    assert states == ["transferring", "available"]
    again = api.post("remotesnapshots/", json={"drive": drive["uuid"]})
    assert_api_error(again, 403, "permission", "30")
    api.delete(f"drives/{drive['uuid']}/")
    clone = api.action("remotesnapshots", remote["uuid"], "clone")
    assert clone["status"] == "cloning_dst" and clone["size"] == GIB


def test_jobs_list_and_get(api, emu, drive):
    clone = api.action("drives", drive["uuid"], "clone")["objects"][0]
    jobs = api.ok("GET", "jobs/")["objects"]
    assert [j["uuid"] for j in jobs] == [clone["jobs"][0]["uuid"]]
    assert jobs[0]["state"] == "started" and jobs[0]["data"] == {"progress": 0}
    emu.advance()
    assert api.ok("GET", "jobs/", params={"state": "success"})["meta"]["total_count"] == 1


def test_snapshot_clone_takes_meta_and_tags_of_the_drive_as_it_was(api, emu):
    tag = api.create("tags", name="t")
    drive = api.create(
        "drives", name="d", size=GIB, media="disk", meta={"k": "v"}, tags=[tag["uuid"]]
    )
    emu.advance()
    snapshot = api.create("snapshots", drive=drive["uuid"])
    emu.advance()
    api.ok("PUT", f"drives/{drive['uuid']}/", json={"meta": {}, "tags": []})
    clone = api.action("snapshots", snapshot["uuid"], "clone")
    assert clone["meta"] == {"k": "v"}
    assert [t["uuid"] for t in clone["tags"]] == [tag["uuid"]]


def available_snapshot(api, emu, collection: str, drive: dict) -> dict:
    answer = api.ok("POST", f"{collection}/", 201, json={"drive": drive["uuid"]})
    snapshot = answer["objects"][0] if "objects" in answer else answer
    while emu.step():
        pass
    return snapshot


@pytest.mark.parametrize("collection", ["snapshots", "remotesnapshots"])
def test_a_clone_of_a_snapshot_keeps_away_from_the_drives_it_is_told_to_avoid(
    api, emu, drive, collection
):
    snapshot = available_snapshot(api, emu, collection, drive)
    near = api.action(collection, snapshot["uuid"], "clone")
    response = api.post(
        f"{collection}/{snapshot['uuid']}/action/",
        params={"do": "clone", "avoid": drive["uuid"]},
        json={},
    )
    assert response.status_code == 202
    apart = response.json()
    emu.advance()
    assert api.ok("GET", "drives/availability_groups/") == [
        [drive["uuid"], near["uuid"]],
        [apart["uuid"]],
    ]

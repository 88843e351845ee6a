"""Snapshots: create, list for a drive, edit, clone into a drive, delete."""

from __future__ import annotations

import pytest
from integration_support import assert_gone, unique_name

pytestmark = pytest.mark.live


@pytest.fixture
def snapshot_of(api, tracker, wait_timeout):
    """Take a tracked snapshot of a drive and wait until it is available."""

    def take(drive: dict, **definition) -> dict:
        snapshot = api.snapshots.create({"drive": drive["uuid"], **definition})
        tracker.track("snapshots", snapshot)
        return api.snapshots.wait_for_status(snapshot["uuid"], "available", timeout=wait_timeout)

    return take


def test_snapshot_is_created_and_listed_for_its_drive(api, make_drive, snapshot_of):
    drive = make_drive("snap")
    other_drive = make_drive("snap-other")
    name = unique_name("snapshot")

    snapshot = snapshot_of(drive, name=name, meta={"why": "test"})
    snapshot_of(other_drive)

    assert snapshot["name"] == name
    assert snapshot["drive"]["uuid"] == drive["uuid"]
    assert snapshot["meta"] == {"why": "test"}
    assert snapshot["timestamp"]
    for_drive = api.snapshots.list_detail({"drive": drive["uuid"]})
    assert [s["uuid"] for s in for_drive] == [snapshot["uuid"]]
    assert snapshot["uuid"] in {ref["uuid"] for ref in api.drives.get(drive["uuid"])["snapshots"]}


def test_snapshot_without_name_gets_one_from_the_api(make_drive, snapshot_of):
    drive = make_drive("snap-default")

    snapshot = snapshot_of(drive)

    assert snapshot["name"].startswith(drive["uuid"])


def test_snapshot_edit_changes_name_and_meta(api, make_drive, snapshot_of):
    snapshot = snapshot_of(make_drive("snap-edit"))
    new_name = unique_name("renamed-snapshot")

    api.snapshots.update(snapshot["uuid"], {"name": new_name, "meta": {"k": "v"}})

    stored = api.snapshots.get(snapshot["uuid"])
    assert (stored["name"], stored["meta"]) == (new_name, {"k": "v"})


def test_snapshot_clone_makes_a_drive(api, make_drive, snapshot_of, tracker, wait_timeout):
    drive = make_drive("snap-clone")
    snapshot = snapshot_of(drive)
    clone_name = unique_name("from-snapshot")

    clone = tracker.track("drives", api.snapshots.clone(snapshot["uuid"], {"name": clone_name}))
    clone = api.drives.wait_for_status(clone["uuid"], "unmounted", timeout=wait_timeout * 4)

    assert clone["uuid"] != drive["uuid"]
    assert clone["name"] == clone_name
    assert clone["media"] == drive["media"]
    assert clone["size"] >= drive["size"]


def test_snapshot_delete(api, make_drive, snapshot_of, wait_timeout):
    snapshot = snapshot_of(make_drive("snap-delete"))

    api.snapshots.delete(snapshot["uuid"])

    api.snapshots.wait_deleted(snapshot["uuid"], timeout=wait_timeout)
    assert_gone(api.snapshots, snapshot["uuid"])


def test_deleting_the_drive_deletes_its_snapshots(api, make_drive, snapshot_of, wait_timeout):
    drive = make_drive("snap-parent")
    snapshot = snapshot_of(drive)

    api.drives.delete(drive["uuid"])
    api.drives.wait_deleted(drive["uuid"], timeout=wait_timeout)

    api.snapshots.wait_deleted(snapshot["uuid"], timeout=wait_timeout)
    assert_gone(api.snapshots, snapshot["uuid"])

"""Drives: create, list, detail, edit, resize, clone, delete, one by one and in bulk."""

from __future__ import annotations

import pytest
from integration_support import GIB, assert_gone, unique_name

pytestmark = pytest.mark.live

#: The API may round a new size up a little (pycloudsigma's tests accept 64 KiB).
SIZE_ROUNDING = 64 * 1024


def test_created_drive_is_listed_detailed_and_deleted(api, make_drive, wait_timeout):
    drive = make_drive("crud", meta={"purpose": "integration"})

    listed = {d["uuid"]: d for d in api.drives.list()}
    detailed = {d["uuid"]: d for d in api.drives.list_detail()}
    fetched = api.drives.get(drive["uuid"])

    assert listed[drive["uuid"]]["status"] == "unmounted"
    assert detailed[drive["uuid"]]["name"] == drive["name"]
    assert fetched["media"] == "disk"
    assert GIB <= fetched["size"] <= GIB + SIZE_ROUNDING
    assert fetched["meta"] == {"purpose": "integration"}

    api.drives.delete(drive["uuid"])
    api.drives.wait_deleted(drive["uuid"], timeout=wait_timeout)
    assert_gone(api.drives, drive["uuid"])
    assert drive["uuid"] not in {d["uuid"] for d in api.drives.list()}


def test_list_filters_by_name(api, make_drive):
    wanted = make_drive("filtered")
    make_drive("other")

    found = api.drives.list_detail({"name": wanted["name"]})

    assert [d["uuid"] for d in found] == [wanted["uuid"]]


def test_edit_changes_name_and_replaces_meta(api, make_drive):
    drive = make_drive("edit", meta={"old": "1"})
    new_name = unique_name("renamed")

    answer = api.drives.update(
        drive["uuid"],
        {"name": new_name, "size": drive["size"], "media": "disk", "meta": {"new": "2"}},
    )

    assert answer["name"] == new_name
    stored = api.drives.get(drive["uuid"])
    assert stored["name"] == new_name
    assert stored["meta"] == {"new": "2"}


def test_resize_action_grows_the_drive(api, make_drive, wait_timeout):
    drive = make_drive("resize")
    bigger = 2 * GIB

    api.drives.resize(drive["uuid"], {**drive, "size": bigger})
    resized = api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)

    assert bigger <= resized["size"] <= bigger + SIZE_ROUNDING


def test_resize_by_update_grows_the_drive(api, make_drive, wait_timeout):
    drive = make_drive("resize-put")
    bigger = 2 * GIB

    api.drives.update(drive["uuid"], {"name": drive["name"], "media": "disk", "size": bigger})
    resized = api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)

    assert bigger <= resized["size"] <= bigger + SIZE_ROUNDING


def test_clone_makes_an_independent_copy(api, make_drive, tracker, wait_timeout):
    source = make_drive("clone-src", meta={"origin": "source"})
    clone_name = unique_name("clone")

    clone = tracker.track("drives", api.drives.clone(source["uuid"], {"name": clone_name}))
    clone = api.drives.wait_for_status(clone["uuid"], "unmounted", timeout=wait_timeout * 4)

    assert clone["uuid"] != source["uuid"]
    assert clone["name"] == clone_name
    assert clone["media"] == source["media"]
    assert clone["size"] >= source["size"]
    api.drives.delete(clone["uuid"])
    api.drives.wait_deleted(clone["uuid"], timeout=wait_timeout)
    assert api.drives.get(source["uuid"])["status"] == "unmounted"


def test_bulk_create_and_bulk_delete(api, tracker, wait_timeout):
    definitions = [
        {"name": unique_name(f"bulk-{n}"), "size": GIB, "media": "disk"} for n in range(3)
    ]

    created = tracker.track("drives", api.drives.create(definitions))

    assert [d["name"] for d in created] == [d["name"] for d in definitions]
    for drive in created:
        api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)

    api.drives.c.delete("/drives/", data={"objects": [{"uuid": d["uuid"]} for d in created]})
    for drive in created:
        api.drives.wait_deleted(drive["uuid"], timeout=wait_timeout)
        assert_gone(api.drives, drive["uuid"])


def test_get_unknown_drive_raises_404(api):
    assert_gone(api.drives, "00000000-0000-4000-8000-000000000000")

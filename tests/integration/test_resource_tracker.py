"""The cleanup tracker removes everything a test made, whatever state it was left in.

Offline only: it checks the emulator's state after the cleanup, which a live run must
not depend on.
"""

from __future__ import annotations

from integration_support import GIB, ResourceTracker, assert_gone, unique_name


def test_cleanup_stops_running_servers_and_deletes_everything(api, wait_timeout):
    tracker = ResourceTracker(api, wait_timeout)
    disk = tracker.track(
        "drives", api.drives.create({"name": unique_name("d"), "size": GIB, "media": "disk"})
    )
    api.drives.wait_for_status(disk["uuid"], "unmounted", timeout=wait_timeout)
    spare = tracker.track(
        "drives", api.drives.create({"name": unique_name("s"), "size": GIB, "media": "disk"})
    )
    snapshot = tracker.track("snapshots", api.snapshots.create({"drive": spare["uuid"]}))
    server = tracker.track(
        "servers",
        api.servers.create(
            {
                "name": unique_name("srv"),
                "cpu": 1000,
                "mem": GIB,
                "vnc_password": "tracker",
                "drives": [{"device": "virtio", "dev_channel": "0:0", "drive": disk["uuid"]}],
            }
        ),
    )
    tag = tracker.track(
        "tags", api.tags.create({"name": unique_name("t"), "resources": [spare["uuid"]]})
    )
    api.servers.start(server["uuid"])
    api.servers.wait_for_status(server["uuid"], "running", timeout=wait_timeout)

    tracker.cleanup()

    assert tracker.problems == []
    assert_gone(api.servers, server["uuid"])
    for drive in (disk, spare):
        assert_gone(api.drives, drive["uuid"])
    assert_gone(api.snapshots, snapshot["uuid"])
    assert_gone(api.tags, tag["uuid"])
    assert api.servers.list() == [] and api.drives.list() == []


def test_cleanup_leaves_protected_drives_attached_to_tracked_servers(api, wait_timeout):
    keep = api.drives.create({"name": unique_name("keep"), "size": GIB, "media": "disk"})
    api.drives.wait_for_status(keep["uuid"], "unmounted", timeout=wait_timeout)
    tracker = ResourceTracker(api, wait_timeout)
    tracker.protect(keep["uuid"])
    tracker.track("drives", keep)
    server = tracker.track(
        "servers",
        api.servers.create(
            {
                "name": unique_name("srv"),
                "cpu": 1000,
                "mem": GIB,
                "vnc_password": "tracker",
                "drives": [{"device": "virtio", "dev_channel": "0:0", "drive": keep["uuid"]}],
            }
        ),
    )

    tracker.cleanup()

    assert tracker.problems == []
    assert_gone(api.servers, server["uuid"])
    assert api.drives.wait_for_status(keep["uuid"], "unmounted", timeout=wait_timeout)


def test_cleanup_ignores_objects_that_are_already_gone(api, wait_timeout):
    tracker = ResourceTracker(api, wait_timeout)
    for kind in ("servers", "drives", "snapshots", "tags", "acls"):
        tracker.track(kind, "00000000-0000-4000-8000-000000000000")

    tracker.cleanup()

    assert tracker.problems == []


def test_cleanup_reports_a_drive_it_could_not_delete(api, wait_timeout):
    drive = api.drives.create({"name": unique_name("busy"), "size": GIB, "media": "disk"})
    api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)
    untracked_server = api.servers.create(
        {
            "name": unique_name("untracked"),
            "cpu": 1000,
            "mem": GIB,
            "vnc_password": "tracker",
            "drives": [{"device": "virtio", "dev_channel": "0:0", "drive": drive["uuid"]}],
        }
    )
    api.servers.start(untracked_server["uuid"])
    api.servers.wait_for_status(untracked_server["uuid"], "running", timeout=wait_timeout)
    tracker = ResourceTracker(api, wait_timeout)
    tracker.track("drives", drive)

    tracker.cleanup()

    assert len(tracker.problems) == 1
    assert tracker.problems[0].startswith(f"drive {drive['uuid']}: ")
    assert api.drives.get(drive["uuid"])["status"] == "mounted"

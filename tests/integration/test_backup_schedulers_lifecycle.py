"""Backup schedulers: create, list by type, edit, put a drive under one, delete one by one and
in bulk."""

from __future__ import annotations

import copy

import pytest
from integration_support import assert_gone, unique_name

pytestmark = pytest.mark.live

#: The documented example policy (backup_schedulers.rst): daily snapshots kept 7 days,
#: weekly ones 4 weeks, monthly ones a year.
POLICY = {
    "type": "snapshot",
    "enable_backup_policy_notifications": True,
    "enable_retention_policy_notifications": False,
    "is_enabled": True,
    "is_default": False,
    "manual_incremental_backup": "",
    "retention_policy": {
        "name": "Son, Father, GrandFather Policy",
        "rules": [
            {"period": "days", "quantity": 7},
            {"period": "weeks", "quantity": 4, "time_option": 1},
            {"period": "months", "quantity": 12, "time_option": 23},
        ],
    },
    "initial_backup": {
        "day_of_week": ["*"],
        "start_time": {"hour": 12, "minute": 0},
        "end_time": {"hour": 11, "minute": 45},
    },
    "incremental_backup": {
        "day_of_month": "*",
        "day_of_week": ["*"],
        "month": "*",
        "hour": "1",
        "minute": "0",
        "repeat": {"hour": "", "minute": ""},
        "start_time": {"hour": 12, "minute": 0},
        "end_time": {"hour": 11, "minute": 45},
    },
    "user_timezone": "Etc/GMT+12",
}


@pytest.fixture
def make_scheduler(api, tracker):
    def make(label: str = "scheduler", **changes) -> dict:
        policy = {**copy.deepcopy(POLICY), "name": unique_name(label), **changes}
        return tracker.track("backupschedulers", api.backupschedulers.create(policy))

    return make


def test_a_scheduler_is_created_with_its_policy_and_listed_by_type(api, make_scheduler):
    scheduler = make_scheduler("snapshots")

    fetched = api.backupschedulers.get(scheduler["uuid"])
    assert fetched["type"] == "snapshot"
    assert fetched["retention_policy"]["rules"] == POLICY["retention_policy"]["rules"]
    assert fetched["user_timezone"] == "Etc/GMT+12"
    of_type = {s["uuid"]: s["type"] for s in api.backupschedulers.list({"type": "snapshot"})}
    assert of_type[scheduler["uuid"]] == "snapshot"
    assert set(of_type.values()) == {"snapshot"}


def test_a_scheduler_is_edited_and_deleted(api, make_scheduler, wait_timeout):
    scheduler = make_scheduler("edit")
    new_name = unique_name("renamed")

    edited = api.backupschedulers.update(
        scheduler["uuid"], {**copy.deepcopy(POLICY), "name": new_name, "is_enabled": False}
    )
    assert edited["name"] == new_name and edited["is_enabled"] is False

    api.backupschedulers.delete(scheduler["uuid"])
    api.backupschedulers.wait_deleted(scheduler["uuid"], timeout=wait_timeout)
    assert_gone(api.backupschedulers, scheduler["uuid"])


def test_a_drive_is_put_under_a_scheduler(api, make_drive, make_scheduler):
    scheduler = make_scheduler("for-drive")
    drive = make_drive("scheduled")

    answer = api.drives.set_scheduler(drive["uuid"], scheduler["uuid"])

    assert answer["backup_scheduler"]["uuid"] == scheduler["uuid"]
    assert api.drives.get(drive["uuid"])["backup_scheduler"]["uuid"] == scheduler["uuid"]


def test_schedulers_are_deleted_in_bulk(api, make_scheduler):
    doomed = [make_scheduler("bulk-a"), make_scheduler("bulk-b")]
    kept = make_scheduler("bulk-kept")

    api.backupschedulers.delete_many([s["uuid"] for s in doomed])

    remaining = {s["uuid"] for s in api.backupschedulers.list()}
    assert kept["uuid"] in remaining
    assert not remaining & {s["uuid"] for s in doomed}

"""samples/snapshot.py and samples/snapshot_purge.py against the emulator."""

from __future__ import annotations

import datetime

import pytest
from sample_runner import assert_clean_failure

from cloudsigma import resource

GIB = 1024**3


@pytest.fixture
def drives(sdk):
    return sdk(resource.Drive)


@pytest.fixture
def snapshots(sdk):
    return sdk(resource.Snapshot)


@pytest.fixture
def drive(drives):
    created = drives.create({"name": "data", "size": GIB, "media": "disk"})
    return drives.wait_for_status(created["uuid"], "unmounted", timeout=20)


def test_snapshot_is_created_and_available(run_sample, drive, snapshots):
    result = run_sample("snapshot.py", drive["uuid"], "--name", "nightly", "--timeout", "20")

    assert result.returncode == 0, result.stderr
    taken = snapshots.list_detail({"drive": drive["uuid"]})
    assert [(s["name"], s["status"]) for s in taken] == [("nightly", "available")]
    assert f"snapshot {taken[0]['uuid']} (nightly) is available" in result.stdout


def test_snapshot_not_available_in_time_exits_nonzero(
    run_sample, cloudsigma_emulator, drive, snapshots
):
    cloudsigma_emulator.transition_delay = 60  # the snapshot stays "creating"

    result = run_sample("snapshot.py", drive["uuid"], "--timeout", "0.5")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [pending] = snapshots.list_detail({"drive": drive["uuid"]})
    assert pending["status"] == "creating"
    assert f"snapshot {pending['uuid']} was not available after 0.5s" in result.stderr


def test_snapshot_finds_the_drive_by_name(run_sample, drive, snapshots):
    result = run_sample("snapshot.py", drive["name"], "--timeout", "20")

    assert result.returncode == 0, result.stderr
    assert len(snapshots.list_detail({"drive": drive["uuid"]})) == 1


def test_snapshot_of_unknown_drive_fails_cleanly(run_sample, snapshots):
    result = run_sample("snapshot.py", "no-such-drive")

    assert_clean_failure(result)
    assert "no drive with uuid or name 'no-such-drive'" in result.stderr
    assert snapshots.list() == []


def age_snapshot(emulator, snapshot_uuid: str, days: float) -> None:
    """Backdate a snapshot in the emulator's state (the API cannot set ``timestamp``)."""
    account = emulator.backend.by_email[emulator.username.lower()]
    stored = account.objects["snapshots"][snapshot_uuid]
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    stored["timestamp"] = str(moment)


@pytest.fixture
def aged_snapshots(cloudsigma_emulator, drive, drives, snapshots):
    """Snapshots of ``drive`` taken 10 and 1 days ago, and one of another drive 10 days ago."""
    other = drives.create({"name": "other", "size": GIB, "media": "disk"})
    drives.wait_for_status(other["uuid"], "unmounted", timeout=20)
    made = {}
    for label, source, days in (("old", drive, 10), ("recent", drive, 1), ("foreign", other, 10)):
        snapshot = snapshots.create({"drive": source["uuid"], "name": label})
        snapshots.wait_for_status(snapshot["uuid"], "available", timeout=20)
        age_snapshot(cloudsigma_emulator, snapshot["uuid"], days)
        made[label] = snapshot["uuid"]
    return made


def test_purge_deletes_only_the_drives_old_snapshots(run_sample, drive, aged_snapshots, snapshots):
    result = run_sample("snapshot_purge.py", drive["uuid"], "--days", "5")

    assert result.returncode == 0, result.stderr
    left = {s["uuid"] for s in snapshots.list()}
    assert left == {aged_snapshots["recent"], aged_snapshots["foreign"]}
    assert f"deleted {aged_snapshots['old']} 'old'" in result.stdout
    assert "1 snapshot(s)" in result.stdout and "1 kept" in result.stdout


def test_purge_dry_run_lists_and_keeps_everything(run_sample, drive, aged_snapshots, snapshots):
    result = run_sample("snapshot_purge.py", drive["name"], "--days", "5", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert {s["uuid"] for s in snapshots.list()} == set(aged_snapshots.values())
    assert f"would delete {aged_snapshots['old']} 'old'" in result.stdout
    assert aged_snapshots["recent"] not in result.stdout


def test_purge_requires_days(run_sample, drive):
    result = run_sample("snapshot_purge.py", drive["uuid"])

    assert result.returncode == 2
    assert "--days" in result.stderr

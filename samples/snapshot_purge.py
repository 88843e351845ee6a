#!/usr/bin/env python3
"""Delete the snapshots of a drive that are older than N days.

The drive is given by uuid or by name. ``--dry-run`` lists what would be deleted and
deletes nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone

import cloudsigma


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drive", help="uuid or name of the drive whose snapshots to purge")
    parser.add_argument(
        "--days",
        type=float,
        required=True,
        help="delete snapshots taken more than this many days ago",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="only list the snapshots that would be deleted"
    )
    args = parser.parse_args(argv)
    if args.days < 0:
        parser.error("--days must not be negative")
    return args


def find_drive(drives: cloudsigma.resource.Drive, uuid_or_name: str) -> dict:
    """The drive with this uuid, else the one drive with this name.

    :raises SystemExit: when no drive, or more than one, has that name.
    """
    try:
        return drives.get(uuid_or_name)
    except cloudsigma.errors.InvalidIdError:
        pass  # not a uuid: a name
    except cloudsigma.errors.ClientError as exc:
        if exc.status_code != 404:
            raise
    named = [d for d in drives.list_detail({"name": uuid_or_name}) if d["name"] == uuid_or_name]
    if len(named) != 1:
        found = "no drive" if not named else f"{len(named)} drives"
        raise SystemExit(f"error: {found} with uuid or name {uuid_or_name!r}")
    return named[0]


def taken_at(snapshot: dict) -> datetime:
    """The snapshot's ``timestamp`` (``2014-06-05 09:52:53.896622+00:00``), in UTC."""
    moment = datetime.fromisoformat(snapshot["timestamp"].replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def old_snapshots(snapshots: list[dict], drive_uuid: str, cutoff: datetime) -> list[dict]:
    """The snapshots of ``drive_uuid`` taken before ``cutoff``, oldest first."""
    of_drive = [s for s in snapshots if (s.get("drive") or {}).get("uuid") == drive_uuid]
    return sorted((s for s in of_drive if taken_at(s) < cutoff), key=taken_at)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drive = find_drive(cloudsigma.resource.Drive(), args.drive)
    snapshots = cloudsigma.resource.Snapshot()
    cutoff = datetime.now(timezone.utc) - timedelta(days=args.days)
    listed = snapshots.list_detail({"drive": drive["uuid"]})
    doomed = old_snapshots(listed, drive["uuid"], cutoff)
    verb = "would delete" if args.dry_run else "deleted"
    for snapshot in doomed:
        if not args.dry_run:
            snapshots.delete(snapshot["uuid"])
        print(f"{verb} {snapshot['uuid']} {snapshot['name']!r} taken {snapshot['timestamp']}")
    kept = len(listed) - len(doomed)
    print(
        f"{len(doomed)} snapshot(s) of drive {drive['uuid']} older than {args.days:g} days "
        f"{verb}; {kept} kept"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cloudsigma.errors.ApiClientError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)

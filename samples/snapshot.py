#!/usr/bin/env python3
"""Take a snapshot of a drive and wait until the snapshot is available.

The drive is given by uuid or by name. Prints the new snapshot's uuid and name.
"""

from __future__ import annotations

import argparse
import sys

import cloudsigma


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drive", help="uuid or name of the drive to snapshot")
    parser.add_argument("--name", help="snapshot name (default: the API's, drive uuid and time)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        metavar="SECONDS",
        help="how long to wait for the snapshot to become available (default: 600)",
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drive = find_drive(cloudsigma.resource.Drive(), args.drive)
    snapshots = cloudsigma.resource.Snapshot()
    definition = {"drive": drive["uuid"]}
    if args.name:
        definition["name"] = args.name
    snapshot = snapshots.create(definition)
    print(
        f"snapshot {snapshot['uuid']} of drive {drive['uuid']} is {snapshot['status']}", flush=True
    )
    try:
        snapshot = snapshots.wait_for_status(snapshot["uuid"], "available", timeout=args.timeout)
    except cloudsigma.errors.WaitTimeoutError:
        print(
            f"snapshot {snapshot['uuid']} was not available after {args.timeout:g}s; "
            "it may still finish, check it later",
            file=sys.stderr,
        )
        return 1
    print(f"snapshot {snapshot['uuid']} ({snapshot['name']}) is available")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cloudsigma.errors.ApiClientError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)

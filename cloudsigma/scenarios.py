"""Command-style bulk scenarios on drives named by a prefix (thin wrappers over DrivesBulk)."""

from __future__ import annotations

from collections.abc import Collection

from cloudsigma.bulk import DrivesBulk

__all__ = [
    "drives_clone",
    "drives_clone_all",
    "drives_create",
    "drives_detail",
    "drives_list",
    "drives_number",
    "drives_wipe",
]


def drives_create(id_prefix: str, count: int | str) -> None:
    """Create ``count`` drives named ``<id_prefix>-NNNNN``."""
    DrivesBulk(id_prefix=id_prefix).create(int(count))


def drives_clone(id_prefix: str, count: int | str, source_drive: str) -> None:
    """Clone ``source_drive`` (uuid or part of a name) ``count`` times and wait for the clones."""
    DrivesBulk(id_prefix=id_prefix).clone(int(count), source_drive)


def drives_clone_all(id_prefix: str, count: int | str) -> None:
    """Clone every drive with the prefix ``count`` times and print the clones."""
    print(DrivesBulk(id_prefix=id_prefix).clone_all(int(count)))


def drives_list(id_prefix: str) -> None:
    """Print the drives with the prefix (name and uuid)."""
    print(DrivesBulk(id_prefix=id_prefix).get_list())


def _drives_get_by_uuids(id_prefix: str, uuids: Collection[str]) -> None:
    print(DrivesBulk(id_prefix=id_prefix).get_by_uuids(uuids))


def drives_detail(id_prefix: str) -> None:
    """Print the full drives with the prefix."""
    print(DrivesBulk(id_prefix=id_prefix).get_detail())


def drives_wipe(id_prefix: str) -> None:
    """Delete every drive with the prefix."""
    DrivesBulk(id_prefix=id_prefix).wipe()


def drives_number(id_prefix: str) -> None:
    """Print how many drives have the prefix."""
    print(f"Number of DRIVES: {len(DrivesBulk(id_prefix=id_prefix).get_list())!r}")

"""Where the emulated cloud puts things: a host for each running server and a storage pool for
each drive, and the availability groups that follow from it (availability_groups.rst).

Everything of an account shares host (or pool) 0 unless ``?avoid=`` asks to keep it away from
other servers or drives; then it goes to the lowest-numbered place none of them is on.
Placement is kept per account, keyed by uuid, outside the objects the API shows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable


def avoided_uuids(raw: str | None) -> list[str]:
    """The uuids of an ``avoid`` query parameter (a comma list; empty entries are dropped)."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def place(placement: dict[str, int], uuid: str, avoided_places: Iterable[int]) -> int:
    """Put ``uuid`` on the lowest-numbered place that is not avoided; returns it."""
    taken = set(avoided_places)
    chosen = next(n for n in itertools.count() if n not in taken)
    placement[uuid] = chosen
    return chosen


def groups(placement: dict[str, int], members: Iterable[str]) -> list[list[str]]:
    """``members`` grouped by the place they are on (places in order, members in order)."""
    by_place: dict[int, list[str]] = {}
    for uuid in members:
        by_place.setdefault(placement.get(uuid, 0), []).append(uuid)
    return [by_place[key] for key in sorted(by_place)]


def group_of(placement: dict[str, int], uuid: str, members: Iterable[str]) -> list[str]:
    """The members on the same place as ``uuid`` (``uuid`` included, if it is a member)."""
    where = placement.get(uuid, 0)
    return [member for member in members if placement.get(member, 0) == where]

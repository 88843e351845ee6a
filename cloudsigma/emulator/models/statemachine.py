"""Status state machines of the emulated resources and the one helper that moves them.

Every status change goes through :class:`Transitions`, whose timing tests control: a delay
(seconds, ``0`` for the next loop turn, ``None`` for "only when advanced") and :meth:`advance`.
A :class:`TimingProfile` replaces the one delay by a duration per kind of change, as data.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Allowed status changes per resource type (guide section 5).
STATES: dict[str, dict[str, frozenset[str]]] = {
    "drives": {
        "creating": frozenset({"unmounted", "mounted"}),
        "uploading": frozenset({"unmounted", "mounted"}),
        "unmounted": frozenset({"mounted", "resizing", "cloning_src", "unavailable"}),
        "mounted": frozenset({"unmounted", "resizing", "cloning_src", "unavailable"}),
        "resizing": frozenset({"unmounted", "mounted"}),
        "cloning_src": frozenset({"unmounted", "mounted"}),
        "cloning_dst": frozenset({"unmounted", "mounted"}),
        "unavailable": frozenset({"unmounted", "mounted"}),
    },
    "servers": {
        "stopped": frozenset({"starting"}),
        "starting": frozenset({"running", "stopped"}),
        "running": frozenset({"stopping", "stopped", "unavailable"}),
        "stopping": frozenset({"stopped", "running"}),
        "unavailable": frozenset({"stopped", "running"}),
    },
    "snapshots": {"creating": frozenset({"available"})},
    "remotesnapshots": {
        "creating": frozenset({"transferring"}),
        "transferring": frozenset({"available"}),
    },
    "jobs": {"started": frozenset({"success"})},
    "virtualrouters": {"creating": frozenset({"running"})},
}

#: The key holding the status, per resource type (jobs call it ``state``).
STATUS_KEY = {"jobs": "state"}

Scheduler = Callable[[float, Callable[[], None]], Any]

GIB = 1024**3


@dataclass(frozen=True)
class Phase:
    """How long one kind of status change takes under a :class:`TimingProfile`.

    :param seconds: the fixed part, in seconds.
    :param per_gib: seconds added per GiB of the object's size (a clone of a bigger drive
        takes longer).
    :param at_factor: the factor the models schedule this change with (a clone is scheduled
        at 1.5 transition delays, an ACPI shutdown at 2); the figures above are for that
        factor, and a change scheduled with another factor is scaled accordingly.
    """

    seconds: float
    per_gib: float = 0.0
    at_factor: float = 1.0

    def duration(self, size: int | None, factor: float = 1.0) -> float:
        """Seconds for an object of ``size`` bytes (none: the fixed part only)."""
        gib = max(size or 0, 0) / GIB
        return (self.seconds + self.per_gib * gib) * factor / self.at_factor


@dataclass(frozen=True)
class TimingProfile:
    """Durations of the status changes, by phase: ``<resource>.<status>`` names the change
    that ends the status (``servers.starting``), ``<resource>.<status>><target>`` one change
    out of it when the target matters (``servers.stopping>running``).

    :param name: what ``--timing`` calls it.
    :param phases: the duration of each named phase.
    :param default: the duration of a change the profile does not name.
    """

    name: str
    phases: Mapping[str, Phase]
    default: Phase = field(default=Phase(1.0))

    def duration(self, phases: Sequence[str], size: int | None, factor: float = 1.0) -> float:
        """Seconds for the first of ``phases`` the profile names (else :attr:`default`)."""
        for phase in phases:
            found = self.phases.get(phase)
            if found is not None:
                return found.duration(size, factor)
        return self.default.duration(size, factor)


#: The cloud's own pace, as far as the recorded exchanges and the docs show it. Estimates:
#: the audit log of a recorded start shows ``boot`` 0.9 s after ``start_send`` and one of a
#: stop ``stop`` 2.1 s after ``stop_send``; recorded ``drive_clone`` jobs of 1 GiB drives
#: took 0.8 to 7.7 s; a recorded 50 GiB remote snapshot was available 12.6 s after it was
#: taken; an unanswered ACPI shutdown is given up after a minute (servers.rst). The rest
#: ("drive create takes seconds") is a guess; docs/emulator.md lists every figure.
REALISTIC = TimingProfile(
    "realistic",
    {
        "drives.creating": Phase(2.0),
        "drives.resizing": Phase(2.0),
        "drives.cloning_dst": Phase(1.0, per_gib=0.5, at_factor=1.5),
        "jobs.started": Phase(1.0, per_gib=0.5, at_factor=1.5),
        "servers.starting": Phase(1.0),
        "servers.stopping": Phase(2.0),
        "servers.stopping>running": Phase(60.0, at_factor=6.0),
        "snapshots.creating": Phase(2.0),
        "remotesnapshots.creating": Phase(2.0),
        "remotesnapshots.transferring": Phase(0.6, per_gib=0.2),
        "virtualrouters.creating": Phase(5.0),
    },
)

#: The profiles ``--timing`` and ``Emulator(timing=...)`` know by name; ``uniform`` (no
#: profile) gives every change the one transition delay.
PROFILES: dict[str, TimingProfile | None] = {"uniform": None, "realistic": REALISTIC}


def timing_profile(timing: str | TimingProfile | None) -> TimingProfile | None:
    """The profile named ``timing`` (a profile stands for itself; None is ``uniform``).

    :raises ValueError: for a name that is not in :data:`PROFILES`.
    """
    if timing is None or isinstance(timing, TimingProfile):
        return timing
    if timing not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown timing profile {timing!r}; choose one of {known}")
    return PROFILES[timing]


class IllegalTransition(RuntimeError):
    """A status change that the state machine does not allow (an emulator bug, not a client's)."""


class Transitions:
    """Schedules and applies status changes.

    :param delay: seconds before a scheduled change happens; ``0`` means on the next turn
        of the event loop, ``None`` means only when :meth:`advance` is called.
    :param profile: durations per kind of change instead of ``delay`` (which then only
        says whether changes happen by themselves: ``None`` still means only on
        :meth:`advance`, which then applies what the profile makes due within its horizon).
    """

    def __init__(self, delay: float | None = 0.1, profile: TimingProfile | None = None) -> None:
        self.delay = delay
        self.profile = profile
        self._pending: dict[int, tuple[float, Callable[[], None], Any]] = {}
        self._order = itertools.count()
        self._scheduler: Scheduler | None = None
        self._keys: dict[Hashable, int] = {}
        self._key_of: dict[int, Hashable] = {}

    def attach(self, scheduler: Scheduler | None) -> None:
        """Use ``scheduler(delay, callback)`` (e.g. ``loop.call_later``) to fire changes."""
        self._scheduler = scheduler

    @staticmethod
    def check(resource: str, old: str, new: str) -> None:
        """:raises IllegalTransition: when ``old`` -> ``new`` is not in :data:`STATES`."""
        if old != new and new not in STATES[resource].get(old, frozenset()):
            raise IllegalTransition(f"{resource}: {old} -> {new} is not a valid transition")

    def move(self, resource: str, obj: dict, new: str, notify: Callable[[], None]) -> None:
        """Change the status of ``obj`` now and announce it."""
        key = STATUS_KEY.get(resource, "status")
        self.check(resource, obj[key], new)
        obj[key] = new
        notify()

    def later(
        self,
        callback: Callable[[], None],
        factor: float = 1.0,
        *,
        phases: Sequence[str] = (),
        size: int | None = None,
        key: Hashable | None = None,
    ) -> int:
        """Run ``callback`` after the configured delay (scaled by ``factor``).

        :param phases: the names of the change in a :class:`TimingProfile`, most precise first.
        :param size: the size in bytes of the object changing, for durations that grow with it.
        :param key: what the change is about (e.g. ``("servers", uuid)``): a change scheduled
            with the same key replaces this one if it has not happened yet, so a change that
            a later action overtook never undoes that action.
        :returns: a token for :meth:`cancel`.
        """
        if key is not None and key in self._keys:
            self.cancel(self._keys[key])
        token = next(self._order)
        if key is not None:
            self._keys[key] = token
            self._key_of[token] = key
        delay = self.duration(factor, phases, size)
        due = float("inf") if delay is None else time.monotonic() + delay
        handle = None
        if delay is not None and self.delay is not None and self._scheduler is not None:
            handle = self._scheduler(delay, lambda: self._fire(token))
        self._pending[token] = (due, callback, handle)
        return token

    def duration(
        self, factor: float = 1.0, phases: Sequence[str] = (), size: int | None = None
    ) -> float | None:
        """Seconds a change takes: from the profile if there is one, else the delay times
        ``factor``; None when there is neither (changes wait for :meth:`advance`)."""
        if self.profile is not None:
            return self.profile.duration(phases, size, factor)
        return None if self.delay is None else self.delay * factor

    def cancel(self, token: int) -> bool:
        """Forget a scheduled change that has not happened; returns whether it was pending."""
        self._forget_key(token)
        entry = self._pending.pop(token, None)
        if entry is not None and entry[2] is not None:
            entry[2].cancel()
        return entry is not None

    def _forget_key(self, token: int) -> None:
        key = self._key_of.pop(token, None)
        if key is not None:
            self._keys.pop(key, None)

    def _fire(self, token: int) -> None:
        self._forget_key(token)
        entry = self._pending.pop(token, None)
        if entry is not None:
            entry[1]()

    @property
    def pending(self) -> int:
        """The number of scheduled changes that have not happened yet."""
        return len(self._pending)

    def advance(self, seconds: float | None = None) -> int:
        """Apply scheduled changes now, including those they schedule in turn.

        :param seconds: apply only what falls due within this many seconds (``None``: all).
        :returns: the number of changes applied.
        """
        applied = 0
        horizon = float("inf") if seconds is None else time.monotonic() + seconds
        while applied < 100_000:
            due = [
                t for t, entry in self._pending.items() if seconds is None or entry[0] <= horizon
            ]
            if not due:
                break
            token = min(due, key=lambda t: (self._pending[t][0], t))
            handle = self._pending[token][2]
            if handle is not None:
                handle.cancel()
            self._fire(token)
            applied += 1
        return applied

    def step(self) -> bool:
        """Apply the earliest scheduled change only.

        :returns: whether there was one.
        """
        if not self._pending:
            return False
        token = min(self._pending, key=lambda t: (self._pending[t][0], t))
        handle = self._pending[token][2]
        if handle is not None:
            handle.cancel()
        self._fire(token)
        return True

    def clear(self) -> None:
        """Forget every scheduled change (used by reset)."""
        for _due, _callback, handle in self._pending.values():
            if handle is not None:
                handle.cancel()
        self._pending.clear()
        self._keys.clear()
        self._key_of.clear()

"""Status state machines of the emulated resources and the one helper that moves them.

Every status change goes through :class:`Transitions`, whose timing tests control: a delay
(seconds, ``0`` for the next loop turn, ``None`` for "only when advanced") and :meth:`advance`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

#: Allowed status changes per resource type (guide section 5).
STATES: dict[str, dict[str, frozenset[str]]] = {
    "drives": {
        "creating": frozenset({"unmounted", "mounted"}),
        "uploading": frozenset({"unmounted"}),
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


class IllegalTransition(RuntimeError):
    """A status change that the state machine does not allow (an emulator bug, not a client's)."""


class Transitions:
    """Schedules and applies status changes.

    :param delay: seconds before a scheduled change happens; ``0`` means on the next turn
        of the event loop, ``None`` means only when :meth:`advance` is called.
    """

    def __init__(self, delay: float | None = 0.1) -> None:
        self.delay = delay
        self._pending: dict[int, tuple[float, Callable[[], None], Any]] = {}
        self._order = itertools.count()
        self._scheduler: Scheduler | None = None

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

    def later(self, callback: Callable[[], None], factor: float = 1.0) -> int:
        """Run ``callback`` after the configured delay (scaled by ``factor``).

        :returns: a token for :meth:`cancel`.
        """
        token = next(self._order)
        delay = None if self.delay is None else self.delay * factor
        due = float("inf") if delay is None else time.monotonic() + delay
        handle = None
        if delay is not None and self._scheduler is not None:
            handle = self._scheduler(delay, lambda: self._fire(token))
        self._pending[token] = (due, callback, handle)
        return token

    def cancel(self, token: int) -> bool:
        """Forget a scheduled change that has not happened; returns whether it was pending."""
        entry = self._pending.pop(token, None)
        if entry is not None and entry[2] is not None:
            entry[2].cancel()
        return entry is not None

    def _fire(self, token: int) -> None:
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

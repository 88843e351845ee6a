"""The emulated wall clock of billing: real UTC time plus an offset that tests move forward.

Subscriptions (their start, end and status), usage polls, burst and the ledger read it. A
frozen clock stands still until it is advanced, so a test sees exactly the time it made.
"""

from __future__ import annotations

import datetime


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Clock:
    """``now()`` = the real time (or the moment it froze) plus :attr:`offset`."""

    def __init__(self) -> None:
        self.offset = datetime.timedelta(0)
        self.frozen_at: datetime.datetime | None = None

    def now(self) -> datetime.datetime:
        return (self.frozen_at or utc_now()) + self.offset

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def freeze(self, frozen: bool = True) -> None:
        """Stop the clock where it is (or let it follow real time again, from where it is)."""
        if frozen and self.frozen_at is None:
            self.frozen_at = utc_now()
        elif not frozen and self.frozen_at is not None:
            self.offset = self.now() - utc_now()
            self.frozen_at = None

    def advance(self, seconds: float) -> datetime.datetime:
        """Move the clock ``seconds`` forward; returns the new time.

        :raises ValueError: for a negative or non-finite amount (time does not go back).
        """
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError(f"the clock only moves forward, by a finite time, not {seconds!r}")
        self.offset += datetime.timedelta(seconds=seconds)
        return self.now()

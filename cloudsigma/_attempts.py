"""The one retry engine: attempts of a call within a :class:`~cloudsigma.policies.Retry`
policy and a total deadline, with every sleep capped.

The HTTP client (a request and its retries) and the drive transfers (a chunk or a range
and its retries) both count their attempts here; only what counts as worth retrying
differs, and the callers decide that.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cloudsigma.policies import Retry

__all__ = ["Attempts", "format_seconds"]


class Attempts:
    """The attempts of one call: how many were made, how long it took, what is left.

    :param policy: how many retries, and how long to sleep before each.
    :param deadline: seconds the whole call may take (attempts and sleeps); None for no limit.
    :param sleep: the function that sleeps (tests replace it).
    :param clock: a monotonic clock in seconds.
    """

    def __init__(
        self,
        policy: Retry,
        deadline: float | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self.started = clock()
        self.retries_done = 0
        self.slept = 0.0
        #: Why no further attempt was made, when a retry was refused for time.
        self.gave_up: str | None = None

    @property
    def count(self) -> int:
        """Attempts made so far, the current one included."""
        return self.retries_done + 1

    @property
    def deadline_at(self) -> float | None:
        """The clock reading at which the call must end, if it has a deadline."""
        return None if self.deadline is None else self.started + self.deadline

    def elapsed(self) -> float:
        """Seconds since the first attempt started (sleeps included)."""
        return self._clock() - self.started

    def remaining(self) -> float | None:
        """Seconds left before the deadline (at least 0), or None without a deadline."""
        if self.deadline is None:
            return None
        return max(self.deadline - self.elapsed(), 0.0)

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """Seconds to sleep before another attempt, or None when none may follow.

        None means the retries are used up, or the sleep would pass the deadline (then
        :attr:`gave_up` says so): a sleep that cannot be followed by an attempt is not taken.
        """
        if self.retries_done >= self.policy.total:
            return None
        delay = self.policy.backoff(self.retries_done, retry_after)
        remaining = self.remaining()
        if remaining is not None and delay >= remaining:
            asked = f" (Retry-After: {format_seconds(retry_after)})" if retry_after else ""
            self.gave_up = (
                f"the next retry would wait {format_seconds(delay)}{asked}, past the "
                f"{format_seconds(self.deadline or 0)} deadline of the call"
            )
            return None
        return delay

    def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds before the next attempt, and count that attempt."""
        self.retries_done += 1
        self.slept += delay
        self._sleep(delay)

    def summary(self) -> str:
        """``3 attempts in 12.4 s`` (or ``1 attempt in 0.2 s``), for error messages."""
        tries = "1 attempt" if self.count == 1 else f"{self.count} attempts"
        return f"{tries} in {format_seconds(self.elapsed())}"


def format_seconds(seconds: float) -> str:
    """``0.05 s``, ``12.4 s`` or ``4 min 2 s``: a duration as a person reads it."""
    if seconds >= 120:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    if seconds >= 10:
        return f"{seconds:.0f} s"
    return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"

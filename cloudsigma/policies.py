"""Small immutable policies for the SDK: request timeouts, retries and status polling.

They are values, in the style of urllib3's ``Retry`` and ``Timeout``: build one,
pass it to a client or a resource call, and derive variants with
:func:`dataclasses.replace`. None of them reads configuration or holds state.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

__all__ = ["Retry", "Timeout", "WaitPolicy"]

#: Methods that may be sent twice without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Timeout:
    """How long to wait for a connection and then for each read of the answer, in seconds.

    :param connect: seconds to open the TCP (and TLS) connection.
    :param read: seconds to wait between bytes of the answer.
    """

    connect: float = 10.0
    read: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(
                    f"Timeout.{name} must be a positive number of seconds, not {value!r}"
                )

    @classmethod
    def coerce(cls, value: Timeout | float | tuple[float, float]) -> Timeout:
        """Turn a number (both timeouts), a ``(connect, read)`` pair or a Timeout into a Timeout."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, tuple):
            return cls(*value)
        return cls(connect=value, read=value)

    def as_requests(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair ``requests`` expects."""
        return (self.connect, self.read)


@dataclass(frozen=True)
class Retry:
    """When to send a request again, and how long to sleep first.

    A retry happens only when it cannot do harm: GET, PUT and DELETE are retried
    on connection failures, read timeouts and the statuses in ``statuses``; POST
    only when the request provably never reached the server (connection refused,
    connect timeout, or a 429/503 answer) and never after it may have been
    processed (read timeout, connection reset after sending, 502, 504).

    :param total: how many times a request may be retried; 0 turns retrying off.
    :param backoff_factor: base of the exponential backoff, in seconds.
    :param backoff_max: the longest computed backoff, in seconds.
    :param statuses: answers worth retrying.
    :param retry_after_max: the longest ``Retry-After`` honoured, in seconds.
    :param jitter: sleep a random time up to the backoff ("full jitter").
    """

    total: int = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    retry_after_max: float = 300.0
    jitter: bool = True
    #: Statuses that mean "not processed", so even a POST may be sent again.
    unprocessed_statuses: frozenset[int] = field(default=frozenset({429, 503}), repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 0:
            raise ValueError(f"Retry.total must be a whole number >= 0, not {self.total!r}")
        if self.backoff_factor < 0 or self.backoff_max < 0:
            raise ValueError("Retry.backoff_factor and Retry.backoff_max must be >= 0")

    @classmethod
    def coerce(cls, value: Retry | int) -> Retry:
        """Turn a number of retries (0 = off) or a Retry into a Retry."""
        return value if isinstance(value, Retry) else cls(total=value)

    def allows_status(self, method: str, status_code: int, retries_done: int) -> bool:
        """Whether an answer with ``status_code`` to ``method`` may be retried now."""
        if retries_done >= self.total or status_code not in self.statuses:
            return False
        return method.upper() in IDEMPOTENT_METHODS or status_code in self.unprocessed_statuses

    def allows_error(self, method: str, exc: Exception, retries_done: int) -> bool:
        """Whether a transport failure of ``method`` may be retried now."""
        import requests  # only failures get here: importing this module stays light

        if retries_done >= self.total or isinstance(exc, requests.exceptions.SSLError):
            return False  # a certificate will not change on a second attempt
        if never_reached_server(exc):
            return True
        return method.upper() in IDEMPOTENT_METHODS and isinstance(
            exc,
            (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError),
        )

    def backoff(self, retries_done: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number ``retries_done + 1``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_factor * (2**retries_done))
        return random.uniform(0, ceiling) if self.jitter else ceiling


def never_reached_server(exc: BaseException) -> bool:
    """True when ``exc`` proves that no byte of the request reached the server."""
    import requests
    import urllib3.exceptions

    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    import email.utils  # only an HTTP-date Retry-After needs it: importing stays light

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@dataclass(frozen=True)
class WaitPolicy:
    """How long to poll an object for a status, and how often.

    :param timeout: seconds before giving up with ``WaitTimeoutError``.
    :param interval: seconds between the first polls.
    :param max_interval: the interval grows by ``factor`` up to this many seconds.
    :param factor: growth of the interval after each poll (1 keeps it fixed).
    """

    timeout: float = 300.0
    interval: float = 1.0
    max_interval: float = 10.0
    factor: float = 1.5

    def __post_init__(self) -> None:
        if self.timeout < 0 or self.interval <= 0 or self.max_interval <= 0 or self.factor < 1:
            raise ValueError(
                "WaitPolicy needs timeout >= 0, interval > 0, max_interval > 0 and factor >= 1"
            )

    def intervals(self) -> Iterator[float]:
        """The successive sleep intervals, growing up to ``max_interval``."""
        interval = self.interval
        while True:
            yield min(interval, self.max_interval)
            interval *= self.factor

    def with_overrides(self, timeout: float | None, interval: float | None) -> WaitPolicy:
        """A copy with ``timeout`` and ``interval`` replaced where they are given."""
        changes: dict[str, float] = {}
        if timeout is not None:
            changes["timeout"] = timeout
        if interval is not None:
            changes["interval"] = interval
            changes["max_interval"] = max(interval, self.max_interval)
        return dataclasses.replace(self, **changes)

    def polls(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Iterator[int]:
        """Yield the number of each poll: one at once, one after each interval, one at the end.

        The last sleep is cut short so that the final poll happens at the deadline.
        """
        deadline = clock() + self.timeout
        for number, pause in enumerate(self.intervals()):
            yield number
            remaining = deadline - clock()
            if remaining <= 0:
                return
            sleep(min(pause, remaining))


def status_set(status: str | Collection[str]) -> frozenset[str]:
    """One wanted status or several, as a set."""
    return frozenset([status]) if isinstance(status, str) else frozenset(status)

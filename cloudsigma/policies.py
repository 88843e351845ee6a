"""Small immutable policies for the SDK: request timeouts, retries and status polling.

They are values, in the style of urllib3's ``Retry`` and ``Timeout``: build one,
pass it to a client or a resource call, and derive variants with
:func:`dataclasses.replace`. None of them reads configuration, holds state or
imports the HTTP library: transport failures reach them as one of the kinds below.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

__all__ = ["Retry", "Timeout", "WaitPolicy"]

#: Methods that may be sent twice without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# Kinds of transport failure (see cloudsigma._transport.failure_kind).
#: The connection was refused or could not be opened: no byte reached the server.
REFUSED = "refused"
#: No connection within the connect timeout: no byte reached the server.
CONNECT_TIMEOUT = "connect_timeout"
#: The server went quiet for longer than the read timeout.
READ_TIMEOUT = "read_timeout"
#: The connection broke after the request went out.
RESET = "reset"
#: The answer's body ended early or could not be decoded.
CUT_OFF = "cut_off"
#: The TLS handshake or the certificate check failed.
TLS = "tls"
#: The call's total deadline passed.
DEADLINE = "deadline"
#: The answer was larger than the client accepts.
TOO_LARGE = "too_large"
#: The request could not be built or sent at all (a bad URL, an unsupported scheme).
UNSENDABLE = "unsendable"
#: The request was about to leave for an endpoint the running test does not allow.
FOREIGN = "foreign"

#: Failures after which no byte of the request can have reached the server.
UNSENT_KINDS = frozenset({REFUSED, CONNECT_TIMEOUT, FOREIGN, UNSENDABLE})
#: Failures that another attempt may cure.
TRANSIENT_KINDS = frozenset({REFUSED, CONNECT_TIMEOUT, READ_TIMEOUT, RESET, CUT_OFF})


def positive_seconds(name: str, value: object) -> float:
    """``value`` as seconds, when it is a finite number above 0.

    :raises ValueError: naming ``name``, for anything else (NaN, infinity, a bool, a str).
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


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
            positive_seconds(f"Timeout.{name}", getattr(self, name))

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

    def within(self, remaining: float | None) -> tuple[float, float]:
        """The ``(connect, read)`` pair, neither longer than ``remaining`` seconds (if given)."""
        if remaining is None:
            return (self.connect, self.read)
        remaining = max(remaining, 0.001)
        return (min(self.connect, remaining), min(self.read, remaining))


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
    :param retry_after_max: the longest sleep a ``Retry-After`` header gets, in seconds
        (a longer one is cut to this; a sleep that would pass the call's deadline is not
        taken at all).
    :param jitter: sleep a random time up to the backoff ("full jitter").
    """

    total: int = 3
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    retry_after_max: float = 120.0
    jitter: bool = True
    #: Statuses that mean "not processed", so even a POST may be sent again.
    unprocessed_statuses: frozenset[int] = field(default=frozenset({429, 503}), repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 0:
            raise ValueError(f"Retry.total must be a whole number >= 0, not {self.total!r}")
        for name in ("backoff_factor", "backoff_max", "retry_after_max"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"Retry.{name} must be a number of seconds >= 0, not {value!r}")

    @classmethod
    def coerce(cls, value: Retry | int) -> Retry:
        """Turn a number of retries (0 = off) or a Retry into a Retry."""
        return value if isinstance(value, Retry) else cls(total=value)

    def allows_status(self, method: str, status_code: int, retries_done: int) -> bool:
        """Whether an answer with ``status_code`` to ``method`` may be retried now."""
        if retries_done >= self.total or status_code not in self.statuses:
            return False
        return method.upper() in IDEMPOTENT_METHODS or status_code in self.unprocessed_statuses

    def allows_failure(self, method: str, kind: str, retries_done: int) -> bool:
        """Whether a transport failure of ``kind`` (see the kinds above) may be retried now.

        A failure before any byte left is retried for every method; one after the request
        may have reached the server only for the idempotent methods; TLS failures, the
        deadline and oversized answers never (a second attempt would meet the same).
        """
        if retries_done >= self.total or kind not in TRANSIENT_KINDS:
            return False
        return kind in UNSENT_KINDS or method.upper() in IDEMPOTENT_METHODS

    def backoff(self, retries_done: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number ``retries_done + 1``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_factor * (2**retries_done))
        if not self.jitter:
            return ceiling
        import random  # loads hashlib; only a retry needs it, not the import of the SDK

        return random.uniform(0, ceiling)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent
    or not a finite number of seconds (``nan``, ``1e400``)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
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
        # written so that NaN fails every test
        if not (
            self.timeout >= 0 and self.interval > 0 and self.max_interval > 0 and self.factor >= 1
        ):
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

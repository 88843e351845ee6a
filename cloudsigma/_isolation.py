"""Which endpoints requests may go to while a test isolates the SDK (see ``cloudsigma.testing``).

Outside such a test nothing is restricted. While one runs, every HTTP request and websocket
connection of the process is checked against the origins it allows, before anything is sent;
refused attempts are also kept, so the test can fail even when the calling code swallowed
the error.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterable

__all__ = ["Isolation", "active", "check", "isolate", "release"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of an absolute URL; ``ws``/``wss`` count as ``http``/``https``."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        port = None
    return (scheme, (parts.hostname or "").lower(), port)


class Isolation:
    """The endpoints a test allows, and the requests it refused.

    :param allowed: URLs (any path) whose scheme, host and port may be reached.
    :param reason: what isolates the SDK, named in the error, e.g. the fixture's name.
    """

    def __init__(self, allowed: Iterable[str], reason: str) -> None:
        self.allowed = frozenset(origin(url) for url in allowed)
        self.reason = reason
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def allow(self, url: str) -> None:
        """Let requests reach ``url``'s scheme, host and port too."""
        with self._lock:
            self.allowed = self.allowed | {origin(url)}

    def refusal(self, url: str, shown_url: str) -> str | None:
        """None when ``url`` may be reached; else the message of the refusal (now recorded)."""
        if origin(url) in self.allowed:
            return None
        message = (
            f"{shown_url} is not the emulator: {self.reason} lets requests go only to "
            f"{', '.join(sorted(_show(o) for o in self.allowed))}. A client built before the "
            "test started (at import time, such as DRIVES = Drive() at module level) keeps the "
            "endpoint it was built with; build clients inside the test or its fixtures"
        )
        with self._lock:
            self.refused.append(message)
        return message


def _show(found: tuple[str, str, int | None]) -> str:
    scheme, host, port = found
    return f"{scheme}://{host}:{port}"


_active: list[Isolation] = []


def isolate(isolation: Isolation) -> None:
    """Start restricting requests to what ``isolation`` allows (nested isolations stack)."""
    _active.append(isolation)


def release(isolation: Isolation) -> None:
    """Stop the restriction that :func:`isolate` started."""
    if isolation in _active:
        _active.remove(isolation)


def active() -> Isolation | None:
    """The innermost isolation in force, if any."""
    return _active[-1] if _active else None


def check(url: str, shown_url: str) -> str | None:
    """The refusal message for ``url`` under the isolation in force, or None."""
    isolation = active()
    return None if isolation is None else isolation.refusal(url, shown_url)

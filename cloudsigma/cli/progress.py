"""Progress of uploads and downloads on a terminal: a tqdm bar, or a text line without tqdm.

Nothing is drawn when stderr is not a terminal (a log file gets no bar) or with
``--no-progress``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import Any

from cloudsigma.cli.output import human_size

__all__ = ["Progress"]

_TERMINAL_PAUSE = 0.1
_LOG_PAUSE = 5.0


def wanted(no_progress: bool = False) -> bool:
    """Whether to draw progress: stderr is a terminal and ``--no-progress`` was not given."""
    isatty = getattr(sys.stderr, "isatty", None)
    return not no_progress and bool(isatty and isatty())


def _tqdm_class() -> Any:
    """tqdm's bar class (the ``cli`` extra), or None when it is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class Progress:
    """A byte counter shown on stderr; callable as ``progress(done, total)`` from any thread.

    Uses ``tqdm`` (the ``cli`` extra) when it can be imported, and otherwise rewrites a
    plain ``label: 12 MiB / 100 MiB (12%)`` line. Disabled, it counts and shows nothing.
    """

    def __init__(self, label: str, total: int | None = None, *, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = enabled
        self._lock = threading.Lock()
        self._bar: Any = None
        self._last_line = 0.0
        tqdm = _tqdm_class()
        if tqdm is not None and enabled:
            self._bar = tqdm(
                total=total,
                desc=label,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                # a terminal that reports no width (a new pty, some CI consoles) gets 80
                dynamic_ncols=_terminal_width() > 0,
                ncols=None if _terminal_width() > 0 else 80,
            )

    def __call__(self, done: int, total: int | None = None) -> None:
        """Record that ``done`` bytes of ``total`` are transferred."""
        with self._lock:
            if total is not None and total != self.total:
                self.total = total
                if self._bar is not None:
                    self._bar.total = total
            step, self.done = done - self.done, done
            if self._bar is not None:
                self._bar.update(step)
            elif self.enabled:
                self._write_line()

    def _write_line(self) -> None:
        on_terminal = sys.stderr.isatty()
        finished = bool(self.total) and self.done >= (self.total or 0)
        # a terminal line is rewritten in place; in a log, one line every few seconds is enough
        pause = _TERMINAL_PAUSE if on_terminal else _LOG_PAUSE
        now = time.monotonic()
        if not finished and now - self._last_line < pause:
            return
        self._last_line = now
        shown = f"{self.label}: {human_size(self.done)}"
        if self.total:
            shown += f" / {human_size(self.total)} ({100 * self.done // self.total}%)"
        sys.stderr.write(shown + ("\r" if on_terminal else "\n"))
        sys.stderr.flush()

    def close(self) -> None:
        """End the display (the bar stays on screen)."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()
            elif self.enabled and sys.stderr.isatty():
                sys.stderr.write("\n")

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

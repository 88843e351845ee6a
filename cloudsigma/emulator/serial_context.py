"""Serve a server context on a pseudo-terminal, the way a guest sees it on /dev/ttyS1.

A daemon thread answers ``<`` NL PATH NL ``>`` requests on the master side of a pty; the
guest side (the slave path returned by :meth:`SerialContextServer.start`) behaves like the
context serial port: compact ASCII JSON for objects and lists, the bare escaped value for
leaves, each answer followed by ``\\n`` and EOT. One request is answered at a time: a new
request discards the unread answers of earlier ones, so a reader that gave up cannot hand its
answer to the next reader.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import termios
import threading
import tty
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["EOT", "SerialContextServer", "encode_answer", "parse_requests", "resolve_path"]

log = logging.getLogger(__name__)

EOT = b"\x04"
UNKNOWN_PATH_MODES = ("empty", "silent")

# The longest path answered; a longer one is noise (paths are keys and indexes, a few dozen bytes).
MAX_PATH = 4096
# A request is "<", a newline, the path, a newline, ">"; the newline is LF or CRLF.
_REQUEST = re.compile(rb"<\r?\n([^\r\n]{0,%d})\r?\n>" % MAX_PATH)
# The start of a request that more bytes could still complete, anchored at the end of the buffer.
_PARTIAL = re.compile(rb"<(?:\r|\r?\n[^\r\n]{0,%d}(?:\r|\r?\n)?)?\Z" % MAX_PATH)
# Backslash, control characters and everything outside ASCII in a leaf string.
_LEAF_SPECIAL = re.compile("[\\\\\x00-\x1f\x7f-\U0010ffff]")
_LEAF_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MISSING = object()


def resolve_path(context: Any, path: str) -> Any:
    """The value at ``path`` in ``context``, or raise ``LookupError``.

    The path is keys and 0-based list indexes joined by ``/``; a leading and a trailing
    ``/`` are optional, and an empty path is the whole context.
    """
    inner = path[1:] if path.startswith("/") else path
    inner = inner[:-1] if inner.endswith("/") else inner
    if not inner:
        return context
    value = context
    for segment in inner.split("/"):
        value = _child(value, segment)
        if value is _MISSING:
            raise LookupError(f"no {segment!r} on the way to {path!r}")
    return value


def _child(value: Any, segment: str) -> Any:
    if isinstance(value, dict):
        return value.get(segment, _MISSING)
    if isinstance(value, list) and segment.isdigit() and segment.isascii():
        index = int(segment)
        return value[index] if index < len(value) else _MISSING
    return _MISSING


def encode_answer(value: Any) -> bytes:
    """The bytes answering a request whose path resolved to ``value``.

    Objects and lists become compact JSON with non-ASCII escaped (cloud-init decodes the
    answer as ASCII); ``None`` becomes an empty payload; numbers and booleans are JSON
    literals; strings are sent bare with ``\\``, ``\\n``, ``\\r``, ``\\t`` escaped and other
    control or non-ASCII characters as ``\\uXXXX``. Every answer ends with ``\\n`` and EOT.
    """
    if isinstance(value, (dict, list)):
        payload = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    elif value is None:
        payload = ""
    elif isinstance(value, str):
        payload = _LEAF_SPECIAL.sub(_escape_char, value)
    else:
        payload = json.dumps(value)
    return payload.encode("ascii") + b"\n" + EOT


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _LEAF_ESCAPES:
        return _LEAF_ESCAPES[char]
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def parse_requests(buffer: bytearray) -> list[str]:
    """Take every complete request out of ``buffer`` and return their paths, in order.

    Bytes before a request are noise and dropped; only the start of a request that more
    bytes could still complete stays in ``buffer`` for the next read, so the buffer never
    holds more than one request (at most :data:`MAX_PATH` + 5 bytes), whatever arrives.
    A path that is not UTF-8 is returned with the bad bytes replaced, so it resolves to
    nothing.
    """
    paths = []
    position = 0
    while match := _REQUEST.search(buffer, position):
        paths.append(match.group(1).decode("utf-8", errors="replace"))
        position = match.end()
    partial = _PARTIAL.search(buffer, position)
    del buffer[: partial.start() if partial else len(buffer)]
    return paths


class _PtyFds(NamedTuple):
    master: int
    slave: int
    wake_r: int  # written by stop() to end the serving thread's wait
    wake_w: int


class SerialContextServer:
    """Answer server context requests on a pseudo-terminal from live state.

    :param get_context: returns the server context; called for every request, so
        changes show up on the next read.
    :param unknown_path: ``'empty'`` answers an unknown path with an empty payload (as for
        ``null``); ``'silent'`` sends nothing, so the reader times out.
    :param global_context: returns the account's global context; when given, it replaces
        the ``global_context`` key of what ``get_context`` returns.
    :raises ValueError: for an ``unknown_path`` other than ``'empty'`` or ``'silent'``.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with SerialContextServer(lambda: context) as server:
            GetServerMetadata(device=server.path).get()
    """

    def __init__(
        self,
        get_context: Callable[[], dict[str, Any]],
        *,
        unknown_path: str = "empty",
        global_context: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        if unknown_path not in UNKNOWN_PATH_MODES:
            raise ValueError(
                f"unknown_path must be one of {', '.join(UNKNOWN_PATH_MODES)}, not {unknown_path!r}"
            )
        self._get_context = get_context
        self._get_global_context = global_context
        self.unknown_path = unknown_path
        #: The guest-side device path while the server runs, else ``None``.
        self.path: str | None = None
        self._fds: _PtyFds | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def __enter__(self) -> SerialContextServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"serving on {self.path}" if self._thread else "stopped"
        return f"<SerialContextServer {state}, unknown_path={self.unknown_path!r}>"

    def start(self) -> str:
        """Open the pty and start answering; return the guest-side device path.

        :raises RuntimeError: if the server is already running.
        """
        if self._thread is not None:
            raise RuntimeError(f"the context server already serves {self.path}")
        master, slave = os.openpty()
        # The server keeps the guest side open so the master never sees a hang-up
        # between readers, and sets it raw: no echo, and EOT is not end-of-file.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._fds = _PtyFds(master, slave, *os.pipe())
        self._stopping.clear()
        self.path = os.ttyname(slave)
        self._thread = threading.Thread(
            target=self._serve, args=(self._fds,), name=f"serial-context {self.path}", daemon=True
        )
        self._thread.start()
        return self.path

    def stop(self) -> None:
        """Stop answering and close the pty; calling it again does nothing."""
        if self._thread is None or self._fds is None:
            return
        self._stopping.set()
        os.write(self._fds.wake_w, b"x")
        self._thread.join()
        for fd in self._fds:
            os.close(fd)
        self._thread = self._fds = self.path = None

    def inject(self, data: bytes) -> None:
        """Send ``data`` to the guest side as it is, between answers.

        This stands in for line noise or for the answer to a request whose reader gave up,
        so that a reader's handling of stale bytes can be tried.

        :raises RuntimeError: if the server is not running.
        """
        if self._fds is None:
            raise RuntimeError("the context server is not running; call start() first")
        self._send(self._fds, bytes(data))

    def answer(self, path: str) -> bytes | None:
        """The bytes to send for a request of ``path``; ``None`` means send nothing."""
        try:
            value = resolve_path(self._current_context(), path)
        except LookupError:
            return None if self.unknown_path == "silent" else encode_answer(None)
        return encode_answer(value)

    def _current_context(self) -> dict[str, Any]:
        context = self._get_context()
        if self._get_global_context is not None:
            context = {**context, "global_context": self._get_global_context()}
        return context

    def _serve(self, fds: _PtyFds) -> None:
        pending = bytearray()
        while not self._stopping.is_set():
            readable, _, _ = select.select([fds.master, fds.wake_r], [], [])
            if fds.master not in readable:
                continue
            paths = self._read_requests(fds, pending)
            while paths and not self._stopping.is_set():
                # Unread answers belong to earlier requests, whose reader has moved on.
                termios.tcflush(fds.slave, termios.TCIFLUSH)
                paths = self._answer_all(fds, paths, pending)

    def _read_requests(self, fds: _PtyFds, pending: bytearray) -> list[str]:
        """Read what the guest wrote into ``pending``; return the requests it completed."""
        try:
            pending += os.read(fds.master, 65536)
        except BlockingIOError:
            return []
        except OSError as exc:
            log.error("reading the context pty %s failed, stopping: %s", self.path, exc)
            self._stopping.set()
            return []
        return parse_requests(pending)

    def _answer_all(self, fds: _PtyFds, paths: list[str], pending: bytearray) -> list[str]:
        """Answer ``paths`` in order; requests that arrive meanwhile cut this short.

        :returns: the newer requests (empty when every answer was sent).
        """
        for path in paths:
            reply = self._reply_to(path)
            readable, _, _ = select.select([fds.master], [], [], 0)
            newer = self._read_requests(fds, pending) if readable else []
            if not newer and reply is not None:
                newer = self._send(fds, reply, pending)
            if newer:
                return newer
        return []

    def _reply_to(self, path: str) -> bytes | None:
        try:
            return self.answer(path)
        except Exception:
            # A failing state callback must not end the server: the guest sees no answer.
            log.exception("answering the context request for %r failed", path)
            return None

    def _send(self, fds: _PtyFds, reply: bytes, pending: bytearray | None = None) -> list[str]:
        """Write ``reply`` to the guest side.

        :param pending: the request buffer; when given, a new request ends the wait for a full
            input queue, and the rest of ``reply`` is dropped.
        :returns: the requests that cut the answer short (empty when it was sent whole).
        """
        view = memoryview(reply)
        while view and not self._stopping.is_set():
            try:
                view = view[os.write(fds.master, view) :]
            except BlockingIOError:
                # The guest side's input queue is full: wait until a reader drains it.
                watched = [fds.wake_r] if pending is None else [fds.wake_r, fds.master]
                readable, _, _ = select.select(watched, [fds.master], [])
                if pending is not None and fds.master in readable:
                    newer = self._read_requests(fds, pending)
                    if newer:
                        return newer
        return []

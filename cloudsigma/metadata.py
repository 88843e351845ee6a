"""Read the server context from inside a CloudSigma VM, over its context serial port.

The guest's second serial port (``/dev/ttyS1``, ``COM2`` on Windows) answers ``<`` NL PATH
NL ``>`` with the server definition, its meta data and the account's global context.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from typing import TYPE_CHECKING, Any

from cloudsigma.errors import (
    SERIAL_ERROR_NAMES,
    MetadataArgumentError,
    MetadataError,
    MetadataResponseError,
    serial_errors,
)

try:
    import fcntl
except ImportError:  # Windows, where the OS opens a COM port for one process at a time
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import serial

    # Built on first use, with pyserial's SerialException as a base (in cloudsigma.errors).
    MetadataDeviceError: type[MetadataError]
    MetadataDeviceNotFoundError: type[MetadataError]
    MetadataPermissionError: type[MetadataError]
    MetadataTimeoutError: type[MetadataError]

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEVICE_ENV",
    "GetServerMetadata",
    "MetadataArgumentError",
    "MetadataDeviceError",
    "MetadataDeviceNotFoundError",
    "MetadataError",
    "MetadataPermissionError",
    "MetadataResponseError",
    "MetadataTimeoutError",
    "decode_base64_fields",
    "default_device",
]

DEVICE_ENV = "CLOUDSIGMA_SERIAL_DEVICE"
DEFAULT_TIMEOUT = 5.0
DOCS_URL = "https://docs.cloudsigma.com/en/latest/server_context.html"
EOT = b"\x04"

# Leaves that the context service prints as JSON literals rather than as text.
_JSON_LITERAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false")
_LEAF_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_LEAF_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "/": "/"}
# Polling interval while another reader holds the device.
_LOCK_POLL = 0.005


def __getattr__(name: str) -> Any:
    if name in SERIAL_ERROR_NAMES:
        return serial_errors()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def decode_base64_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The server's ``meta`` with the values its ``base64_fields`` names decoded to bytes.

    ``base64_fields`` is a comma list of meta keys holding base64 data (such as
    ``cloudinit-user-data``), as cloud-init reads it; keys it names that ``meta`` lacks are
    skipped. ``meta`` itself is not changed.

    :raises MetadataResponseError: for a named value that is not base64, naming its key.
    """
    import base64
    import binascii

    decoded = dict(meta)
    names = str(meta.get("base64_fields") or "").split(",")
    for name in (n.strip() for n in names):
        if not name or name not in meta:
            continue
        try:
            decoded[name] = base64.b64decode(str(meta[name]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MetadataResponseError(
                f"meta key {name!r} is listed in base64_fields but is not base64 ({exc})"
            ) from exc
    return decoded


def _error(name: str, message: str, device: str, path: str) -> MetadataError:
    return serial_errors()[name](message, device=device, path=path)


def default_device() -> str:
    """The context serial device: ``$CLOUDSIGMA_SERIAL_DEVICE``, else ``/dev/ttyS1`` (``COM2``)."""
    return os.environ.get(DEVICE_ENV) or ("COM2" if os.name == "nt" else "/dev/ttyS1")


def _describe(path: str) -> str:
    return "the whole context" if not path.strip("/") else f"path {path!r}"


class GetServerMetadata:
    """Read the server context over the context serial port.

    ``GetServerMetadata().get()`` returns the whole context as a dict, as in pycloudsigma;
    ``get('/meta/ssh_public_key')`` reads one value. Each call asks the port again, so it
    sees changes made while the server runs.

    :param device: the serial device; default ``$CLOUDSIGMA_SERIAL_DEVICE``, else
        ``/dev/ttyS1`` (``COM2`` on Windows).
    :param timeout: seconds allowed for one whole read: waiting for other readers,
        asking, and receiving the complete answer.
    :raises MetadataArgumentError: if ``timeout`` is not a positive number.
    """

    def __init__(self, device: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise MetadataArgumentError(
                f"timeout must be a positive number of seconds, not {timeout!r}"
            )
        self.device = device or default_device()
        self.timeout = float(timeout)
        self._result: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"GetServerMetadata(device={self.device!r}, timeout={self.timeout!r})"

    @property
    def result(self) -> dict[str, Any]:
        """The whole context as last read by :meth:`get`; read now if it never was."""
        if self._result is None:
            return self.get()
        return self._result

    def get(self, path: str | None = None) -> Any:
        """Read the whole context, or the value at ``path``.

        :param path: keys and 0-based list indexes joined by ``/``, such as ``'name'``,
            ``'/meta/ssh_public_key'`` or ``'nics/0'``; ``None`` or ``''`` for the whole context.
        :returns: a dict or list for an object or list; for a leaf, a str, an int, a float
            or a bool, and ``None`` for an empty value or a path the context does not have.
        :raises MetadataArgumentError: if the path is not a str or holds a line break.
        :raises MetadataDeviceError: if the device cannot be opened
            (``MetadataDeviceNotFoundError``, ``MetadataPermissionError``) or read, or
            answers late (``MetadataTimeoutError``).
        :raises MetadataResponseError: if the answer is not UTF-8 or not the JSON it should be.
        """
        path = self._checked_path(path)
        wants_object = path.strip("/") in ("", "global_context")
        value = _parse_answer(self._ask(path), self.device, path, wants_object)
        if not path.strip("/"):
            self._result = value
        return value

    def get_global_context(self) -> dict[str, Any]:
        """Read the account's global context (``/global_context/``) as a dict."""
        return self.get("/global_context/")

    def _checked_path(self, path: str | None) -> str:
        if path is None:
            return ""
        if not isinstance(path, str):
            raise MetadataArgumentError(
                f"a context path is a str such as 'nics/0', not {path!r}", self.device
            )
        if "\n" in path or "\r" in path:
            raise MetadataArgumentError(
                f"a context path cannot hold a line break: {path!r}", self.device, path
            )
        return path

    def _ask(self, path: str) -> bytes:
        """Send the request for ``path`` and return the payload, all before one deadline."""
        deadline = time.monotonic() + self.timeout
        lock_fd = self._open_locked(path, deadline)
        try:
            port = self._open_port(path, deadline)
            try:
                return self._exchange(port, path, deadline)
            finally:
                port.close()
        finally:
            if lock_fd is not None:
                os.close(lock_fd)  # which releases the lock

    def _open_locked(self, path: str, deadline: float) -> int | None:
        """Open the device and hold an exclusive lock on it, so that concurrent readers
        do not take each other's answers; ``None`` where there is no ``fcntl``."""
        if fcntl is None:
            return None
        try:
            lock_fd = _open_device_fd(self.device)
        except OSError as exc:
            raise self._open_error(exc, path) from exc
        try:
            while True:
                try:
                    fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return lock_fd
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._timeout(path, "another reader held the device all along")
                    time.sleep(_LOCK_POLL)
        except BaseException:
            os.close(lock_fd)
            raise

    def _open_port(self, path: str, deadline: float) -> serial.Serial:
        import serial

        try:
            # pyserial sets the port raw, without echo, and discards pending input.
            return serial.Serial(
                self.device, timeout=0, write_timeout=max(deadline - time.monotonic(), 0.001)
            )
        except (serial.SerialException, OSError) as exc:
            raise self._open_error(exc, path) from exc

    def _exchange(self, port: serial.Serial, path: str, deadline: float) -> bytes:
        import serial

        try:
            _drain(port, deadline)
            port.write_timeout = max(deadline - time.monotonic(), 0.001)
            port.write(b"<\n" + path.encode("utf-8") + b"\n>")
            payload, received = _read_until_eot(port, deadline)
        except serial.SerialTimeoutException as exc:
            raise self._timeout(path, "the request could not be written") from exc
        except MetadataError:
            raise
        except (serial.SerialException, OSError) as exc:
            raise _error(
                "MetadataDeviceError",
                f"serial device {self.device} failed while reading {_describe(path)}: {exc}",
                self.device,
                path,
            ) from exc
        if payload is None:
            got = f"{received} bytes came without the closing EOT" if received else "nothing came"
            raise self._timeout(path, got)
        return payload

    def _open_error(self, exc: Exception, path: str) -> MetadataError:
        code = getattr(exc, "errno", None)
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return _error(
                "MetadataDeviceNotFoundError",
                f"serial device {self.device} does not exist, so the server context cannot be "
                f"read; inside a CloudSigma VM it is the second serial port (/dev/ttyS1, COM2 "
                f"on Windows); pass device= or set {DEVICE_ENV} to use another one",
                self.device,
                path,
            )
        if code in (errno.EACCES, errno.EPERM):
            return _error(
                "MetadataPermissionError",
                f"permission denied opening serial device {self.device}; add the user to the "
                f"dialout group (sudo usermod -aG dialout $USER, then log in again) or run "
                f"as root",
                self.device,
                path,
            )
        return _error(
            "MetadataDeviceError",
            f"cannot open serial device {self.device} to read {_describe(path)}: {exc}",
            self.device,
            path,
        )

    def _timeout(self, path: str, reason: str) -> MetadataError:
        return _error(
            "MetadataTimeoutError",
            f"no answer from serial device {self.device} for {_describe(path)} within "
            f"{self.timeout:g} s ({reason}); check that it is the server context port "
            f"(see {DOCS_URL}) or pass a longer timeout=",
            self.device,
            path,
        )


def _open_device_fd(device: str) -> int:
    """Open ``device`` for the lock; its ``OSError`` tells a missing device from a forbidden one."""
    return os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)


def _drain(port: serial.Serial, deadline: float) -> None:
    """Throw away bytes left by an earlier reader that gave up before its answer came."""
    port.timeout = 0
    while port.read(4096) and time.monotonic() < deadline:
        continue


def _read_until_eot(port: serial.Serial, deadline: float) -> tuple[bytes | None, int]:
    """The bytes up to the EOT that ends the answer (``None`` at the deadline), and how
    many bytes came in all.

    An EOT before any payload is the end of an earlier answer, and is skipped.
    """
    answer = bytearray()
    while True:
        start = len(answer) - len(answer.lstrip(EOT))
        end = answer.find(EOT, start)
        if end != -1:
            return bytes(answer[start:end]), len(answer)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, len(answer)
        port.timeout = remaining
        answer += port.read(max(1, port.in_waiting))


def _parse_answer(payload: bytes, device: str, path: str, wants_object: bool) -> Any:
    """Turn the payload for ``path`` into a Python value (see :meth:`GetServerMetadata.get`)."""
    try:
        text = payload.decode("utf-8").strip("\r\n")
    except UnicodeDecodeError as exc:
        raise MetadataResponseError(
            f"serial device {device} answered {_describe(path)} with {len(payload)} bytes that "
            f"are not UTF-8 ({exc.reason} at byte {exc.start}); is another program using the port?",
            device,
            path,
        ) from exc
    if wants_object:
        return _parse_object(text, device, path)
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return _unescape_leaf(text)  # a meta value that merely starts like JSON
    if _JSON_LITERAL.fullmatch(text):
        return json.loads(text)
    return _unescape_leaf(text) if text else None


def _parse_object(text: str, device: str, path: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise MetadataResponseError(
            f"serial device {device} answered {_describe(path)} with JSON nested too deeply "
            "to decode",
            device,
            path,
        ) from exc
    except ValueError as exc:
        found = "an empty answer" if not text else f"{len(text)} characters of invalid JSON ({exc})"
        raise MetadataResponseError(
            f"serial device {device} answered {_describe(path)} with {found}, not a JSON object; "
            f"is another program using the port?",
            device,
            path,
        ) from exc
    if not isinstance(value, dict):
        raise MetadataResponseError(
            f"serial device {device} answered {_describe(path)} with a JSON "
            f"{type(value).__name__}, not an object",
            device,
            path,
        )
    return value


def _unescape_leaf(text: str) -> str:
    """Undo the escaping of a bare leaf value: ``\\n``, ``\\r``, ``\\t``, ``\\\\``, ``\\uXXXX``."""
    if "\\" not in text:
        return text
    text = _LEAF_ESCAPE.sub(_unescape_one, text)
    try:
        # Characters beyond U+FFFF arrive as two \\uXXXX surrogates; join them.
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return text


def _unescape_one(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if len(escaped) == 5:
        return chr(int(escaped[1:], 16))
    return _LEAF_UNESCAPES.get(escaped, match.group())

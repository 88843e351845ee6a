"""Every exception the SDK raises, in one module that imports nothing from the package.

Every failure the SDK surfaces is an :class:`ApiClientError` (or, for
configuration, a :class:`ConfigError`). The classes by HTTP status keep
pycloudsigma's names: ``AuthError`` (401), ``PermissionError`` (403),
``ClientError`` (other 4xx) and ``ServerError`` (5xx). The modules where
pycloudsigma had some of them (``generic``, ``resumable_upload``, ...) re-export them.
"""

from __future__ import annotations

import errno
import functools

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    # Built on first use, with pyserial's SerialException as a base (see _serial_errors).
    MetadataDeviceError: type[MetadataError]
    MetadataDeviceNotFoundError: type[MetadataError]
    MetadataPermissionError: type[MetadataError]
    MetadataTimeoutError: type[MetadataError]

__all__ = [
    "ApiClientError",
    "AuthError",
    "ChunkUploadError",
    "ClientError",
    "ConfigError",
    "DeadlineExceededError",
    "DownloadError",
    "FleetError",
    "ForeignOriginError",
    "InvalidArgumentError",
    "InvalidIdError",
    "InvalidResponseError",
    "IsolationError",
    "MetadataArgumentError",
    "MetadataDeviceError",
    "MetadataDeviceNotFoundError",
    "MetadataError",
    "MetadataPermissionError",
    "MetadataResponseError",
    "MetadataTimeoutError",
    "PermissionError",
    "RangeDownloadError",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ServerError",
    "SizeMismatchError",
    "TransferAttemptError",
    "TransferError",
    "TransportError",
    "UploadError",
    "WaitTimeoutError",
    "WebsocketClosedError",
    "WebsocketTimeoutError",
    "add_note",
    "error_class_for_status",
]


class ApiClientError(Exception):
    """Root of every error the SDK raises for an API call.

    :param message: what went wrong, as the API or the transport said it.
    :param status_code: the HTTP status, or ``None`` when no answer came.
    :param request_id: the ``X-REQUEST-ID`` header of the answer, if any.
    :param errors: the API's list of ``{error_type, error_point, error_message}``.
    """

    #: Whether another attempt may succeed (set for transport failures; None: unknown).
    transient: bool | None = None

    def __init__(
        self,
        message: Any = None,
        status_code: int | None = None,
        request_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        # args keep pycloudsigma's shape: (message, status_code, request_id)
        super().__init__(message, status_code, request_id)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.errors: list[dict[str, Any]] = list(errors or [])

    @property
    def error_type(self) -> str | None:
        """The ``error_type`` of the first error the API sent, if any."""
        return self.errors[0].get("error_type") if self.errors else None

    @property
    def error_point(self) -> str | None:
        """The ``error_point`` (the failing field) of the first error, if any."""
        return self.errors[0].get("error_point") if self.errors else None

    def __str__(self) -> str:
        parts = [str(self.message)]
        if self.status_code is not None:
            parts.append(f"status {self.status_code}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r}, "
            f"request_id={self.request_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.status_code, self.request_id, self.errors))


class AuthError(ApiClientError):
    """The API refused the credentials (HTTP 401)."""


class PermissionError(ApiClientError):  # noqa: A001 - the name is part of the public API
    """The API forbade the operation, often because of the object's state (HTTP 403)."""


class ClientError(ApiClientError):
    """The request was wrong: bad value, unknown object, wrong method (other 4xx)."""


class ServerError(ApiClientError):
    """The API failed or was overloaded (HTTP 5xx)."""


class TransportError(ApiClientError):
    """No usable answer arrived: the connection failed, was reset, or TLS failed."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The connection or the answer took longer than the configured timeout."""


class InvalidResponseError(ApiClientError):
    """A success status came with a body that is not the JSON the API promises."""


class WaitTimeoutError(ApiClientError, TimeoutError):
    """An object did not reach the wanted status in time."""


class ConfigError(ApiClientError, KeyError):
    """The configuration is missing, unreadable or malformed.

    Also a ``KeyError``, so code written for the dict-based configuration of
    pycloudsigma (``except KeyError``) keeps working.
    """

    def __str__(self) -> str:
        return str(self.message)


def add_note(error: BaseException, note: str) -> None:
    """Add ``note`` to ``error``'s ``__notes__``, as ``BaseException.add_note`` does on
    Python 3.11 and later (on 3.10 the notes are kept there too, for programs to read)."""
    adder = getattr(error, "add_note", None)
    if adder is not None:
        adder(note)
    else:
        error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]


def error_class_for_status(status_code: int) -> type[ApiClientError]:
    """Map an HTTP error status to the exception class pycloudsigma used for it."""
    if status_code == 401:
        return AuthError
    if status_code == 403:
        return PermissionError
    if 400 <= status_code < 500:
        return ClientError
    if status_code >= 500:
        return ServerError
    return ApiClientError


# --- arguments and transport ------------------------------------------------------------------


class InvalidArgumentError(ApiClientError, ValueError):
    """An argument given to the SDK cannot be sent; nothing was sent.

    Also a ``ValueError``, as the argument itself is wrong.

    :param argument: the name of the argument, e.g. ``uuid``.
    :param value: what was given.
    """

    def __init__(self, message: Any = None, argument: str | None = None, value: Any = None):
        super().__init__(message)
        self.argument = argument
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.argument, self.value))


class InvalidIdError(InvalidArgumentError):
    """An id that cannot name one object (empty, not one path segment, not a uuid)."""


class RedirectError(TransportError):
    """The API answered with a redirect; API calls do not follow them.

    :param location: where the answer pointed (without any credential in it).
    """

    def __init__(
        self,
        message: Any = None,
        status_code: int | None = None,
        request_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message, status_code, request_id, errors)
        self.location = location

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.message, self.status_code, self.request_id, self.errors, self.location)
        return (type(self), args)


class ResponseTooLargeError(InvalidResponseError):
    """The answer's body was larger than the configured limit (``max_response_bytes``)."""


class DeadlineExceededError(RequestTimeoutError):
    """A call, retries and sleeps included, took longer than its deadline."""


class ForeignOriginError(TransportError):
    """A request carrying credentials was about to go to another origin than ``api_endpoint``.

    Nothing was sent: credentials only ever go to the configured scheme, host and port.
    """


class IsolationError(TransportError):
    """A request was about to leave for an endpoint that the running test does not allow."""


# --- websocket --------------------------------------------------------------------------------


class WebsocketTimeoutError(RequestTimeoutError):
    """No (matching) websocket event arrived in time."""


class WebsocketClosedError(TransportError):
    """The websocket connection was closed or dropped."""


# --- drive transfers --------------------------------------------------------------------------


class FleetError(ApiClientError):
    """Some objects of a fleet operation failed (:meth:`cloudsigma.fleet.Batch.raise_for_errors`).

    :param message: how many failed, and the first failures with their errors.
    :param failures: the :class:`~cloudsigma.fleet.Outcome` of every object that failed.
    """

    def __init__(self, message: Any = None, failures: list[Any] | None = None) -> None:
        super().__init__(message)
        self.failures: list[Any] = list(failures or [])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.failures))


class UploadError(ApiClientError):
    """A drive image could not be uploaded: bad input, a size mismatch or a failed chunk."""


class TransferError(ApiClientError):
    """One chunk or range failed for good; the message names it and says how to resume.

    :param chunk_number: the number of the failed chunk (or range).
    :param request_id: the ``X-REQUEST-ID`` of the last answer, if one came.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        chunk_number: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status_code, request_id)
        self.chunk_number = chunk_number

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.message, self.status_code, self.chunk_number, self.request_id),
        )


class ChunkUploadError(UploadError, TransferError):
    """A chunk of an upload failed for good (see :class:`TransferError`)."""


class TransferAttemptError(ApiClientError):
    """One attempt at a chunk or range got an answer it cannot use.

    :param transient: whether another attempt may succeed; by default decided by the status.
    :param request_id: the ``X-REQUEST-ID`` of the answer, if one came.
    :param retry_after: the seconds the answer's ``Retry-After`` asked to wait, if it did.
    """

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        transient: bool | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code, request_id)
        self.transient = transient
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        arguments = (self.message, self.status_code, self.transient, self.request_id)
        return (type(self), (*arguments, self.retry_after))


class SizeMismatchError(UploadError, ValueError):
    """The drive to upload to does not have the exact size of the image.

    Also a ``ValueError``, the class pycloudsigma raised in this case.
    """


class DownloadError(ApiClientError):
    """A drive image could not be downloaded (not downloadable, bad answer, failed range)."""


class RangeDownloadError(DownloadError, TransferError):
    """A range failed for good; the message names it. Finished ranges are kept for a rerun."""


# --- server context ---------------------------------------------------------------------------


class MetadataError(ApiClientError):
    """Root of the errors met while reading the server context.

    :param message: what went wrong and what to do about it.
    :param device: the serial device that was read.
    :param path: the context path that was asked (``''`` for the whole context).
    """

    def __init__(self, message: str, device: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.device = device
        self.path = path

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, device={self.device!r}, path={self.path!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.device, self.path))


class MetadataArgumentError(MetadataError, ValueError):
    """A path or timeout that cannot be sent or honoured."""


class MetadataResponseError(MetadataError, ValueError):
    """The answer is not UTF-8, or not the JSON object the request calls for.

    Also a ``ValueError``, which pycloudsigma raised for an answer it could not parse.
    """


SERIAL_ERROR_NAMES = frozenset(
    {
        "MetadataDeviceError",
        "MetadataDeviceNotFoundError",
        "MetadataPermissionError",
        "MetadataTimeoutError",
    }
)


def __getattr__(name: str) -> Any:
    if name in SERIAL_ERROR_NAMES:
        return serial_errors()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def serial_errors() -> dict[str, type[MetadataError]]:
    """The serial device errors, which are also ``serial.SerialException``.

    pycloudsigma raised ``serial.SerialException`` when the port failed, so these keep old
    ``except serial.SerialException`` clauses working; they are built on first use so that
    importing the SDK does not import pyserial.
    """
    from serial import SerialException

    class MetadataDeviceError(MetadataError, SerialException):
        """The serial device could not be opened, locked, written or read."""

        os_errno: int | None = None

        def __init__(self, message: str, device: str | None = None, path: str | None = None):
            super().__init__(message, device, path)
            # The OSError side of the class, as an ``except OSError`` handler reads it.
            self.errno = self.os_errno
            self.filename = device

    class MetadataDeviceNotFoundError(MetadataDeviceError):
        """The serial device does not exist."""

        os_errno = errno.ENOENT

    class MetadataPermissionError(MetadataDeviceError):
        """The user may not open the serial device."""

        os_errno = errno.EACCES

    class MetadataTimeoutError(MetadataDeviceError, TimeoutError):
        """No complete answer arrived before the deadline."""

        os_errno = errno.ETIMEDOUT

    classes: dict[str, type[MetadataError]] = {
        cls.__name__: cls
        for cls in (
            MetadataDeviceError,
            MetadataDeviceNotFoundError,
            MetadataPermissionError,
            MetadataTimeoutError,
        )
    }
    for name, cls in classes.items():
        cls.__qualname__ = name  # so pickle and tracebacks find them on this module
    globals().update(classes)
    return classes

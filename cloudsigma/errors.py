"""Exceptions raised by the SDK.

Every failure the SDK surfaces is an :class:`ApiClientError` (or, for
configuration, a :class:`ConfigError`). The classes by HTTP status keep
pycloudsigma's names: ``AuthError`` (401), ``PermissionError`` (403),
``ClientError`` (other 4xx) and ``ServerError`` (5xx).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiClientError",
    "AuthError",
    "ClientError",
    "ConfigError",
    "InvalidResponseError",
    "PermissionError",
    "RequestTimeoutError",
    "ServerError",
    "TransportError",
    "WaitTimeoutError",
    "error_class_for_status",
]


class ApiClientError(Exception):
    """Root of every error the SDK raises for an API call.

    :param message: what went wrong, as the API or the transport said it.
    :param status_code: the HTTP status, or ``None`` when no answer came.
    :param request_id: the ``X-REQUEST-ID`` header of the answer, if any.
    :param errors: the API's list of ``{error_type, error_point, error_message}``.
    """

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

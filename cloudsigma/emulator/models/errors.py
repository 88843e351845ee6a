"""Errors of the emulated API, rendered as the API's own error list."""

from __future__ import annotations


class ApiError(Exception):
    """An answer in the API's error format: a list of error objects and an HTTP status."""

    def __init__(
        self, status: int, error_type: str, message: str, point: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors: list[dict[str, str | None]] = [
            {"error_point": point, "error_type": error_type, "error_message": message}
        ]


def validation(message: str, point: str | None = None) -> ApiError:
    """400: the request body or a parameter is invalid."""
    return ApiError(400, "validation", message, point)


def required(point: str) -> ApiError:
    """400: a field that must be given is missing."""
    return ApiError(400, "validation", "This field is required", point)


def permission(message: str, point: str | None = None) -> ApiError:
    """403: the operation is not allowed for this account or in this state."""
    return ApiError(403, "permission", message, point)


def notexist(resource: str, uuid: str) -> ApiError:
    """404: no object with this uuid is visible to the account."""
    return ApiError(404, "notexist", f"{resource} {uuid} does not exist")


def concurrency(message: str) -> ApiError:
    """503: another operation on the same object is still running."""
    return ApiError(503, "concurrency", message)


def payment(message: str) -> ApiError:
    """402: not enough funds."""
    return ApiError(402, "payment", message)

"""Answers in the API's formats: JSON bodies, the error list, the empty 204 and the 401."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..models.errors import ApiError

JSON_HEADERS = {"Content-Type": "application/json"}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode("ascii")


def json_response(status: int, value: Any) -> web.Response:
    return web.Response(status=status, body=dumps(value), headers=JSON_HEADERS)


def error_response(error: ApiError) -> web.Response:
    """The API's error list with the error's status."""
    return json_response(error.status, error.errors)


def empty_response(status: int = 204) -> web.Response:
    """An answer without body, typed as the API types its 204s."""
    return web.Response(status=status, content_type="text/html", charset="utf-8")


def unauthorized(message: str, challenges: tuple[str, ...]) -> web.Response:
    """401 with one ``WWW-Authenticate`` header per challenge."""
    response = error_response(ApiError(401, "permission", message))
    for challenge in challenges:
        response.headers.add("WWW-Authenticate", challenge)
    return response

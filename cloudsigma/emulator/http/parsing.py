"""Reading requests: JSON bodies within a size limit and the ``objects`` envelope."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..models.errors import validation

#: The largest JSON body accepted (bigger ones get 400 ``validation``).
MAX_JSON_BODY = 16 * 1024 * 1024


class BodyReader:
    """Reads JSON request bodies of at most ``max_body`` bytes."""

    def __init__(self, max_body: int = MAX_JSON_BODY) -> None:
        self.max_body = max_body

    async def json(self, request: web.Request, default: Any = None) -> Any:
        """The JSON body, or ``default`` when it is empty.

        :raises ApiError: 400 for a body that is too large or not JSON, or empty without a
            ``default``.
        """
        raw = await self.raw(request)
        if not raw.strip():
            if default is None:
                raise validation("the request body is empty; send a JSON object")
            return default
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise validation(f"Malformed JSON in the request body: {error}")
        except RecursionError:
            raise validation("Malformed JSON in the request body: nested too deeply")

    async def json_object(self, request: web.Request, default: Any = None) -> dict:
        """The JSON body, which must be an object (``default`` when empty).

        :raises ApiError: 400 as :meth:`json`, and for a body that is not an object.
        """
        body = await self.json(request, default)
        if not isinstance(body, dict):
            raise validation("the request body must be a JSON object")
        return body

    async def raw(self, request: web.Request) -> bytearray:
        """The body bytes, refused as soon as they pass the limit."""
        if request.content_length is not None and request.content_length > self.max_body:
            raise validation(f"the request body is larger than {self.max_body} bytes")
        raw = bytearray()
        async for block in request.content.iter_chunked(65536):
            raw.extend(block)
            if len(raw) > self.max_body:
                raise validation(f"the request body is larger than {self.max_body} bytes")
        return raw


def objects_of(body: Any) -> list:
    """The items of a bulk body: ``{"objects": [...]}``, a list, or one object.

    :raises ApiError: 400 when ``objects`` is not a list or there is nothing in it.
    """
    if isinstance(body, dict) and "objects" in body:
        body = body["objects"]
        if not isinstance(body, list):
            raise validation("objects must be a list", "objects")
    items = body if isinstance(body, list) else [body]
    if not items:
        raise validation("no objects to create", "objects")
    return items


def _reject_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON; refuse them instead of storing them."""
    raise ValueError(f"{name} is not a JSON value")

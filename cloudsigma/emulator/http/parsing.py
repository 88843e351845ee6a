"""Reading requests: JSON bodies within a size limit and the ``objects`` envelope."""

from __future__ import annotations

import json
import zlib
from typing import Any

from aiohttp import web

from ..models.errors import ApiError, validation

#: The largest JSON body accepted (bigger ones get 400 ``validation``).
MAX_JSON_BODY = 16 * 1024 * 1024
#: The deepest nesting of objects and arrays accepted in a body (a server definition has 4).
MAX_DEPTH = 64
#: Request body encodings and the zlib window bits that decode them (the body is read whole).
ENCODINGS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
TOO_DEEP = f"the request body is nested more than {MAX_DEPTH} levels deep"


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
            value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise validation(f"Malformed JSON in the request body: {error}")
        except RecursionError:
            raise validation(TOO_DEEP)
        if nesting_exceeds(value, MAX_DEPTH):
            raise validation(TOO_DEEP)
        return value

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
        encoding = content_encoding(request)
        return raw if encoding is None else inflate(raw, encoding, self.max_body)


def content_encoding(request: web.Request) -> str | None:
    """The compression of the request body (``None``: as it is).

    :raises ApiError: 415 for an encoding other than gzip, deflate or identity.
    """
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding not in ENCODINGS:
        raise ApiError(
            415,
            "validation",
            f"Content-Encoding {encoding!r} is not supported; use gzip or deflate",
        )
    return encoding


def inflate(raw: bytes | bytearray, encoding: str, limit: int) -> bytearray:
    """Decompress a whole body of at most ``limit`` bytes.

    :raises ApiError: 400 for bytes that are not a complete stream of ``encoding``, or that
        inflate beyond ``limit``.
    """
    decoder = zlib.decompressobj(ENCODINGS[encoding])
    try:
        body = decoder.decompress(raw, limit + 1)
    except zlib.error as error:
        raise validation(f"the request body is not valid {encoding}: {error}")
    if len(body) > limit:
        raise validation(f"the request body inflates to more than {limit} bytes")
    if not decoder.eof or decoder.unused_data:
        raise validation(
            f"the request body is not valid {encoding}: it is cut short or followed by other bytes"
        )
    return bytearray(body)


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


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and arrays in ``value`` nest deeper than ``limit`` (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _reject_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON; refuse them instead of storing them."""
    raise ValueError(f"{name} is not a JSON value")

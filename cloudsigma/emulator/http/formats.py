"""What an answer is written in: JSON or XML (``Accept`` or ``?format=``), and gzip when the
client accepts it (``Accept-Encoding``).

XML is Tastypie's serialisation, which the API is built on: the top-level object is
``<response>``, a top-level list ``<objects>``, a nested object ``<name type="hash">``, a
nested list ``<name type="list">`` of ``<object type="hash">`` or ``<value>`` items, and
every scalar carries its type (``integer``, ``float``, ``boolean``, ``null``; strings none).
The children of an object are sorted by name, as Tastypie sorts them.
"""

from __future__ import annotations

import gzip
import json
import re
from typing import Any
from xml.etree.ElementTree import Element, tostring

from aiohttp import web

from ..models.errors import ApiError

#: ``Accept`` media ranges a JSON answer satisfies.
JSON_TYPES = frozenset(
    {"application/json", "application/*", "*/*", "text/*", "text/json", "text/plain"}
)
#: ``Accept`` media ranges an XML answer satisfies.
XML_TYPES = frozenset({"application/xml", "text/xml", "application/*", "*/*", "text/*"})
FORMATS = ("json", "xml")
#: An XML element name (ASCII letters, digits, ``_ - .``, not starting with a digit or ``-``).
XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
#: Characters that no XML 1.0 document may contain.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _weights(header: str) -> dict[str, float]:
    """The quality of each media range (or coding) of an ``Accept``-style header."""
    weights: dict[str, float] = {}
    for item in header.split(","):
        kind, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if kind:
            weights[kind.lower()] = max(quality, weights.get(kind.lower(), 0.0))
    return weights


def answer_format(request: web.Request) -> str | None:
    """``json`` or ``xml`` for this request, None when it accepts neither.

    ``?format=`` wins over ``Accept``; with both accepted equally, JSON wins.
    """
    fmt = request.query.get("format")
    if fmt is not None:
        return fmt if fmt in FORMATS else None
    accept = request.headers.get("Accept")
    if not accept:
        return "json"
    weights = _weights(accept)
    json_q = max((q for kind, q in weights.items() if kind in JSON_TYPES), default=0.0)
    xml_q = max((q for kind, q in weights.items() if kind in XML_TYPES), default=0.0)
    if json_q <= 0 and xml_q <= 0:
        return None
    return "json" if json_q >= xml_q else "xml"


def check_accept(request: web.Request) -> None:
    """:raises ApiError: 406 when the client accepts neither JSON nor XML."""
    if answer_format(request) is not None:
        return
    fmt = request.query.get("format")
    if fmt is not None:
        raise ApiError(406, "validation", f"format {fmt!r} is not available; use json or xml")
    accept = request.headers.get("Accept")
    raise ApiError(
        406, "validation", f"cannot answer in {accept!r}; accept application/json or xml"
    )


def accepts_gzip(request: web.Request) -> bool:
    weights = _weights(request.headers.get("Accept-Encoding", ""))
    return weights.get("gzip", weights.get("*", 0.0)) > 0


# --- XML ----------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    return "string"


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold (most control characters, lone
    surrogates, U+FFFE and U+FFFF) written as ``\\uXXXX``."""
    return XML_INVALID.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _element(name: str, attributes: dict[str, str]) -> Element:
    """An element named ``name``; a key that is no XML name becomes ``<item key="...">``."""
    if XML_NAME.match(name) and not name.lower().startswith("xml"):
        return Element(name, attributes)
    return Element("item", {**attributes, "key": xml_text(name)})


def to_etree(value: Any, name: str | None = None, depth: int = 0) -> Element:
    """The element of ``value`` as Tastypie's ``Serializer.to_etree`` builds it."""
    if isinstance(value, (list, tuple)):
        element = _element(name, {"type": "list"}) if name else Element("objects")
        element.extend(to_etree(item, depth=depth + 1) for item in value)
        element[:] = sorted(element, key=lambda child: child.tag)
    elif isinstance(value, dict):
        if depth == 0:
            element = _element(name or "response", {})
        else:
            element = _element(name or "object", {"type": "hash"})
        element.extend(to_etree(item, str(key), depth + 1) for key, item in value.items())
        element[:] = sorted(element, key=lambda child: child.tag)
    else:
        kind = _type_name(value)
        element = _element(name or "value", {} if kind == "string" else {"type": kind})
        if value is not None:
            element.text = xml_text(str(value))
    return element


def to_xml(value: Any) -> bytes:
    """``value`` (decoded JSON) as Tastypie's XML, with the XML declaration."""
    return tostring(to_etree(value), encoding="utf-8", xml_declaration=True)


# --- applying them ------------------------------------------------------------------------


def encode_answer(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The answer in the format and content coding the client asked for.

    Only whole JSON answers of the API (not streamed downloads, not control routes) are
    rewritten as XML; any whole answer with a body is gzipped when the client accepts it.
    """
    if not isinstance(response, web.Response) or response.prepared:
        return response
    body = response.body
    if not isinstance(body, bytes) or not body:
        return response
    api_json = response.content_type == "application/json" and request.path.startswith("/api/")
    if api_json and answer_format(request) == "xml":
        body = to_xml(json.loads(body))
        response.body = body
        response.content_type = "application/xml"
        response.charset = "utf-8"
    if accepts_gzip(request) and "Content-Encoding" not in response.headers:
        response.body = gzip.compress(body, compresslevel=6)
        response.headers["Content-Encoding"] = "gzip"
        response.headers.add("Vary", "Accept-Encoding")
    return response

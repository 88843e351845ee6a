"""Filtering, field selection and paging of collection listings (guide section 3)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from .errors import validation
from .filters import OWN, Resolver, Rule, matches, values_at

#: Query parameters of a listing that are not filters (paging, shape, order, format).
LISTING_PARAMETERS = frozenset({"limit", "offset", "fields", "format", "order_by"})


def split_values(raw: str) -> list[str]:
    """Split a filter value on commas, honouring ``\\,`` (literal comma) and ``\\\\`` escapes."""
    if "\\" not in raw:
        return raw.split(",")
    return [_unescape(value) for value in _merge_escaped(raw)]


def _merge_escaped(raw: str) -> list[str]:
    parts, current, index = [], [], 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in ",\\":
            current.append(raw[index : index + 2])
            index += 2
            continue
        if char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\\\", "\\")


def unknown_filters(query: Iterable[tuple[str, str]], rules: Mapping[str, Rule]) -> list[str]:
    """The query keys that are neither listing parameters nor filters in ``rules``, in order."""
    unknown: list[str] = []
    for key, _ in query:
        if key not in LISTING_PARAMETERS and key not in rules and key not in unknown:
            unknown.append(key)
    return unknown


def make_filter(
    query: Iterable[tuple[str, str]], rules: Mapping[str, Rule], resolve: Resolver
) -> Callable[[Mapping], bool] | None:
    """Turn the filters of a query into a predicate on objects, or ``None`` when none filters.

    Only keys in ``rules`` filter (see :func:`unknown_filters` for the others). Pairs of
    different parameters are ANDed, comma-separated values inside one are ORed, and a
    repeated parameter ANDs again.

    :param resolve: the object a reference names (for relation filters such as ``tag__name``).
    """
    clauses = [
        (key, rules[key], split_values(value))
        for key, value in query
        if key in rules and rules[key].lookup != OWN
    ]
    if not clauses:
        return None

    def predicate(obj: Mapping) -> bool:
        return all(
            matches(key, rule, values_at(obj, rule.path, resolve), wanted)
            for key, rule, wanted in clauses
        )

    return predicate


def parse_int(query: Mapping[str, str], key: str, default: int) -> int:
    """A non-negative integer parameter.

    :raises ApiError: 400 validation when it is not one.
    """
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except ValueError:
        raise validation(f"{key} must be a non-negative integer, got {raw!r}", key)
    if number < 0:
        raise validation(f"{key} must be a non-negative integer, got {raw!r}", key)
    return number


def page(objects: list, query: Mapping[str, str], default_limit: int = 20) -> tuple[list, dict]:
    """Slice ``objects`` by ``limit``/``offset``; ``limit=0`` means all.

    :returns: the page and the ``meta`` dict (``limit`` and ``offset`` echo the request).
    """
    limit = parse_int(query, "limit", default_limit)
    offset = parse_int(query, "offset", 0)
    chosen = objects[offset : offset + limit] if limit else objects[offset:]
    return chosen, {"limit": limit, "offset": offset, "total_count": len(objects)}


def select_fields(objects: list, query: Mapping[str, str], short: tuple | None) -> list:
    """Apply ``fields=`` or the short list form of a collection."""
    raw = query.get("fields")
    keys = tuple(f for f in raw.split(",") if f) if raw else short
    if not keys:
        return objects
    return [{k: obj[k] for k in keys if k in obj} for obj in objects]


def order(objects: list, query: Mapping[str, str]) -> list:
    """Sort by ``order_by=key[,-key...]`` (a leading ``-`` sorts descending).

    :raises ApiError: 400 for a key that the objects do not have.
    """
    raw = query.get("order_by")
    if not raw or not objects:
        return objects
    for key in reversed([k for k in raw.split(",") if k]):
        name = key.lstrip("-")
        if name not in objects[0]:
            raise validation(f"cannot order by {name!r}", "order_by")
        objects = sorted(
            objects, key=lambda obj: _sort_key(obj.get(name)), reverse=key.startswith("-")
        )
    return objects


def _sort_key(value) -> tuple:
    """Numbers first (by value), then text, then anything else (by its JSON), then null: a
    field holding numbers in some objects and text in others still sorts."""
    if isinstance(value, dict):
        value = value.get("uuid")
    if value is None:
        return (3, 0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))

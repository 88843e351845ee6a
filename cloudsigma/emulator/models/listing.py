"""Filtering, field selection and paging of collection listings (guide section 3)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import validation

#: Query parameters that are not filters.
RESERVED = frozenset(
    {"limit", "offset", "fields", "format", "avoid", "recurse", "do", "order_by", "callback"}
)


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


def _ref_uuid(value) -> str | None:
    if isinstance(value, dict):
        return value.get("uuid")
    return None if value is None else str(value)


def _match_one(obj: Mapping, key: str, wanted: list[str]) -> bool:
    if key == "name__contains" or key == "name__icontains":
        name = (obj.get("name") or "").lower()
        return any(w.lower() in name for w in wanted)
    if key == "tag":
        tags = {_ref_uuid(t) for t in obj.get("tags") or ()}
        return any(w in tags for w in wanted)
    if key not in obj:
        return True
    value = obj[key]
    if isinstance(value, list):
        return any(w in {str(_ref_uuid(v)) for v in value} for w in wanted)
    if isinstance(value, dict):
        value = value.get("uuid")
    if isinstance(value, bool):
        value = str(value).lower()
    return str(value) in wanted


def make_filter(query: Iterable[tuple[str, str]], extra_reserved: frozenset = frozenset()):
    """Turn query pairs into a predicate on objects, or ``None`` when nothing filters.

    Pairs of different parameters are ANDed, comma-separated values inside one are ORed,
    and a repeated parameter ANDs again. Unknown filter names whose key is absent from an
    object do not exclude it.
    """
    clauses = [
        (key, split_values(value))
        for key, value in query
        if key not in RESERVED and key not in extra_reserved
    ]
    if not clauses:
        return None
    return lambda obj: all(_match_one(obj, key, wanted) for key, wanted in clauses)


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
    if isinstance(value, dict):
        value = value.get("uuid")
    return (value is None, str(value) if not isinstance(value, int | float) else value)

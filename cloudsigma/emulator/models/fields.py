"""Checks for values in request bodies; a failure is a 400 ``validation`` naming the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import required, validation

_MISSING = object()


def text(values: Mapping, key: str, default: Any = _MISSING, *, nullable: bool = False) -> Any:
    """A string field (``None`` allowed when ``nullable``)."""
    value = values.get(key, default)
    if value is _MISSING:
        raise required(key)
    if value is None and (nullable or default is None):
        return None
    if not isinstance(value, str):
        raise validation(f"{key} must be a string, got {type(value).__name__}", key)
    if "\x00" in value:
        value = value.split("\x00", 1)[0]
    return value


def integer(
    values: Mapping, key: str, default: Any = _MISSING, *, minimum: int | None = None
) -> Any:
    """An integer field; numeric strings are accepted, booleans and fractions are not."""
    value = values.get(key, default)
    if value is _MISSING:
        raise required(key)
    if value is None and default is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation(f"{key} must be an integer, got {value!r}", key)
    if minimum is not None and value < minimum:
        raise validation(f"{key} must be at least {minimum}, got {value}", key)
    return value


def boolean(values: Mapping, key: str, default: Any = _MISSING) -> Any:
    """A boolean field; ``null`` for an optional one means "not given" (its default)."""
    value = values.get(key, default)
    if value is _MISSING:
        raise required(key)
    if value is None and default is not _MISSING:
        return default
    if not isinstance(value, bool):
        raise validation(f"{key} must be true or false, got {value!r}", key)
    return value


def choice(values: Mapping, key: str, choices: Iterable[str], default: Any = _MISSING) -> Any:
    """A string field limited to ``choices``."""
    value = values.get(key, default)
    if value is _MISSING:
        raise required(key)
    if value is None and default is None:
        return None
    choices = tuple(choices)
    if value not in choices:
        raise validation(f"{key} must be one of {', '.join(choices)}, got {value!r}", key)
    return value


def mapping(values: Mapping, key: str, default: Any = _MISSING) -> Any:
    """A dict field (``meta``, ``configuration`` ...)."""
    value = values.get(key, default)
    if value is _MISSING:
        raise required(key)
    if value is None and default is None:
        return None
    if not isinstance(value, dict):
        raise validation(f"{key} must be an object, got {type(value).__name__}", key)
    return dict(value)


def meta(values: Mapping, default: Any = _MISSING) -> Any:
    """The ``meta`` dict: keys at most 32 characters; values are kept as sent."""
    value = mapping(values, "meta", {} if default is _MISSING else default)
    for name in value:
        if len(name) > 32:
            raise validation(f"meta key {name[:40]!r} is longer than 32 characters", "meta")
    return value


def sequence(values: Mapping, key: str, default: Any = _MISSING) -> Any:
    """A list field."""
    value = values.get(key, default)
    if value is _MISSING:
        raise required(key)
    if value is None and default is None:
        return None
    if not isinstance(value, list):
        raise validation(f"{key} must be a list, got {type(value).__name__}", key)
    return list(value)


def ref_uuid(value: Any, key: str) -> str:
    """The uuid of a reference given as a uuid string, a ref dict or any dict with ``uuid``."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("uuid"), str):
        return value["uuid"]
    if isinstance(value, dict) and isinstance(value.get("resource_uri"), str):
        parts = [p for p in value["resource_uri"].split("/") if p]
        if parts:
            return parts[-1]
    raise validation(f"{key} must be a uuid or an object with a uuid, got {value!r}", key)

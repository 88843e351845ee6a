"""Rendering of API objects: aligned tables and key/value records for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = [
    "Column",
    "format_cell",
    "human_size",
    "print_json",
    "print_record",
    "print_table",
    "ref_uuid",
]


@dataclass(frozen=True)
class Column:
    """One table column: its header and how to get its text from an object."""

    header: str
    key: str
    render: Callable[[Any], str] | None = None

    def cell(self, obj: dict[str, Any]) -> str:
        value = obj.get(self.key)
        if self.render is not None and value is not None:
            return self.render(value)
        return format_cell(value)


def human_size(value: Any) -> str:
    """Bytes as a short binary size (``10G``, ``512M``, ``1.5G``); other values unchanged."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return format_cell(value)
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if number >= factor:
            scaled = number / factor
            text = f"{scaled:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return str(number)


def ref_uuid(value: Any) -> str:
    """The uuid of a reference (``{"uuid": ..., "resource_uri": ...}``) or of each in a list."""
    if isinstance(value, dict):
        return str(value.get("uuid", value.get("resource_uri", "")))
    if isinstance(value, list):
        return ",".join(ref_uuid(item) for item in value) or "-"
    return format_cell(value)


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and "uuid" in value and set(value) <= {"uuid", "resource_uri"}


def format_cell(value: Any) -> str:
    """Text for a table cell or record value.

    Scalars print as they are, references (``{"uuid", "resource_uri"}``) as their uuid,
    other structures as compact JSON.
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_ref(value) or (isinstance(value, list) and value and all(map(_is_ref, value))):
        return ref_uuid(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return " ".join(str(value).splitlines())


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """Print the value as indented JSON, keys in the order the API sent them."""
    out = stream or sys.stdout
    out.write(json.dumps(value, indent=2, ensure_ascii=False))
    out.write("\n")


def print_table(
    objects: Iterable[dict[str, Any]], columns: Sequence[Column], stream: TextIO | None = None
) -> None:
    """Print objects as a table whose columns are as wide as their widest cell."""
    out = stream or sys.stdout
    rows = [[column.header for column in columns]]
    rows += [[column.cell(obj) for column in columns] for obj in objects]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        out.write("\n")


#: Keys shown first in a record, in this order; the others follow alphabetically.
_LEADING_KEYS = ("uuid", "id", "name", "status")
#: Keys holding byte counts, which a record also shows in binary units.
_SIZE_KEYS = frozenset({"size", "mem", "allocated_size", "snapshots_allocated_size"})


def _record_order(key: Any) -> tuple[int, str]:
    key = str(key)
    return (_LEADING_KEYS.index(key), "") if key in _LEADING_KEYS else (len(_LEADING_KEYS), key)


def print_record(obj: Any, stream: TextIO | None = None) -> None:
    """Print one object as aligned ``key  value`` lines (a scalar prints as itself).

    A value that spans lines continues, indented, under its first line.
    """
    out = stream or sys.stdout
    if not isinstance(obj, dict):
        out.write(f"{format_cell(obj)}\n")
        return
    width = max((len(str(key)) for key in obj), default=0)
    for key in sorted(obj, key=_record_order):
        value = obj[key]
        text = str(value) if isinstance(value, str) else format_cell(value)
        if key in _SIZE_KEYS and isinstance(value, int) and value >= 1024:
            text += f" ({human_size(value)})"
        # a multi-line value continues under its first line
        lines = text.splitlines() or [""]
        out.write(f"{str(key).ljust(width)}  {lines[0]}".rstrip() + "\n")
        for line in lines[1:]:
            out.write(f"{'':{width}}  {line}".rstrip() + "\n")

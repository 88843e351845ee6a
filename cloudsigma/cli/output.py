"""Rendering of API objects: tables and records for people, JSON and YAML for scripts.

Tables and records show sizes in binary units, CPU in MHz or GHz, references as uuids and
secrets masked; JSON and YAML show the API's values as they came.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = [
    "MASK",
    "SECRET_KEYS",
    "Column",
    "Style",
    "format_cell",
    "human_mhz",
    "human_size",
    "mask_secrets",
    "print_json",
    "print_record",
    "print_table",
    "print_yaml",
    "ref_uuid",
]

#: What a masked secret shows (always the same length, so that it says nothing of the secret).
MASK = "********"
#: Keys whose values are secrets: masked in tables and records unless ``--show-secrets``.
SECRET_KEYS = frozenset({"vnc_password", "private_key", "password", "api_key", "otp_secret"})

#: Keys holding byte counts, shown in binary units in records.
SIZE_KEYS = frozenset(
    {"size", "mem", "allocated_size", "snapshots_allocated_size", "storage", "bytes"}
)

#: Status words and their colours (ANSI SGR codes) when stdout is a terminal.
STATUS_COLOURS = {
    "running": "32",
    "active": "32",
    "available": "32",
    "mounted": "32",
    "unmounted": "36",
    "stopped": "31",
    "expired": "31",
    "unavailable": "31",
    "starting": "33",
    "stopping": "33",
    "creating": "33",
    "cloning_src": "33",
    "cloning_dst": "33",
    "resizing": "33",
    "uploading": "33",
    "paused": "33",
    "inactive": "2",
    "unassigned": "2",
}


@dataclass(frozen=True)
class Style:
    """How text for people is drawn: colours, header line, and whether secrets show."""

    colour: bool = False
    header: bool = True
    show_secrets: bool = False

    def status(self, text: str) -> str:
        """``text`` in its status colour (when colours are on and it is a status word)."""
        code = STATUS_COLOURS.get(text)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text


@dataclass(frozen=True)
class Column:
    """One table column: its header, the key it shows and how to write its value."""

    header: str
    key: str
    render: Callable[[Any], str] | None = None
    #: a status column, coloured on a terminal
    status: bool = False
    #: ``render`` takes the whole object (for a value whose unit depends on another key)
    whole: bool = False

    def cell(self, obj: dict[str, Any]) -> str:
        if self.whole and self.render is not None:
            return self.render(obj)
        value = obj.get(self.key)
        if self.render is not None and value is not None:
            return self.render(value)
        return format_cell(value)


def _scaled(number: float, units: Sequence[tuple[str, float]], base_unit: str) -> str:
    for unit, factor in units:
        if abs(number) >= factor:
            text = f"{number / factor:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{number:g} {base_unit}"


_BINARY = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def human_size(value: Any) -> str:
    """Bytes in binary units (``10 GiB``, ``1.5 GiB``, ``512 MiB``, ``100 B``)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return format_cell(value)
    return _scaled(number, _BINARY, "B")


def human_mhz(value: Any) -> str:
    """CPU in MHz as ``2 GHz``, ``2.5 GHz`` or ``500 MHz``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return format_cell(value)
    return _scaled(number, (("GHz", 1000),), "MHz")


def ref_uuid(value: Any) -> str:
    """The uuid of a reference (``{"uuid": ..., "resource_uri": ...}``) or of each in a list."""
    if isinstance(value, dict):
        return str(value.get("uuid", value.get("id", value.get("resource_uri", ""))))
    if isinstance(value, list):
        return ",".join(ref_uuid(item) for item in value) or "-"
    return format_cell(value)


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and "uuid" in value and set(value) <= {"uuid", "resource_uri"}


def format_cell(value: Any) -> str:
    """Text for one table cell: scalars as they are, references as uuids, else compact JSON."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_ref(value) or (isinstance(value, list) and value and all(map(_is_ref, value))):
        return ref_uuid(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return " ".join(str(value).splitlines())


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret (by key, at any depth) replaced by :data:`MASK`."""
    if isinstance(value, dict):
        return {
            key: MASK if key in SECRET_KEYS and value[key] else mask_secrets(value[key])
            for key in value
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """Print the value as indented JSON, keys in the order the API sent them."""
    out = stream or sys.stdout
    out.write(json.dumps(value, indent=2, ensure_ascii=False))
    out.write("\n")


def print_yaml(value: Any, stream: TextIO | None = None) -> None:
    """Print the value as YAML (block style, keys in the API's order).

    :raises CommandFailed: when PyYAML is not installed.
    """
    try:
        import yaml
    except ImportError:
        from cloudsigma.cli.problems import CommandFailed

        raise CommandFailed("-o yaml needs PyYAML: pip install 'cloudsigma[cli]'") from None
    out = stream or sys.stdout
    out.write(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False))


def print_table(
    objects: Iterable[dict[str, Any]],
    columns: Sequence[Column],
    stream: TextIO | None = None,
    style: Style | None = None,
) -> None:
    """Print objects as a table whose columns are as wide as their widest cell."""
    out = stream or sys.stdout
    style = style or Style()
    rows = [[column.cell(obj) for column in columns] for obj in objects]
    shown = ([[column.header for column in columns]] if style.header else []) + rows
    if not shown:
        return
    widths = [max(len(row[i]) for row in shown) for i in range(len(columns))]
    for number, row in enumerate(shown):
        is_header = style.header and number == 0
        cells = []
        for column, cell, width in zip(columns, row, widths, strict=True):
            padded = cell.ljust(width)
            if column.status and not is_header:
                padded = style.status(cell) + padded[len(cell) :]
            cells.append(padded)
        out.write("  ".join(cells).rstrip() + "\n")


#: Keys shown first in a record, in this order; the others follow alphabetically.
_LEADING_KEYS = ("uuid", "id", "name", "status")


def _record_order(key: Any) -> tuple[int, str]:
    key = str(key)
    return (_LEADING_KEYS.index(key), "") if key in _LEADING_KEYS else (len(_LEADING_KEYS), key)


def _scalar_text(key: Any, value: Any, style: Style) -> str:
    if isinstance(value, str):
        return style.status(value) if key == "status" else value
    if key in SIZE_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return f"{human_size(value)} ({value} bytes)" if value >= 1024 else f"{value} B"
    if key == "cpu" and isinstance(value, int) and not isinstance(value, bool):
        return human_mhz(value)
    return format_cell(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list) or _is_ref(value) or value in ({}, [])


def _record_lines(obj: dict[str, Any], style: Style, indent: str) -> list[str]:
    """``key  value`` lines; nested objects and lists of objects continue indented below."""
    lines: list[str] = []
    width = max((len(str(key)) for key in obj), default=0)
    for key in sorted(obj, key=_record_order):
        value = obj[key]
        if isinstance(value, list) and value and all(map(_is_ref, value)):
            value = ref_uuid(value)
        if _is_scalar(value):
            text = _scalar_text(key, value, style)
            first, *rest = text.splitlines() or [""]
            lines.append(f"{indent}{str(key).ljust(width)}  {first}".rstrip())
            lines.extend(f"{indent}{'':{width}}  {line}".rstrip() for line in rest)
        else:
            lines.append(f"{indent}{key}")
            lines.extend(_nested_lines(value, style, indent + "  "))
    return lines


def _nested_lines(value: dict | list, style: Style, indent: str) -> list[str]:
    if isinstance(value, dict):
        return _record_lines(value, style, indent)
    lines: list[str] = []
    for item in value:
        if isinstance(item, dict) and item:
            item_lines = _record_lines(item, style, indent + "  ")
            lines.append(f"{indent}- {item_lines[0][len(indent) + 2 :]}")
            lines.extend(item_lines[1:])
        else:
            lines.append(f"{indent}- {format_cell(item)}")
    return lines


def print_record(obj: Any, stream: TextIO | None = None, style: Style | None = None) -> None:
    """Print one object as aligned ``key  value`` lines (a scalar prints as itself).

    Nested objects (``meta``, ``runtime``, the ``drives`` and ``nics`` of a server) are shown
    indented under their key, one ``key  value`` line each, lists of them item by item.
    """
    out = stream or sys.stdout
    style = style or Style()
    if not isinstance(obj, dict):
        out.write(f"{format_cell(obj)}\n")
        return
    for line in _record_lines(obj, style, ""):
        out.write(line + "\n")

"""Parsing of command-line values: sizes, ``key=value`` pairs and JSON request bodies."""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from typing import Any

__all__ = ["amount", "json_object", "key_value", "load_body", "mhz", "size"]

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def size(text: str) -> int:
    """Parse a size in bytes: ``1073741824``, ``512M``, ``10G``, ``1.5GiB`` (binary units).

    :raises argparse.ArgumentTypeError: when the text is not a positive size.
    """
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: use bytes or a number with K, M, G or T (e.g. 10G, 512M)"
        )
    number, unit = match.groups()
    value = int(Decimal(number) * _UNITS[unit.upper()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: must be more than 0 bytes")
    return value


_MHZ = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(GHZ|MHZ|G|M)?\s*$", re.IGNORECASE)


def mhz(text: str) -> int:
    """Parse a CPU amount in MHz: ``2000``, ``2000MHz``, ``2GHz``, ``2.5G``.

    :raises argparse.ArgumentTypeError: when the text is not a positive amount of MHz.
    """
    match = _MHZ.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"invalid CPU {text!r}: use MHz or a number with GHz or MHz (e.g. 2GHz, 2000)"
        )
    number, unit = match.groups()
    factor = 1000 if (unit or "").upper() in ("G", "GHZ") else 1
    value = int(Decimal(number) * factor)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid CPU {text!r}: must be more than 0 MHz")
    return value


#: Subscribable resources counted in bytes and in MHz; the others are counts.
BYTE_RESOURCES = frozenset({"mem", "dssd", "hdd", "ssd", "nvme", "zadara", "tx", "backup"})
CPU_RESOURCES = frozenset({"cpu"})


def amount(resource: str, text: str) -> str:
    """A subscription amount in the API's base unit, from text with or without a unit.

    Memory, storage and traffic take sizes (``10G``), CPU takes MHz or GHz (``2GHz``), and the
    others (ip, vlan, vpc, licenses...) a whole count.

    :returns: the amount as the API's string of digits.
    :raises argparse.ArgumentTypeError: when the text does not fit the resource.
    """
    if resource in CPU_RESOURCES or resource.endswith("_cpu"):
        return str(mhz(text))
    if resource in BYTE_RESOURCES or resource.endswith("_mem"):
        return str(size(text))
    if not text.strip().isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(
            f"invalid amount {text!r} for {resource}: a {resource} subscription counts whole "
            "units (1, 2, ...)"
        )
    return str(int(text))


def key_value(text: str) -> tuple[str, str]:
    """Parse ``key=value`` (the value may be empty or contain ``=``).

    :raises argparse.ArgumentTypeError: when there is no ``=`` or no key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value


def json_object(text: str) -> Any:
    """Parse a JSON document given on the command line.

    :raises argparse.ArgumentTypeError: when it is not valid JSON.
    """
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid JSON in --data: {exc}") from None


def load_body(data: Any, path: str | None) -> Any:
    """The request body from ``--data`` (already parsed) or ``--file PATH`` (``-`` = stdin).

    :returns: the parsed JSON, or an empty dict when neither was given.
    :raises ValueError: when the file does not hold valid JSON.
    :raises OSError: when the file cannot be read.
    """
    if data is not None:
        return data
    if path is None:
        return {}
    if path == "-":
        text = sys.stdin.read()
    else:
        with open(path, encoding="utf-8") as body_file:
            text = body_file.read()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} does not hold valid JSON: {exc}") from None

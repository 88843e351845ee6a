"""Parsing of command-line values: sizes, ``key=value`` pairs and JSON request bodies."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

__all__ = ["json_object", "key_value", "load_body", "size"]

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
    value = int(float(number) * _UNITS[unit.upper()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: must be more than 0 bytes")
    return value


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

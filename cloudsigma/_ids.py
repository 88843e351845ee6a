"""Ids given to the SDK, checked before they become part of a URL.

An id must name one object: one non-empty path segment of the right form (a uuid for
most resources, an address for IPs, a number for licenses and subscriptions). Anything
else (``''``, ``None``, ``'../servers/<uuid>'``, ``'a/b'``, ``'x?y'``, ``'%2f'``, spaces)
raises :class:`~cloudsigma.errors.InvalidIdError` naming the argument, and nothing is sent.
"""

from __future__ import annotations

import re

from cloudsigma.errors import InvalidIdError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ADDRESS",
    "NUMBER",
    "SEGMENT",
    "UUID",
    "UUID_OR_NUMBER",
    "check_id",
    "check_name",
    "check_path",
]

UUID = "uuid"
ADDRESS = "address"
NUMBER = "number"
#: A uuid or a number (subscriptions have both; their resource_uri names the number).
UUID_OR_NUMBER = "uuid_or_number"
#: Ids of an unknown form: any one safe path segment.
SEGMENT = "segment"

# Patterns as text: re compiles (and caches) each on first use, not at import.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NUMBER = r"[0-9]{1,20}"
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}"
_NAME = r"[a-z][a-z0-9_]{0,63}"
_DESCRIPTIONS = {
    UUID: "a uuid such as 5c33a9b1-0000-4000-8000-000000000001",
    ADDRESS: "an IP address such as 185.12.6.183",
    NUMBER: "a number such as 12",
    UUID_OR_NUMBER: "a number such as 12 or a uuid such as 5c33a9b1-0000-4000-8000-000000000001",
    SEGMENT: "letters, digits and . _ : @ - (one path segment)",
}


def check_id(value: Any, kind: str = UUID, argument: str = "uuid") -> str:
    """``value`` as the text of an id of ``kind``.

    :param argument: the name of the argument, for the error.
    :raises InvalidIdError: when ``value`` cannot name one object.
    """
    text = _as_text(value, kind, argument)
    if not text:
        raise _invalid(value, kind, argument, "is empty")
    if kind == UUID:
        valid = bool(re.fullmatch(_UUID, text))
    elif kind == NUMBER:
        valid = bool(re.fullmatch(_NUMBER, text))
    elif kind == UUID_OR_NUMBER:
        valid = bool(re.fullmatch(_NUMBER, text) or re.fullmatch(_UUID, text))
    elif kind == ADDRESS:
        valid = _is_address(text)
    else:
        valid = bool(re.fullmatch(_SEGMENT, text)) and text not in (".", "..")
    if not valid:
        raise _invalid(value, kind, argument, "is not valid")
    return text


def check_name(value: Any, argument: str) -> str:
    """A collection name given as an argument (``drives``, ``servers``, ...).

    :raises InvalidIdError: for anything but lowercase letters, digits and underscores.
    """
    text = value if isinstance(value, str) else None
    if text is None or not re.fullmatch(_NAME, text):
        raise InvalidIdError(
            f"{argument} {_shown(value)} is not the name of a collection such as 'drives'",
            argument,
            value,
        )
    return text


def check_path(value: Any, argument: str = "url") -> str:
    """A path or URL given as an argument (a ``resource_uri``): no dot segments, no query or
    fragment, no escaped characters that a server could decode into them.

    :raises InvalidIdError: for anything else.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidIdError(f"{argument} {_shown(value)} is not a URL", argument, value)
    path = value.split("://", 1)[1].partition("/")[2] if "://" in value else value
    segments = path.split("/")
    if (
        any(segment in (".", "..") for segment in segments)
        or any(ch in value for ch in "?#%\\")
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
    ):
        raise InvalidIdError(
            f"{argument} {_shown(value)} is not a plain path (no '.' or '..' segments, no "
            "'?', '#', '%' or spaces): it could reach another object than the one named",
            argument,
            value,
        )
    return value


def _as_text(value: Any, kind: str, argument: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            raise _invalid(value, kind, argument, "is not an id")
    if kind in (NUMBER, UUID_OR_NUMBER) and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _invalid(value, kind, argument, "is not an id")
    return value


def _is_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "/" not in text and "%" not in text


def _invalid(value: Any, kind: str, argument: str, problem: str) -> InvalidIdError:
    return InvalidIdError(
        f"{argument} {_shown(value)} {problem}: it must be {_DESCRIPTIONS[kind]}, naming "
        "exactly one object, so nothing was sent",
        argument,
        value,
    )


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."

"""Objects named on the command line: a uuid (or address, or id) as it is, a name looked up.

A name is resolved with one filtered request (``?name=``); no match, or several, is an
error that says so (and lists the matching uuids). A reference that could change the URL it
goes into (empty, or with ``/``) is refused before anything is sent.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from cloudsigma.cli.specs import RESOURCES, Ambiguous, NotFound, ResourceSpec, UsageError

if TYPE_CHECKING:
    from cloudsigma.cli.session import Session

__all__ = ["check_reference", "escape_filter_value", "is_uuid", "resolve", "resolve_filter"]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_uuid(text: str) -> bool:
    """Whether ``text`` is written as a uuid (8-4-4-4-12 hex digits)."""
    return bool(_UUID.match(text))


def _reject(spec: ResourceSpec, text: str, reason: str) -> UsageError:
    what = f"{spec.singular} uuid or name" if spec.named else f"{spec.singular} {spec.key_kind}"
    return UsageError(f"{text!r} is not a {what}: {reason}")


def check_reference(spec: ResourceSpec, text: str) -> str:
    """``text`` when it can name an object of ``spec``, checked before any request.

    :raises UsageError: for an empty reference, one with ``/`` or a control character, or one
        that is not the kind of key the collection uses.
    """
    if not text.strip():
        raise _reject(spec, text, "it is empty")
    if "/" in text or text in (".", ".."):
        raise _reject(
            spec, text, "it would change the URL it goes into ('/' and '..' name no object)"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise _reject(spec, text, "it holds a control character")
    if spec.key_kind == "address" and not is_uuid(text):
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise _reject(spec, text, "IPs are named by their address, e.g. 185.12.6.183")
    if spec.key_kind == "id" and not text.isdigit():
        raise _reject(spec, text, f"{spec.name} are named by their number")
    if spec.key_kind == "uuid" and not spec.named and not is_uuid(text):
        raise _reject(spec, text, f"{spec.name} have no names; give the uuid")
    return text


def escape_filter_value(text: str) -> str:
    """One value for an API filter: commas separate values there, so escape them (``\\,``)."""
    return text.replace("\\", "\\\\").replace(",", "\\,")


def _name_matches(session: Session, spec: ResourceSpec, name: str) -> list[dict[str, Any]]:
    api = session.api(spec)
    query = {"name": escape_filter_value(name)}
    found = api.list_detail(query) if spec.list_is_sparse else api.list(query)
    # a server that ignores the filter must not make an unrelated object the match
    return [obj for obj in found if isinstance(obj, dict) and obj.get("name") == name]


def resolve(session: Session, spec: ResourceSpec | str, text: str) -> str:
    """The key of the object ``text`` names: itself when it is a key, else the one match.

    :raises UsageError: when ``text`` cannot name an object (see :func:`check_reference`).
    :raises NotFound: when no object has that name.
    :raises Ambiguous: when several have it (the message lists their uuids).
    """
    spec = RESOURCES[spec] if isinstance(spec, str) else spec
    check_reference(spec, text)
    if not spec.named or is_uuid(text):
        return text
    matches = _name_matches(session, spec, text)
    if not matches:
        raise NotFound(
            f"no {spec.singular} is named {text!r} (see 'cloudsigma {spec.name} list'; "
            "names are exact and case-sensitive)"
        )
    if len(matches) > 1:
        uuids = ", ".join(str(obj.get(spec.key)) for obj in matches)
        raise Ambiguous(
            f"{len(matches)} {spec.name} are named {text!r}: {uuids}; give one of these uuids"
        )
    return str(matches[0][spec.key])


def resolve_filter(session: Session, key: str, value: str) -> str:
    """A ``--filter`` value with tag names replaced by tag uuids (``tag=production``)."""
    if key not in ("tag", "tags"):
        return value
    parts = re.split(r"(?<!\\),", value)
    return ",".join(
        part if is_uuid(part) else resolve(session, "tags", _unescape(part)) for part in parts
    )


def _unescape(text: str) -> str:
    return text.replace("\\,", ",").replace("\\\\", "\\")

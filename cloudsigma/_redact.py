"""Removal of credentials from what the SDK logs: headers, JSON bodies, cookie values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "<redacted>"

#: Headers whose whole value is a credential.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken"}
)

#: Cookie and field names whose value is a credential wherever it appears.
SECRET_NAMES = ("csrftoken", "sessionid", "async_auth")

_NAME_VALUE = re.compile(
    r"(?P<name>\b(?:csrftoken|sessionid|async_auth|[\w-]*password)\b\"?\s*[=:]\s*\"?)(?P<value>[^;,&\s\"]+)",
    re.IGNORECASE,
)

#: Longest body shown in a log record, in characters.
MAX_LOGGED_BODY = 8192


def is_secret_key(key: Any) -> bool:
    """Whether a JSON key names a credential (any ``*password*`` key, or a session cookie)."""
    if not isinstance(key, str):
        return False
    lowered = key.lower()
    return "password" in lowered or lowered in SECRET_NAMES


def redact_json(value: Any) -> Any:
    """A copy of a decoded JSON value with every credential field, at any depth, replaced."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(k) else redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace ``name=value`` credentials and every known secret string in free text."""
    text = _NAME_VALUE.sub(lambda m: m.group("name") + REDACTED, text)
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """Headers with every credential header's value replaced."""
    return {
        name: REDACTED if name.lower() in SECRET_HEADERS else str(value)
        for name, value in headers.items()
    }


def redact_body(body: bytes | str | None, secrets: Iterable[str] = ()) -> str:
    """A loggable form of a request or response body, without credentials."""
    import simplejson  # logging is the only user: importing this module stays light

    if not body:
        return ""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes of binary data>"
    try:
        shown = simplejson.dumps(redact_json(simplejson.loads(body)))
    except (ValueError, TypeError):
        shown = body
    shown = redact_text(shown, secrets)
    if len(shown) > MAX_LOGGED_BODY:
        shown = f"{shown[:MAX_LOGGED_BODY]}... ({len(shown)} characters)"
    return shown

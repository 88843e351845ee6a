"""Removal of credentials from every text the SDK builds: logs, exceptions and reprs.

Credentials are hidden by name (the Authorization, Cookie and X-CSRFToken headers, any
``*password*`` field, ``sessionid=...``) and by value: the password, the Basic token made
from it, cookie values and the CSRF token, in the forms an echoing server or proxy may
send them back in (as they are, JSON-escaped, URL-encoded).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

REDACTED = "<redacted>"

#: Headers whose whole value is a credential.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken"}
)

#: Cookie and field names whose value is a credential wherever it appears.
SECRET_NAMES = ("csrftoken", "sessionid", "async_auth")

# As text: re compiles (and caches) it on first use, not at import.
_NAME_VALUE = (
    r"(?i)(?P<name>\b(?:csrftoken|sessionid|async_auth|[\w-]*password)\b\"?\s*[=:]\s*\"?)"
    r"(?P<value>[^;,&\s\"]+)"
)

#: Longest body shown in a log record, in characters.
MAX_LOGGED_BODY = 8192

#: Values shorter than this are not hidden by value: they would blank out ordinary words.
MIN_SECRET_LENGTH = 4


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


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every form in which the given values may come back, longest first.

    A value as it is, JSON-escaped and URL-encoded.
    """
    import json  # errors and logs only: importing this module stays light

    forms: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            continue
        forms.add(secret)
        forms.add(json.dumps(secret)[1:-1])
        forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        forms.add(urllib.parse.quote(secret, safe=""))
        forms.add(urllib.parse.quote_plus(secret))
    return sorted((form for form in forms if len(form) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def basic_token(username: str | None, password: str | None) -> str:
    """The base64 token of HTTP Basic auth for these credentials ('' without a password)."""
    import base64

    if not password:
        return ""
    pair = f"{username or ''}:{password}".encode("latin-1", "replace")
    return base64.b64encode(pair).decode("ascii")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace ``name=value`` credentials and every form of every known secret in free text."""
    text = re.sub(_NAME_VALUE, lambda m: m.group("name") + REDACTED, text)
    for form in secret_forms(secrets):
        text = text.replace(form, REDACTED)
    return text


def redact_headers(headers: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Headers with every credential header's value replaced, and secrets hidden in the rest."""
    secrets = tuple(secrets)
    return {
        name: REDACTED if name.lower() in SECRET_HEADERS else redact_text(str(value), secrets)
        for name, value in headers.items()
    }


def redact_body(body: Any, secrets: Iterable[str] = ()) -> str:
    """A loggable form of a request or response body, without credentials."""
    import simplejson  # logging is the only user: importing this module stays light

    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes of binary data>"
    if not body:
        return ""
    if not isinstance(body, str):
        return f"<{type(body).__name__} body>"
    try:
        shown = simplejson.dumps(redact_json(simplejson.loads(body)))
    except (ValueError, TypeError, RecursionError):
        shown = body
    shown = redact_text(shown, secrets)
    if len(shown) > MAX_LOGGED_BODY:
        shown = f"{shown[:MAX_LOGGED_BODY]}... ({len(shown)} characters)"
    return shown


def safe_url(url: str) -> str:
    """The URL without any ``user:password@`` part."""
    if "@" not in url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # not even a URL: drop anything between '//' and the last '@'
        return re.sub(r"//[^/]*@", "//", url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

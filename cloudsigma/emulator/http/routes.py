"""The route tables of the emulated API, as data, and the matcher that reads them.

A row is ``(method, pattern below /api/2.0/, handler name)``; the first match wins, ``{x}``
matches one segment and ``{rest*}`` the remaining ones. A path whose first segment is a
literal also gives the handler ``res``, that segment: every handler knows its collection.
"""

from __future__ import annotations

from collections.abc import Mapping

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "accounts/action", "account_action"),
    ("GET", "drives/{uuid}/upload", "resumable_check"),
    ("POST", "drives/{uuid}/upload", "resumable_chunk"),
    ("POST", "drives/{uuid}/upload/{token}", "link_chunk"),
    ("POST", "drives/upload/{rest*}", "simple_upload"),
    ("POST", "drives/upload", "simple_upload"),
    ("GET", "drives/{uuid}/download", "download"),
    ("GET", "drives/{uuid}/download/{token}", "signed_download"),
    ("GET", "{res}/availability_groups", "availability_groups"),
    ("GET", "{res}/availability_groups/{uuid}", "availability_group"),
    ("GET", "servers/{uuid}/runtime", "runtime"),
    ("GET", "{res}/schema", "schema"),
    ("GET", "{res}/detail", "list_detail"),
    ("GET", "tags/{uuid}/{kind}", "related"),
    ("GET", "tags/{uuid}/{kind}/detail", "related_detail"),
    ("POST", "{res}/action", "collection_action"),
    ("POST", "{res}/{uuid}/action", "action"),
    ("GET", "{res}", "list"),
    ("POST", "{res}", "create"),
    ("PUT", "{res}", "put_collection"),
    ("DELETE", "{res}", "bulk_delete"),
    ("GET", "{res}/{uuid}", "get"),
    ("PUT", "{res}/{uuid}", "update"),
    ("DELETE", "{res}/{uuid}", "delete"),
)
#: Handlers that need no credentials (the link itself is the secret).
PUBLIC = frozenset({"link_chunk", "signed_download"})
#: Handlers that accept HTTP Basic authentication only (the raw upload, as documented).
BASIC_ONLY = frozenset({"simple_upload"})
#: Account actions that need no credentials: signing up and logging in.
PUBLIC_ACCOUNT_ACTIONS = frozenset({"create", "login"})
#: Control endpoints under /_emulator/: (method, name) -> handler name.
CONTROL = {
    ("POST", "reset"): "reset",
    ("GET", "transitions"): "transitions",
    ("POST", "transitions"): "set_transitions",
    ("GET", "journal"): "journal",
    ("GET", "accounts"): "list_accounts",
    ("POST", "accounts"): "create_account",
    ("GET", "strict"): "strict",
    ("POST", "strict"): "set_strict",
    ("POST", "vmware_servers"): "add_vmware_server",
    ("GET", "clock"): "clock",
    ("POST", "clock"): "set_clock",
}


def is_public(handler: str, query: Mapping[str, str]) -> bool:
    """Whether a request for ``handler`` (with these query parameters) needs no credentials."""
    if handler == "account_action":
        return query.get("do") in PUBLIC_ACCOUNT_ACTIONS
    return handler in PUBLIC


class Route:
    """One row of :data:`ROUTES`, compiled to literal checks and parameter positions."""

    __slots__ = ("method", "handler", "size", "literals", "params", "rest", "root")

    def __init__(self, method: str, pattern: str, handler: str) -> None:
        parts = pattern.split("/")
        self.method, self.handler = method, handler
        self.root = None if parts[0].startswith("{") else parts[0]
        self.rest = parts[-1][1:-2] if parts[-1].endswith("*}") else None
        if self.rest is not None:
            parts = parts[:-1]
        self.size = len(parts)
        self.literals = tuple((i, p) for i, p in enumerate(parts) if not p.startswith("{"))
        self.params = tuple((i, p[1:-1]) for i, p in enumerate(parts) if p.startswith("{"))

    def match(self, segments: list[str]) -> dict | None:
        """The parameters of ``segments`` if this route matches them, else ``None``."""
        if self.rest is None and len(segments) != self.size:
            return None
        if self.rest is not None and len(segments) <= self.size:
            return None
        for index, literal in self.literals:
            if segments[index] != literal:
                return None
        params = {name: segments[index] for index, name in self.params}
        if self.root is not None:
            params["res"] = self.root
        if self.rest is not None:
            params[self.rest] = "/".join(segments[self.size :])
        return params


_COMPILED = [Route(*row) for row in ROUTES]
_BY_LENGTH: dict[int, list[Route]] = {}
#: First segments that some route names literally (``accounts``, ``drives`` ...).
LITERAL_ROOTS = frozenset(route.root for route in _COMPILED if route.root is not None)


def _candidates(length: int) -> list[Route]:
    """Routes that can match a path of ``length`` segments, in table order (cached)."""
    found = _BY_LENGTH.get(length)
    if found is None:
        found = [r for r in _COMPILED if (r.size == length if r.rest is None else length > r.size)]
        if length < 16:
            _BY_LENGTH[length] = found
    return found


def match_route(method: str, segments: list[str]) -> tuple[str | None, dict, set[str]]:
    """Find the handler for ``segments``; also return the methods the path allows."""
    allowed: set[str] = set()
    for route in _candidates(len(segments)):
        params = route.match(segments)
        if params is None:
            continue
        if route.method == method or (method == "HEAD" and route.method == "GET"):
            return route.handler, params, allowed
        allowed.add(route.method)
    return None, {}, allowed

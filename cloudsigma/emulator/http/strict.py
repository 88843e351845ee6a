"""What a request may carry: its collection's filters, the documented query parameters and the
known body fields, and what becomes of the rest.

The API (Tastypie) ignores a filter, a parameter or a body field it does not know, so a script
that relies on one passes against it without doing what it meant. Here, by default, the same
happens and the request's journal entry carries a warning naming what was ignored; in strict
mode the request is refused with 400 ``validation`` naming it instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from aiohttp import web

from ..backend import Backend
from ..models.errors import validation
from ..models.filters import LOOKUPS, OWN, SCHEMA_NAMES, Rule, collection_rules
from ..models.kernel import Collection, Generic, SimpleCollection, query_parameters
from ..models.listing import LISTING_PARAMETERS, unknown_filters

#: Paging parameters that any GET may carry: clients send them everywhere (libcloud sends
#: ``limit=0`` with every GET) and the API takes them without complaint.
GET_PARAMETERS = frozenset({"limit", "offset", "format"})
#: Query parameters of each handler besides filters; every request may also say ``format``.
HANDLER_PARAMETERS: dict[str, frozenset[str]] = {
    "list": LISTING_PARAMETERS,
    "list_detail": LISTING_PARAMETERS,
    "related": LISTING_PARAMETERS,
    "related_detail": LISTING_PARAMETERS,
    "get": frozenset({"fields"}),
    "action": frozenset({"do"}),
    "collection_action": frozenset({"do"}),
}
#: Parameters one collection documents for one handler or action (availability_groups.rst,
#: servers.rst, virtualrouters.rst).
PARAMETERS: dict[tuple[str, str], frozenset[str]] = {
    ("drives", "create"): frozenset({"avoid"}),
    ("drives", "clone"): frozenset({"avoid"}),
    ("libdrives", "clone"): frozenset({"avoid"}),
    ("snapshots", "clone"): frozenset({"avoid"}),
    ("remotesnapshots", "clone"): frozenset({"avoid"}),
    ("servers", "clone"): frozenset({"avoid"}),
    ("servers", "start"): frozenset({"avoid"}),
    ("servers", "delete"): frozenset({"recurse"}),
    ("virtualrouters", "get_log"): frozenset({"log_name"}),
}
#: The model method that serves a handler, whose declared query parameters it takes.
METHODS = {"delete": "delete", "create": "create_many", "get": "get"}
#: Body fields of collections that have no recorded schema (their dumps and pages).
FIELDS: dict[str, frozenset[str]] = {
    "driveusers": frozenset({"amount", "drive"}),
    "notification_preferences": frozenset({"contact", "medium", "type", "value"}),
}
#: Body fields documented beyond a collection's schema, for every write.
EXTRA_FIELDS: dict[str, frozenset[str]] = {
    "remotesnapshots": frozenset({"location"}),
    "keypairs": frozenset({"algorithm_type", "fingerprint", "grantees", "permissions"}),
    # the recorded router PUT and filter create send these (vrouters_safe_update, ...create)
    "virtualrouters": frozenset({"name"}),
    "vrfwfilters": frozenset({"policy"}),
}
#: Body fields of one action beyond the collection's fields.
ACTION_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("servers", "clone"): frozenset({"random_vnc_password"}),
    ("servers", "start"): frozenset({"allocation_method"}),
    ("drives", "set_scheduler"): frozenset({"backup_policy_uuid"}),
    ("upstream", "configure_vpn"): frozenset({"password", "username", "vpn_access", "vpn_type"}),
}
#: The warnings about the request being handled (each request starts its own list).
_WARNINGS: ContextVar[list[str] | None] = ContextVar("emulator_request_warnings", default=None)


def collect_warnings() -> list[str]:
    """Start the warnings of a new request; returns the list they will be added to."""
    warnings: list[str] = []
    _WARNINGS.set(warnings)
    return warnings


def schema_of(collection: Collection) -> Mapping[str, Any]:
    """The recorded schema of ``collection`` (under its own name or the one it is filed
    under), else the one the emulator makes up for it."""
    schemas = collection.backend.schemas
    recorded = schemas.get(SCHEMA_NAMES.get(collection.name, collection.name))
    if recorded is None:
        return collection.schema()
    return recorded.get("schema", recorded)


def describe_keys(keys: Iterable[str]) -> str:
    """Accepted keys for a message: ``date__<lookup>`` stands for every lookup of ``date``."""
    keys = set(keys)
    shown = []
    for key in sorted(keys):
        field, _, lookup = key.partition("__")
        if lookup in LOOKUPS and all(f"{field}__{other}" in keys for other in LOOKUPS[1:]):
            if f"{field}__<lookup>" not in shown:
                shown.append(f"{field}__<lookup>")
            continue
        shown.append(key)
    return ", ".join(shown) if shown else "nothing"


class RequestChecks:
    """Finds what a request carries that the API would ignore; warns, or refuses when strict.

    :param strict: refuse (400) instead of warning.
    """

    def __init__(self, backend: Backend, strict: bool = False) -> None:
        self.backend = backend
        self.strict = strict
        self._rules: dict[str, dict[str, Rule]] = {}
        self._fields: dict[str, frozenset[str] | None] = {}

    def filter_rules(self, collection: Collection) -> dict[str, Rule]:
        """The filters ``collection`` accepts, by query key."""
        rules = self._rules.get(collection.name)
        if rules is None:
            rules = collection_rules(collection.name, schema_of(collection))
            # what the listing reads itself (declared with @query) is no generic filter
            for name in query_parameters(collection.visible):
                rules.setdefault(name, Rule((name,), OWN))
            self._rules[collection.name] = rules
        return rules

    def known_fields(self, collection: Collection) -> frozenset[str] | None:
        """The body fields ``collection`` knows, or None when it keeps whatever it is sent."""
        if collection.name not in self._fields:
            self._fields[collection.name] = self._find_fields(collection)
        return self._fields[collection.name]

    def _find_fields(self, collection: Collection) -> frozenset[str] | None:
        name = collection.name
        if name in FIELDS:
            found: Iterable[str] = FIELDS[name]
        elif name in self.backend.schemas or name in SCHEMA_NAMES:
            found = schema_of(collection).get("fields", {})
        elif isinstance(collection, SimpleCollection) and not isinstance(collection, Generic):
            found = collection.schema_fields()
        else:
            return None
        return frozenset(found) | EXTRA_FIELDS.get(name, frozenset())

    # the checks ------------------------------------------------------------------
    def check_listing(self, request: web.Request, collection: Collection) -> dict[str, Rule]:
        """Report the unknown filters of a listing; returns the filters it accepts."""
        rules = self.filter_rules(collection)
        unknown = unknown_filters(request.query.items(), rules)
        if unknown:
            self.report(
                request,
                "filter",
                unknown,
                f"/{collection.name}/ filters by {describe_keys(rules)}",
                "ignores it and lists what it would list without it",
            )
        return rules

    def check_parameters(
        self, request: web.Request, handler: str, collection: str, action: str | None = None
    ) -> None:
        """Report query parameters that ``handler`` (and ``action``) do not document."""
        known = (
            (GET_PARAMETERS if request.method == "GET" else {"format"})
            | HANDLER_PARAMETERS.get(handler, frozenset())
            | PARAMETERS.get((collection, action or handler), frozenset())
            | self.declared(collection, handler, action)
        )
        unknown = [key for key in dict.fromkeys(request.query) if key not in known]
        if unknown:
            what = f"?do={action}" if action else f"{request.method} {request.path}"
            self.report(
                request,
                "parameter",
                unknown,
                f"{what} takes {describe_keys(known)}",
                "ignores it",
            )

    def declared(self, name: str, handler: str, action: str | None) -> frozenset[str]:
        """The query parameters the model method serving the request declares (``@query``)."""
        collection = self.backend.collections.get(name)
        if collection is None:
            return frozenset()
        method_name = collection.actions.get(action or "") if action else METHODS.get(handler)
        method = getattr(collection, method_name, None) if method_name else None
        return frozenset(query_parameters(method)) if method is not None else frozenset()

    def check_fields(
        self,
        request: web.Request,
        collection: Collection,
        items: Iterable[Any],
        action: str | None = None,
        current: Mapping[str, Any] | None = None,
    ) -> None:
        """Report body fields ``collection`` does not know (``current``: the object a PUT
        changes, whose own keys it may send back)."""
        known = self.known_fields(collection)
        if known is None:
            return
        known = known | ACTION_FIELDS.get((collection.name, action or ""), frozenset())
        if current is not None:
            known = known | set(current)
        unknown: list[str] = []
        for item in items:
            if isinstance(item, dict):
                unknown.extend(k for k in item if k not in known and k not in unknown)
        if unknown:
            target = f"?do={action} on /{collection.name}/" if action else f"/{collection.name}/"
            self.report(
                request,
                "field",
                unknown,
                f"{target} knows {describe_keys(known)}",
                "ignores it",
            )

    def report(
        self, request: web.Request, kind: str, names: list[str], accepted: str, effect: str
    ) -> None:
        """Warn in the journal, or raise in strict mode, about ``names`` of one ``kind``.

        :raises ApiError: 400 ``validation`` naming them, in strict mode.
        """
        quoted = ", ".join(repr(name) for name in names)
        plural = "s" if len(names) > 1 else ""
        if self.strict:
            raise validation(
                f"unknown {kind}{plural} {quoted}: the API {effect}; {accepted}", names[0]
            )
        warnings = _WARNINGS.get()
        if warnings is not None:
            warnings.append(f"unknown {kind}{plural} {quoted} ignored ({accepted})")

"""The filters each collection accepts and what they match (guide section 3).

A collection's filters come from the ``filtering`` of its schema, as Tastypie reads it
(``"exact"`` or a list: only that lookup; ``1``: every lookup, ``date__lt`` and the like),
plus the filters the API documents elsewhere (:data:`EXTRA_FILTERS`). Filters on a
reference can follow it to the object it names: ``tag__name=web`` keeps the objects with a
tag named ``web``. A filter the collection does not accept is not a filter: the API ignores
it, and so do listings here (the HTTP layer warns or, in strict mode, refuses).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import validation

#: Tastypie's lookups, which a field with ``filtering`` 1 (``ALL``) accepts as ``field__lookup``.
LOOKUPS = (
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "isnull",
)
#: The lookup ``own``: the collection's ``listing`` applies the filter itself.
OWN = "own"

#: Where a collection's recorded schema is filed under another name.
SCHEMA_NAMES = {
    "backupschedulers": "backupscheduler",
    "remotesnapshots": "snapshots",
    "bservers": "servers",
}


@dataclass(frozen=True)
class Rule:
    """What one accepted filter key means: the field path it reads and how it compares.

    ``path`` names a field, then optionally fields of the object a reference names
    (``("tags", "name")``). ``lookup`` is one of :data:`LOOKUPS` or :data:`OWN`.
    """

    path: tuple[str, ...]
    lookup: str = "exact"


def _field(name: str, lookup: str = "exact") -> Rule:
    """The rule of a filter on the field ``name`` (``tag`` filters the ``tags`` list)."""
    return Rule(("tags" if name == "tag" else name,), lookup)


#: Filters the API documents beyond the schemas' ``filtering`` (guide section 3,
#: subscriptions.rst, snapshots.rst, backup_schedulers.rst, usage.rst, burst_usage.rst).
EXTRA_FILTERS: dict[str, dict[str, Rule]] = {
    "snapshots": {"drive": _field("drive")},
    "remotesnapshots": {"drive": _field("drive")},
    "subscriptions": {
        "status": Rule(("status",), OWN),
        "resource": _field("resource"),
    },
    "backupschedulers": {"type": _field("type")},
    "usage": {
        "poll_time_gt": Rule(("poll_time",), OWN),
        "poll_time_lt": Rule(("poll_time",), OWN),
        # pycloudsigma's billing sample spells them the Django way (ADDENDUM)
        "poll_time__gt": _field("poll_time", "gt"),
        "poll_time__lt": _field("poll_time", "lt"),
    },
    "dailyburstusage": {
        "date": _field("date"),
        "date__lt": _field("date", "lt"),
        "date__gt": _field("date", "gt"),
    },
}
#: Documented relation filters, added wherever the plain filter is accepted.
RELATIONS = {"tag": {"tag__name": Rule(("tags", "name"))}}


def rules_from_filtering(filtering: Mapping[str, Any] | None) -> dict[str, Rule]:
    """The accepted filter keys of a schema's ``filtering``, with their rules."""
    rules: dict[str, Rule] = {}
    for key, allowed in (filtering or {}).items():
        field, _, named = key.partition("__")
        if named:  # a filter named in full, such as ``name__contains``
            rules[key] = _field(field, "icontains" if named == "contains" else named)
            continue
        if isinstance(allowed, int) and not isinstance(allowed, bool):  # Tastypie's ALL
            lookups: Iterable[str] = LOOKUPS
        else:
            lookups = [allowed] if isinstance(allowed, str) else list(allowed)
        for lookup in lookups:
            rules[key if lookup == "exact" else f"{key}__{lookup}"] = _field(field, lookup)
        for relation, rule in RELATIONS.get(key, {}).items():
            rules[relation] = rule
    return rules


def collection_rules(name: str, schema: Mapping[str, Any]) -> dict[str, Rule]:
    """Every filter key the collection ``name`` accepts, given its schema."""
    rules = rules_from_filtering(schema.get("filtering"))
    rules.update(EXTRA_FILTERS.get(name, {}))
    return rules


# matching ---------------------------------------------------------------------------
Resolver = Callable[[dict], "dict | None"]


def values_at(obj: Any, path: tuple[str, ...], resolve: Resolver, follow: bool = True) -> list[Any]:
    """The values found at ``path`` in ``obj``: lists are walked, references followed.

    A reference (a dict with a ``uuid``) that lacks the next field of the path is resolved
    (once) to the object it names; at the end of the path a reference stands for its uuid.
    """
    if isinstance(obj, list):
        return [value for item in obj for value in values_at(item, path, resolve, follow)]
    if not path:
        return [obj.get("uuid") if isinstance(obj, dict) else obj]
    if not isinstance(obj, dict):
        return []
    field = path[0]
    if field in obj:
        return values_at(obj[field], path[1:], resolve)
    target = resolve(obj) if follow and "uuid" in obj else None
    return [] if target is None else values_at(target, path, resolve, follow=False)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def _moment(text: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ordered(key: str, value: Any, wanted: str) -> tuple[Any, Any] | None:
    """``value`` and ``wanted`` as comparable numbers, moments or strings (None: not comparable).

    :raises ApiError: 400 when the stored value is a number or a moment and ``wanted`` is not.
    """
    number = _number(value)
    if number is not None:
        bound = _number(wanted)
        if bound is None:
            raise validation(f"filter {key} needs a number, got {wanted!r}", key)
        return number, bound
    if isinstance(value, str) and _moment(value) is not None:
        moment = _moment(wanted)
        if moment is None:
            raise validation(f"filter {key} needs an ISO date or date-time, got {wanted!r}", key)
        return _moment(value), moment
    return None if value is None else (_text(value), wanted)


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}
TEXT_MATCHES: dict[str, Callable[[str, str], bool]] = {
    "exact": lambda a, b: a == b,
    "in": lambda a, b: a == b,
    "iexact": lambda a, b: a.lower() == b.lower(),
    "contains": lambda a, b: b in a,
    "icontains": lambda a, b: b.lower() in a.lower(),
    "startswith": lambda a, b: a.startswith(b),
    "istartswith": lambda a, b: a.lower().startswith(b.lower()),
    "endswith": lambda a, b: a.endswith(b),
    "iendswith": lambda a, b: a.lower().endswith(b.lower()),
}


def matches(key: str, rule: Rule, found: list[Any], wanted: list[str]) -> bool:
    """Whether the values ``found`` at a rule's path satisfy one of the ``wanted`` values."""
    if rule.lookup == OWN:
        return True
    if rule.lookup == "isnull":
        empty = all(value is None for value in found)
        return any((w.lower() in ("true", "1")) == empty for w in wanted)
    compare = COMPARISONS.get(rule.lookup)
    if compare is not None:
        pairs = [_ordered(key, value, w) for value in found for w in wanted]
        return any(pair is not None and compare(*pair) for pair in pairs)
    text_match = TEXT_MATCHES[rule.lookup]
    return any(value is not None and text_match(_text(value), w) for value in found for w in wanted)

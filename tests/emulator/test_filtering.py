"""Listing filters as the API applies them: the keys each collection's schema allows plus the
documented extras; other keys are ignored with a journal warning, or refused in strict mode.

The generated tests draw a collection, one of its filter keys and values taken from (or near)
the stored objects, and compare the emulator's answer with an evaluation written here, over
the unfiltered listing.
"""

from __future__ import annotations

import datetime
import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_support import GIB, Api, server_body
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cloudsigma.emulator import Emulator
from cloudsigma.emulator.models.filters import LOOKUPS as ALL_LOOKUPS  # Tastypie's, a fact

#: Filters the API documents beyond the schemas (guide section 3).
DOCUMENTED_EXTRAS = {
    "snapshots": {"drive": ("drive", "exact")},
    "subscriptions": {"resource": ("resource", "exact")},
    "backupschedulers": {"type": ("type", "exact")},
}
#: Collections listed in the generated tests (each has objects after ``populate``).
COLLECTIONS = (
    "drives",
    "servers",
    "snapshots",
    "tags",
    "subscriptions",
    "libdrives",
    "pricing",
    "jobs",
    "ledger",
    "ips",
    "vlans",
    "backupschedulers",
)
SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Emulator, Api]]:
    """One emulator for the module, populated once: the generated tests only read."""
    with Emulator(transition_delay=None) as emulator:
        api = Api(emulator.api_endpoint, emulator.username, emulator.password)
        populate(emulator, api)
        yield emulator, api
        api.close()


def populate(emulator: Emulator, api: Api) -> None:
    """Drives, servers, snapshots, tags, a clone job, subscriptions and backup schedulers."""
    names = ["alpha", "Beta", "gamma,delta", "alpha2", "web-1"]
    drives = [
        api.create("drives", name=name, size=(i + 1) * GIB, media=("disk", "cdrom")[i % 2])
        for i, name in enumerate(names)
    ]
    emulator.advance()
    web = api.create("tags", name="web", resources=[drives[0]["uuid"], drives[2]["uuid"]])
    api.create("tags", name="db", resources=[drives[1]["uuid"]])
    api.create("tags", name="Web")
    for name in ("srv-a", "srv-b"):
        api.create("servers", **server_body(name, tags=[web["uuid"]]))
    for drive, name in ((drives[0], "daily"), (drives[0], "weekly"), (drives[1], "daily")):
        api.create("snapshots", drive=drive["uuid"], name=name)
    api.action("drives", drives[3]["uuid"], "clone", 202, name="copy")
    for resource, amount in (("cpu", 2000), ("mem", GIB)):
        api.create("subscriptions", resource=resource, amount=amount, period="1 month")
    for kind in ("snapshot", "backup"):
        api.create("backupschedulers", name=f"{kind}s", type=kind)
    emulator.advance()


def listing(api: Api, collection: str, query: dict | list | None = None) -> list[dict]:
    answer = api.ok("GET", f"{collection}/detail/", params=[("limit", "0"), *_pairs(query)])
    return answer["objects"]


def _pairs(query: dict | list | None) -> list[tuple[str, str]]:
    return list(query.items()) if isinstance(query, dict) else list(query or [])


# an evaluation of the filters, independent of the emulator's --------------------------------
def accepted_filters(api: Api, collection: str) -> dict[str, tuple[str, str]]:
    """``filter key -> (field, lookup)`` from the collection's schema and the documented extras."""
    filtering = api.ok("GET", f"{collection}/schema/").get("filtering") or {}
    accepted: dict[str, tuple[str, str]] = {}
    for key, allowed in filtering.items():
        if "__" in key:
            field, lookup = key.split("__", 1)
            accepted[key] = (field, "icontains" if lookup == "contains" else lookup)
            continue
        lookups = (
            ALL_LOOKUPS if allowed == 1 else [allowed] if isinstance(allowed, str) else allowed
        )
        for lookup in lookups:
            accepted[key if lookup == "exact" else f"{key}__{lookup}"] = (key, lookup)
        if key == "tag":
            accepted["tag__name"] = ("tag__name", "exact")
    accepted.update(DOCUMENTED_EXTRAS.get(collection, {}))
    return accepted


def field_values(obj: dict, field: str, tag_names: dict[str, str]) -> list[Any]:
    """What a filter on ``field`` compares in ``obj`` (references by uuid, tags by uuid or name)."""
    if field == "tag":
        return [t["uuid"] for t in obj.get("tags") or []]
    if field == "tag__name":
        return [tag_names.get(t["uuid"]) for t in obj.get("tags") or []]
    value = obj.get(field, MISSING)
    if value is MISSING:
        return []
    items = value if isinstance(value, list) else [value]
    return [item.get("uuid") if isinstance(item, dict) else item for item in items]


MISSING = object()


def as_moment(text: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def compare(lookup: str, value: Any, wanted: str) -> bool:
    """One stored value against one wanted value, as Django compares them."""
    if lookup == "isnull":
        return (value is None) == (wanted == "true")
    if value is None:
        return False
    if lookup in ("lt", "lte", "gt", "gte"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            left, right = float(value), float(wanted)
        elif as_moment(value) is not None:
            left, right = as_moment(value), as_moment(wanted)
        else:
            left, right = str(value), wanted
        return {"lt": left < right, "lte": left <= right, "gt": left > right, "gte": left >= right}[
            lookup
        ]
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if lookup == "in":  # one of the comma-separated values, exactly (not an "i" lookup)
        lookup = "exact"
    elif lookup.startswith("i"):
        text, wanted, lookup = text.lower(), wanted.lower(), lookup[1:]
    return {
        "exact": text == wanted,
        "contains": wanted in text,
        "startswith": text.startswith(wanted),
        "endswith": text.endswith(wanted),
    }[lookup]


def expected(objects: list[dict], field: str, lookup: str, wanted: list[str], tags: dict) -> list:
    """The objects a filter keeps: any wanted value matching any compared value."""
    if lookup == "isnull":
        return [
            obj
            for obj in objects
            if any(
                compare("isnull", (field_values(obj, field, tags) or [None])[0], w) for w in wanted
            )
        ]
    return [
        obj
        for obj in objects
        if any(compare(lookup, v, w) for v in field_values(obj, field, tags) for w in wanted)
    ]


# generated values ---------------------------------------------------------------------------
def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,")


def candidates(objects: list[dict], field: str, lookup: str, tags: dict) -> list[str]:
    """Values worth asking for: the stored ones, parts of them, neighbours and near misses."""
    found = [v for obj in objects for v in field_values(obj, field, tags) if v is not None]
    if lookup == "isnull":
        return ["true", "false"]
    values: list[str] = ["nonexistent"]
    for value in found:
        if isinstance(value, bool):
            values.append(str(value).lower())
        elif isinstance(value, int | float):
            values += [str(value), str(value - 1), str(value + 1)]
        elif as_moment(value) is not None:
            moment = as_moment(value)
            values += [value, (moment - datetime.timedelta(days=1)).isoformat()]
            values.append((moment + datetime.timedelta(seconds=1)).isoformat())
        else:
            text = str(value)
            values += [text, text.upper(), text[:2], text[-2:], text + "x"]
    if lookup in ("lt", "lte", "gt", "gte"):
        values = [v for v in values if v != "nonexistent"] or ["0"]
    return sorted(set(values))


def stored_texts(objects: list[dict], field: str, tags: dict) -> set[str]:
    """The stored values of ``field`` as a query would spell them."""
    return {
        str(v).lower() if isinstance(v, bool) else str(v)
        for obj in objects
        for v in field_values(obj, field, tags)
        if v is not None
    }


@st.composite
def filter_cases(draw: st.DrawFn, api: Api, tags: dict) -> tuple:
    collection = draw(st.sampled_from([c for c in COLLECTIONS if c != "tags"]))
    accepted = accepted_filters(api, collection)  # the tags schema allows no filter
    key = draw(st.sampled_from(sorted(accepted)))
    field, lookup = accepted[key]
    objects = listing(api, collection)
    pool = candidates(objects, field, lookup, tags)
    stored = [v for v in pool if v in stored_texts(objects, field, tags)] or pool
    # stored values half of the time: equal bounds and exact matches are where bugs hide
    value = st.sampled_from(stored) | st.sampled_from(pool)
    wanted = draw(st.lists(value, min_size=1, max_size=3, unique=True))
    return collection, key, wanted


def identity(obj: dict) -> str:
    return obj.get("uuid") or json.dumps(obj, sort_keys=True)


@SETTINGS
@given(data=st.data())
def test_generated_filters_keep_exactly_the_matching_objects(world, data):
    emulator, api = world
    tags = {t["uuid"]: t["name"] for t in listing(api, "tags")}
    collection, key, wanted = data.draw(filter_cases(api, tags))
    field, lookup = accepted_filters(api, collection)[key]
    objects = listing(api, collection)
    value = ",".join(escape(w) for w in wanted)
    note(f"GET /{collection}/detail/?{key}={value}")

    got = listing(api, collection, {key: value})

    want = expected(objects, field, lookup, wanted, tags)
    assert sorted(map(identity, got)) == sorted(map(identity, want))
    assert "warnings" not in emulator.journal[-1]


unknown_keys = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
    lambda key: key.strip("_") == key
)


@SETTINGS
@given(collection=st.sampled_from(COLLECTIONS), key=unknown_keys, strict=st.booleans())
def test_generated_unknown_filters_are_ignored_with_a_warning_or_refused_when_strict(
    world, collection, key, strict
):
    emulator, api = world
    accepted = accepted_filters(api, collection)
    if key in accepted or key in ("limit", "offset", "fields", "format", "order_by"):
        return
    everything = listing(api, collection)
    emulator.strict = strict
    try:
        answer = api.get(f"{collection}/detail/", params={"limit": "0", key: "nonexistent"})
    finally:
        emulator.strict = False

    if strict:
        assert answer.status_code == 400, answer.text
        [error] = answer.json()
        assert (error["error_type"], error["error_point"]) == ("validation", key)
        assert repr(key) in error["error_message"]
    else:
        assert answer.status_code == 200, answer.text
        assert sorted(map(identity, answer.json()["objects"])) == sorted(map(identity, everything))
        [warning] = emulator.journal[-1]["warnings"]
        assert repr(key) in warning


# regressions and the strict switch ---------------------------------------------------------
def test_in_lookup_is_case_sensitive(api, emu):
    # the generated test's own evaluation once took state__in for a case-insensitive lookup
    drive = api.create("drives", name="source", size=GIB, media="disk")
    emu.advance()
    api.action("drives", drive["uuid"], "clone", 202, name="copy")
    emu.advance()

    assert listing(api, "jobs", {"state__in": "SUCCESS"}) == []
    assert len(listing(api, "jobs", {"state__in": "started,success"})) == 1


def test_tag_name_of_no_tag_lists_nothing(api, emu):
    api.create("drives", name="keep-me", size=GIB, media="disk")
    api.create("tags", name="real")

    assert listing(api, "drives", {"tag__name": "nonexistent"}) == []


def test_tag_name_lists_the_objects_with_a_tag_of_that_name(api, emu):
    kept = api.create("drives", name="kept", size=GIB, media="disk")
    api.create("drives", name="left", size=GIB, media="disk")
    api.create("tags", name="cleanup", resources=[kept["uuid"]])

    assert [d["uuid"] for d in listing(api, "drives", {"tag__name": "cleanup"})] == [kept["uuid"]]


def test_an_unknown_filter_is_ignored_and_named_in_the_journal(api, emu):
    api.create("drives", name="one", size=GIB, media="disk")

    assert len(listing(api, "drives", {"colour": "red"})) == 1
    warning = emu.journal[-1]["warnings"][0]
    assert "unknown filter 'colour' ignored" in warning
    assert "name__contains" in warning  # it says what the collection filters by


def test_strict_refuses_an_unknown_filter_naming_it(api, emu):
    emu.strict = True

    answer = api.get("drives/", params={"colour": "red"})

    assert answer.status_code == 400
    [error] = answer.json()
    assert error["error_point"] == "colour"
    assert "unknown filter 'colour'" in error["error_message"]
    assert (
        "/drives/ filters by name, name__contains, tag, tag__name, uuid" in (error["error_message"])
    )


def test_strict_refuses_an_unknown_body_field_naming_it(api, emu):
    emu.strict = True

    answer = api.post(
        "drives/", json={"objects": [{"name": "d", "size": GIB, "media": "disk", "colour": "red"}]}
    )

    assert answer.status_code == 400
    [error] = answer.json()
    assert error["error_point"] == "colour"
    assert "unknown field 'colour'" in error["error_message"]
    assert listing(api, "drives") == []  # nothing was created


def test_strict_refuses_an_undocumented_parameter_naming_it(api, emu, server):
    emu.strict = True

    answer = api.post(f"servers/{server['uuid']}/action/", params={"do": "start", "fast": "1"})

    assert answer.status_code == 400
    [error] = answer.json()
    assert error["error_point"] == "fast"
    assert "unknown parameter 'fast'" in error["error_message"]
    assert "?do=start takes avoid, do, format" in error["error_message"]
    assert api.ok("GET", f"servers/{server['uuid']}/")["status"] == "stopped"


def test_documented_parameters_and_fields_pass_in_strict_mode(api, emu, server):
    emu.strict = True
    drive = api.ok(
        "POST",
        "drives/",
        201,
        params={"avoid": server["uuid"]},
        json={"name": "d", "size": GIB, "media": "disk"},
    )["objects"][0]
    emu.advance()
    # a PUT may send back every key the GET gave
    stored = api.ok("GET", f"drives/{drive['uuid']}/")
    api.ok("PUT", f"drives/{drive['uuid']}/", json=dict(stored, name="renamed"))
    api.action("servers", server["uuid"], "clone", 202, name="copy", random_vnc_password=True)
    api.ok("POST", f"servers/{server['uuid']}/action/", 202, params={"do": "start", "avoid": ""})
    api.ok("GET", "drives/", params={"limit": "0", "fields": "uuid", "name": "renamed"})

    assert "warnings" not in emu.journal[-1]


def test_unknown_parameters_and_fields_warn_without_strict(api, emu, server):
    api.ok("PUT", f"servers/{server['uuid']}/", json={**server, "colour": "red"}, params={"x": "1"})

    [parameter, field] = emu.journal[-1]["warnings"]
    assert "unknown parameter 'x' ignored" in parameter
    assert "unknown field 'colour' ignored" in field


def test_strict_is_switched_over_the_control_endpoint(api, emu):
    control, headers = emu.base_url + "/_emulator/strict/", emu.control_headers
    assert api.session.get(control, headers=headers).json() == {"strict": False}

    on = api.session.post(control, json={"strict": True}, headers=headers)
    assert on.json() == {"strict": True}
    assert emu.strict is True
    assert api.get("drives/", params={"colour": "red"}).status_code == 400
    assert api.session.post(control, json={"strict": "yes"}, headers=headers).status_code == 400
    off = api.session.post(control, json={"strict": False}, headers=headers)
    assert off.json() == {"strict": False}


def test_comparison_filters_refuse_a_value_of_the_wrong_kind(api, emu):
    answer = api.get("pricing/", params={"level__lt": "high"})

    assert answer.status_code == 400
    assert answer.json()[0]["error_point"] == "level__lt"


def test_command_line_has_a_strict_switch():
    from cloudsigma.emulator.__main__ import parse_args

    assert parse_args(["--strict"]).strict is True
    assert parse_args([]).strict is False

"""Every recorded exchange of the target resources, replayed against the emulator.

A record agrees when the emulator answers with the recorded status code and the same set of
key paths as the recorded body (see ``replay.compare_shapes``). One test per record.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from .replay import IdMap, Replayer, compare_shapes, key_paths, load_records
from .scenarios import EXCLUDED, out_of_scope, scenario_of_records

RECORDS = load_records()
REPLAYED = sorted(scenario_of_records())


@pytest.mark.parametrize("name", REPLAYED)
def test_record_replays_with_the_recorded_status_and_keys(conformance, name):
    outcome = conformance.outcome(name)
    difference = outcome.describe()
    assert difference == "agrees", f"{name} [{outcome.scenario}]: {difference}"


def test_every_record_is_replayed_excluded_or_out_of_scope():
    replayed = set(REPLAYED)
    excluded = set(EXCLUDED)
    outside = set(out_of_scope(RECORDS))
    assert not replayed & excluded
    assert replayed | excluded | outside == set(RECORDS)
    assert set(EXCLUDED) <= set(RECORDS)


def test_every_record_is_replayed_or_excluded_with_a_reason():
    assert out_of_scope(RECORDS) == {}
    assert all(reason.strip() for reason in EXCLUDED.values())


def test_key_paths_merge_list_items_and_treat_a_nested_resource_uri_as_a_leaf():
    body = {
        "objects": [{"a": 1}, {"b": {"c": 2}}],
        "resource_uri": {"resource_uri": "/x/", "uuid": "u"},
    }
    assert key_paths(body) == {
        "objects",
        "objects[].a",
        "objects[].b",
        "objects[].b.c",
        "resource_uri",
    }


def test_compare_shapes_reports_missing_unexpected_and_tolerated_keys():
    missing, extra, tolerated = compare_shapes(
        {"a": 1, "runtime": {"x": 1}},
        {"runtime": {"x": 1, "is_ephemeral": True}, "z": 0},
        tolerated=("is_ephemeral",),
    )
    assert (missing, extra, tolerated) == (["a"], ["z"], ["runtime.is_ephemeral"])


def test_id_map_learns_from_parallel_answers_and_substitutes_everywhere():
    ids = IdMap()
    recorded_uuid = "5d3bb6d8-ce39-41e8-8742-2ba5af5ef2d0"
    ids.learn({"objects": [{"uuid": recorded_uuid}]}, {"objects": [{"uuid": "new-uuid"}]})
    ids.bind("94.26.101.182", "10.0.0.7")
    body = {
        "drive": recorded_uuid,
        "uri": f"/api/2.0/drives/{recorded_uuid}/",
        "ip": "94.26.101.182",
    }
    assert ids.substitute(body) == {
        "drive": "new-uuid",
        "uri": "/api/2.0/drives/new-uuid/",
        "ip": "10.0.0.7",
    }
    ids.learn({"uuid": recorded_uuid}, {"uuid": "other"})
    assert ids.get(recorded_uuid) == "new-uuid"


def test_id_map_maps_short_ids_only_as_whole_path_segments():
    ids = IdMap()
    ids.bind("7272", "1001")
    assert ids.substitute_path("/api/2.0/subscriptioncalculator/7272/action/") == (
        "/api/2.0/subscriptioncalculator/1001/action/"
    )
    assert ids.substitute("a7272b") == "a7272b"


def test_a_recorded_uuid_left_in_a_request_is_a_scenario_error():
    emulator = SimpleNamespace(
        api_endpoint="http://127.0.0.1:1/api/2.0/", username="u@example.com", password="p"
    )
    ctx = Replayer(emulator, "unit")
    recorded = "5d3bb6d8-ce39-41e8-8742-2ba5af5ef2d0"
    request = ["/api/2.0/drives/" + recorded + "/", {}, None]
    assert ctx.unmapped_uuids(request) == [recorded]
    ctx.ids.bind(recorded, "emulator-uuid")
    assert ctx.unmapped_uuids(ctx.ids.substitute(request)) == []
    ctx.close()

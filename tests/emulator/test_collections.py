"""Envelopes, list vs detail fields, fields=, filters, paging, bulk create and delete, PUT."""

from __future__ import annotations

import pytest
from emulator_support import GIB, assert_api_error


def make_drives(api, *names):
    objects = [{"name": name, "size": GIB, "media": "disk"} for name in names]
    return api.ok("POST", "drives/", 201, json={"objects": objects})["objects"]


def test_drive_list_shows_short_fields_and_detail_full_objects(api, drive):
    listed = api.ok("GET", "drives/")["objects"][0]
    assert set(listed) == {"owner", "resource_uri", "status", "uuid"}
    detailed = api.ok("GET", "drives/detail/")["objects"][0]
    assert detailed["name"] == "disk" and detailed["size"] == GIB
    assert detailed["resource_uri"] == f"/api/2.0/drives/{drive['uuid']}/"


def test_server_list_shows_its_short_fields(api, server):
    listed = api.ok("GET", "servers/")["objects"][0]
    assert set(listed) == {"name", "owner", "resource_uri", "runtime", "status", "uuid"}


def test_fields_parameter_keeps_only_those_keys(api, drive):
    body = api.ok("GET", "drives/", params={"fields": "uuid,status", "limit": 0})
    assert body["objects"] == [{"uuid": drive["uuid"], "status": "unmounted"}]


def test_default_limit_is_20_and_limit_0_lists_everything(api):
    make_drives(api, *[f"d{i}" for i in range(25)])
    default = api.ok("GET", "drives/")
    assert len(default["objects"]) == 20
    assert default["meta"] == {"limit": 20, "offset": 0, "total_count": 25}
    assert len(api.ok("GET", "drives/", params={"limit": 0})["objects"]) == 25


def test_limit_and_offset_page_through_in_order(api):
    created = make_drives(api, *[f"d{i}" for i in range(7)])
    page = api.ok("GET", "drives/detail/", params={"limit": 3, "offset": 3})
    assert [d["uuid"] for d in page["objects"]] == [d["uuid"] for d in created[3:6]]
    assert page["meta"] == {"limit": 3, "offset": 3, "total_count": 7}


@pytest.mark.parametrize("value", ["-1", "abc"])
def test_bad_limit_is_a_validation_error(api, value):
    assert_api_error(api.get("drives/", params={"limit": value}), 400, "validation")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "alpha"}, {"alpha"}),
        ({"name": "alpha,beta"}, {"alpha", "beta"}),
        ({"name__contains": "ETA"}, {"beta"}),
        ({"name": "a\\,b"}, {"a,b"}),
        ({"name": "a\\,b,gamma"}, {"a,b", "gamma"}),
        ({"name": "nothing"}, set()),
    ],
)
def test_filters_match_exact_names_or_lists_and_escaped_commas(api, params, expected):
    make_drives(api, "alpha", "beta", "gamma", "a,b")
    found = api.ok("GET", "drives/detail/", params=dict(params, limit=0))
    assert {d["name"] for d in found["objects"]} == expected
    assert found["meta"]["total_count"] == len(expected)


def test_uuid_and_tag_filters(api):
    first, second, _third = make_drives(api, "one", "two", "three")
    tag = api.create("tags", name="t", resources=[second["uuid"]])
    by_uuid = api.ok("GET", "drives/", params={"uuid": f"{first['uuid']},{second['uuid']}"})
    assert {d["uuid"] for d in by_uuid["objects"]} == {first["uuid"], second["uuid"]}
    by_tag = api.ok("GET", "drives/", params={"tag": tag["uuid"]})
    assert [d["uuid"] for d in by_tag["objects"]] == [second["uuid"]]


def test_different_filters_are_anded(api):
    make_drives(api, "alpha", "beta")
    found = api.ok("GET", "drives/detail/", params={"name": "alpha,beta", "name__contains": "b"})
    assert [d["name"] for d in found["objects"]] == ["beta"]


@pytest.mark.parametrize(
    "body",
    [
        {"objects": [{"name": "x", "size": GIB, "media": "disk"}]},
        [{"name": "x", "size": GIB, "media": "disk"}],
        {"name": "x", "size": GIB, "media": "disk"},
    ],
    ids=["objects", "bare-list", "bare-object"],
)
def test_create_accepts_objects_bare_list_and_bare_object(api, body):
    created = api.ok("POST", "drives/", 201, json=body)
    assert [d["name"] for d in created["objects"]] == ["x"]
    assert created["objects"][0]["status"] == "creating"


def test_bulk_create_returns_objects_in_request_order(api):
    assert [d["name"] for d in make_drives(api, "c", "a", "b")] == ["c", "a", "b"]


def test_bulk_create_with_one_bad_object_creates_nothing(api):
    objects = [{"name": "ok", "size": GIB, "media": "disk"}, {"name": "bad", "media": "disk"}]
    assert_api_error(api.post("drives/", json={"objects": objects}), 400, "validation")
    assert api.ok("GET", "drives/")["meta"]["total_count"] == 0


def test_bulk_delete_removes_all_listed_drives(api, emu):
    drives = make_drives(api, "a", "b", "c")
    emu.advance()
    body = {"objects": [{"uuid": d["uuid"]} for d in drives[:2]]}
    response = api.delete("drives/", json=body)
    assert response.status_code == 204 and response.content == b""
    assert [d["uuid"] for d in api.ok("GET", "drives/")["objects"]] == [drives[2]["uuid"]]


def test_bulk_delete_with_an_unknown_uuid_deletes_nothing(api, drive):
    body = {"objects": [{"uuid": drive["uuid"]}, {"uuid": "no-such-uuid"}]}
    assert_api_error(api.delete("drives/", json=body), 404, "notexist")
    assert api.ok("GET", f"drives/{drive['uuid']}/")["uuid"] == drive["uuid"]


def test_put_replaces_present_keys_wholesale_and_keeps_absent_ones(api, drive):
    api.ok("PUT", f"drives/{drive['uuid']}/", json={"meta": {"a": "1", "b": "2"}})
    updated = api.ok("PUT", f"drives/{drive['uuid']}/", json={"meta": {"c": "3"}})
    assert updated["meta"] == {"c": "3"}
    renamed = api.ok("PUT", f"drives/{drive['uuid']}/", json={"name": "renamed"})
    assert renamed["meta"] == {"c": "3"} and renamed["name"] == "renamed"


def test_put_ignores_read_only_and_unknown_keys(api, drive):
    current = api.ok("GET", f"drives/{drive['uuid']}/")
    sent = dict(current, status="mounted", owner=None, uuid="other", whatever=1, name="n")
    updated = api.ok("PUT", f"drives/{drive['uuid']}/", json=sent)
    assert updated["status"] == "unmounted" and updated["owner"] == current["owner"]
    assert updated["uuid"] == drive["uuid"] and "whatever" not in updated


def test_delete_answers_204_and_then_404(api, drive):
    response = api.delete(f"drives/{drive['uuid']}/")
    assert response.status_code == 204 and response.content == b""
    assert_api_error(api.get(f"drives/{drive['uuid']}/"), 404, "notexist")


def test_paths_without_trailing_slash_work(api, drive):
    assert api.ok("GET", "drives")["meta"]["total_count"] == 1
    assert api.ok("GET", f"drives/{drive['uuid']}")["uuid"] == drive["uuid"]


def test_schema_is_served_from_the_shipped_data(api):
    schema = api.ok("GET", "drives/schema/")
    assert schema["default_limit"] == 20 and "size" in schema["fields"]


def test_order_by_sorts_ascending_and_descending(api):
    make_drives(api, "b", "c", "a")
    ascending = api.ok("GET", "drives/detail/", params={"order_by": "name"})["objects"]
    assert [d["name"] for d in ascending] == ["a", "b", "c"]
    descending = api.ok("GET", "drives/detail/", params={"order_by": "-name"})["objects"]
    assert [d["name"] for d in descending] == ["c", "b", "a"]
    assert_api_error(api.get("drives/", params={"order_by": "colour"}), 400, "validation")

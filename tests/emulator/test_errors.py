"""Every client mistake gets the API's error list with the right status, never a 500."""

from __future__ import annotations

import pytest
from emulator_support import GIB, assert_api_error


def test_malformed_json_is_400(api):
    response = api.post("drives/", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "validation", "Malformed JSON")


def test_invalid_utf8_is_400(api):
    assert_api_error(api.post("drives/", data=b"\xff\xfe"), 400, "validation")


@pytest.mark.parametrize(
    ("values", "point"),
    [
        ({"size": GIB, "media": "disk"}, "name"),
        ({"name": "x", "media": "disk"}, "size"),
        ({"name": "x", "size": GIB}, "media"),
    ],
)
def test_missing_required_field_names_it(api, values, point):
    error = assert_api_error(
        api.post("drives/", json=values), 400, "validation", "This field is required"
    )
    assert error["error_point"] == point


@pytest.mark.parametrize(
    ("values", "point"),
    [
        ({"name": "x", "size": "big", "media": "disk"}, "size"),
        ({"name": "x", "size": True, "media": "disk"}, "size"),
        ({"name": 5, "size": GIB, "media": "disk"}, "name"),
        ({"name": "x", "size": GIB, "media": "floppy"}, "media"),
        ({"name": "x", "size": GIB, "media": "disk", "meta": []}, "meta"),
        (
            {"name": "x", "size": GIB, "media": "disk", "allow_multimount": "yes"},
            "allow_multimount",
        ),
    ],
)
def test_wrong_types_are_400_with_the_field(api, values, point):
    error = assert_api_error(api.post("drives/", json=values), 400, "validation")
    assert error["error_point"] == point


def test_unknown_fields_are_ignored(api):
    created = api.create("drives", name="x", size=GIB, media="disk", colour="blue")
    assert "colour" not in created


def test_unknown_uuid_is_404_for_every_verb(api):
    for method in ("GET", "PUT", "DELETE"):
        response = api.request(method, "drives/00000000-0000-0000-0000-000000000000/", json={})
        assert_api_error(response, 404, "notexist")
    response = api.post("servers/nope/action/", params={"do": "start"}, json={})
    assert_api_error(response, 404, "notexist")


def test_unknown_resource_and_unknown_path_are_404(api):
    assert_api_error(api.get("nosuchthing/"), 404, "notexist")
    assert_api_error(api.get("drives/a/b/c/d/e/"), 404, "notexist")


def test_unknown_action_is_400(api, drive):
    response = api.post(f"drives/{drive['uuid']}/action/", params={"do": "fly"}, json={})
    assert_api_error(response, 400, "validation", "fly")


def test_wrong_method_is_405(api):
    assert_api_error(api.delete("profile/"), 405, "validation")
    assert_api_error(api.post("capabilities/", json={}), 405, "validation")
    assert_api_error(api.delete("servers/", json={"objects": []}), 405, "validation")


ONE_OBJECT_OPERATIONS = {"GET": "get", "PUT": "update", "DELETE": "delete"}


@pytest.mark.parametrize("method", sorted(ONE_OBJECT_OPERATIONS))
def test_a_405_on_one_object_names_the_http_method(api, emu, method):
    refused = [
        name
        for name, collection in emu.backend.collections.items()
        if not collection.offers(ONE_OBJECT_OPERATIONS[method])
    ]
    assert refused  # every method has collections that refuse it
    for name in refused:
        response = api.request(method, f"{name}/0a1b2c3d-0000-4000-8000-000000000000/", json={})
        assert_api_error(response, 405, "validation", f"{method} is not allowed on /{name}/<uuid>/")


def test_unsupported_accept_is_406(api):
    response = api.get("drives/", headers={"Accept": "text/html"})
    assert_api_error(response, 406, "validation")


def test_body_too_large_is_400_not_413(emu, api):
    huge = b'{"name": "' + b"x" * (emu.api.max_body + 10) + b'"}'
    response = api.post("drives/", data=huge, headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "validation", "larger than")


def test_capabilities_limits_are_enforced_with_400(api):
    error = assert_api_error(
        api.post("drives/", json={"name": "x", "size": 1, "media": "disk"}),
        400,
        "validation",
        "outside the limits",
    )
    assert error["error_point"] == "size"
    server = {"name": "s", "cpu": 10, "mem": GIB, "vnc_password": "x"}
    assert (
        assert_api_error(api.post("servers/", json=server), 400, "validation")["error_point"]
        == "cpu"
    )
    server = {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "x", "smp": 99}
    assert (
        assert_api_error(api.post("servers/", json=server), 400, "validation")["error_point"]
        == "smp"
    )


def test_every_answer_has_a_request_id(api, anonymous):
    assert api.get("drives/").headers["X-REQUEST-ID"]
    assert anonymous.get("drives/").headers["X-REQUEST-ID"]
    assert api.get("nothing-here/").headers["X-REQUEST-ID"]


def test_options_lists_allowed_methods(api):
    response = api.request("OPTIONS", "drives/")
    assert response.status_code == 200
    assert set(response.text.split(",")) >= {"GET", "POST", "DELETE"}


def test_put_with_a_non_object_body_is_400(api, drive):
    assert_api_error(api.put(f"drives/{drive['uuid']}/", json=[1, 2]), 400, "validation")


def test_create_with_empty_body_is_400(api):
    assert_api_error(api.post("drives/", data=b""), 400, "validation")
    assert_api_error(api.post("drives/", json={"objects": []}), 400, "validation")
    assert_api_error(api.post("drives/", json={"objects": [1]}), 400, "validation")


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100000 + b"]" * 100000, b'{"name": "x", "meta": {"a": NaN}}', b"1e999999"],
    ids=["deep", "nan", "huge-number"],
)
def test_pathological_json_is_400(api, raw):
    response = api.post("drives/", data=raw, headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "validation")


def test_non_ascii_basic_credentials_are_401(anonymous):
    response = anonymous.get("drives/", headers={"Authorization": "Basic \u00ff\u00fe"})
    assert_api_error(response, 401, "permission")

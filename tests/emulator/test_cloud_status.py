"""``/cloud_status/``: one bare object of feature and account flags (ADDENDUM section 1)."""

from __future__ import annotations

import pytest
from emulator_support import Api, assert_api_error

#: The keys the Go SDK decodes, with the type of each (ADDENDUM section 1).
KEY_TYPES = {
    "free_tier": dict,
    "free_tier_monthly": dict,
    "guest": bool,
    "host_availability_zones": bool,
    "paas": list,
    "remote_snapshots": bool,
    "signup": bool,
    "sso": list,
    "trial": bool,
    "vmware": bool,
    "vpc": bool,
}


def test_cloud_status_is_one_bare_object_with_every_known_key(api):
    status = api.ok("GET", "cloud_status/")

    assert "objects" not in status and "meta" not in status
    assert {key: type(value) for key, value in status.items()} == KEY_TYPES
    assert status["free_tier"] == {"dssd": 0, "mem": 0}
    assert status["free_tier_monthly"] == {"tx": 0}
    assert all(isinstance(name, str) for name in status["sso"])


def test_an_account_is_no_guest_and_signing_up_is_open(api):
    status = api.ok("GET", "cloud_status/")

    assert (status["guest"], status["trial"], status["signup"]) == (False, False, True)


@pytest.mark.parametrize(
    "flag, path",
    [
        ("vpc", "vpc/"),
        ("host_availability_zones", "hostavailabilityzones/"),
        ("remote_snapshots", "remotesnapshots/"),
        ("vmware", "vmware_servers/"),
    ],
)
def test_a_feature_flag_is_true_and_its_resources_answer(api, flag, path):
    assert api.ok("GET", "cloud_status/")[flag] is True
    assert "objects" in api.ok("GET", path)


def test_a_flag_is_false_when_the_emulator_does_not_serve_the_feature(api, emu, monkeypatch):
    monkeypatch.delitem(emu.backend.collections, "vpc")

    assert api.ok("GET", "cloud_status/")["vpc"] is False


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_cloud_status_cannot_be_changed(api, method):
    assert_api_error(api.request(method, "cloud_status/", json={"vpc": False}), 405, "validation")
    assert api.ok("GET", "cloud_status/")["vpc"] is True


def test_cloud_status_needs_credentials_by_default(anonymous):
    assert_api_error(anonymous.get("cloud_status/"), 401, "permission")


def test_the_schema_lists_the_flags_read_only(api):
    schema = api.ok("GET", "cloud_status/schema/")

    assert schema["allowed_list_http_methods"] == ["get"]
    assert set(schema["fields"]) == set(KEY_TYPES)
    assert schema["fields"]["vpc"]["type"] == "boolean"
    assert all(field["readonly"] for field in schema["fields"].values())


@pytest.fixture
def open_to_visitors(emu, monkeypatch):
    """The switch that lets /cloud_status/ answer callers without credentials."""
    monkeypatch.setattr(emu.backend.collections["cloud_status"], "anonymous", frozenset({"read"}))


@pytest.mark.usefixtures("open_to_visitors")
def test_with_the_switch_a_visitor_reads_it_as_a_guest(anonymous, api):
    visitor = anonymous.get("cloud_status/")

    assert visitor.status_code == 200, visitor.text
    assert visitor.json()["guest"] is True
    assert api.ok("GET", "cloud_status/")["guest"] is False


@pytest.mark.usefixtures("open_to_visitors")
def test_with_the_switch_wrong_credentials_are_still_refused(emu):
    wrong = Api(emu.api_endpoint, emu.username, "not-the-password")
    try:
        assert_api_error(wrong.get("cloud_status/"), 401, "permission")
    finally:
        wrong.close()


@pytest.mark.usefixtures("open_to_visitors")
@pytest.mark.parametrize(
    "method, path", [("POST", "cloud_status/"), ("GET", "balance/"), ("GET", "drives/")]
)
def test_with_the_switch_nothing_else_opens(anonymous, method, path):
    assert_api_error(anonymous.request(method, path, json={}), 401, "permission")

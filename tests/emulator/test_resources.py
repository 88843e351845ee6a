"""Every resource answers list and get with schema-shaped bodies; the thinner families work."""

from __future__ import annotations

import pytest
from emulator_support import GIB, assert_api_error

LISTED = [
    "drives",
    "libdrives",
    "servers",
    "snapshots",
    "remotesnapshots",
    "tags",
    "acls",
    "keypairs",
    "pubkeys",
    "fwpolicies",
    "ips",
    "vlans",
    "subscriptions",
    "groupedsubscriptions",
    "jobs",
    "pricing",
    "discount",
    "licenses",
    "ledger",
    "logs",
    "locations",
    "notification_contacts",
    "notification_preferences",
    "driveusers",
    "virtualrouters",
    "lans",
    "upstream",
    "ipaliases",
    "routes",
    "portforwards",
    "addressforwards",
    "vrfwpolicies",
    "vrfwfilters",
    "backupschedulers",
    "usage",
    "burstusage",
    "dailyburstusage",
    "hostallocationpools",
    "hostavailabilityzones",
    "nodes",
    "vpc",
    "vmware_servers",
]
SINGLETONS = ["profile", "balance", "capabilities", "currentusage", "global_context"]


@pytest.mark.parametrize("resource", LISTED)
def test_every_collection_lists_in_the_envelope(api, resource):
    body = api.ok("GET", f"{resource}/", params={"limit": 0})
    assert set(body) >= {"meta", "objects"}
    assert body["meta"]["total_count"] == len(body["objects"])


@pytest.mark.parametrize("resource", SINGLETONS)
def test_every_singleton_answers_an_object(api, resource):
    assert isinstance(api.ok("GET", f"{resource}/"), dict)


def test_locations_point_at_the_emulator(emu, api):
    location = api.ok("GET", "locations/")["objects"][0]
    assert location["api_endpoint"] == emu.api_endpoint
    assert location["websocket_url"] == emu.ws_endpoint


def test_profile_put_changes_writable_and_ignores_read_only_keys(api):
    profile = api.ok(
        "PUT", "profile/", json={"first_name": "Ada", "email": "x@y.z", "clone_naming": "DATE"}
    )
    assert profile["first_name"] == "Ada" and profile["email"] != "x@y.z"
    assert_api_error(api.put("profile/", json={"clone_naming": "RANDOM"}), 400, "validation")


def test_ip_and_vlan_subscriptions_bring_new_objects(api):
    before = api.ok("GET", "ips/")["meta"]["total_count"]
    created = api.ok(
        "POST",
        "subscriptions/",
        201,
        json={"objects": [{"resource": "ip", "amount": 2, "period": "1 month"}]},
    )
    assert len(created["objects"]) == 2 and "price" in created
    assert api.ok("GET", "ips/")["meta"]["total_count"] == before + 2
    ip = api.ok("GET", f"ips/{created['objects'][0]['subscribed_object']}/")
    assert ip["subscription"]["id"] == int(created["objects"][0]["id"])
    assert "price" in api.ok("GET", "subscriptions/")


@pytest.mark.parametrize(
    "values",
    [
        {"resource": "cpu", "amount": 1000},
        {"resource": "cpu", "amount": 1000, "start_time": "2030-01-01T00:00:00+00:00"},
        {"resource": "vpc", "amount": 1, "period": "27 days"},
        {"resource": "plutonium", "amount": 1, "period": "1 month"},
    ],
)
def test_invalid_subscriptions_are_400(api, values):
    assert_api_error(api.post("subscriptions/", json=values), 400, "validation")


def test_subscription_calculator_prices_without_buying(api):
    count = api.ok("GET", "subscriptions/")["meta"]["total_count"]
    priced = api.ok(
        "POST",
        "subscriptioncalculator/",
        200,
        json={"objects": [{"resource": "cpu", "amount": 1000, "period": "1 month"}]},
    )
    assert priced["price"] and priced["objects"][0]["resource"] == "cpu"
    assert api.ok("GET", "subscriptions/")["meta"]["total_count"] == count


def test_ip_put_changes_only_meta(api):
    ip = api.ok("GET", "ips/")["objects"][0]["uuid"]
    updated = api.ok("PUT", f"ips/{ip}/", json={"meta": {"k": "v"}, "netmask": 8})
    assert updated["meta"] == {"k": "v"} and updated["netmask"] == 24
    assert_api_error(api.delete(f"ips/{ip}/"), 405, "validation")


def test_global_context_post_replaces_it(api):
    assert api.ok("POST", "global_context/", json={"a": "1", "b": "2"}) == {"a": "1", "b": "2"}
    assert api.ok("POST", "global_context/", json={"c": "3"}) == {"c": "3"}
    assert api.ok("GET", "global_context/") == {"c": "3"}


def test_keypairs_fingerprint_generation_and_pubkeys_view(api):
    generated = api.create("keypairs", name="gen", algorithm_type="ed25519")
    assert generated["public_key"].startswith("ssh-ed25519 ")
    assert "PRIVATE KEY" in generated["private_key"]
    assert len(generated["fingerprint"].split(":")) == 16
    public = api.create("keypairs", name="pub", public_key=generated["public_key"])
    assert public["fingerprint"] == generated["fingerprint"] and public["private_key"] is None
    view = api.ok("GET", f"pubkeys/{generated['uuid']}/")
    assert view["has_private_key"] is True and "private_key" not in view
    body = {"name": "bad", "public_key": "ssh-rsa !!!"}
    assert_api_error(api.post("keypairs/", json=body), 400, "validation", "public_key")


def test_firewall_policy_rules_are_normalised_and_detach_on_delete(api):
    policy = api.create(
        "fwpolicies",
        name="fw",
        rules=[{"action": "drop", "direction": "in", "src_ip": "23", "dst_port": 22}],
    )
    rule = policy["rules"][0]
    assert rule["src_ip"] == "23.0.0.0/32" and rule["dst_port"] == "22"
    assert rule["ip_proto"] is None and rule["comment"] is None
    nic = {"ip_v4_conf": {"conf": "dhcp"}, "firewall_policy": policy["uuid"]}
    server = api.create("servers", name="s", cpu=1000, mem=GIB, vnc_password="x", nics=[nic])
    assert api.ok("GET", f"fwpolicies/{policy['uuid']}/")["servers"][0]["uuid"] == server["uuid"]
    api.delete(f"fwpolicies/{policy['uuid']}/")
    assert api.ok("GET", f"servers/{server['uuid']}/")["nics"][0]["firewall_policy"] is None
    bad = {"rules": [{"action": "maybe", "direction": "in"}]}
    assert_api_error(api.post("fwpolicies/", json=bad), 400, "validation", "action")


def test_notification_contacts_and_preferences(api):
    contacts = api.ok("GET", "notification_contacts/")["objects"]
    main = contacts[0]
    assert_api_error(api.delete(f"notification_contacts/{main['uuid']}/"), 403, "permission")
    extra = api.create(
        "notification_contacts", name="ops", email="ops@example.com", phone="1 (123) 456"
    )
    assert extra["phone"] == "+1123456"
    preference = api.ok("GET", "notification_preferences/")["objects"][0]
    changed = api.ok(
        "PUT",
        "notification_preferences/",
        202,
        json=dict(preference, value=not preference["value"]),
    )
    assert changed["objects"][0]["value"] is (not preference["value"])


def test_logs_record_creates_and_starts(api, emu, server):
    api.action("servers", server["uuid"], "start")
    actions = [entry["action"] for entry in api.ok("GET", "logs/", params={"limit": 2})["objects"]]
    assert actions == ["start_send", "create"]


def test_currentusage_counts_running_servers_per_cpu_type(api, emu):
    server = api.create("servers", name="s", cpu=2000, mem=GIB, vnc_password="x", cpu_type="intel")
    api.action("servers", server["uuid"], "start")
    emu.advance()
    usage = api.ok("GET", "currentusage/")["usage"]
    assert usage["intel_cpu"]["using"] == 2000 and usage["cpu"]["using"] == 2000


def test_virtual_router_family_create_get_delete(api, emu):
    configuration = {"name": "r", "lan_interface": [{"name": "LAN 1", "ip_address": "10.0.1.1/24"}]}
    router = api.ok("POST", "virtualrouters/", 202, json={"configuration": configuration})
    router = router["objects"][0]
    assert router["status"] == "creating" and router["jobs"]
    emu.advance()
    got = api.ok("GET", f"virtualrouters/{router['uuid']}/")
    assert got["status"] == "running" and got["configuration"]["name"] == "r"
    lan = got["configuration"]["lan_interface"][0]
    assert api.ok("GET", f"lans/{lan['uuid']}/")["virtual_router"] == router["uuid"]
    toggled = api.action("virtualrouters", router["uuid"], "enable_nat")
    assert toggled["result"] == "success" and toggled["job"]["uuid"]
    route = {"inet": "inet", "network": "10.9.0.0/16", "virtual_router": router["uuid"]}
    route = api.ok("POST", "routes/", 202, json=route)["objects"][0]
    deleted = api.ok("DELETE", f"routes/{route['uuid']}/", 202)
    assert deleted["uuid"] == route["uuid"] and deleted["job"]["uuid"]
    assert api.ok("DELETE", f"virtualrouters/{router['uuid']}/", 202) == {}
    assert api.get(f"lans/{lan['uuid']}/").status_code == 404


def test_backfilling_servers_are_forbidden(api):
    assert_api_error(api.get("bservers/"), 403, "permission")


def test_schema_of_a_resource_without_a_dump_is_derived(api):
    schema = api.ok("GET", "keypairs/schema/")
    assert schema["default_limit"] == 20 and "get" in schema["allowed_list_http_methods"]


def test_subscriptions_beyond_the_balance_are_402_and_buy_nothing(api, emu):
    emu.account().balance["balance"] = "0.70"  # two of the three would fit
    count = api.ok("GET", "subscriptions/")["meta"]["total_count"]
    objects = [{"resource": "cpu", "amount": 1000, "period": "1 month"}] * 3
    response = api.post("subscriptions/", json={"objects": objects})
    assert_api_error(response, 402, "payment", "top up")
    assert api.ok("GET", "subscriptions/")["meta"]["total_count"] == count
    assert api.ok("GET", "balance/")["balance"] == "0.70"


def test_subscription_status_filter_and_states_follow_the_clock(api, emu):
    future = api.create(
        "subscriptions",
        resource="cpu",
        amount=1000,
        start_time="2099-01-01T00:00:00+00:00",
        period="1 month",
    )
    assert api.ok("GET", f"subscriptions/{future['id']}/")["status"] == "inactive"
    every = api.ok("GET", "subscriptions/", params={"status": "all", "limit": 0})
    inactive = api.ok("GET", "subscriptions/", params={"status": "inactive"})
    assert every["meta"]["total_count"] == 6
    assert [s["id"] for s in inactive["objects"]] == [future["id"]]
    stored = emu.account().objects["subscriptions"][future["id"]]
    stored["end_time"] = stored["start_time"] = "2001-01-01T12:00:00+00:00"
    assert api.ok("GET", "subscriptions/", params={"status": "expired"})["meta"]["total_count"] == 1
    assert (
        api.ok("GET", "subscriptions/", params={"status": "notexpired"})["meta"]["total_count"] == 5
    )


def test_profile_text_fields_must_be_text(api):
    assert_api_error(api.put("profile/", json={"first_name": 5}), 400, "validation", "first_name")


def test_derived_schema_lists_the_writable_fields(api):
    fields = api.ok("GET", "notification_contacts/schema/")["fields"]
    assert fields["name"]["type"] == "string" and fields["uuid"]["readonly"] is True
    assert api.ok("GET", "pubkeys/schema/")["allowed_list_http_methods"] == ["get"]

"""/cloud_status/, VPCs and dedicated hosts bought by subscription, host allocation pools,
host availability zones, servers placed in them, ACLs on VPCs, and VMware servers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from emulator_support import assert_api_error, server_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GENERATED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
YEAR = datetime.timedelta(days=365)


def buy(api, resource: str, amount=1, **times) -> list[dict]:
    times = times or {"period": "1 month"}
    body = {"objects": [{"resource": resource, "amount": amount, **times}]}
    return api.ok("POST", "subscriptions/", 201, json=body)["objects"]


def listed(api, resource: str) -> list[dict]:
    return api.ok("GET", f"{resource}/", params={"limit": 0})["objects"]


@pytest.fixture
def vpc(api) -> dict:
    buy(api, "vpc")
    return listed(api, "vpc")[0]


@pytest.fixture
def node(api) -> dict:
    buy(api, "dedicated_host_6148")
    return listed(api, "nodes")[0]


# feature switches ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("feature", "paths"),
    [("vpc", ["vpc/", "nodes/", "hostallocationpools/"]), ("host_availability_zones", [])],
)
def test_a_disabled_feature_is_off_in_cloud_status_and_its_calls_are_404(api, emu, feature, paths):
    emu.backend.features[feature] = False
    assert api.ok("GET", "cloud_status/")[feature] is False
    for path in paths or ["hostavailabilityzones/"]:
        assert_api_error(api.get(path), 404, "notexist", "not enabled")


# VPCs and nodes ---------------------------------------------------------------
def test_a_vpc_subscription_makes_the_vpc_visible_at_once(api):
    bought = buy(api, "vpc", "1", start_time=None, period="1 year")
    vpcs = listed(api, "vpc")
    assert len(vpcs) == 1 and bought[0]["subscribed_object"] == vpcs[0]["uuid"]
    vpc = api.ok("GET", f"vpc/{vpcs[0]['uuid']}/")
    assert vpc["status"] == "active" and vpc["nodes"] == [] and vpc["servers"] == []
    pools = listed(api, "hostallocationpools")
    assert [p["uuid"] for p in pools] == [vpc["allocation_pool"]]


def test_vpc_subscription_with_the_pycloudsigma_times_is_accepted(api):
    moment = datetime.datetime.now()
    times = {
        "start_time": moment.strftime("%Y-%m-%d %H:%M:%S"),
        "end_time": (moment + YEAR).strftime("%Y-%m-%d %H:%M:%S"),
    }
    buy(api, "vpc", "1", **times)
    assert len(listed(api, "vpc")) == 1


@pytest.mark.parametrize("days", [1, 27])
def test_a_vpc_subscription_shorter_than_a_month_is_400(api, days):
    body = {"resource": "vpc", "amount": "1", "period": f"{days} days"}
    error = assert_api_error(api.post("subscriptions/", json=body), 400, "validation")
    assert error["error_point"] == "period"
    assert listed(api, "vpc") == []


@GENERATED
@given(months=st.integers(min_value=1, max_value=36))
def test_a_vpc_subscription_of_whole_months_is_accepted(api, emu, months):
    emu.reset()  # each example buys with the money of a new account
    bought = buy(api, "vpc", period=f"{months} months")[0]
    start = datetime.datetime.fromisoformat(bought["start_time"])
    end = datetime.datetime.fromisoformat(bought["end_time"])
    month_index = start.year * 12 + start.month - 1 + months
    assert (end.year * 12 + end.month - 1) - month_index in (0, 1)  # noon rounding may add a day
    assert end.hour == 12 and end > start


def test_a_second_account_without_a_vpc_lists_no_pools(api, other_api, vpc):
    assert other_api.ok("GET", "hostallocationpools/")["objects"] == []
    assert other_api.ok("GET", "vpc/")["objects"] == []


def test_each_dedicated_host_unit_is_a_node_of_its_own(api):
    bought = buy(api, "dedicated_host_6148", 2, period="1 month")
    nodes = listed(api, "nodes")
    assert len(bought) == 2 and len(nodes) == 2
    assert {n["uuid"] for n in nodes} == {s["subscribed_object"] for s in bought}
    assert all(n["status"] == "unassigned" and n["vpc"] is None for n in nodes)


def test_link_unlink_and_relink_a_node(api, vpc, node):
    path = f"vpc/{vpc['uuid']}/"
    linked = api.ok("PUT", path, json={"name": "prod", "description": "d", "nodes": [node["uuid"]]})
    assert [n["uuid"] for n in linked["nodes"]] == [node["uuid"]]
    shown = api.ok("GET", f"nodes/{node['uuid']}/")
    assert shown["vpc"]["uuid"] == vpc["uuid"] and shown["status"] == "active"
    kept = api.ok("PUT", path, json={"name": "prod2", "description": "d2"})
    assert kept["nodes"] == linked["nodes"] and kept["name"] == "prod2"
    assert api.ok("PUT", path, json={"nodes": []})["nodes"] == []
    unlinked = api.ok("GET", f"nodes/{node['uuid']}/")
    assert unlinked["vpc"] is None and unlinked["status"] == "unassigned"
    whole = dict(api.ok("GET", path), nodes=linked["nodes"])  # refs, as GET returns them
    assert api.ok("PUT", path, json=whole)["nodes"] == linked["nodes"]


def test_read_only_vpc_keys_in_a_put_are_ignored(api, vpc):
    body = dict(vpc, allocation_pool="testing_host", status="unassigned", name="new")
    answer = api.ok("PUT", f"vpc/{vpc['uuid']}/", json=body)
    assert answer["allocation_pool"] == vpc["allocation_pool"]
    assert answer["status"] == "active" and answer["name"] == "new"


def test_a_node_in_another_vpc_cannot_be_linked(api, node):
    buy(api, "vpc")
    buy(api, "vpc")
    first, second = listed(api, "vpc")
    api.ok("PUT", f"vpc/{first['uuid']}/", json={"nodes": [node["uuid"]]})
    response = api.put(f"vpc/{second['uuid']}/", json={"nodes": [node["uuid"]]})
    assert assert_api_error(response, 400, "validation")["error_point"] == "nodes"


def test_vpcs_and_nodes_are_not_created_or_deleted_directly(api, vpc, node):
    assert api.post("vpc/", json={"name": "x"}).status_code == 405
    assert api.post("nodes/", json={"name": "x"}).status_code == 405
    assert api.delete(f"vpc/{vpc['uuid']}/").status_code == 405


def test_current_usage_counts_vpcs_and_dedicated_hosts(api, vpc, node):
    usage = api.ok("GET", "currentusage/")["usage"]
    assert usage["vpc"] == {"burst": 0, "subscribed": 1, "using": 1}
    assert usage["dedicated_host_6148"] == {"burst": 0, "subscribed": 1, "using": 1}


# servers on dedicated hosts and in zones -------------------------------------------------
def test_a_server_runs_on_the_dedicated_hosts_of_its_vpc(api, emu, vpc, node):
    body = server_body("vpc-guest", allocation_pool=vpc["allocation_pool"], cpu_type="amd")
    server = api.create("servers", **body)
    assert server["allocation_pool"] == vpc["allocation_pool"]
    response = api.post(f"servers/{server['uuid']}/action/", params={"do": "start"}, json={})
    assert_api_error(response, 403, "permission", "no dedicated host")
    api.ok("PUT", f"vpc/{vpc['uuid']}/", json={"nodes": [node["uuid"]]})
    api.action("servers", server["uuid"], "start")
    emu.advance()
    running = api.ok("GET", f"servers/{server['uuid']}/")
    assert running["status"] == "running" and running["allocation_pool"] == vpc["allocation_pool"]
    assert [s["uuid"] for s in api.ok("GET", f"vpc/{vpc['uuid']}/")["servers"]] == [server["uuid"]]
    api.action("servers", server["uuid"], "stop")
    emu.advance()
    assert api.ok("GET", f"vpc/{vpc['uuid']}/")["servers"] == []


def test_a_server_can_run_in_every_availability_zone(api, emu):
    zones = listed(api, "hostavailabilityzones")
    assert len(zones) >= 2 and all({"uuid", "name"} <= set(z) for z in zones)
    for zone in zones:
        server = api.create("servers", **server_body(zone["name"], allocation_pool=zone["uuid"]))
        api.action("servers", server["uuid"], "start")
        emu.advance()
        shown = api.ok("GET", f"servers/{server['uuid']}/")
        assert shown["status"] == "running" and zone["uuid"] in shown["allocation_pool"]
    assert api.ok("GET", f"hostavailabilityzones/{zones[0]['uuid']}/") == zones[0]


def test_an_unknown_or_foreign_allocation_pool_is_400(api, other_api, vpc):
    for pool in ("testing_host", vpc["allocation_pool"]):
        response = other_api.post("servers/", json=server_body("x", allocation_pool=pool))
        assert assert_api_error(response, 400, "validation")["error_point"] == "allocation_pool"


# host allocation pools --------------------------------------------------------------
def test_pool_put_stores_ratios_with_three_decimals(api, vpc):
    path = f"hostallocationpools/{vpc['allocation_pool']}/"
    body = {"name": "n", "description": "d", "cpu_alloc": 1, "cpu_alloc_last_resort": 2}
    api.ok("PUT", path, json=body)
    pool = api.ok("GET", path)
    assert (pool["name"], pool["description"]) == ("n", "d")
    assert (pool["cpu_alloc"], pool["cpu_alloc_last_resort"]) == ("1.000", "2.000")


@pytest.mark.parametrize(
    ("key", "value"), [("cpu_alloc", "aaaaa"), ("cpu_alloc_last_resort", "value")]
)
def test_pool_put_with_a_bad_ratio_is_400_at_the_field(api, vpc, key, value):
    path = f"hostallocationpools/{vpc['allocation_pool']}/"
    error = assert_api_error(api.put(path, json={key: value}), 400, "validation")
    assert error["error_point"] == key
    assert api.ok("GET", path)[key] == "1.000"


def test_pool_of_another_account_is_404_there(api, other_api, vpc):
    path = f"hostallocationpools/{vpc['allocation_pool']}/"
    assert_api_error(other_api.put(path, json={"name": "mine"}), 404, "notexist")


@GENERATED
@given(ratio=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3))
def test_pool_ratios_round_trip_as_three_decimal_strings(api, emu, ratio):
    if not listed(api, "vpc"):
        buy(api, "vpc")
    pool = listed(api, "hostallocationpools")[0]
    path = f"hostallocationpools/{pool['uuid']}/"
    api.ok("PUT", path, json={"cpu_alloc": str(ratio), "cpu_alloc_last_resort": float(ratio)})
    shown = api.ok("GET", path)
    assert Decimal(shown["cpu_alloc"]) == ratio
    assert shown["cpu_alloc"] == f"{ratio:.3f}"


# ACLs on VPCs -----------------------------------------------------------------------
def test_a_vpc_is_shared_through_a_tag_with_an_acl(api, other_api, vpc):
    grantee = other_api.ok("GET", "profile/")["uuid"]
    tag = api.create("tags", name="shared")
    rules = [{"permission": "LIST"}]
    api.create("acls", name="a", grantees=[{"uuid": grantee}], tags=[tag["uuid"]], rules=rules)
    whole = api.ok("GET", f"vpc/{vpc['uuid']}/")
    api.ok("PUT", f"vpc/{vpc['uuid']}/", json=dict(whole, tags=[tag["uuid"]]))
    seen = other_api.ok("GET", "vpc/")["objects"]
    assert [v["uuid"] for v in seen] == [vpc["uuid"]]
    assert seen[0]["owner"]["uuid"] == vpc["owner"]["uuid"]
    assert [r["uuid"] for r in api.ok("GET", f"tags/{tag['uuid']}/")["resources"]] == [vpc["uuid"]]
    api.ok("PUT", f"vpc/{vpc['uuid']}/", json=dict(whole, tags=[]))
    assert other_api.ok("GET", "vpc/")["objects"] == []


# VMware servers ---------------------------------------------------------------------
VMWARE = {
    "cores_per_socket": 4,
    "cpus": 4,
    "deployed": True,
    "description": "Test description",
    "enabled": True,
    "memory": 4096,
}


def test_vmware_servers_can_be_added_and_are_listed(api, emu):
    added = emu.add_vmware_server(name="testVLAN10", **VMWARE)
    assert listed(api, "vmware_servers") == [added]
    assert api.ok("GET", f"vmware_servers/{added['uuid']}/") == added
    assert added["powered"] is False and added["organisation"]
    assert api.post("vmware_servers/", json=VMWARE).status_code == 405


def test_vmware_servers_through_the_control_endpoint(api, emu):
    base = emu.api_endpoint.replace("/api/2.0/", "")
    url, headers = f"{base}/_emulator/vmware_servers/", emu.control_headers
    added = api.session.post(url, json=VMWARE, headers=headers, timeout=10)
    assert added.status_code == 201
    assert listed(api, "vmware_servers")[0]["uuid"] == added.json()["uuid"]
    partial = {k: v for k, v in VMWARE.items() if k != "memory"}
    refused = api.session.post(url, json=partial, headers=headers, timeout=10)
    assert_api_error(refused, 400, "validation")

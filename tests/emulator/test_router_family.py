"""Virtual routers and their parts, backup schedulers, /usage/ samples and VMware listings."""

from __future__ import annotations

import datetime

import pytest
from emulator_support import GIB, assert_api_error


def first_vlan(api) -> str:
    return api.ok("GET", "vlans/", params={"limit": 0})["objects"][0]["uuid"]


def make_router(api, emu, **configuration) -> dict:
    lan = {"name": "LAN 1", "ip_address": "10.0.1.1/24", "vlan": first_vlan(api)}
    body = {"configuration": {"name": "r", "lan_interface": [lan], **configuration}}
    router = api.ok("POST", "virtualrouters/", 202, json=body)["objects"][0]
    emu.advance()
    return api.ok("GET", f"virtualrouters/{router['uuid']}/")


def make_policy(api, router: dict) -> dict:
    lan = router["configuration"]["lan_interface"][0]["uuid"]
    body = {"objects": [{"name": "p", "lan_interface": lan, "order": 1}]}
    return api.ok("POST", "vrfwpolicies/", 202, json=body)["objects"][0]


def test_router_settles_to_running_with_runtime(api, emu):
    router = make_router(api, emu)
    assert (router["status"], router["state"]) == ("running", "created")
    assert set(router["runtime"]) == {"stats", "timestamp"}
    assert [r["network"] for r in router["configuration"]["routes"]] == ["default"]


def test_router_with_an_unknown_vlan_is_refused_and_not_stored(api):
    lan = {"name": "LAN 1", "vlan": "00000000-0000-4000-8000-000000000000"}
    body = {"configuration": {"lan_interface": [lan]}}
    assert_api_error(api.post("virtualrouters/", json=body), 404, "notexist")
    assert api.ok("GET", "virtualrouters/")["meta"]["total_count"] == 0


def test_rst_style_answers_with_the_documented_statuses(api, emu):
    emu.backend.vrouter_style = "rst"
    router = api.ok("POST", "virtualrouters/", 201, json={"configuration": {"name": "r"}})
    uuid = router["objects"][0]["uuid"]
    assert "load_balancing" in router["objects"][0]["configuration"]
    assert api.ok("PUT", f"virtualrouters/{uuid}/", 200, json={"name": "s"})["name"] == "s"
    log = api.action("virtualrouters", uuid, "get_log", 200)
    assert [line["index"] for line in log["objects"]] == [1, 2]
    assert api.ok("DELETE", f"virtualrouters/{uuid}/", 204) is None
    emu.reset()
    assert emu.backend.vrouter_style == "dumps"


def test_router_actions_switch_the_configuration(api, emu):
    router = make_router(api, emu)
    api.action("virtualrouters", router["uuid"], "enable_firewall_logging")
    api.action("virtualrouters", router["uuid"], "enable_nat")
    got = api.ok("GET", f"virtualrouters/{router['uuid']}/")["configuration"]
    assert got["firewall_logging"] is True and got["nat"]["active"] is True
    refused = api.post(
        f"virtualrouters/{router['uuid']}/action/", params={"do": "get_log", "log_name": "x"}
    )
    assert_api_error(refused, 400, "validation")


def test_policy_put_replaces_its_filters_and_filters_follow_the_policy(api, emu):
    policy = make_policy(api, make_router(api, emu))
    rule = {"action": "deny", "dst_port": "22", "protocol": "tcp", "order": 1, "src_addr_op": "!="}
    put = api.ok("PUT", f"vrfwpolicies/{policy['uuid']}/", 202, json={"filters": [rule, rule]})
    first = put["filters"][0]
    assert len(put["filters"]) == 2 and first["src_addr_op"] is False
    api.ok("DELETE", f"vrfwfilters/{first['uuid']}/", 202)
    left = api.ok("GET", f"vrfwpolicies/{policy['uuid']}/")["filters"]
    assert [f["uuid"] for f in left] == [put["filters"][1]["uuid"]]
    api.ok("DELETE", f"vrfwpolicies/{policy['uuid']}/", 202)
    assert api.get(f"vrfwfilters/{left[0]['uuid']}/").status_code == 404


def test_filter_create_echoes_its_policy_and_logging_actions_switch_log(api, emu):
    policy = make_policy(api, make_router(api, emu))
    rule = {"policy": policy["uuid"], "action": "allow", "dst_port": "80", "protocol": "tcp"}
    created = api.ok("POST", "vrfwfilters/", 202, json={"objects": [rule]})["objects"][0]
    assert created["policy"] == policy["uuid"]
    api.action("vrfwfilters", created["uuid"], "enable_logging")
    got = api.ok("GET", f"vrfwfilters/{created['uuid']}/")
    assert got["log"] is True and "policy" not in got


def test_forwards_need_the_nat_of_one_of_the_routers(api, emu):
    router = make_router(api, emu)
    forward = {"forwarding_host": "10.0.1.2", "forwarding_port": "22", "mapped_port": "2222"}
    wrong = api.post("portforwards/", json={"objects": [dict(forward, nat="nope")]})
    assert_api_error(wrong, 400, "validation", "nat")
    nat = router["configuration"]["nat"]["uuid"]
    made = api.ok("POST", "portforwards/", 202, json={"objects": [dict(forward, nat=nat)]})
    assert made["objects"][0]["mapped_port"] == 2222


def test_lan_dhcp_and_upstream_vpn_actions_change_the_router_parts(api, emu):
    router = make_router(api, emu)
    lan = router["configuration"]["lan_interface"][0]["uuid"]
    api.action("lans", lan, "configure_dhcp", ipv4_dhcp_enabled=True, dhcp_range_from="10.0.1.5")
    assert api.ok("GET", f"lans/{lan}/")["dhcp_range_from"] == "10.0.1.5"
    upstream = router["configuration"]["upstream"]["uuid"]
    api.action("upstream", upstream, "configure_vpn", username="u", vpn_access=True)
    vpn = api.ok("GET", f"virtualrouters/{router['uuid']}/")["configuration"]["upstream"]["vpn"]
    assert (vpn["username"], vpn["active"]) == ("u", True)


def test_backup_scheduler_type_is_checked_and_filters_the_listing(api):
    refused = api.post("backupschedulers/", json={"objects": [{"name": "x", "type": "daily"}]})
    assert_api_error(refused, 400, "validation", "type")
    api.create("backupschedulers", name="a", type="backup")
    api.create("backupschedulers", name="b", type="snapshot")
    listed = api.ok("GET", "backupschedulers/", params={"type": "backup"})["objects"]
    assert [s["name"] for s in listed] == ["a"] and "retention_policy" not in listed[0]


def test_usage_samples_running_servers_and_drives_within_the_poll_window(api, emu):
    server = api.create("servers", name="s", cpu=2000, mem=GIB, vnc_password="x", cpu_type="intel")
    api.action("servers", server["uuid"], "start")
    emu.advance()
    today = datetime.datetime.now(datetime.timezone.utc).date()
    window = {"poll_time_gt": str(today), "poll_time_lt": str(today + datetime.timedelta(days=1))}
    samples = api.ok("GET", "usage/", params=window)["objects"]
    assert {(s["resource"], s["amount"]) for s in samples} == {
        ("intel_cpu", "2000"),
        ("intel_mem", str(GIB)),
    }
    past = {"poll_time_lt": "2024-04-02"}
    assert api.ok("GET", "usage/", params=past)["meta"]["total_count"] == 0


@pytest.mark.parametrize("bound", ["yesterday", "2024-13-01"])
def test_usage_poll_time_bounds_must_be_iso_dates(api, bound):
    assert_api_error(api.get("usage/", params={"poll_time_gt": bound}), 400, "validation")


def test_vmware_servers_are_read_only(api):
    assert api.ok("GET", "vmware_servers/")["objects"] == []
    assert api.post("vmware_servers/", json={"objects": [{"name": "v"}]}).status_code == 405

"""IPs, VLANs and subscriptions: list, get, and edit the meta of IPs and VLANs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.live


@pytest.fixture
def subscribed(api):
    """Make sure the account has an IP and a VLAN.

    Offline the emulator's account subscribes to one of each. A live account is never
    made to buy anything: it must already have them.
    """
    if not api.live:
        api.subscriptions.create({"resource": "ip", "amount": 1, "period": "1 month"})
        api.subscriptions.create({"resource": "vlan", "amount": 1, "period": "1 month"})
    return api


@pytest.mark.parametrize("kind", ["ips", "vlans"])
def test_list_get_and_edit_meta(subscribed, kind):
    collection = getattr(subscribed, kind)
    listed = collection.list()
    if not listed:
        pytest.skip(f"the account has no {kind} subscription; the suite does not buy one")
    uuid = listed[0]["uuid"]

    detailed = {obj["uuid"]: obj for obj in collection.list_detail()}
    original = collection.get(uuid)
    assert detailed[uuid]["uuid"] == original["uuid"] == uuid
    assert "subscription" in original  # null for an IP the account got dynamically

    try:
        changed = collection.update(uuid, {"meta": {**original["meta"], "integration": "yes"}})
        assert changed["meta"]["integration"] == "yes"
        assert collection.get(uuid)["meta"]["integration"] == "yes"
    finally:
        collection.update(uuid, {"meta": original["meta"]})
    assert collection.get(uuid)["meta"] == original["meta"]


def test_ip_carries_its_network_settings(subscribed):
    ips = subscribed.ips.list_detail()
    if not ips:
        pytest.skip("the account has no IP subscription; the suite does not buy one")

    ip = ips[0]

    assert isinstance(ip["netmask"], int)
    assert ip["gateway"]
    assert isinstance(ip["nameservers"], list)


def test_subscriptions_list_and_get(subscribed):
    listed = subscribed.subscriptions.list()
    if not listed:
        pytest.skip("the account has no subscription; the suite does not buy one")

    first = listed[0]
    fetched = subscribed.subscriptions.get(str(first["id"]))

    assert fetched["id"] == first["id"]
    assert fetched["resource"] == first["resource"]
    assert fetched["status"] in ("active", "inactive", "expired")
    if not subscribed.live:
        assert {"ip", "vlan"} <= {s["resource"] for s in listed}

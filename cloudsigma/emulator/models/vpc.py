"""VPCs and dedicated hosts ("nodes"), which are bought by subscription, the host allocation
pool of each VPC, and the location's host availability zones (ADDENDUM sections 2 and 3).

A ``vpc`` subscription brings one VPC and its allocation pool, a dedicated-host subscription
one node. Servers run on a VPC's dedicated hosts, or in a zone, through their
``allocation_pool``. The VPC API answers 404 when the ``vpc`` feature is off.
"""

from __future__ import annotations

import uuid as uuid_module
from decimal import Decimal, InvalidOperation
from typing import Any

from . import fields
from .errors import ApiError, notexist, validation
from .kernel import Account, Collection, new_uuid, ref

VPC_RESOURCES = ("vpc", "virtual_private_cloud")
NODE_RESOURCES = (
    "dedicated_host_6148",
    "dedicated_node_small",
    "dedicated_node_medium",
    "dedicated_node_large",
)
#: Statuses of a server that runs somewhere (its start was accepted, it has not stopped).
POWERED = ("starting", "running", "stopping")
#: The location's host availability zones: (name, description). Their uuids are derived from
#: the names, so they stay the same across resets and runs.
ZONES = (
    ("EMU-A", "Emulated zone A (the default data centre)"),
    ("EMU-B", "Emulated zone B (a second data centre)"),
)
ZONE_NAMESPACE = uuid_module.UUID("5b1d6c1e-6f0e-4b5e-9a43-53c3a6f5f0a1")


def zone_uuid(name: str) -> str:
    return str(uuid_module.uuid5(ZONE_NAMESPACE, name))


def disabled(feature: str) -> ApiError:
    """404: the API calls of ``feature`` are not enabled (a 4xx that is not 403, which is how
    clients tell an unavailable feature)."""
    return ApiError(404, "notexist", f"{feature} API calls are not enabled for this account")


class FeatureCollection(Collection):
    """A collection that exists only while ``backend.features[feature]`` is on."""

    feature = "vpc"

    def require_feature(self) -> None:
        if not self.backend.features.get(self.feature, False):
            raise disabled(self.name)

    def visible(self, account: Account) -> list[dict]:
        self.require_feature()
        return super().visible(account)

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        self.require_feature()
        return super().find(account, uuid, need)


class Vpcs(FeatureCollection):
    """``/vpc/``: bought with a ``vpc`` subscription; PUT changes the name, the description,
    the tags and the linked ``nodes`` (read-only keys sent back are ignored)."""

    name = "vpc"
    operations = {"list": 200, "get": 200, "update": 200}
    shareable = True
    permissions = ("LIST", "EDIT")

    def add(self, account: Account, subscription: dict) -> dict:
        """The VPC of a new ``vpc`` subscription, with its host allocation pool."""
        pools = self.sibling("hostallocationpools", HostAllocationPools)
        uuid = new_uuid()
        pool = pools.add(account, uuid)
        vpc: dict[str, Any] = {
            "uuid": uuid,
            "resource_uri": self.uri(uuid),
            "name": "",
            "description": "",
            "status": "active",
            "allocation_pool": pool["uuid"],
            "nodes": [],
            "servers": [],
            "meta": {},
            "tags": [],
            "owner": account.owner,
            "grantees": [],
            "permissions": [],
            "subscription": subscription_ref(subscription),
        }
        return self.commit(account, vpc)

    def view(self, account: Account, obj: dict) -> dict:
        owner = self.backend.owner_of(self.name, obj["uuid"]) or account
        shown = super().view(account, obj)
        return dict(shown, servers=self.servers_in(owner, obj))

    def visible(self, account: Account) -> list[dict]:
        store = self.store(account)
        return [
            self.view(account, obj) if store.get(obj["uuid"]) is obj else obj
            for obj in super().visible(account)
        ]

    def servers_in(self, owner: Account, vpc: dict) -> list[dict]:
        """Refs of the owner's servers that run on the VPC's dedicated hosts."""
        return [
            ref("servers", server["uuid"])
            for server in owner.objects["servers"].values()
            if server["status"] in POWERED and server["allocation_pool"] == vpc["allocation_pool"]
        ]

    def check_update(self, account: Account, vpc: dict, values: dict) -> dict:
        changes: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in values:
                changes[key] = fields.text(values, key, None) or ""
        if "meta" in values:
            changes["meta"] = fields.meta(values)
        if "tags" in values:
            changes["tags"] = self.backend.tag_refs(account, values["tags"])
        if "nodes" in values:
            changes["nodes"] = self.check_nodes(account, vpc, values["nodes"])
        return changes

    def check_nodes(self, account: Account, vpc: dict, entries: Any) -> list[dict]:
        """The nodes of a PUT: uuids or refs of the account's nodes not in another VPC."""
        if not isinstance(entries, list):
            raise validation("nodes must be a list of node uuids", "nodes")
        nodes = self.sibling("nodes", Nodes)
        refs, seen = [], set()
        for entry in entries:
            node = nodes.find(account, fields.ref_uuid(entry, "nodes"), "EDIT")
            linked = node["vpc"]
            if linked is not None and linked["uuid"] != vpc["uuid"]:
                raise validation(
                    f"node {node['uuid']} is in VPC {linked['uuid']}; unlink it there first",
                    "nodes",
                )
            if node["uuid"] not in seen:
                seen.add(node["uuid"])
                refs.append(ref("nodes", node["uuid"]))
        return refs

    def apply_update(self, account: Account, vpc: dict, changes: dict) -> None:
        if "nodes" in changes:
            self.sibling("nodes", Nodes).link(account, vpc, changes["nodes"])
        super().apply_update(account, vpc, changes)

    def remove(self, account: Account, vpc: dict) -> None:
        self.sibling("nodes", Nodes).link(account, vpc, [])
        pools = self.sibling("hostallocationpools", HostAllocationPools)
        pool = pools.store(account).get(vpc["allocation_pool"])
        if pool is not None:
            pools.remove(account, pool)
        super().remove(account, vpc)

    def of_pool(self, account: Account, pool_uuid: str) -> dict | None:
        """The account's VPC whose allocation pool is ``pool_uuid``, if any."""
        for vpc in self.store(account).values():
            if vpc["allocation_pool"] == pool_uuid:
                return vpc
        return None


class Nodes(FeatureCollection):
    """``/nodes/``: dedicated hosts; ``active`` with a ``vpc`` ref while linked into a VPC,
    ``unassigned`` with ``vpc: null`` otherwise."""

    name = "nodes"
    operations = {"list": 200, "get": 200}

    def add(self, account: Account, subscription: dict) -> dict:
        uuid = new_uuid()
        node = {
            "uuid": uuid,
            "resource_uri": self.uri(uuid),
            "name": f"{subscription['resource']} {subscription['id']}",
            "resource": subscription["resource"],
            "status": "unassigned",
            "vpc": None,
            "meta": {},
            "tags": [],
            "owner": account.owner,
            "subscription": subscription_ref(subscription),
        }
        return self.commit(account, node)

    def link(self, account: Account, vpc: dict, node_refs: list[dict]) -> None:
        """Make ``node_refs`` the nodes of ``vpc`` (the others it had become unassigned)."""
        wanted = {r["uuid"] for r in node_refs}
        for node in self.store(account).values():
            in_vpc = node["vpc"] is not None and node["vpc"]["uuid"] == vpc["uuid"]
            if node["uuid"] in wanted and not in_vpc:
                node.update(vpc=ref("vpc", vpc["uuid"]), status="active")
            elif node["uuid"] not in wanted and in_vpc:
                node.update(vpc=None, status="unassigned")

    def remove(self, account: Account, node: dict) -> None:
        linked = node["vpc"]
        vpc = None if linked is None else account.objects["vpc"].get(linked["uuid"])
        if vpc is not None:
            vpc["nodes"] = [r for r in vpc["nodes"] if r["uuid"] != node["uuid"]]
        super().remove(account, node)


class HostAllocationPools(FeatureCollection):
    """``/hostallocationpools/``: one per VPC (its ``allocation_pool``); PUT changes the name,
    the description and the cpu allocation ratios (decimals shown with three places)."""

    name = "hostallocationpools"
    operations = {"list": 200, "get": 200, "update": 200}

    def add(self, account: Account, vpc_uuid: str) -> dict:
        uuid = new_uuid()
        pool = {
            "uuid": uuid,
            "resource_uri": self.uri(uuid),
            "name": f"pool of VPC {vpc_uuid}",
            "description": "",
            "cpu_alloc": "1.000",
            "cpu_alloc_last_resort": "1.000",
        }
        self.store(account)[uuid] = pool
        self.backend.register(self.name, uuid, account)
        return pool

    def check_update(self, account: Account, pool: dict, values: dict) -> dict:
        changes = {}
        for key in ("name", "description"):
            if key in values:
                changes[key] = fields.text(values, key, None) or ""
        for key in ("cpu_alloc", "cpu_alloc_last_resort"):
            if key in values:
                changes[key] = ratio(values, key)
        return changes


def ratio(values: dict, key: str) -> str:
    """A positive decimal (number or numeric string) as the API shows it: ``"1.500"``.

    :raises ApiError: 400 ``validation`` at ``key`` for anything else.
    """
    raw = values[key]
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidOperation
        number = Decimal(str(raw).strip())
        if not number.is_finite() or number <= 0:
            raise InvalidOperation
    except InvalidOperation:
        raise validation(f"{key} must be a positive decimal number, got {raw!r}", key)
    return str(number.quantize(Decimal("0.001")))


class HostAvailabilityZones(FeatureCollection):
    """``/hostavailabilityzones/``: the location's zones (the same for every account); a server
    names one in ``allocation_pool`` to run there."""

    name = "hostavailabilityzones"
    operations = {"list": 200, "get": 200}
    feature = "host_availability_zones"

    def store(self, account: Account) -> dict[str, dict]:
        zones = {}
        for name, description in ZONES:
            uuid = zone_uuid(name)
            zones[uuid] = {
                "uuid": uuid,
                "resource_uri": self.uri(uuid),
                "name": name,
                "description": description,
            }
        return zones

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        self.require_feature()
        zone = self.store(account).get(uuid)
        if zone is None:
            raise notexist(self.name, uuid)
        return zone


def subscription_ref(subscription: dict) -> dict:
    return {"id": subscription["id"], "resource_uri": subscription["resource_uri"]}

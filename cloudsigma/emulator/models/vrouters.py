"""Virtual routers (``/virtualrouters/``) and their parts: LANs, upstream, routes, NAT
forwards, IP aliases, firewall policies and filters, tunnels."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from typing import Any, cast

from . import fields
from .drives import Jobs
from .errors import validation
from .kernel import Account, SimpleCollection, new_uuid, query, ref
from .network import Vlans

#: Statuses of the two answer styles. The recorded exchanges answer 202 (``dumps``, the
#: default); the rst pages and the oldest router dump show 201/200/204 (``rst``).
STYLES = {
    "dumps": {"create": 202, "update": 202, "action": 202, "delete": 202},
    "rst": {"create": 201, "update": 200, "action": 200, "delete": 204},
}
ROUTER_SWITCHES = ("nat", "firewall", "firewall_logging", "vpn")
LOG_NAMES = ("system", "firewall")
#: The emulated upstream network (TEST-NET-1): routers get addresses from it.
UPSTREAM_NET = "192.0.2."
LAN_DEFAULTS = {
    "default_gateway": "",
    "dhcp": False,
    "ip_address": "",
    "ip_address_v6": "",
    "ip_range": {"from": "", "to": ""},
    "ipv4_enabled": True,
    "ipv4_ipv6_enabled": False,
    "ipv6_enabled": False,
    "name": "",
    "router_advertiser": False,
}
IP_CONFIG_DEFAULTS = {
    "default_gateway": "",
    "dhcp_client": False,
    "ip_address": "",
    "ip_address_v6": "",
    "ipv6_automatic": False,
    "router_ipv6_default_gateway": "",
    "upstream_lines": "",
    "vlan": "",
}
#: Filters written inside a router's configuration (the router editor's own form).
CONFIG_FILTER_DEFAULTS = {
    "action": "DENY",
    "hostA": "",
    "hostA_to_portA": True,
    "hostB": "",
    "hostB_to_portB": True,
    "icmp_type": -1,
    "log": False,
    "order": 1,
    "portA": "",
    "portB": "",
    "protocol_type": "TCP",
    "to_hostA": True,
    "to_hostB": True,
}


def entries(given: dict, key: str) -> list[dict]:
    """A list of objects inside a configuration (``None`` counts as empty)."""
    value = given.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise validation(f"configuration {key} must be a list of objects", key)
    return value


def section(given: dict, key: str) -> dict:
    value = given.get(key) or {}
    if not isinstance(value, dict):
        raise validation(f"configuration {key} must be an object", key)
    return value


def pick(given: dict, defaults: dict) -> dict:
    """``defaults`` with the values ``given`` has for the same keys (other keys dropped)."""
    return {key: given.get(key, default) for key, default in defaults.items()}


def port(value: Any, key: str) -> int:
    number = fields.integer({key: value}, key)
    if not 0 <= number <= 65535:
        raise validation(f"{key} must be a port number, got {number}", key)
    return number


def operator(value: Any, key: str) -> bool:
    """A filter's address or port operator: ``=`` (or true) matches, ``!=`` negates."""
    if isinstance(value, bool):
        return value
    if value in ("=", "!="):
        return value == "="
    raise validation(f"{key} must be '=', '!=', true or false, got {value!r}", key)


class RouterConfiguration:
    """Turns the ``configuration`` a client sends into the stored one (uuids filled in)."""

    def __init__(self, given: dict, legacy: bool) -> None:
        self.given = given
        self.legacy = legacy

    def build(self, router_type: str, address: str) -> dict:
        lans = [self.lan(entry) for entry in entries(self.given, "lan_interface")]
        configuration = {
            "firewall": self.firewall(lans),
            "firewall_logging": bool(self.given.get("firewall_logging", False)),
            "lan_interface": lans,
            "name": fields.text(self.given, "name", ""),
            "nat": self.nat(),
            "routes": self.routes(),
            "upstream": self.upstream(address),
        }
        if self.legacy:
            configuration.update(
                load_balancing={"active": False},
                qos={"active": False, "services": [], "uuid": new_uuid()},
                vpn={"active": False, "tunnels": [], "uuid": new_uuid()},
            )
        else:
            configuration["type"] = router_type
        return configuration

    def lan(self, entry: dict) -> dict:
        lan = pick(entry, LAN_DEFAULTS)
        # The rst-style answer drops aliases sent inside the create; they come via /ipaliases/.
        aliases = [] if self.legacy else entries(entry, "ip_aliases")
        lan["ip_aliases"] = [
            {"ip_address": a.get("ip_address", ""), "uuid": new_uuid()} for a in aliases
        ]
        lan.update(uuid=new_uuid(), vlan=entry.get("vlan"))
        return lan

    def firewall(self, lans: list[dict]) -> dict:
        given = section(self.given, "firewall")
        by_name = {lan["name"]: lan["uuid"] for lan in lans}
        policies = [
            {
                "filters": [
                    dict(pick(item, CONFIG_FILTER_DEFAULTS), uuid=new_uuid())
                    for item in entries(policy, "filters")
                ],
                "isActive": bool(policy.get("isActive", False)),
                "lan_interface": by_name.get(
                    policy.get("lan_interface"), policy.get("lan_interface")
                ),
                "order": policy.get("order", index + 1),
                "policy_name": policy.get("policy_name", ""),
                "uuid": new_uuid(),
            }
            for index, policy in enumerate(entries(given, "policies"))
        ]
        return {
            "active": bool(given.get("active", False)),
            "policies": policies,
            "uuid": new_uuid(),
        }

    def nat(self) -> dict:
        given, uuid = section(self.given, "nat"), new_uuid()
        addresses = [
            {
                "local_ipv4": item.get("local_ipv4", ""),
                "nat": uuid,
                "order": item.get("order", index + 1),
                "upstream_ipv4": item.get("upstream_ipv4", ""),
                "uuid": new_uuid(),
            }
            for index, item in enumerate(entries(given, "address_forwarding"))
        ]
        ports = [
            {
                "forwarding_host": item.get("forwarding_host", ""),
                "forwarding_port": port(item.get("forwarding_port"), "forwarding_port"),
                "mapped_port": port(item.get("mapped_port"), "mapped_port"),
                "nat": uuid,
                "order": item.get("order", index + 1),
                "protocol": item.get("protocol", "TCP"),
                "uuid": new_uuid(),
            }
            for index, item in enumerate(entries(given, "port_forwarding"))
        ]
        active = bool(given.get("active", False))
        return {
            "active": active,
            "address_forwarding": addresses,
            "port_forwarding": ports,
            "uuid": uuid,
        }

    def routes(self) -> list[dict]:
        keys = {"gateway": "", "inet": "inet", "network": ""}
        routes = [dict(pick(item, keys), uuid=new_uuid()) for item in entries(self.given, "routes")]
        if not self.legacy and not any(route["network"] == "default" for route in routes):
            default = {"gateway": UPSTREAM_NET + "1", "inet": "inet", "network": "default"}
            routes.append(dict(default, uuid=new_uuid()))
        return routes

    def upstream(self, address: str) -> dict:
        given = section(self.given, "upstream")
        vpn = section(given, "vpn")
        return {
            "ip_config": pick(section(given, "ip_config"), IP_CONFIG_DEFAULTS),
            "ipv4_address": "" if self.legacy else address,
            "uuid": new_uuid(),
            "vpn": {
                "active": bool(vpn.get("active", False)),
                "password": vpn.get("password") or secrets.token_urlsafe(12),
                "username": vpn.get("username") or "vpn",
                "vpn_type": vpn.get("vpn_type", "pptp"),
            },
            "wan_type": given.get("wan_type", "internet"),
        }


class RouterStyled(SimpleCollection):
    """Answers with the statuses of the configured style (``backend.vrouter_style``)."""

    has_owner = False

    def status(self, operation: str) -> int:
        return STYLES[self.backend.vrouter_style].get(operation) or super().status(operation)

    @property
    def legacy(self) -> bool:
        """Whether routers answer as the rst pages show (``rst`` style) instead of the dumps."""
        return self.backend.vrouter_style == "rst"

    def add_job(self, account: Account, obj: dict, operation: str) -> dict:
        """Start a job for ``operation`` on ``obj`` and list it in the object's ``jobs``."""
        job = self.sibling("jobs", Jobs).start(account, operation, [obj["resource_uri"]])
        obj.setdefault("jobs", []).append(ref("jobs", job["uuid"]))
        return ref("jobs", job["uuid"])


class VirtualRouters(RouterStyled):
    """``/virtualrouters/``: a router brings its LANs, routes and upstream as sub-resources."""

    name = "virtualrouters"
    audit_category = "Virtual routers"
    has_owner = True
    short_fields = ("owner", "resource_uri", "runtime", "state", "status", "type", "uuid")
    actions = dict.fromkeys(
        [f"{verb}_{switch}" for switch in ROUTER_SWITCHES for verb in ("enable", "disable")]
        + ["export_key", "get_keys"],
        "toggle",
    ) | {"get_log": "get_log"}

    def prepare(self, account: Account, values: dict) -> dict:
        given = fields.mapping(values, "configuration", {})
        for lan in entries(given, "lan_interface"):
            if lan.get("vlan") is not None:
                self.sibling("vlans", Vlans).find(account, fields.ref_uuid(lan["vlan"], "vlan"))
        router_type = fields.text(values, "type", "basic")
        address = f"{UPSTREAM_NET}{10 + len(self.store(account)) % 240}"
        uuid = new_uuid()
        router: dict[str, Any] = {
            "configuration": RouterConfiguration(given, self.legacy).build(router_type, address),
            "owner": account.owner,
            "resource_uri": self.uri(uuid),
            "runtime": None,
            "uuid": uuid,
        }
        first = "stopped" if self.legacy else "creating"
        router.update(state=first, status=first)
        if not self.legacy:
            router.update(jobs=[], type=router_type)
        return router

    def commit(self, account: Account, values: dict) -> dict:
        router = super().commit(account, values)
        self.add_parts(account, router)
        if router["status"] == "creating":
            self.add_job(account, router, "vrouter_create")
            self.backend.settle(
                account, self.name, router, "running", apply=lambda: self.started(router)
            )
        return router

    def add_parts(self, account: Account, router: dict) -> None:
        """Store the router's LANs, routes and upstream as their own resources."""
        configuration = router["configuration"]
        for index, lan in enumerate(configuration["lan_interface"]):
            self.part("lans").add(account, lan_object(router, lan, index))
        for route in configuration["routes"]:
            self.part("routes").add(account, dict(route, jobs=[], virtual_router=router["uuid"]))
        self.part("upstream").add(account, upstream_object(router))

    def part(self, name: str) -> RouterPart:
        return cast("RouterPart", self.backend.collections[name])

    def remove_parts(self, account: Account, router: dict) -> None:
        for name in ("lans", "routes", "upstream"):
            collection = self.backend.collections[name]
            for part in list(collection.store(account).values()):
                if part.get("virtual_router") == router["uuid"]:
                    collection.remove(account, part)

    @staticmethod
    def started(router: dict) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        router.update(
            state="created", runtime={"stats": {}, "timestamp": str(int(now.timestamp()))}
        )

    def check_update(self, account: Account, router: dict, values: dict) -> dict:
        configuration = fields.mapping(values, "configuration", {})
        name = fields.text(values, "name", configuration.get("name"), nullable=True)
        if name is not None:
            router["configuration"]["name"] = name
        return {}

    def update(self, account: Account, uuid: str, values: dict) -> dict:
        """The answer is built like the recorded one: the ``name`` sent echoed at the top
        and no ``runtime`` (it is gathered again only on GET)."""
        router = super().update(account, uuid, values)
        echoed = {"name": router["configuration"]["name"]} if "name" in values else {}
        return dict(router, runtime=None, **echoed)

    def delete(self, account: Account, uuid: str) -> Any:
        router = self.find(account, uuid, "EDIT")
        self.remove_parts(account, router)
        self.remove(account, router)
        return None if self.legacy else {}

    @query("do")
    def toggle(self, account: Account, uuid: str, body: dict, *, do: str = "") -> dict:
        """Switch a part of the router on or off (``enable_nat`` ...), or a key action."""
        router = self.find(account, uuid, "EDIT")
        verb, _, switch = do.partition("_")
        configuration = router["configuration"]
        if switch in configuration and verb in ("enable", "disable"):
            if isinstance(configuration[switch], dict):
                configuration[switch]["active"] = verb == "enable"
            else:
                configuration[switch] = verb == "enable"
        job = self.add_job(account, router, f"vrouter_{do}")
        self.backend.audit(account, self, router, do, body)
        return {"action": do, "job": job, "result": "success", "uuid": uuid}

    @query("log_name")
    def get_log(self, account: Account, uuid: str, body: dict, *, log_name: str = "system") -> dict:
        """The system log lists the router's jobs; no traffic passes: the firewall log is empty."""
        router = self.find(account, uuid)
        log_name = fields.choice({"log_name": log_name}, "log_name", LOG_NAMES)
        lines = [] if log_name == "firewall" else self.system_log(account, router)
        meta = {"limit": 200, "log_name": log_name, "offset": 0, "total_count": len(lines)}
        return {"meta": meta, "objects": lines}

    @staticmethod
    def system_log(account: Account, router: dict) -> list[dict]:
        """One line per audited change of the router, oldest first."""
        lines: list[dict] = []
        for entry in account.logs:
            if entry["uuid"] == router["uuid"] and entry["success"]:
                moment = datetime.datetime.fromisoformat(entry["timestamp"])
                message = f"{router['uuid']} MgmtCmd: {entry['action']} is done."
                line = {"datetime": moment.strftime("%b %d %H:%M:%S"), "message": message}
                lines.append(dict(line, index=len(lines) + 1))
        return lines


def lan_object(router: dict, lan: dict, index: int) -> dict:
    """The ``/lans/`` view of a router's LAN interface."""
    dhcp_range = lan["ip_range"] if isinstance(lan["ip_range"], dict) else {}
    return {
        "dhcp_range_from": dhcp_range.get("from") or None,
        "dhcp_range_to": dhcp_range.get("to") or None,
        "dhcp_vlan_gateway": lan["ip_address"] or None,
        "iface": f"vtnet{index + 1}",
        "internet_protocol": "ipv4",
        "ip_aliases": [],
        "ipv4_address_gateway": lan["ip_address"] or None,
        "ipv4_dhcp_enabled": bool(lan["dhcp"]),
        "ipv6_address_gateway": lan["ip_address_v6"] or None,
        "ipv6_router_advertirser_enabled": bool(lan["router_advertiser"]),
        "name": lan["name"],
        "order": index + 1,
        "uuid": lan["uuid"],
        "virtual_router": router["uuid"],
        "vlan": ref("vlans", lan["vlan"]) if lan["vlan"] else None,
    }


def upstream_object(router: dict) -> dict:
    upstream = router["configuration"]["upstream"]
    return {
        "man_settings": None,
        "type": upstream["wan_type"],
        "uuid": upstream["uuid"],
        "virtual_router": router["uuid"],
        "vlan_settings": None,
        "wan_settings": None,
    }


class RouterPart(RouterStyled):
    """A router sub-resource: every change runs a job; delete answers the job (dumps style)."""

    has_jobs = True
    actions: dict[str, str] = {}

    def add(self, account: Account, values: dict) -> dict:
        """Store a part made by its router (no job of its own)."""
        part = dict(values, resource_uri=self.uri(values["uuid"]))
        return RouterStyled.commit(self, account, part)

    def complete(self, account: Account, obj: dict) -> dict:
        if self.has_jobs:
            obj["jobs"] = []
        return obj

    def commit(self, account: Account, values: dict) -> dict:
        obj = super().commit(account, values)
        if self.has_jobs:
            self.add_job(account, obj, f"{self.name}_create")
        return obj

    def update(self, account: Account, uuid: str, values: dict) -> dict:
        part = super().update(account, uuid, values)
        if self.has_jobs:
            self.add_job(account, part, f"{self.name}_update")
        return part

    def delete(self, account: Account, uuid: str) -> Any:
        part = self.find(account, uuid, "EDIT")
        self.check_delete(account, part)
        self.remove(account, part)
        if self.legacy:
            return None
        job = self.sibling("jobs", Jobs).start(
            account, f"{self.name}_delete", [part["resource_uri"]]
        )
        return {"job": ref("jobs", job["uuid"]), "uuid": uuid}

    @query("do")
    def configure(self, account: Account, uuid: str, body: dict, *, do: str = "") -> dict:
        """Run the action ``do`` that changes the part: answer with its job."""
        part = self.find(account, uuid, "EDIT")
        self.apply_action(account, part, do, body)
        job = self.add_job(account, part, f"{self.name}_{do}")
        return {"action": do, "job": job, "result": "success", "uuid": uuid}

    def apply_action(self, account: Account, part: dict, action: str, body: dict) -> None:
        """What the action does to the part (subclasses)."""
        raise NotImplementedError

    def router_of(self, account: Account, uuid: Any, key: str) -> dict:
        return self.backend.collections["virtualrouters"].find(account, fields.ref_uuid(uuid, key))

    def lan(self, account: Account, uuid: Any, key: str) -> dict:
        return self.backend.collections["lans"].find(account, fields.ref_uuid(uuid, key))

    def check_nat(self, account: Account, values: dict) -> None:
        nat = values.get("nat")
        routers = self.backend.collections["virtualrouters"].store(account).values()
        if nat is not None and nat not in {r["configuration"]["nat"]["uuid"] for r in routers}:
            raise validation(f"nat {nat} is the NAT of none of your virtual routers", "nat")


class Lans(RouterPart):
    name = "lans"
    has_jobs = False
    defaults = {"name": "", "order": 0}
    actions = {"configure_dhcp": "configure"}
    dhcp_keys = ("dhcp_range_from", "dhcp_range_to", "dhcp_vlan_gateway", "ipv4_dhcp_enabled")

    def prepare(self, account: Account, values: dict) -> dict:
        raise validation("LANs come with their virtual router; create the router instead")

    def apply_action(self, account: Account, lan: dict, action: str, body: dict) -> None:
        changes = {key: body[key] for key in self.dhcp_keys if key in body}
        if "ipv4_dhcp_enabled" in changes:
            fields.boolean(changes, "ipv4_dhcp_enabled")
        for key in self.dhcp_keys[:3]:
            if key in changes:
                fields.text(changes, key, None)
        lan.update(changes)


class Upstream(RouterPart):
    name = "upstream"
    has_jobs = False
    operations = {"list": 200, "get": 200}
    actions = {"configure_vpn": "configure"}

    def apply_action(self, account: Account, upstream: dict, action: str, body: dict) -> None:
        router = self.router_of(account, upstream["virtual_router"], "virtual_router")
        vpn = router["configuration"]["upstream"]["vpn"]
        changes = {
            "active": fields.boolean(body, "vpn_access", vpn["active"]),
            "password": fields.text(body, "password", vpn["password"]),
            "username": fields.text(body, "username", vpn["username"]),
            "vpn_type": fields.text(body, "vpn_type", vpn["vpn_type"]),
        }
        vpn.update(changes)


class Routes(RouterPart):
    name = "routes"
    defaults = {"gateway": "", "inet": "inet", "network": "", "virtual_router": None}
    required = ("inet", "virtual_router")

    def prepare(self, account: Account, values: dict) -> dict:
        fields.choice(values, "inet", ("inet", "inet6"))
        self.router_of(account, values.get("virtual_router") or "", "virtual_router")
        return super().prepare(account, values)


class IpAliases(RouterPart):
    name = "ipaliases"
    defaults = {"interface": None, "ip_address": ""}
    required = ("ip_address",)

    def prepare(self, account: Account, values: dict) -> dict:
        if values.get("interface") is not None:
            self.lan(account, values["interface"], "interface")
        return super().prepare(account, values)


class PortForwards(RouterPart):
    name = "portforwards"
    defaults = {
        "forwarding_host": "",
        "forwarding_port": 0,
        "mapped_port": 0,
        "nat": None,
        "order": 0,
        "protocol": "TCP",
    }
    required = ("forwarding_host", "forwarding_port", "mapped_port")

    def prepare(self, account: Account, values: dict) -> dict:
        self.check_nat(account, values)
        values = dict(values)
        for key in ("forwarding_port", "mapped_port"):
            values[key] = port(values.get(key), key)
        return super().prepare(account, values)


class AddressForwards(RouterPart):
    name = "addressforwards"
    defaults = {
        "local_ipv4_address": "",
        "nat": None,
        "order": 0,
        "upstream_ipv4_address": "",
        "upstream_to_local": False,
    }
    required = ("local_ipv4_address", "upstream_ipv4_address")

    def prepare(self, account: Account, values: dict) -> dict:
        self.check_nat(account, values)
        return super().prepare(account, values)


FILTER_DEFAULTS = {
    "action": None,
    "action_queue": None,
    "dst": "",
    "dst_addr_op": True,
    "dst_port": None,
    "dst_port_op": True,
    "icmp_type": None,
    "log": False,
    "order": 0,
    "protocol": None,
    "src": "",
    "src_addr_op": True,
    "src_port": None,
    "src_port_op": True,
}
FILTER_OPERATORS = ("dst_addr_op", "dst_port_op", "src_addr_op", "src_port_op")


class VrFwFilters(RouterPart):
    """Firewall filters; each belongs to one policy and shows inside it."""

    name = "vrfwfilters"
    defaults = FILTER_DEFAULTS
    actions = {"enable_logging": "logging", "disable_logging": "logging"}

    def check_value(self, account: Account, key: str, value: Any) -> Any:
        if key in FILTER_OPERATORS:
            return operator(value, key)
        if key in ("action", "protocol") and value is not None:
            return fields.text({key: value}, key).lower()
        return super().check_value(account, key, value)

    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        """A filter is created in the ``policy`` the request names (echoed in the answer)."""
        policies = self.backend.collections["vrfwpolicies"]
        found = [
            policies.find(account, fields.ref_uuid(item.get("policy"), "policy"), "EDIT")
            for item in items
            if isinstance(item, dict)
        ]
        created = super().create_many(account, items, params)
        for policy, fw_filter in zip(found, created, strict=True):
            policy["filters"].append(fw_filter)
        return [dict(f, policy=p["uuid"]) for p, f in zip(found, created, strict=True)]

    def remove(self, account: Account, obj: dict) -> None:
        for policy in self.backend.collections["vrfwpolicies"].store(account).values():
            policy["filters"] = [f for f in policy["filters"] if f is not obj]
        super().remove(account, obj)

    @query("do")
    def logging(self, account: Account, uuid: str, body: dict, *, do: str = "") -> dict:
        """``enable_logging`` or ``disable_logging`` of the filter."""
        fw_filter = self.find(account, uuid, "EDIT")
        fw_filter["log"] = do == "enable_logging"
        return {"action": do, "result": "success", "uuid": uuid}


class VrFwPolicies(RouterPart):
    """Firewall policies of a LAN (or of the upstream); PUT ``filters`` replaces them."""

    name = "vrfwpolicies"
    defaults = {
        "active": False,
        "lan_interface": None,
        "name": "",
        "order": 0,
        "upstream_interface": None,
    }
    required = ("name",)
    actions = {"enable": "configure", "disable": "configure"}

    def check_value(self, account: Account, key: str, value: Any) -> Any:
        if key in ("lan_interface", "upstream_interface") and value is not None:
            target = "lans" if key == "lan_interface" else "upstream"
            found = self.backend.collections[target].find(account, fields.ref_uuid(value, key))
            return ref(target, found["uuid"])
        return super().check_value(account, key, value)

    def complete(self, account: Account, policy: dict) -> dict:
        policy["filters"] = []
        return super().complete(account, policy)

    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        created = super().create_many(account, items, params)
        for item, policy in zip(items, created, strict=True):
            self.replace_filters(account, policy, item.get("filters"))
        return created

    def check_update(self, account: Account, policy: dict, values: dict) -> dict:
        changes = super().check_update(account, policy, values)
        if isinstance(values.get("filters"), list):
            self.replace_filters(account, policy, values["filters"])
        return changes

    def replace_filters(self, account: Account, policy: dict, given: Any) -> None:
        """Filters sent inside a policy replace its old ones (a dict or nothing keeps them)."""
        if not isinstance(given, list):
            return
        filters = self.backend.collections["vrfwfilters"]
        made = [filters.prepare(account, item) for item in given if isinstance(item, dict)]
        for old in list(policy["filters"]):
            filters.remove(account, old)
        for fw_filter in made:
            filters.store(account)[fw_filter["uuid"]] = fw_filter
            self.backend.register("vrfwfilters", fw_filter["uuid"], account)
        policy["filters"] = made

    def remove(self, account: Account, obj: dict) -> None:
        filters = self.backend.collections["vrfwfilters"]
        for fw_filter in list(obj["filters"]):
            filters.remove(account, fw_filter)
        super().remove(account, obj)

    def apply_action(self, account: Account, policy: dict, action: str, body: dict) -> None:
        policy["active"] = action == "enable"


class Tunnels(RouterPart):
    name = "tunnels"
    defaults = {"name": "", "virtual_router": None}
    required = ("virtual_router",)

    def prepare(self, account: Account, values: dict) -> dict:
        """A tunnel belongs to a router of the account, as a route does."""
        self.router_of(account, values.get("virtual_router") or "", "virtual_router")
        return super().prepare(account, values)


PARTS = (
    Lans,
    Upstream,
    Routes,
    IpAliases,
    PortForwards,
    AddressForwards,
    VrFwPolicies,
    VrFwFilters,
    Tunnels,
)

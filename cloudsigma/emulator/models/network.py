"""Tags, ACLs, keypairs, firewall policies, IPs and VLANs."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from . import fields
from .errors import notexist, validation
from .kernel import OPERATIONS, Account, Collection, SimpleCollection, ref

TAGGABLE = (
    "servers",
    "drives",
    "ips",
    "vlans",
    "snapshots",
    "remotesnapshots",
    "keypairs",
    "fwpolicies",
    "acls",
    "vpc",
)
PERMISSIONS = ("LIST", "EDIT", "CLONE", "ATTACH", "START", "STOP", "OPEN_VNC")


class Tags(SimpleCollection):
    """``/tags/``: named groups of resources, kept in step with the resources' ``tags``."""

    name = "tags"
    operations = OPERATIONS | {"related": 200}
    defaults = {"name": "", "meta": {}}
    required = ("name",)

    def prepare(self, account: Account, values: dict) -> dict:
        tag = super().prepare(account, values)
        tag["resources"] = self.resolve(account, values.get("resources", []))
        return tag

    def resolve(self, account: Account, values: Any) -> list[tuple[str, dict]]:
        if not isinstance(values, list):
            raise validation("resources must be a list of uuids", "resources")
        found = []
        for value in values:
            uuid = fields.ref_uuid(value, "resources")
            for resource in TAGGABLE:
                obj = account.objects[resource].get(uuid)
                if obj is not None:
                    found.append((resource, obj))
                    break
            else:
                raise validation(f"resource {uuid} does not exist", "resources")
        return found

    def commit(self, account: Account, values: dict) -> dict:
        targets = values.pop("resources")
        values["resources"] = []
        tag = super().commit(account, values)
        self.set_resources(account, tag, targets)
        return tag

    def set_resources(self, account: Account, tag: dict, targets: list) -> None:
        tag_ref = ref("tags", tag["uuid"])
        wanted = {obj["uuid"] for _res, obj in targets}
        for resource in TAGGABLE:
            for obj in account.objects[resource].values():
                tagged = any(t["uuid"] == tag["uuid"] for t in obj.get("tags", ()))
                if tagged and obj["uuid"] not in wanted:
                    obj["tags"] = [t for t in obj["tags"] if t["uuid"] != tag["uuid"]]
        tag["resources"] = []
        for resource, obj in targets:
            if not any(t["uuid"] == tag["uuid"] for t in obj.get("tags", ())):
                obj.setdefault("tags", []).append(tag_ref)
            tag["resources"].append(self.backend.tagged_ref(account, resource, obj["uuid"]))

    def check_update(self, account: Account, tag: dict, values: dict) -> dict:
        changes = super().check_update(account, tag, values)
        if "resources" in values:
            changes["resources"] = self.resolve(account, values["resources"])
        return changes

    def apply_update(self, account: Account, tag: dict, changes: dict) -> None:
        targets = changes.pop("resources", None)
        super().apply_update(account, tag, changes)
        if targets is not None:
            self.set_resources(account, tag, targets)

    def remove(self, account: Account, tag: dict) -> None:
        self.set_resources(account, tag, [])
        for acl in account.objects["acls"].values():
            acl["tags"] = [t for t in acl["tags"] if t["uuid"] != tag["uuid"]]
        super().remove(account, tag)

    def related(self, account: Account, uuid: str, resource: str) -> list[dict]:
        """Objects of type ``resource`` that carry tag ``uuid`` (``/tags/<uuid>/<resource>/``)."""
        self.find(account, uuid)
        if resource not in TAGGABLE:
            raise notexist("tags", f"{uuid}/{resource}")
        store = account.objects[resource]
        return [
            store[r["uuid"]]
            for r in self.store(account)[uuid]["resources"]
            if r["res_type"] == resource and r["uuid"] in store
        ]


class Acls(SimpleCollection):
    """``/acls/``: grants of permissions on tagged resources to other accounts."""

    name = "acls"
    defaults = {"name": "", "meta": {}}

    def prepare(self, account: Account, values: dict) -> dict:
        acl = super().prepare(account, values)
        acl.update(grantees=[], rules=[], tags=[])
        acl.update(self.check_grants(account, values))
        return acl

    def check_grants(self, account: Account, values: dict) -> dict:
        changes = {}
        if "grantees" in values:
            grantees = []
            for entry in fields.sequence(values, "grantees"):
                uuid = fields.ref_uuid(entry, "grantees")
                user = self.backend.accounts.get(uuid)
                if user is None:
                    raise validation(f"user {uuid} does not exist", "grantees")
                grantees.append(
                    {"email": user.email, "resource_uri": ref("user", uuid), "uuid": uuid}
                )
            changes["grantees"] = grantees
        if "rules" in values:
            rules = []
            for entry in fields.sequence(values, "rules"):
                if not isinstance(entry, dict):
                    raise validation('each rule must be {"permission": ...}', "rules")
                rules.append({"permission": fields.choice(entry, "permission", PERMISSIONS)})
            changes["rules"] = rules
        if "tags" in values:
            changes["tags"] = self.backend.tag_refs(account, values["tags"])
        return changes

    def commit(self, account: Account, values: dict) -> dict:
        self.backend.has_acls = True
        tags = values.pop("tags")
        acl = super().commit(account, values)
        acl["tags"] = tags
        return acl

    def check_update(self, account: Account, acl: dict, values: dict) -> dict:
        changes = super().check_update(account, acl, values)
        changes.update(self.check_grants(account, values))
        return changes

    def apply_update(self, account: Account, acl: dict, changes: dict) -> None:
        acl.update(changes)


def fingerprint(public_key: str) -> str:
    """MD5 fingerprint (colon hex) of an OpenSSH public key."""
    parts = public_key.split()
    try:
        blob = base64.b64decode(parts[1], validate=True) if len(parts) > 1 else b""
    except ValueError:
        raise validation("public_key is not an OpenSSH public key", "public_key")
    if not blob:
        raise validation("public_key is not an OpenSSH public key", "public_key")
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def generate_keypair(algorithm: str) -> tuple[str, str]:
    """A new (private PEM, public OpenSSH) pair; needs the ``cryptography`` package."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    except ImportError:
        raise validation(
            "key generation is not available in this emulator; send public_key", "algorithm_type"
        )
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if algorithm == "ed25519"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH
        if algorithm == "ed25519"
        else serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public


class Keypairs(SimpleCollection):
    """``/keypairs/``: SSH keys given whole, public only, or generated."""

    name = "keypairs"
    defaults = {"name": "", "meta": {}, "public_key": "", "private_key": None, "tags": []}
    has_acl_fields = True
    has_owner = False
    heavy_create = True

    def work_off_loop(self, items: list) -> list:
        """The items with the keys they ask for generated (seconds of CPU for many RSA keys)."""
        return [self.with_generated_key(item) for item in items]

    @staticmethod
    def with_generated_key(item: Any) -> Any:
        if not isinstance(item, dict) or item.get("public_key"):
            return item
        algorithm = fields.choice(item, "algorithm_type", ("rsa", "ed25519"), None)
        private, public = generate_keypair(algorithm or "rsa")
        return dict(item, public_key=public, private_key=private)

    def prepare(self, account: Account, values: dict) -> dict:
        algorithm = fields.choice(values, "algorithm_type", ("rsa", "ed25519"), None)
        keypair = super().prepare(account, values)
        if not keypair["public_key"]:
            keypair["private_key"], keypair["public_key"] = generate_keypair(algorithm or "rsa")
        keypair["fingerprint"] = fingerprint(keypair["public_key"])
        return keypair

    def check_update(self, account: Account, keypair: dict, values: dict) -> dict:
        changes = super().check_update(account, keypair, values)
        if changes.get("public_key"):
            changes["fingerprint"] = fingerprint(changes["public_key"])
        return changes


class Pubkeys(Collection):
    """``/pubkeys/``: read-only view of keypairs with ``has_private_key``."""

    name = "pubkeys"
    operations = {"list": 200, "get": 200}

    def store(self, account: Account) -> dict[str, dict]:
        return account.objects["keypairs"]

    @staticmethod
    def public(keypair: dict) -> dict:
        view = {k: v for k, v in keypair.items() if k != "private_key"}
        view["has_private_key"] = bool(keypair.get("private_key"))
        view["resource_uri"] = keypair["resource_uri"].replace("/keypairs/", "/pubkeys/")
        return view

    def get(self, account: Account, uuid: str) -> dict:
        return self.public(self.find(account, uuid))

    def visible(self, account: Account) -> list[dict]:
        return [self.public(k) for k in self.store(account).values()]


RULE_KEYS = (
    "action",
    "comment",
    "direction",
    "dst_ip",
    "dst_port",
    "ip_proto",
    "src_ip",
    "src_port",
)


def normalise_ip(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    negated = value.startswith("!")
    address = value.lstrip("!")
    if "/" not in address:
        octets = address.split(".") + ["0", "0", "0"]
        address = ".".join(octets[:4]) + "/32"
    return ("!" if negated else "") + address


class FirewallPolicies(SimpleCollection):
    """``/fwpolicies/`` (historical): rules normalised, attached through server NICs."""

    name = "fwpolicies"
    defaults = {"name": None, "meta": {}, "tags": []}
    short_fields = ("meta", "name", "owner", "resource_uri", "uuid")

    def prepare(self, account: Account, values: dict) -> dict:
        policy = super().prepare(account, values)
        policy["rules"] = self.check_rules(values.get("rules", []))
        policy["servers"] = []
        return policy

    @staticmethod
    def check_rules(rules: Any) -> list[dict]:
        if not isinstance(rules, list):
            raise validation("rules must be a list", "rules")
        checked = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise validation("each rule must be an object", "rules")
            entry = {key: rule.get(key) for key in RULE_KEYS}
            fields.choice(rule, "action", ("drop", "accept"))
            fields.choice(rule, "direction", ("in", "out", "both"))
            fields.choice(rule, "ip_proto", ("tcp", "udp"), None)
            entry["src_ip"] = normalise_ip(rule.get("src_ip"))
            entry["dst_ip"] = normalise_ip(rule.get("dst_ip"))
            for port in ("src_port", "dst_port"):
                entry[port] = None if rule.get(port) in (None, "") else str(rule[port])
            checked.append(entry)
        return checked

    def check_update(self, account: Account, policy: dict, values: dict) -> dict:
        changes = super().check_update(account, policy, values)
        if "rules" in values:
            changes["rules"] = self.check_rules(values["rules"])
        return changes

    def get(self, account: Account, uuid: str) -> dict:
        policy = self.find(account, uuid)
        return dict(policy, servers=self.servers_using(account, uuid))

    def servers_using(self, account: Account, uuid: str) -> list[dict]:
        return [
            ref("servers", s["uuid"])
            for s in account.objects["servers"].values()
            if any((n.get("firewall_policy") or {}).get("uuid") == uuid for n in s["nics"])
        ]

    def remove(self, account: Account, policy: dict) -> None:
        for server in account.objects["servers"].values():
            for nic in server["nics"]:
                if (nic.get("firewall_policy") or {}).get("uuid") == policy["uuid"]:
                    nic["firewall_policy"] = None
        super().remove(account, policy)


class Ips(Collection):
    """``/ips/``: addresses that come with ``ip`` subscriptions; PUT changes only ``meta``/tags."""

    name = "ips"
    operations = {"list": 200, "get": 200, "update": 200}
    short_fields: tuple[str, ...] | None = ("owner", "resource_uri", "server", "uuid")
    shareable = True
    permissions = ("LIST", "EDIT", "ATTACH")

    def add(self, account: Account, address: str, subscription_id: int) -> dict:
        prefix = address.rsplit(".", 1)[0]
        ip = {
            "uuid": address,
            "resource_uri": self.uri(address),
            "owner": account.owner,
            "server": None,
            "meta": {},
            "tags": [],
            "grantees": [],
            "permissions": [],
            "netmask": 24,
            "gateway": f"{prefix}.1",
            "nameservers": ["8.8.8.8", "8.8.4.4"],
            "subscription": {
                "id": subscription_id,
                "resource_uri": f"/api/2.0/subscriptions/{subscription_id}/",
            },
        }
        return self.commit(account, ip)

    def check_update(self, account: Account, ip: dict, values: dict) -> dict:
        changes = {}
        if "meta" in values:
            changes["meta"] = fields.meta(values)
        if "tags" in values:
            changes["tags"] = self.backend.tag_refs(account, values["tags"])
        return changes

    def link_server(self, account: Account, server: dict, old_nics: list[dict]) -> None:
        """Mark static IPs of ``server`` as used and release the ones it no longer has."""
        used = {
            nic["ip_v4_conf"]["ip"]["uuid"]
            for nic in server["nics"]
            if nic.get("ip_v4_conf") and nic["ip_v4_conf"].get("ip")
        }
        for ip in self.store(account).values():
            holder = (ip["server"] or {}).get("uuid")
            if ip["uuid"] in used and holder != server["uuid"]:
                ip["server"] = ref("servers", server["uuid"])
                self.backend.emit(account, "ips", ip)
            elif ip["uuid"] not in used and holder == server["uuid"]:
                ip["server"] = None
                self.backend.emit(account, "ips", ip)


class Vlans(Ips):
    """``/vlans/``: private networks that come with ``vlan`` subscriptions."""

    name = "vlans"
    short_fields = ("owner", "resource_uri", "uuid")

    def add(self, account: Account, uuid: str, subscription_id: int) -> dict:
        vlan: dict[str, Any] = {
            "uuid": uuid,
            "resource_uri": self.uri(uuid),
            "owner": account.owner,
            "servers": [],
            "meta": {},
            "tags": [],
            "grantees": [],
            "permissions": [],
            "bottom_vlan_tag": None,
            "subscription": {
                "id": subscription_id,
                "resource_uri": f"/api/2.0/subscriptions/{subscription_id}/",
            },
        }
        return self.commit(account, vlan)

    def link_server(self, account: Account, server: dict, old_nics: list[dict]) -> None:
        used = {nic["vlan"]["uuid"] for nic in server["nics"] if nic.get("vlan")}
        server_ref = ref("servers", server["uuid"])
        for vlan in self.store(account).values():
            linked = any(s["uuid"] == server["uuid"] for s in vlan["servers"])
            if vlan["uuid"] in used and not linked:
                vlan["servers"].append(server_ref)
                self.backend.emit(account, "vlans", vlan)
            elif vlan["uuid"] not in used and linked:
                vlan["servers"] = [s for s in vlan["servers"] if s["uuid"] != server["uuid"]]
                self.backend.emit(account, "vlans", vlan)

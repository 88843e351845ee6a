"""The table of collections the command line serves: one :class:`ResourceSpec` each (data).

A spec names the API collection, the SDK class (when the SDK has one), the table columns, the
verbs the API offers and the flags that build a create body. The generic verbs (``list``,
``get``, ``create``, ``update``, ``delete``) are built from it; special verbs live elsewhere.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudsigma.cli import values
from cloudsigma.cli.output import Column, format_cell, human_mhz, human_size, ref_uuid
from cloudsigma.cli.problems import Ambiguous, CommandFailed, LookupFailed, NotFound, UsageError

__all__ = [
    "CRUD_VERBS",
    "RESOURCES",
    "CommandFailed",
    "CreateFlag",
    "Ambiguous",
    "LookupFailed",
    "NotFound",
    "ResourceSpec",
    "UsageError",
]

CRUD_VERBS = ("list", "get", "create", "update", "delete")


@dataclass(frozen=True)
class CreateFlag:
    """A ``create`` option that sets one key of the request body."""

    flag: str
    key: str
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    required: bool = False
    default: Any = None
    metavar: str | None = None
    #: the option may be repeated; the body gets the list of its values
    repeat: bool = False
    #: names given here are resolved to uuids in this collection (a command name)
    resolve: str | None = None
    #: turns the (resolved) value, or each value of a repeated flag, into what the body holds
    wrap: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class ResourceSpec:
    """How the command line presents one API collection."""

    name: str
    resource_name: str
    singular: str
    columns: tuple[Column, ...]
    #: the SDK class in ``cloudsigma.resource``; without one, a ResourceBase over resource_name
    class_name: str | None = None
    #: columns added by ``-o wide``
    wide: tuple[Column, ...] = ()
    verbs: tuple[str, ...] = CRUD_VERBS
    create_flags: tuple[CreateFlag, ...] = ()
    #: the plain list leaves out fields of the table, so lists come from ``detail/``
    list_is_sparse: bool = False
    key: str = "uuid"
    #: what identifies an object: ``uuid``, ``address`` (IPs) or ``id`` (a number)
    key_kind: str = "uuid"
    #: objects have a ``name`` that the API filters on, so commands accept names for them
    named: bool = True
    #: the steady status a new object reaches, for ``create --wait``
    ready_status: str | None = None
    #: completes a create body built from flags (units, defaults that depend on other keys)
    finish_body: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: one line for the command list (default: the verbs)
    summary: str = ""
    note: str = ""
    examples: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key_label(self) -> str:
        """How help texts name an object of this collection (``DRIVE``, ``IP``, ``ID``)."""
        if self.key_kind == "id":
            return "ID"
        if self.key_kind == "address":
            return "IP"
        return self.singular.upper().replace(" ", "_") if self.named else "UUID"


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, list) else str(value)


def _random_vnc_password() -> str:
    return secrets.token_urlsafe(9)


def _server_ips(nics: Any) -> str:
    """The IPv4 addresses of a server's NICs: static ones, and those the runtime shows."""
    found = []
    for nic in nics if isinstance(nics, list) else ():
        runtime_ip = ((nic.get("runtime") or {}).get("ip_v4") or {}).get("uuid")
        static_ip = ((nic.get("ip_v4_conf") or {}).get("ip") or {}).get("uuid")
        address = runtime_ip or static_ip
        if address:
            found.append(str(address))
        elif nic.get("vlan"):
            found.append(f"vlan:{ref_uuid(nic['vlan'])[:8]}")
    return ",".join(found) or "-"


def _meta_name(meta: Any) -> str:
    return str(meta.get("name", "-")) if isinstance(meta, dict) else "-"


def _subscription_id(subscription: Any) -> str:
    return str(subscription.get("id", "-")) if isinstance(subscription, dict) else "-"


def _permissions(rules: Any) -> str:
    return ",".join(str(rule.get("permission")) for rule in rules or ()) or "-"


def _emails(grantees: Any) -> str:
    return ",".join(str(g.get("email") or g.get("uuid")) for g in grantees or ()) or "-"


def _subscription_body(body: dict[str, Any]) -> dict[str, Any]:
    """Amounts in the resource's base unit (``--amount 10G`` of mem is bytes); a month by default.

    :raises UsageError: when the amount does not fit the resource.
    """
    amount = body.get("amount")
    if isinstance(amount, str) and isinstance(body.get("resource"), str):
        try:
            body["amount"] = values.amount(body["resource"], amount)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
    if not any(body.get(key) for key in ("period", "end_time")):
        body["period"] = "1 month"
    return body


def subscribed_amount(subscription: dict[str, Any]) -> str:
    """The amount in units: ``10 GiB`` of mem, ``2 GHz`` of cpu, ``1`` ip."""
    resource, amount = str(subscription.get("resource")), subscription.get("amount")
    if resource in values.CPU_RESOURCES or resource.endswith("_cpu"):
        return human_mhz(amount)
    if resource in values.BYTE_RESOURCES or resource.endswith("_mem"):
        return human_size(amount)
    return format_cell(amount)


def _grant(uuid: str) -> dict[str, str]:
    return {"uuid": uuid}


def _rule(permission: str) -> dict[str, str]:
    return {"permission": permission}


UUID = Column("UUID", "uuid")
NAME = Column("NAME", "name")
STATUS = Column("STATUS", "status", status=True)
TAGS = Column("TAGS", "tags", lambda tags: ref_uuid(tags) if tags else "-")
OWNER = Column("OWNER", "owner", ref_uuid)
PERMISSIONS = ("LIST", "EDIT", "CLONE", "ATTACH", "START", "STOP", "OPEN_VNC")

_SPECS = (
    ResourceSpec(
        name="drives",
        resource_name="drives",
        class_name="Drive",
        singular="drive",
        columns=(
            UUID,
            NAME,
            STATUS,
            Column("SIZE", "size", human_size),
            Column("MEDIA", "media"),
            Column("STORAGE", "storage_type"),
            Column("MOUNTED ON", "mounted_on", ref_uuid),
        ),
        wide=(
            Column("MULTIMOUNT", "allow_multimount"),
            Column("SNAPSHOTS", "snapshots", _count),
            TAGS,
            OWNER,
        ),
        list_is_sparse=True,
        ready_status="unmounted",
        create_flags=(
            CreateFlag("--name", "name", "drive name", required=True),
            CreateFlag(
                "--size",
                "size",
                "size in bytes or with a unit: 10G, 512M",
                type=values.size,
                required=True,
            ),
            CreateFlag(
                "--media", "media", "disk or cdrom", choices=("disk", "cdrom"), default="disk"
            ),
            CreateFlag(
                "--storage-type",
                "storage_type",
                "dssd, nvme, zadara... (the account's default when left out)",
            ),
        ),
        summary="drives: list, get, create, update, delete, clone, resize, restore-from, "
        "upload, download",
        examples=(
            "cloudsigma drives list --filter name__contains=web",
            "cloudsigma drives create --name data --size 10G --wait",
            "cloudsigma drives update data --name data2 --meta purpose=backup",
            "cloudsigma drives clone data --name copy --wait",
            "cloudsigma drives resize data 20G",
            "cloudsigma drives upload disk.img --name my-image",
            "cloudsigma drives download my-image disk.img",
        ),
    ),
    ResourceSpec(
        name="servers",
        resource_name="servers",
        class_name="Server",
        singular="server",
        columns=(
            UUID,
            NAME,
            STATUS,
            Column("CPU", "cpu", human_mhz),
            Column("SMP", "smp"),
            Column("MEM", "mem", human_size),
            Column("DRIVES", "drives", _count),
            Column("IPS", "nics", _server_ips),
        ),
        wide=(
            Column("CPU TYPE", "cpu_type"),
            Column("VNC PASSWORD", "vnc_password"),
            Column("POOL", "allocation_pool"),
            TAGS,
        ),
        list_is_sparse=True,
        create_flags=(
            CreateFlag("--name", "name", "server name", required=True),
            CreateFlag(
                "--cpu",
                "cpu",
                "CPU: MHz, or with a unit: 2GHz, 2000MHz",
                type=values.mhz,
                required=True,
            ),
            CreateFlag("--mem", "mem", "memory: 1G, 512M", type=values.size, required=True),
            CreateFlag("--smp", "smp", "number of virtual cores", type=int),
            CreateFlag("--cpu-type", "cpu_type", "amd or intel", choices=("amd", "intel")),
            CreateFlag(
                "--vnc-password",
                "vnc_password",
                "VNC password (a random one when left out)",
                default=_random_vnc_password,
            ),
            CreateFlag(
                "--allocation-pool",
                "allocation_pool",
                "host allocation pool or availability zone uuid (a VPC's pool, a zone)",
                metavar="POOL",
            ),
        ),
        summary="servers: list, get, create, update, delete, start, stop, attach-drive, "
        "attach-nic, clone, open-vnc...",
        examples=(
            "cloudsigma servers create --name web --cpu 2GHz --mem 2G",
            "cloudsigma servers attach-drive web data --boot-order 1",
            "cloudsigma servers attach-nic web --dhcp",
            "cloudsigma servers start web --wait",
            "cloudsigma servers open-vnc web",
            "cloudsigma servers delete web --recurse all_drives --wait",
        ),
    ),
    ResourceSpec(
        name="snapshots",
        resource_name="snapshots",
        class_name="Snapshot",
        singular="snapshot",
        columns=(
            UUID,
            NAME,
            STATUS,
            Column("DRIVE", "drive", ref_uuid),
            Column("ALLOCATED", "allocated_size", human_size),
            Column("TIMESTAMP", "timestamp"),
        ),
        wide=(TAGS, OWNER),
        ready_status="available",
        create_flags=(
            CreateFlag(
                "--drive",
                "drive",
                "the drive (name or uuid)",
                required=True,
                metavar="DRIVE",
                resolve="drives",
            ),
            CreateFlag("--name", "name", "snapshot name"),
        ),
        summary="snapshots: list, get, create, update, delete, clone",
        examples=(
            "cloudsigma snapshots create --drive data --name nightly --wait",
            "cloudsigma snapshots list --filter drive=DRIVE_UUID",
            "cloudsigma snapshots clone nightly --name restored --wait",
        ),
    ),
    ResourceSpec(
        name="libdrives",
        resource_name="libdrives",
        class_name="LibDrive",
        singular="library drive",
        columns=(
            UUID,
            NAME,
            Column("OS", "os"),
            Column("VERSION", "version"),
            Column("ARCH", "arch"),
            Column("MEDIA", "media"),
            Column("SIZE", "size", human_size),
        ),
        wide=(Column("DISTRIBUTION", "distribution"), Column("IMAGE TYPE", "image_type")),
        verbs=("list", "get"),
        note="The drives library is read-only: there is no create, update or delete.",
        examples=("cloudsigma libdrives list --filter os=linux --filter arch=64",),
    ),
    ResourceSpec(
        name="ips",
        resource_name="ips",
        class_name="IP",
        singular="IP",
        columns=(
            UUID,
            Column("SERVER", "server", ref_uuid),
            Column("NETMASK", "netmask"),
            Column("GATEWAY", "gateway"),
        ),
        wide=(Column("NAMESERVERS", "nameservers", lambda ns: ",".join(map(str, ns))), TAGS),
        verbs=("list", "get", "update"),
        list_is_sparse=True,
        key_kind="address",
        named=False,
        note="IPs come with subscriptions: there is no create or delete.",
        examples=("cloudsigma ips update 185.12.6.183 --meta role=frontend",),
    ),
    ResourceSpec(
        name="vlans",
        resource_name="vlans",
        class_name="VLAN",
        singular="VLAN",
        columns=(
            UUID,
            Column("NAME", "meta", _meta_name),
            Column("SERVERS", "servers", _count),
            Column("SUBSCRIPTION", "subscription", _subscription_id),
        ),
        wide=(TAGS, OWNER),
        verbs=("list", "get", "update"),
        list_is_sparse=True,
        named=False,
        note="VLANs come with subscriptions: there is no create or delete.",
        examples=("cloudsigma vlans update UUID --meta name=backend",),
    ),
    ResourceSpec(
        name="tags",
        resource_name="tags",
        class_name="Tags",
        singular="tag",
        columns=(UUID, NAME, Column("RESOURCES", "resources", _count)),
        create_flags=(CreateFlag("--name", "name", "tag name", required=True),),
        summary="tags: list, get, create, update, delete, add, remove",
        examples=(
            "cloudsigma tags create --name production",
            "cloudsigma tags add production web data",
            "cloudsigma servers list --filter tag=production",
        ),
    ),
    ResourceSpec(
        name="acls",
        resource_name="acls",
        class_name="Acls",
        singular="ACL",
        columns=(
            UUID,
            NAME,
            Column("GRANTEES", "grantees", _emails),
            Column("PERMISSIONS", "rules", _permissions),
            Column("TAGS", "tags", ref_uuid),
        ),
        create_flags=(
            CreateFlag("--name", "name", "ACL name"),
            CreateFlag(
                "--grantee",
                "grantees",
                "uuid of the account to grant to; repeatable",
                metavar="USER_UUID",
                repeat=True,
                wrap=_grant,
            ),
            CreateFlag(
                "--permission",
                "rules",
                "what the grantees may do; repeatable",
                choices=PERMISSIONS,
                repeat=True,
                wrap=_rule,
            ),
            CreateFlag(
                "--tag",
                "tags",
                "share what carries this tag (name or uuid); repeatable",
                metavar="TAG",
                repeat=True,
                resolve="tags",
            ),
        ),
        note="An ACL shares every object that carries one of its tags with its grantees.",
        examples=(
            "cloudsigma acls create --name ops --grantee USER_UUID --permission LIST "
            "--permission START --tag production",
        ),
    ),
    ResourceSpec(
        name="keypairs",
        resource_name="keypairs",
        class_name="Keypairs",
        singular="keypair",
        columns=(UUID, NAME, Column("FINGERPRINT", "fingerprint")),
        wide=(
            Column("PUBLIC KEY", "public_key", lambda key: str(key)[:40] + "..."),
            Column("PRIVATE KEY", "private_key"),
        ),
        verbs=("list", "get", "update", "delete"),
        summary="keypairs: list, get, create (generate), import, update, delete",
        note="create has the API generate a pair; import stores your own public key.",
        examples=(
            "cloudsigma keypairs create --name laptop --private-key-file ~/.ssh/cloudsigma",
            "cloudsigma keypairs import laptop ~/.ssh/id_ed25519.pub",
            "cloudsigma keypairs get laptop --show-secrets",
        ),
    ),
    ResourceSpec(
        name="fwpolicies",
        resource_name="fwpolicies",
        class_name="FirewallPolicy",
        singular="firewall policy",
        columns=(
            UUID,
            NAME,
            Column("RULES", "rules", _count),
            Column("SERVERS", "servers", _count),
        ),
        list_is_sparse=True,
        create_flags=(CreateFlag("--name", "name", "policy name"),),
        examples=(
            'cloudsigma fwpolicies create --name web --data \'{"rules": [{"action": "accept", '
            '"direction": "in", "ip_proto": "tcp", "dst_port": "443"}]}\'',
        ),
    ),
    ResourceSpec(
        name="subscriptions",
        resource_name="subscriptions",
        class_name="Subscriptions",
        singular="subscription",
        key="id",
        key_kind="id",
        named=False,
        columns=(
            Column("ID", "id"),
            Column("RESOURCE", "resource"),
            Column("AMOUNT", "amount", subscribed_amount, whole=True),
            STATUS,
            Column("START", "start_time"),
            Column("END", "end_time"),
            Column("AUTO RENEW", "auto_renew"),
        ),
        wide=(Column("PRICE", "price"), Column("OBJECT", "subscribed_object")),
        verbs=("list", "get", "create"),
        finish_body=_subscription_body,
        create_flags=(
            CreateFlag("--resource", "resource", "cpu, mem, dssd, ip, vlan, vpc...", required=True),
            CreateFlag(
                "--amount",
                "amount",
                "how much: 10G for mem and storage, 2GHz for cpu, a count for ip and vlan",
                required=True,
            ),
            CreateFlag("--period", "period", "duration, e.g. '1 month' (default: 1 month)"),
            CreateFlag("--start-time", "start_time", "ISO date and time (default: now)"),
            CreateFlag("--end-time", "end_time", "ISO date and time instead of --period"),
        ),
        summary="subscriptions: list, get, create, extend, auto-renew",
        note="Subscriptions cannot be changed or deleted once bought; they can be extended.",
        examples=(
            "cloudsigma subscriptions list --filter status=active",
            "cloudsigma subscriptions create --resource mem --amount 10G --period '1 month'",
            "cloudsigma subscriptions extend 1234 --period '1 year'",
            "cloudsigma subscriptions auto-renew 1234 off",
        ),
    ),
    ResourceSpec(
        name="ledger",
        resource_name="ledger",
        class_name="Ledger",
        singular="ledger entry",
        key="id",
        key_kind="id",
        named=False,
        columns=(
            Column("TIME", "time"),
            Column("AMOUNT", "amount"),
            Column("BALANCE", "end"),
            Column("REASON", "reason"),
        ),
        wide=(Column("ID", "id"), Column("INTERVAL", "human_interval")),
        verbs=("list", "get"),
        summary="the account's debits and credits, newest first",
        examples=("cloudsigma ledger list --limit 10",),
    ),
    ResourceSpec(
        name="vpc",
        resource_name="vpc",
        class_name="Vpc",
        singular="VPC",
        columns=(
            UUID,
            NAME,
            STATUS,
            Column("NODES", "nodes", _count),
            Column("SERVERS", "servers", _count),
            Column("POOL", "allocation_pool"),
        ),
        wide=(Column("DESCRIPTION", "description"), TAGS),
        verbs=("list", "get", "update"),
        summary="virtual private clouds: list, get, update, link-node, unlink-node",
        note="A VPC is bought: cloudsigma subscriptions create --resource vpc --amount 1 "
        "--period '1 year'. Servers run in it with --allocation-pool set to its pool.",
        examples=(
            "cloudsigma vpc list",
            "cloudsigma vpc link-node my-vpc NODE_UUID",
            "cloudsigma servers create --name db --cpu 2GHz --mem 4G --allocation-pool POOL",
        ),
    ),
    ResourceSpec(
        name="nodes",
        resource_name="nodes",
        class_name="Nodes",
        singular="node",
        columns=(UUID, NAME, STATUS, Column("VPC", "vpc", ref_uuid)),
        verbs=("list", "get"),
        summary="dedicated hosts (bought as dedicated_host_* subscriptions): list, get",
        examples=("cloudsigma nodes list",),
    ),
    ResourceSpec(
        name="host-pools",
        resource_name="hostallocationpools",
        class_name="HostAllocationPools",
        singular="host pool",
        columns=(
            UUID,
            NAME,
            Column("CPU ALLOC", "cpu_alloc"),
            Column("LAST RESORT", "cpu_alloc_last_resort"),
            Column("DESCRIPTION", "description"),
        ),
        verbs=("list", "get", "update"),
        summary="host allocation pools (one per VPC): list, get, update",
        examples=(
            "cloudsigma host-pools list",
            "cloudsigma host-pools update POOL --data '{\"cpu_alloc\": 1}'",
        ),
    ),
    ResourceSpec(
        name="zones",
        resource_name="hostavailabilityzones",
        class_name="HostAvailabilityZones",
        singular="zone",
        columns=(UUID, NAME, Column("DESCRIPTION", "description")),
        verbs=("list", "get"),
        summary="host availability zones: list, get",
        examples=("cloudsigma zones list",),
    ),
    ResourceSpec(
        name="locations",
        resource_name="locations",
        class_name="Locations",
        singular="location",
        key="id",
        key_kind="id",
        named=False,
        columns=(
            Column("ID", "id"),
            Column("NAME", "display_name"),
            Column("COUNTRY", "country_code"),
            Column("API", "api_endpoint"),
        ),
        wide=(Column("WEBSOCKET", "websocket_url"), Column("UPLOAD", "upload_url")),
        verbs=("list",),
        summary="the cloud's locations and their endpoints",
        examples=("cloudsigma locations list",),
    ),
    ResourceSpec(
        name="logs",
        resource_name="logs",
        class_name="AuditLog",
        singular="audit log entry",
        named=False,
        columns=(
            Column("TIMESTAMP", "timestamp"),
            Column("CATEGORY", "category"),
            Column("ACTION", "action"),
            Column("OBJECT", "uuid"),
            Column("SUCCESS", "success"),
            Column("ERROR", "error_message", lambda text: format_cell(text or None)),
        ),
        verbs=("list",),
        summary="the account's audit log, newest first",
        examples=("cloudsigma logs list --limit 20",),
    ),
    ResourceSpec(
        name="jobs",
        resource_name="jobs",
        class_name="Jobs",
        singular="job",
        named=False,
        columns=(
            UUID,
            Column("OPERATION", "operation"),
            Column("STATE", "state"),
            Column("PROGRESS", "data", lambda data: f"{(data or {}).get('progress', '-')}%"),
            Column("CREATED", "created"),
        ),
        verbs=("list", "get"),
        summary="clone jobs and their progress: list, get",
        examples=("cloudsigma jobs list",),
    ),
)

RESOURCES: dict[str, ResourceSpec] = {spec.name: spec for spec in _SPECS}

"""Servers with their power state machine, drive attachments and NICs (guide 4.3)."""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from . import fields, placement
from .drives import Drives, Jobs, clone_name, steady_status
from .errors import payment, permission, validation
from .kernel import OPERATIONS, Account, Collection, iso, new_uuid, query, ref
from .network import Ips, Vlans
from .placement import avoided_uuids
from .pricing import as_text
from .vpc import HostAllocationPools, HostAvailabilityZones, Vpcs

DEVICES = ("virtio", "ide", "scsi", "sata")
CPU_TYPES = ("amd", "intel", "vmware", "sparc_t4", "sparc_t5")
HYPERVISORS = ("kvm", "solaris-kz")
NIC_MODELS = ("virtio", "e1000", "rtl8139", "ne2k_pci", "i82551", "i82557b", "i82559er", "pcnet")
IP_CONFS = ("dhcp", "static", "manual")
RECURSE = ("all_drives", "disks", "cdroms")
#: Names of the guest states used by the API's start/stop error messages.
GUEST_STATE = {
    "running": "started",
    "stopped": "stopped",
    "starting": "starting",
    "stopping": "stopping",
    "unavailable": "unavailable",
}
BOOL_FIELDS = (
    "cpus_instead_of_cores",
    "enable_numa",
    "hv_relaxed",
    "hv_tsc",
    "is_grey",
    "auto_start",
)
WHILE_RUNNING = ("name", "meta", "tags")
#: A start needs funds for this much burst (general.rst: 5 days).
START_FUNDS_SECONDS = 5 * 86400
#: How long an unanswered ACPI shutdown waits before the server counts as running again, in
#: transition delays (the API waits a minute; a status change takes about ten seconds there).
ACPI_TIMEOUT = 6.0


def random_mac() -> str:
    return "22:" + ":".join(f"{random.randrange(256):02x}" for _ in range(5))


class Servers(Collection):
    """``/servers/``: create, PUT rules, power actions, clone, recursive delete."""

    name = "servers"
    operations = OPERATIONS | {"availability_groups": 200, "runtime": 200}
    short_fields = ("name", "owner", "resource_uri", "runtime", "status", "uuid")
    shareable = True
    permissions = ("LIST", "EDIT", "CLONE", "START", "STOP", "OPEN_VNC")
    audit_category = "Servers"
    actions = {
        "start": "start",
        "stop": "stop",
        "shutdown": "shutdown",
        "restart": "restart",
        "open_vnc": "open_vnc",
        "close_vnc": "close_vnc",
        "open_console": "open_console",
        "close_console": "close_console",
        "clone": "clone",
    }

    # validation -------------------------------------------------------------
    def check_hardware(self, values: dict) -> None:
        hosts = self.backend.capabilities["hosts"]
        limits = hosts.get(values["cpu_type"]) or hosts["amd"]
        for key in ("cpu", "mem", "smp"):
            low, high = limits[key]["min"], limits[key]["max"]
            if not low <= values[key] <= high:
                raise validation(
                    f"{key} {values[key]} is outside the limits for {values['cpu_type']} hosts "
                    f"({low} to {high})",
                    key,
                )
        per_smp = values["cpu"] / values["smp"]
        low, high = limits["cpu_per_smp"]["min"], limits["cpu_per_smp"]["max"]
        if not low <= per_smp <= high and values["smp"] > 1:
            raise validation(
                f"cpu per smp {per_smp:.0f} is outside the limits ({low} to {high}); change cpu "
                "or smp",
                "smp",
            )

    def check_drives(self, account: Account, entries: Any) -> list[dict]:
        if not isinstance(entries, list):
            raise validation("drives must be a list", "drives")
        drives = self.sibling("drives", Drives)
        attached, channels, seen = [], set(), set()
        for entry in entries:
            if not isinstance(entry, dict):
                raise validation("each drive entry must be an object", "drives")
            device = fields.choice(entry, "device", DEVICES)
            channel = fields.text(entry, "dev_channel")
            if not re.fullmatch(r"\d+:\d+", channel):
                raise validation(
                    f"dev_channel must look like '0:0', got {channel!r}", "dev_channel"
                )
            if (device, channel) in channels:
                raise validation(f"dev_channel {channel} of {device} is used twice", "dev_channel")
            if "drive" not in entry:
                raise fields.required("drive")
            drive = drives.find(account, fields.ref_uuid(entry["drive"], "drive"), "ATTACH")
            if drive["uuid"] in seen:
                raise validation(f"drive {drive['uuid']} is attached twice", "drives")
            channels.add((device, channel))
            seen.add(drive["uuid"])
            attached.append(
                {
                    "boot_order": fields.integer(entry, "boot_order", None, minimum=0),
                    "dev_channel": channel,
                    "device": device,
                    "drive": ref("drives", drive["uuid"]),
                    "runtime": None,
                }
            )
        return attached

    def check_nics(
        self, account: Account, entries: Any, old: list[dict], server_uuid: str | None
    ) -> list[dict]:
        if not isinstance(entries, list):
            raise validation("nics must be a list", "nics")
        known = {nic["mac"]: nic for nic in old}
        nics: list[dict] = []
        claimed: set[str] = set()
        for entry in entries:
            if not isinstance(entry, dict):
                raise validation("each nic must be an object", "nics")
            nic = self.check_nic(account, entry, known, server_uuid, claimed)
            nics.append(nic)
        macs = [nic["mac"] for nic in nics]
        if len(set(macs)) != len(macs):
            raise validation("a MAC address appears twice in nics", "mac")
        return nics

    def check_nic(
        self, account: Account, entry: dict, known: dict, server_uuid: str | None, claimed: set
    ) -> dict:
        mac = entry.get("mac")
        if mac is not None and mac not in known:
            raise validation(f"unknown MAC {mac!r}; leave mac out to add a new NIC", "mac")
        previous = known.get(mac, {})
        ip_v4 = self.check_ip_conf(account, entry.get("ip_v4_conf"), server_uuid, claimed)
        ip_v6 = self.check_ip_conf(account, entry.get("ip_v6_conf"), server_uuid, claimed)
        vlan = None
        if entry.get("vlan") is not None:
            vlans = self.sibling("vlans", Vlans)
            vlan = ref(
                "vlans",
                vlans.find(account, fields.ref_uuid(entry["vlan"], "vlan"), "ATTACH")["uuid"],
            )
        if vlan and ip_v4 and ip_v6:
            raise validation("Cannot assign all configs on a NIC", "nics")
        if vlan and (ip_v4 or ip_v6):
            raise validation("Cannot assign both Private and Public on a NIC", "nics")
        policy = None
        if entry.get("firewall_policy") is not None:
            uuid = fields.ref_uuid(entry["firewall_policy"], "firewall_policy")
            policy = ref(
                "fwpolicies", self.backend.collections["fwpolicies"].find(account, uuid)["uuid"]
            )
        nic = {
            "boot_order": fields.integer(entry, "boot_order", None, minimum=0),
            "ip_v4_conf": ip_v4,
            "ip_v6_conf": ip_v6,
            "mac": mac or random_mac(),
            "model": fields.choice(entry, "model", NIC_MODELS, previous.get("model", "virtio")),
            "runtime": None,
            "vlan": vlan,
        }
        if policy is not None:  # historical field, shown only when a policy is attached
            nic["firewall_policy"] = policy
        return nic

    def check_ip_conf(
        self, account: Account, conf: Any, server_uuid: str | None, claimed: set
    ) -> dict | None:
        if conf is None:
            return None
        if not isinstance(conf, dict):
            raise validation("ip_v4_conf must be an object with 'conf'", "ip_v4_conf")
        kind = fields.choice(conf, "conf", IP_CONFS)
        given = conf.get("ip")
        if kind in ("dhcp", "manual"):
            if given is not None:
                raise validation(f"a {kind} NIC cannot carry an IP; use conf static", "ip")
            return {"conf": kind, "ip": None}
        if given is None:
            raise validation("a static NIC needs an ip", "ip")
        ip = self.sibling("ips", Ips).find(account, fields.ref_uuid(given, "ip"), "ATTACH")
        holder = ip.get("server")
        if (holder is not None and holder["uuid"] != server_uuid) or ip["uuid"] in claimed:
            raise validation(f"IP {ip['uuid']} is already used by another server", "ip")
        claimed.add(ip["uuid"])
        return {"conf": "static", "ip": ref("ips", ip["uuid"])}

    def check_allocation_pool(self, account: Account, values: dict) -> str | None:
        """``allocation_pool``: null, a host availability zone or one of the account's host
        allocation pools (the pool of a VPC: the server then runs on its dedicated hosts)."""
        pool = fields.text(values, "allocation_pool", None)
        if pool is None:
            return None
        zones = self.sibling("hostavailabilityzones", HostAvailabilityZones)
        pools = self.sibling("hostallocationpools", HostAllocationPools)
        if self.backend.features.get("host_availability_zones") and pool in zones.store(account):
            return pool
        if self.backend.features.get("vpc") and pool in pools.store(account):
            return pool
        raise validation(
            f"allocation_pool {pool!r} is neither a host availability zone nor a host "
            "allocation pool of this account",
            "allocation_pool",
        )

    def check_dedicated_hosts(self, account: Account, server: dict) -> None:
        """:raises ApiError: 403 when the server is to run in a VPC without dedicated hosts."""
        pool = server.get("allocation_pool")
        vpc = None if pool is None else self.sibling("vpc", Vpcs).of_pool(account, pool)
        if vpc is not None and not vpc["nodes"]:
            raise permission(
                f"VPC {vpc['uuid']} has no dedicated host to run server {server['uuid']}; "
                "link a node to it first"
            )

    def check_pubkeys(self, account: Account, values: Any) -> list[dict]:
        if not isinstance(values, list):
            raise validation("pubkeys must be a list of keypair uuids", "pubkeys")
        keypairs = self.backend.collections["keypairs"]
        return [
            ref("pubkeys", keypairs.find(account, fields.ref_uuid(v, "pubkeys"))["uuid"])
            for v in values
        ]

    # create -------------------------------------------------------------------
    def prepare(self, account: Account, values: dict) -> dict:
        uuid = new_uuid()
        server = {
            "name": fields.text(values, "name"),
            "cpu": fields.integer(values, "cpu"),
            "mem": fields.integer(values, "mem"),
            "vnc_password": fields.text(values, "vnc_password"),
            "smp": fields.integer(values, "smp", 1, minimum=1),
            "cpu_type": fields.choice(values, "cpu_type", CPU_TYPES, self.backend.default_cpu_type),
            "hypervisor": fields.choice(values, "hypervisor", HYPERVISORS, "kvm"),
            "cpu_model": fields.text(values, "cpu_model", None),
            "context": fields.boolean(values, "context", True),
            "allocation_pool": self.check_allocation_pool(account, values),
            "meta": fields.meta(values),
            "requirements": fields.sequence(values, "requirements", []),
            "pubkeys": self.check_pubkeys(account, values.get("pubkeys", [])),
            "tags": self.backend.tag_refs(account, values.get("tags")),
            "drives": self.check_drives(account, values.get("drives", [])),
            "nics": self.check_nics(account, values.get("nics", []), [], uuid),
            "grantees": [],
            "jobs": [],
            "owner": account.owner,
            "permissions": [],
            "resource_uri": self.uri(uuid),
            "runtime": None,
            "status": "stopped",
            "uuid": uuid,
        }
        for key in BOOL_FIELDS:
            server[key] = fields.boolean(values, key, False)
        self.check_extras(values, server)
        if server["cpu_type"] in ("amd", "intel"):
            self.check_hardware(server)
        return server

    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        claimed: set[str] = set()
        for item in items:
            nics = item.get("nics") if isinstance(item, dict) else None
            for nic in nics if isinstance(nics, list) else ():
                conf = nic.get("ip_v4_conf") if isinstance(nic, dict) else None
                if isinstance(conf, dict) and conf.get("conf") == "static" and conf.get("ip"):
                    address = fields.ref_uuid(conf["ip"], "ip")
                    if address in claimed:
                        raise validation(f"IP {address} is given to two NICs", "ip")
                    claimed.add(address)
        return super().create_many(account, items, params)

    @staticmethod
    def check_extras(values: dict, server: dict) -> None:
        for key, item in (("gpus", "model"), ("epcs", "size")):
            if key not in values:
                continue
            entries = fields.sequence(values, key)
            for entry in entries:
                if not isinstance(entry, dict) or item not in entry:
                    raise validation(f"each entry of {key} needs {item!r}", key)
            server[key] = [dict(e, gpu=e.get("gpu")) if key == "gpus" else dict(e) for e in entries]

    def commit(self, account: Account, values: dict) -> dict:
        server = super().commit(account, values)
        self.link(account, server, [], [])
        return server

    # attachments -------------------------------------------------------------
    def link(self, account: Account, server: dict, old_drives: list, old_nics: list) -> None:
        """Bring drives' ``mounted_on`` and IPs'/VLANs' ``server(s)`` in line with ``server``."""
        old = {a["drive"]["uuid"] for a in old_drives}
        new = {a["drive"]["uuid"] for a in server["drives"]}
        for drive_uuid in old - new:
            self.set_mount(account, server, drive_uuid, False)
        for drive_uuid in new - old:
            self.set_mount(account, server, drive_uuid, True)
        self.sibling("ips", Ips).link_server(account, server, old_nics)
        self.sibling("vlans", Vlans).link_server(account, server, old_nics)

    def set_mount(self, account: Account, server: dict, drive_uuid: str, mounted: bool) -> None:
        owner = self.backend.owner_of("drives", drive_uuid)
        if owner is None:
            return  # library cdroms are shared by everyone and never change
        drive = owner.objects["drives"][drive_uuid]
        others = [m for m in drive["mounted_on"] if m["uuid"] != server["uuid"]]
        drive["mounted_on"] = others + ([ref("servers", server["uuid"])] if mounted else [])
        if drive["status"] in ("mounted", "unmounted"):
            self.backend.set_status(owner, "drives", drive, steady_status(drive))
        else:
            self.backend.emit(owner, "drives", drive)

    # update -------------------------------------------------------------------
    def check_update(self, account: Account, server: dict, values: dict) -> dict:
        keys = WHILE_RUNNING if server["status"] != "stopped" else None
        changes: dict[str, Any] = {}
        simple = {
            "name": fields.text,
            "vnc_password": fields.text,
            "cpu": fields.integer,
            "mem": fields.integer,
            "smp": fields.integer,
            "context": fields.boolean,
            "cpu_model": lambda v, k: fields.text(v, k, None),
            "allocation_pool": lambda v, k: self.check_allocation_pool(account, v),
            "requirements": fields.sequence,
        }
        simple.update({key: fields.boolean for key in BOOL_FIELDS})
        for key, check in simple.items():
            if key in values and (keys is None or key in keys):
                changes[key] = check(values, key)
        if "meta" in values:
            changes["meta"] = fields.meta(values)
        if "tags" in values:
            changes["tags"] = self.backend.tag_refs(account, values["tags"])
        if keys is not None:
            return changes
        if "cpu_type" in values:
            changes["cpu_type"] = fields.choice(values, "cpu_type", CPU_TYPES)
        if "hypervisor" in values:
            changes["hypervisor"] = fields.choice(values, "hypervisor", HYPERVISORS)
        if "pubkeys" in values:
            changes["pubkeys"] = self.check_pubkeys(account, values["pubkeys"])
        if "drives" in values:
            changes["drives"] = self.check_drives(account, values["drives"])
        if "nics" in values:
            changes["nics"] = self.check_nics(
                account, values["nics"], server["nics"], server["uuid"]
            )
        self.check_extras(values, changes)
        merged = dict(server, **changes)
        if merged["cpu_type"] in ("amd", "intel"):
            self.check_hardware(merged)
        return changes

    def apply_update(self, account: Account, server: dict, changes: dict) -> None:
        old_drives, old_nics = server["drives"], server["nics"]
        super().apply_update(account, server, changes)
        if "drives" in changes or "nics" in changes:
            self.link(account, server, old_drives, old_nics)

    # delete -------------------------------------------------------------------
    def check_delete(self, account: Account, server: dict, recurse: str | None = None) -> None:
        if recurse is not None and recurse not in RECURSE:
            raise validation(f"recurse must be one of {', '.join(RECURSE)}", "recurse")
        if server["status"] != "stopped":
            raise permission(
                f"server {server['uuid']} is {server['status']}; stop it before deleting it"
            )

    @query("recurse")
    def delete(self, account: Account, uuid: str, *, recurse: str | None = None) -> Any:
        """Delete a stopped server and, with ``recurse``, its drives of those media that no
        other running server uses (``all_drives``, ``disks`` or ``cdroms``)."""
        server = self.find(account, uuid, "EDIT")
        self.check_delete(account, server, recurse)
        account = self.holder(account, server)
        media = {"all_drives": ("disk", "cdrom"), "disks": ("disk",), "cdroms": ("cdrom",)}
        doomed = []
        drives = self.sibling("drives", Drives)
        for attachment in server["drives"]:
            drive = drives.store(account).get(attachment["drive"]["uuid"])
            if recurse and drive is not None and drive["media"] in media[recurse]:
                doomed.append(drive)
        self.remove(account, server)
        for drive in doomed:
            if drive["uuid"] in drives.store(account) and drives.running_server(drive) is None:
                drives.remove(account, drive)
        return None

    def remove(self, account: Account, server: dict) -> None:
        old_drives, old_nics = server["drives"], server["nics"]
        server["drives"], server["nics"] = [], []
        self.link(account, server, old_drives, old_nics)
        server["drives"], server["nics"] = old_drives, old_nics
        super().remove(account, server)

    # power ------------------------------------------------------------------
    @staticmethod
    def answer(action: str, server: dict, **extra: str) -> dict:
        return dict({"action": action, "result": "success", "uuid": server["uuid"]}, **extra)

    @query("avoid")
    def start(self, account: Account, uuid: str, body: dict, *, avoid: str | None = None) -> dict:
        """Start a stopped server on a host away from the running servers ``avoid`` names."""
        server = self.find(account, uuid, "START")
        account = self.holder(account, server)
        if server["status"] != "stopped":
            raise permission(
                f'Cannot start guest in state "{GUEST_STATE.get(server["status"], "started")}". '
                'Guest should be in state "stopped"'
            )
        methods = self.backend.capabilities["servers"]["start_methods"]
        fields.choice(body, "allocation_method", methods, None)
        self.check_startable(account, server)
        self.check_dedicated_hosts(account, server)
        avoided = self.running_uuids(account, avoided_uuids(avoid))
        placement.place(account.placement, server["uuid"], self.hosts_of(account, avoided))
        self.backend.set_status(account, "servers", server, "starting")
        self.backend.audit(account, self, server, "start_send", "")
        self.settle_running(account, server)
        return self.answer("start", server)

    def check_startable(self, account: Account, server: dict) -> None:
        drives = self.sibling("drives", Drives)
        for attachment in server["drives"]:
            drive = drives.find(account, attachment["drive"]["uuid"])
            # A drive being copied (``cloning_src``) stays usable, as pycloudsigma expects.
            if drive.get("owner") is not None and drive["status"] not in ("mounted", "cloning_src"):
                raise permission(
                    f"drive {drive['uuid']} is {drive['status']}; wait until it is ready before "
                    "starting the server"
                )
            self.check_not_in_use(drives, drive, server)
        balance = Fraction(account.balance["balance"])
        if balance <= 0:
            raise payment("Not enough funds to start the server; top up the account balance")
        extra = [
            (server["uuid"], f"{server['cpu_type']}_cpu", server["cpu"]),
            (server["uuid"], f"{server['cpu_type']}_mem", server["mem"]),
        ]
        needed = self.backend.metering.projected_burst(account, extra, START_FUNDS_SECONDS)
        if needed > balance:
            raise payment(
                f"Not enough funds for 5 days of burst: starting server {server['uuid']} needs "
                f"{as_text(needed)} {account.balance['currency']}, the balance is "
                f"{account.balance['balance']}; top up the account or subscribe"
            )

    @staticmethod
    def check_not_in_use(drives: Drives, drive: dict, server: dict) -> None:
        """Refuse a disk without ``allow_multimount`` that another server not stopped has.

        :raises ApiError: 403 naming the drive and the server that has it.
        """
        if drive.get("owner") is None or drive["allow_multimount"] or drive["media"] != "disk":
            return
        for other in drives.servers_of(drive):
            if other["uuid"] != server["uuid"] and other["status"] != "stopped":
                raise permission(
                    f"drive {drive['uuid']} is in use by server {other['uuid']} "
                    f"({other['status']}) and has allow_multimount false; stop that server first"
                )

    def settle_running(self, account: Account, server: dict) -> None:
        def boot() -> None:
            server["runtime"] = self.runtime(account, server)
            self.backend.audit(account, self, server, "boot", "")

        self.backend.settle(account, "servers", server, "running", apply=boot)

    def runtime(self, account: Account, server: dict) -> dict:
        nics = []
        for nic in server["nics"]:
            conf = nic["ip_v4_conf"] or {}
            ip_v4 = conf.get("ip")
            if conf.get("conf") == "dhcp":
                ip_v4 = ref("ips", self.backend.dynamic_ip())
            runtime = {
                "interface_type": "private" if nic["vlan"] else "public",
                "io": {"bytes_recv": 0, "bytes_sent": 0, "packets_recv": 0, "packets_sent": 0},
                "ip_v4": ip_v4,
                "ip_v6": None,
            }
            nic["runtime"] = runtime
            nics.append(dict(runtime, mac=nic["mac"]))
        for attachment in server["drives"]:
            attachment["runtime"] = {
                "io": {
                    "bytes_read": 0,
                    "bytes_written": 0,
                    "count_flush": 0,
                    "count_read": 0,
                    "count_written": 0,
                    "total_time_ns_flush": 0,
                    "total_time_ns_read": 0,
                    "total_time_ns_write": 0,
                }
            }
        return {"active_since": iso().split(".")[0] + "+00:00", "nics": nics}

    def power_off(self, account: Account, server: dict) -> None:
        self.backend.audit(account, self, server, "stop", "")
        account.placement.pop(server["uuid"], None)
        self.backend.tunnels.close(server["uuid"])  # the tunnel lives until the guest stops
        server["runtime"] = None
        for item in server["nics"] + server["drives"]:
            item["runtime"] = None
        self.forget_ephemeral_data(account, server)

    def forget_ephemeral_data(self, account: Account, server: dict) -> None:
        """Ephemeral (``local_nvme``) drives lose their bytes when their server stops."""
        drives = self.sibling("drives", Drives).store(account)
        for attachment in server["drives"]:
            drive = drives.get(attachment["drive"]["uuid"])
            if drive is not None and drive["runtime"].get("is_ephemeral"):
                self.backend.drop_image(drive["uuid"])

    def stop(self, account: Account, uuid: str, body: dict) -> dict:
        server = self.find(account, uuid, "STOP")
        account = self.holder(account, server)
        # Not while starting: the API's own message names the states a stop needs.
        if server["status"] not in ("running", "stopping", "unavailable"):
            raise permission(
                f'Cannot stop guest in state "{GUEST_STATE.get(server["status"], "stopped")}". '
                "Guest should be in state \"['started', 'running_legacy']\""
            )
        if server["status"] != "stopping":
            self.backend.set_status(account, "servers", server, "stopping")
        waiting = account.acpi_waits.pop(server["uuid"], None)
        if waiting is not None:  # a hard stop ends an unanswered ACPI shutdown
            self.backend.transitions.cancel(waiting)
        self.backend.audit(account, self, server, "stop_send", "")
        self.backend.settle(
            account, "servers", server, "stopped", apply=lambda: self.power_off(account, server)
        )
        return self.answer("stop", server)

    def running_server(self, account: Account, uuid: str, verb: str) -> dict:
        """The server, which must be running for ``verb`` (shutdown, restart)."""
        server = self.find(account, uuid, "STOP")
        if server["status"] != "running":
            raise permission(
                f'Cannot {verb} guest in state "{GUEST_STATE.get(server["status"])}". '
                'Guest should be in state "started"'
            )
        return server

    def shutdown(self, account: Account, uuid: str, body: dict) -> dict:
        server = self.running_server(account, uuid, "shutdown")
        account = self.holder(account, server)
        self.backend.set_status(account, "servers", server, "stopping")
        self.backend.audit(account, self, server, "shutdown_ACPI_send", "")
        if self.guest_answers_acpi(account, server):
            self.backend.settle(
                account,
                "servers",
                server,
                "stopped",
                apply=lambda: self.power_off(account, server),
                factor=2.0,
            )
        else:
            # The API sends ACPI events for a minute, then gives up: the guest keeps running.
            account.acpi_waits[server["uuid"]] = self.backend.settle(
                account,
                "servers",
                server,
                "running",
                apply=lambda: self.forget_acpi_wait(account, server),
                factor=ACPI_TIMEOUT,
            )
        return self.answer("shutdown", server)

    @staticmethod
    def forget_acpi_wait(account: Account, server: dict) -> None:
        account.acpi_waits.pop(server["uuid"], None)

    def guest_answers_acpi(self, account: Account, server: dict) -> bool:
        """Whether the guest of ``server`` powers off on an ACPI shutdown (set per server in
        ``account.guests_answer_acpi``; ``backend.guests_answer_acpi`` is the default)."""
        return account.guests_answer_acpi.get(server["uuid"], self.backend.guests_answer_acpi)

    def restart(self, account: Account, uuid: str, body: dict) -> dict:
        server = self.running_server(account, uuid, "restart")
        account = self.holder(account, server)
        self.backend.set_status(account, "servers", server, "stopping")

        def boot_again() -> None:
            self.power_off(account, server)
            self.backend.set_status(account, "servers", server, "stopped")
            self.backend.set_status(account, "servers", server, "starting")
            self.settle_running(account, server)

        def after_stop() -> None:
            if server["status"] == "stopping" and self.store(account).get(server["uuid"]) is server:
                boot_again()

        self.backend.transitions.later(after_stop, key=("servers", server["uuid"]))
        return self.answer("restart", server)

    def require_running(self, server: dict, action: str) -> None:
        if server["status"] != "running":
            raise permission(
                f"server {server['uuid']} is {server['status']}; {action} needs a running server"
            )

    def open_vnc(self, account: Account, uuid: str, body: dict) -> dict:
        """Open the server's VNC tunnel (a second call while it is open gives the same URL).
        A VNC client logs in there with the server's ``vnc_password``."""
        server = self.find(account, uuid, "OPEN_VNC")
        self.require_running(server, "open_vnc")
        port = self.backend.tunnels.open(
            server["uuid"], lambda: server["vnc_password"], server["name"]
        )
        self.backend.audit(account, self, server, "open_vnc", "")
        return self.answer("open_vnc", server, vnc_url=f"vnc://{self.backend.host}:{port}")

    def close_vnc(self, account: Account, uuid: str, body: dict) -> dict:
        server = self.find(account, uuid, "OPEN_VNC")
        self.backend.tunnels.close(server["uuid"])
        self.backend.audit(account, self, server, "close_vnc", "")
        return self.answer("close_vnc", server)

    def open_console(self, account: Account, uuid: str, body: dict) -> dict:
        server = self.find(account, uuid, "OPEN_VNC")
        self.require_running(server, "open_console")
        url = f"csconsole://{self.backend.host}:{random.randrange(40000, 60000)}"
        return self.answer("open_console", server, console_url=url)

    def close_console(self, account: Account, uuid: str, body: dict) -> dict:
        return self.answer("close_console", self.find(account, uuid, "OPEN_VNC"))

    # placement --------------------------------------------------------------
    def running_uuids(self, account: Account, uuids: Iterable[str] | None = None) -> list[str]:
        """The account's servers that are not stopped (of ``uuids`` only, when given)."""
        store = self.store(account)
        wanted = store if uuids is None else [u for u in uuids if u in store]
        return [u for u in wanted if store[u]["status"] != "stopped"]

    @staticmethod
    def hosts_of(account: Account, uuids: Iterable[str]) -> set[int]:
        return {account.placement.get(uuid, 0) for uuid in uuids}

    def availability_groups(self, account: Account) -> list[list[str]]:
        """``/servers/availability_groups/``: running servers grouped by the host they run on."""
        return placement.groups(account.placement, self.running_uuids(account))

    def availability_group(self, account: Account, uuid: str) -> list[str]:
        """The running servers on the host of server ``uuid`` (none while it is stopped)."""
        server = self.find(account, uuid)
        running = self.running_uuids(account)
        if server["uuid"] not in running:
            return []
        return placement.group_of(account.placement, server["uuid"], running)

    # clone ------------------------------------------------------------------
    @query("avoid")
    def clone(self, account: Account, uuid: str, body: dict, *, avoid: str | None = None) -> dict:
        source = self.find(account, uuid, "CLONE")
        name = fields.text(body, "name", None)
        fresh_password = fields.boolean(body, "random_vnc_password", False)
        drives = self.sibling("drives", Drives)
        for attachment in source["drives"]:
            drive = drives.find(account, attachment["drive"]["uuid"])
            if drive["media"] == "disk":
                drives.check_cloneable(drive)
        server_uuid = new_uuid()
        children: list[dict] = []
        attachments = []
        for attachment in source["drives"]:
            drive = drives.find(account, attachment["drive"]["uuid"])
            if drive["media"] == "disk":
                drive = drives.clone_drive(account, drive, {}, children)
                drives.place(account, drive["uuid"], avoid)
            attachments.append(dict(attachment, drive=ref("drives", drive["uuid"]), runtime=None))
        server = dict(
            source,
            uuid=server_uuid,
            resource_uri=self.uri(server_uuid),
            owner=account.owner,
            name=name if name else clone_name(account.profile["clone_naming"], source["name"]),
            status="stopped",
            runtime=None,
            grantees=[],
            permissions=[],
            drives=attachments,
            meta=dict(source["meta"]),
            tags=list(source["tags"]),
            nics=[self.cloned_nic(nic) for nic in source["nics"]],
            vnc_password=secrets.token_urlsafe(6)[:8] if fresh_password else source["vnc_password"],
        )
        job = self.sibling("jobs", Jobs).start(
            account, "server_clone", [source["resource_uri"], server["resource_uri"]], children
        )
        server["jobs"] = [ref("jobs", job["uuid"])]
        self.commit(account, server)
        self.backend.audit(account, self, source, "clone_src", body)
        self.backend.audit(account, self, server, "clone_dst", body)
        return server

    @staticmethod
    def cloned_nic(nic: dict) -> dict:
        conf = nic["ip_v4_conf"]
        if conf is not None and conf["conf"] == "static":
            conf = {"conf": "dhcp", "ip": None}
        return dict(nic, mac=random_mac(), ip_v4_conf=conf, runtime=None)

    # context ----------------------------------------------------------------
    def context(self, account: Account, server: dict) -> dict:
        """The server context the guest reads over its serial port (guide section 9)."""
        hidden = (
            "owner", "status", "runtime", "resource_uri", "jobs", "grantees", "permissions",
            "context", "allocation_pool", "auto_start",
        )  # fmt: skip
        context = {k: v for k, v in server.items() if k not in hidden}
        drives = self.sibling("drives", Drives)
        keys = (
            "uuid",
            "name",
            "media",
            "size",
            "storage_type",
            "meta",
            "tags",
            "allow_multimount",
            "licenses",
            "affinities",
        )
        context["drives"] = []
        for attachment in server["drives"]:
            drive = drives.find(account, attachment["drive"]["uuid"])
            expanded = {k: drive.get(k) for k in keys}
            context["drives"].append(
                dict({k: v for k, v in attachment.items() if k != "runtime"}, drive=expanded)
            )
        context["nics"] = [self.context_nic(account, nic) for nic in server["nics"]]
        context.update(
            global_context=dict(account.global_context),
            mem_perf_threshold=0.0,
            cpu_perf_threshold=0.0,
        )
        return context

    def context_nic(self, account: Account, nic: dict) -> dict:
        entry = {k: v for k, v in nic.items() if k not in ("runtime", "firewall_policy")}
        conf = nic["ip_v4_conf"]
        address = (conf or {}).get("ip") or ((nic["runtime"] or {}).get("ip_v4"))
        if conf is not None and address is not None:
            ip = self.sibling("ips", Ips).store(account).get(address["uuid"], {})
            entry["ip_v4_conf"] = dict(
                conf,
                ip={
                    "uuid": address["uuid"],
                    "netmask": ip.get("netmask", 24),
                    "gateway": ip.get("gateway"),
                    "nameservers": ip.get("nameservers", []),
                    "meta": ip.get("meta", {}),
                    "tags": ip.get("tags", []),
                },
            )
        return entry

"""``servers attach-drive|detach-drive|attach-nic|detach-nic``: edit a server's drives and NICs.

The API attaches and detaches by a PUT of the server's new ``drives`` or ``nics`` list; these
commands build that list from the current one, so nobody writes the JSON by hand. A running
server ignores such changes, so they are refused there instead of silently doing nothing.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.refs import resolve
from cloudsigma.cli.resources import add_reference
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES, CommandFailed

__all__ = ["add_attach_commands", "channel", "free_channel"]

SERVERS, DRIVES = RESOURCES["servers"], RESOURCES["drives"]

#: Controller:unit pairs each device type offers, in the order they are handed out.
CHANNELS = {
    "ide": tuple(f"{controller}:{unit}" for controller in range(2) for unit in range(2)),
    "virtio": tuple(f"{controller}:{unit}" for controller in range(4) for unit in range(6)),
    "scsi": tuple(f"{controller}:{unit}" for controller in range(4) for unit in range(6)),
}
_CHANNEL = re.compile(r"^\d+:\d+$")


def channel(text: str) -> str:
    """An argparse type for ``--channel CONTROLLER:UNIT`` (``0:1``)."""
    if not _CHANNEL.match(text):
        raise argparse.ArgumentTypeError(f"invalid channel {text!r}: use CONTROLLER:UNIT, e.g. 0:1")
    return text


def _uuid_of(value: Any) -> Any:
    return value.get("uuid") if isinstance(value, dict) else value


def free_channel(device: str, drives: list[dict[str, Any]]) -> str:
    """The first channel of ``device`` that no drive of the server uses.

    :raises CommandFailed: when every channel of that device is taken.
    """
    used = {entry.get("dev_channel") for entry in drives if entry.get("device") == device}
    for candidate in CHANNELS[device]:
        if candidate not in used:
            return candidate
    raise CommandFailed(f"every {device} channel of the server is taken; try another --device")


def _stopped_server(session: Session, ref: str) -> dict[str, Any]:
    """The server ``ref`` names, which must be stopped for its drives and NICs to change."""
    server: dict[str, Any] = session.api(SERVERS).get(resolve(session, SERVERS, ref))
    if server.get("status") != "stopped":
        raise CommandFailed(
            f"server {server['uuid']} is {server.get('status')}: the API ignores drive and NIC "
            f"changes on a server that is not stopped; stop it first "
            f"(cloudsigma servers stop {server['uuid']} --wait)"
        )
    return server


def _drive_entries(server: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's drives as the API takes them back (drive uuids, not references)."""
    return [
        {key: entry.get(key) for key in ("boot_order", "dev_channel", "device")}
        | {"drive": _uuid_of(entry.get("drive"))}
        for entry in server.get("drives") or ()
    ]


def _save(session: Session, server: dict[str, Any], changes: dict[str, Any]) -> int:
    updated = session.api(SERVERS).update(server["uuid"], {**server, **changes})
    session.show_object(updated, SERVERS)
    return 0


def _attach_drive(args: argparse.Namespace, session: Session) -> int:
    server = _stopped_server(session, args.server)
    drive_uuid = resolve(session, DRIVES, args.drive)
    drive = session.api(DRIVES).get(drive_uuid)
    entries = _drive_entries(server)
    if any(entry["drive"] == drive_uuid for entry in entries):
        raise CommandFailed(f"drive {drive_uuid} is already attached to server {server['uuid']}")
    device = args.device or ("ide" if drive.get("media") == "cdrom" else "virtio")
    dev_channel = args.channel or free_channel(device, entries)
    taken = [e for e in entries if e["device"] == device and e["dev_channel"] == dev_channel]
    if taken:
        raise CommandFailed(
            f"{device} channel {dev_channel} of server {server['uuid']} holds drive "
            f"{taken[0]['drive']}; choose another --channel"
        )
    boot_order = args.boot_order
    if boot_order is None and not any(entry.get("boot_order") for entry in entries):
        boot_order = 1  # the first bootable drive, or the server cannot boot
    entries.append(
        {
            "boot_order": boot_order,
            "dev_channel": dev_channel,
            "device": device,
            "drive": drive_uuid,
        }
    )
    return _save(session, server, {"drives": entries})


def _detach_drive(args: argparse.Namespace, session: Session) -> int:
    server = _stopped_server(session, args.server)
    drive_uuid = resolve(session, DRIVES, args.drive)
    entries = _drive_entries(server)
    kept = [entry for entry in entries if entry["drive"] != drive_uuid]
    if len(kept) == len(entries):
        raise CommandFailed(f"drive {drive_uuid} is not attached to server {server['uuid']}")
    return _save(session, server, {"drives": kept})


def _nic_entries(server: dict[str, Any]) -> list[dict[str, Any]]:
    """The server's NICs as the API takes them back: matched by MAC, references as uuids."""
    entries = []
    for nic in server.get("nics") or ():
        entry = {key: nic.get(key) for key in ("mac", "model", "boot_order", "vlan")}
        entry["vlan"] = _uuid_of(entry["vlan"])
        conf = nic.get("ip_v4_conf")
        if conf:
            entry["ip_v4_conf"] = {"conf": conf.get("conf"), "ip": _uuid_of(conf.get("ip"))}
        if nic.get("firewall_policy"):
            entry["firewall_policy"] = _uuid_of(nic["firewall_policy"])
        entries.append({key: value for key, value in entry.items() if value is not None})
    return entries


def _new_nic(args: argparse.Namespace, session: Session) -> dict[str, Any]:
    nic: dict[str, Any] = {"model": args.model}
    if args.dhcp:
        nic["ip_v4_conf"] = {"conf": "dhcp"}
    elif args.manual:
        nic["ip_v4_conf"] = {"conf": "manual"}
    elif args.ip:
        nic["ip_v4_conf"] = {"conf": "static", "ip": resolve(session, "ips", args.ip)}
    else:
        nic["vlan"] = resolve(session, "vlans", args.vlan)
    return nic


def _attach_nic(args: argparse.Namespace, session: Session) -> int:
    server = _stopped_server(session, args.server)
    return _save(session, server, {"nics": [*_nic_entries(server), _new_nic(args, session)]})


def _detach_nic(args: argparse.Namespace, session: Session) -> int:
    server = _stopped_server(session, args.server)
    entries = _nic_entries(server)
    kept = [nic for nic in entries if str(nic.get("mac", "")).lower() != args.mac.lower()]
    if len(kept) == len(entries):
        macs = ", ".join(str(nic.get("mac")) for nic in entries) or "none"
        raise CommandFailed(
            f"server {server['uuid']} has no NIC with MAC {args.mac} (its NICs: {macs})"
        )
    return _save(session, server, {"nics": kept})


def add_attach_commands(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``servers attach-drive``, ``detach-drive``, ``attach-nic`` and ``detach-nic``."""
    attach = kit.add(
        verbs,
        "attach-drive",
        "attach a drive to a stopped server",
        _attach_drive,
        description="Attach a drive to a stopped server, on the first free channel of its "
        "device unless --channel says otherwise. The first drive gets boot order 1.",
        examples=(
            "cloudsigma servers attach-drive web data",
            "cloudsigma servers attach-drive web ubuntu-iso --device ide --channel 0:1",
            "cloudsigma servers attach-drive web system --boot-order 1",
        ),
    )
    add_reference(attach, SERVERS, "server")
    add_reference(attach, DRIVES, "drive")
    attach.add_argument("--boot-order", type=int, metavar="N", help="boot from it, in this order")
    attach.add_argument(
        "--channel", type=channel, metavar="C:U", help="controller:unit (default: the first free)"
    )
    attach.add_argument(
        "--device",
        choices=tuple(CHANNELS),
        help="virtio (default for disks), ide (default for cdroms) or scsi",
    )

    detach = kit.add(
        verbs,
        "detach-drive",
        "detach a drive from a stopped server",
        _detach_drive,
        examples=("cloudsigma servers detach-drive web data",),
    )
    add_reference(detach, SERVERS, "server")
    add_reference(detach, DRIVES, "drive")

    nic = kit.add(
        verbs,
        "attach-nic",
        "add a network interface to a stopped server",
        _attach_nic,
        description="Add a NIC: public with DHCP, a static IP of yours, manual "
        "configuration, or private on a VLAN.",
        examples=(
            "cloudsigma servers attach-nic web --dhcp",
            "cloudsigma servers attach-nic web --ip 185.12.6.183",
            "cloudsigma servers attach-nic web --vlan VLAN_UUID --model e1000",
        ),
    )
    add_reference(nic, SERVERS, "server")
    network = nic.add_mutually_exclusive_group(required=True)
    network.add_argument("--dhcp", action="store_true", help="a public IP by DHCP")
    network.add_argument("--manual", action="store_true", help="public, configured in the guest")
    network.add_argument("--ip", metavar="IP", help="this static IP (one of your subscribed IPs)")
    network.add_argument("--vlan", metavar="VLAN", help="private, on this VLAN (its uuid)")
    nic.add_argument("--model", default="virtio", help="virtio (default), e1000, rtl8139")

    drop = kit.add(
        verbs,
        "detach-nic",
        "remove a network interface from a stopped server",
        _detach_nic,
        examples=("cloudsigma servers detach-nic web 22:9f:a5:b1:7b:c2",),
    )
    add_reference(drop, SERVERS, "server")
    drop.add_argument("mac", metavar="MAC", help="the NIC's MAC address (see servers get)")

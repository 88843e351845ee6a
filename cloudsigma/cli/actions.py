"""Action commands: server power, VNC and clone; drive clone, resize and restore; ``wait``."""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass
from typing import Any

from cloudsigma.cli.completion import ObjectNames
from cloudsigma.cli.parsing import ParserKit, add_wait_options, add_wait_timeout
from cloudsigma.cli.refs import resolve
from cloudsigma.cli.resources import add_reference
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES
from cloudsigma.cli.values import size

__all__ = [
    "SERVER_ACTIONS",
    "add_drive_actions",
    "add_server_actions",
    "add_snapshot_actions",
    "add_wait_command",
]

SERVERS, DRIVES, SNAPSHOTS = RESOURCES["servers"], RESOURCES["drives"], RESOURCES["snapshots"]


@dataclass(frozen=True)
class ServerAction:
    """A server action verb, the SDK method behind it and the status it leads to."""

    verb: str
    method: str
    help: str
    settles_in: str | None = None


SERVER_ACTIONS = (
    ServerAction("start", "start", "start a stopped server", "running"),
    ServerAction("stop", "stop", "power a server off at once", "stopped"),
    ServerAction("shutdown", "shutdown", "ask the guest OS to shut down (ACPI)", "stopped"),
    ServerAction("restart", "restart", "restart a running server", "running"),
    ServerAction("open-vnc", "open_vnc", "open the VNC console and print its URL"),
    ServerAction("close-vnc", "close_vnc", "close the VNC console"),
)


def _run_server_action(action: ServerAction, args: argparse.Namespace, session: Session) -> int:
    """Run one server action; with ``--wait``, show the server once it settled."""
    uuid = resolve(session, SERVERS, args.ref)
    servers = session.api(SERVERS)
    result = getattr(servers, action.method)(uuid)
    if getattr(args, "wait", False):
        result = servers.wait_for_status(uuid, action.settles_in, timeout=args.wait_timeout)
        session.show_object(result, SERVERS)
    elif action.method == "open_vnc" and not (session.json_output or session.quiet):
        print(result.get("vnc_url", result))
    else:
        session.show_object(result, SERVERS)
    return 0


def _clone_server(args: argparse.Namespace, session: Session) -> int:
    uuid = resolve(session, SERVERS, args.ref)
    servers = session.api(SERVERS)
    options: dict[str, Any] = {"name": args.name} if args.name else {}
    if args.random_vnc_password:
        options["random_vnc_password"] = True
    clone = servers.clone(uuid, options)
    if args.wait:
        clone = servers.wait_for_status(clone["uuid"], "stopped", timeout=args.wait_timeout)
    session.show_object(clone, SERVERS)
    return 0


def add_server_actions(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``servers start|stop|shutdown|restart|open-vnc|close-vnc|clone SERVER``."""
    for action in SERVER_ACTIONS:
        example = f"cloudsigma servers {action.verb} web"
        parser = kit.add(
            verbs,
            action.verb,
            action.help,
            functools.partial(_run_server_action, action),
            examples=(example + (" --wait --wait-timeout 120" if action.settles_in else ""),),
        )
        add_reference(parser, SERVERS)
        if action.settles_in:
            add_wait_options(parser, f"the server is {action.settles_in}")
    clone = kit.add(
        verbs,
        "clone",
        "copy a server with its disks (cdroms are shared, not copied)",
        _clone_server,
        examples=("cloudsigma servers clone web --name web2 --random-vnc-password --wait",),
    )
    add_reference(clone, SERVERS)
    clone.add_argument("--name", help="name of the copy (default: the API's clone naming)")
    clone.add_argument(
        "--random-vnc-password", action="store_true", help="give the copy a new VNC password"
    )
    add_wait_options(clone, "the copy is stopped (its disks copied)")


def _show_new_drive(args: argparse.Namespace, session: Session, drive: dict[str, Any]) -> int:
    if args.wait:
        drive = session.api(DRIVES).wait_for_status(
            drive["uuid"], "unmounted", timeout=args.wait_timeout
        )
    session.show_object(drive, DRIVES)
    return 0


def _copy_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        key: value
        for key, value in (
            ("name", args.name),
            ("media", args.media),
            ("storage_type", getattr(args, "storage_type", None)),
        )
        if value is not None
    }


def _clone_drive(args: argparse.Namespace, session: Session) -> int:
    uuid = resolve(session, DRIVES, args.ref)
    return _show_new_drive(args, session, session.api(DRIVES).clone(uuid, _copy_options(args)))


def _clone_snapshot(args: argparse.Namespace, session: Session) -> int:
    uuid = resolve(session, SNAPSHOTS, args.ref)
    drive = session.api(SNAPSHOTS).clone(uuid, _copy_options(args))
    return _show_new_drive(args, session, drive)


def _resize_drive(args: argparse.Namespace, session: Session) -> int:
    uuid = resolve(session, DRIVES, args.ref)
    drives = session.api(DRIVES)
    drive: dict[str, Any] = drives.get(uuid)
    steady_status = drive.get("status")
    # the resize action takes the full definition, not only the size
    drive["size"] = args.size
    resized = drives.resize(uuid, drive)
    if args.wait:
        resized = drives.wait_for_status(uuid, steady_status, timeout=args.wait_timeout)
    session.show_object(resized, DRIVES)
    return 0


def _add_copy_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--name", help=f"name of the new drive (default: {what})")
    parser.add_argument("--media", choices=("disk", "cdrom"), help="media of the new drive")
    add_wait_options(parser, "the new drive is unmounted")


def add_drive_actions(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``drives clone DRIVE``, ``drives resize DRIVE SIZE`` and ``restore-from SNAPSHOT``."""
    clone = kit.add(
        verbs,
        "clone",
        "copy a drive",
        _clone_drive,
        description="Copy a drive into a new one (the API names it when --name is not given).",
        examples=("cloudsigma drives clone data --name copy --wait",),
    )
    add_reference(clone, DRIVES)
    _add_copy_options(clone, "the API's clone naming")
    clone.add_argument("--storage-type", help="storage type of the copy (default: the source's)")

    resize = kit.add(
        verbs,
        "resize",
        "grow a drive",
        _resize_drive,
        description="Resize a drive that is not on a running server.",
        examples=("cloudsigma drives resize data 20G --wait",),
    )
    add_reference(resize, DRIVES)
    resize.add_argument("size", type=size, metavar="SIZE", help="new size: bytes, 20G, 512M")
    add_wait_options(resize, "the resize is over")

    restore = kit.add(
        verbs,
        "restore-from",
        "make a new drive from a snapshot",
        _clone_snapshot,
        description="Restore a snapshot into a new drive (the API keeps the original drive; "
        "swap it on a server with 'servers detach-drive' and 'servers attach-drive').",
        examples=("cloudsigma drives restore-from nightly --name data-restored --wait",),
    )
    add_reference(restore, SNAPSHOTS)
    _add_copy_options(restore, "the snapshot's name")


def add_snapshot_actions(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``snapshots clone SNAPSHOT``."""
    clone = kit.add(
        verbs,
        "clone",
        "make a new drive from a snapshot",
        _clone_snapshot,
        examples=("cloudsigma snapshots clone nightly --name restored --wait",),
    )
    add_reference(clone, SNAPSHOTS)
    _add_copy_options(clone, "the snapshot's name")


def _wait(args: argparse.Namespace, session: Session) -> int:
    spec = RESOURCES[args.resource]
    key = resolve(session, spec, args.ref)
    api = session.api(spec)
    if args.status == "deleted":
        api.wait_deleted(key, timeout=args.wait_timeout)
        session.say(f"{spec.singular} {key} is deleted", {spec.key: key, "deleted": True})
        return 0
    session.show_object(api.wait_for_status(key, args.status, timeout=args.wait_timeout), spec)
    return 0


#: Collections whose objects move through statuses.
WAITABLE = ("drives", "servers", "snapshots", "subscriptions", "vpc", "nodes")


def add_wait_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``wait COLLECTION OBJECT STATUS``."""
    parser = kit.add(
        commands,
        "wait",
        "wait until an object reaches a status",
        _wait,
        description="Wait until an object reaches STATUS, then show it; "
        "STATUS 'deleted' waits until it is gone.",
        examples=(
            "cloudsigma wait servers web running --wait-timeout 120",
            "cloudsigma wait drives data unmounted",
            "cloudsigma wait drives data deleted",
        ),
    )
    parser.add_argument(
        "resource", choices=WAITABLE, metavar="COLLECTION", help=", ".join(WAITABLE)
    )
    ref = parser.add_argument("ref", metavar="OBJECT", help="its uuid or name")
    ref.completer = ObjectNames(None, from_argument="resource")  # type: ignore[attr-defined]
    parser.add_argument("status", metavar="STATUS", help="e.g. running, stopped, unmounted")
    add_wait_timeout(parser, "give up after this long (default: %(default)s)")

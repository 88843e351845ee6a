"""Action commands: server power and VNC, drive clone and resize, and ``wait``."""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass
from typing import Any

from cloudsigma.cli.parsing import ParserKit, add_wait_options
from cloudsigma.cli.resources import RESOURCES
from cloudsigma.cli.session import Session
from cloudsigma.cli.values import size

__all__ = ["SERVER_ACTIONS", "add_drive_actions", "add_server_actions", "add_wait_command"]


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
    servers = session.resource("Server")
    result = getattr(servers, action.method)(args.uuid)
    if getattr(args, "wait", False):
        result = servers.wait_for_status(args.uuid, action.settles_in, timeout=args.wait_timeout)
        session.show(result)
    elif action.method == "open_vnc" and not session.json_output:
        print(result.get("vnc_url", result))
    else:
        session.show(result)
    return 0


def add_server_actions(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``servers start|stop|shutdown|restart|open-vnc|close-vnc UUID``."""
    for action in SERVER_ACTIONS:
        example = f"cloudsigma servers {action.verb} UUID"
        parser = kit.add(
            verbs,
            action.verb,
            action.help,
            functools.partial(_run_server_action, action),
            examples=(example + (" --wait --timeout 120" if action.settles_in else ""),),
        )
        parser.add_argument("uuid", metavar="UUID")
        if action.settles_in:
            add_wait_options(parser, f"the server is {action.settles_in}")


def _clone_drive(args: argparse.Namespace, session: Session) -> int:
    drives = session.resource("Drive")
    options = {
        key: value
        for key, value in (
            ("name", args.name),
            ("media", args.media),
            ("storage_type", args.storage_type),
        )
        if value is not None
    }
    clone = drives.clone(args.uuid, options)
    if args.wait:
        clone = drives.wait_for_status(clone["uuid"], "unmounted", timeout=args.wait_timeout)
    session.show(clone)
    return 0


def _resize_drive(args: argparse.Namespace, session: Session) -> int:
    drives = session.resource("Drive")
    drive: dict[str, Any] = drives.get(args.uuid)
    steady_status = drive.get("status")
    # the resize action takes the full definition, not only the size
    drive["size"] = args.size
    resized = drives.resize(args.uuid, drive)
    if args.wait:
        resized = drives.wait_for_status(args.uuid, steady_status, timeout=args.wait_timeout)
    session.show(resized)
    return 0


def add_drive_actions(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``drives clone UUID`` and ``drives resize UUID SIZE``."""
    clone = kit.add(
        verbs,
        "clone",
        "copy a drive",
        _clone_drive,
        description="Copy a drive into a new one (the API names it when --name is not given).",
        examples=("cloudsigma drives clone UUID --name copy --wait",),
    )
    clone.add_argument("uuid", metavar="UUID")
    clone.add_argument("--name", help="name of the copy")
    clone.add_argument("--media", choices=("disk", "cdrom"), help="media of the copy")
    clone.add_argument("--storage-type", help="storage type of the copy (default: the source's)")
    add_wait_options(clone, "the copy is unmounted")

    resize = kit.add(
        verbs,
        "resize",
        "grow a drive",
        _resize_drive,
        description="Resize a drive that is not on a running server.",
        examples=("cloudsigma drives resize UUID 20G --wait",),
    )
    resize.add_argument("uuid", metavar="UUID")
    resize.add_argument("size", type=size, metavar="SIZE", help="new size: bytes, 20G, 512M")
    add_wait_options(resize, "the resize is over")


def _wait(args: argparse.Namespace, session: Session) -> int:
    spec = RESOURCES[args.resource]
    api = session.resource(spec.class_name)
    if args.status == "deleted":
        api.wait_deleted(args.uuid, timeout=args.wait_timeout)
        if session.json_output:
            session.show({spec.key: args.uuid, "deleted": True})
        else:
            print(f"{spec.singular} {args.uuid} is deleted")
        return 0
    session.show(api.wait_for_status(args.uuid, args.status, timeout=args.wait_timeout))
    return 0


def add_wait_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``wait RESOURCE UUID STATUS``."""
    parser = kit.add(
        commands,
        "wait",
        "wait until an object reaches a status",
        _wait,
        description="Wait until an object reaches STATUS, then show it; "
        "STATUS 'deleted' waits until it is gone.",
        examples=(
            "cloudsigma wait servers UUID running --timeout 120",
            "cloudsigma wait drives UUID unmounted",
            "cloudsigma wait drives UUID deleted",
        ),
    )
    parser.add_argument("resource", choices=[n for n in RESOURCES if n != "libdrives"])
    parser.add_argument("uuid", metavar="UUID")
    parser.add_argument("status", metavar="STATUS", help="e.g. running, stopped, unmounted")
    parser.add_argument(
        "--timeout",
        dest="wait_timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="give up after this long (default: %(default)s)",
    )

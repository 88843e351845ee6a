"""Action commands: server power and VNC, drive clone and resize, and ``wait``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from cloudsigma.cli.resources import RESOURCES, add_wait_options
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


def add_server_actions(verbs: argparse._SubParsersAction, common, formatter) -> None:
    """Add ``servers start|stop|shutdown|restart|open-vnc|close-vnc UUID``."""
    for action in SERVER_ACTIONS:
        parser = verbs.add_parser(
            action.verb,
            help=action.help,
            description=action.help[0].upper() + action.help[1:] + ".",
            parents=[common],
            formatter_class=formatter,
            epilog=f"example:\n  cloudsigma servers {action.verb} UUID"
            + (" --wait --timeout 120" if action.settles_in else ""),
        )
        parser.add_argument("uuid", metavar="UUID")
        if action.settles_in:
            add_wait_options(parser, f"the server is {action.settles_in}")
        parser.set_defaults(
            handler=lambda args, session, action=action: _run_server_action(action, args, session)
        )


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


def add_drive_actions(verbs: argparse._SubParsersAction, common, formatter) -> None:
    """Add ``drives clone UUID`` and ``drives resize UUID SIZE``."""
    clone = verbs.add_parser(
        "clone",
        help="copy a drive",
        description="Copy a drive into a new one (the name defaults to the API's choice).",
        parents=[common],
        formatter_class=formatter,
        epilog="example:\n  cloudsigma drives clone UUID --name copy --wait",
    )
    clone.add_argument("uuid", metavar="UUID")
    clone.add_argument("--name", help="name of the copy")
    clone.add_argument("--media", choices=("disk", "cdrom"), help="media of the copy")
    clone.add_argument("--storage-type", help="storage type of the copy (default: the source's)")
    add_wait_options(clone, "the copy is unmounted")
    clone.set_defaults(handler=_clone_drive)

    resize = verbs.add_parser(
        "resize",
        help="grow a drive",
        description="Resize a drive that is not on a running server.",
        parents=[common],
        formatter_class=formatter,
        epilog="example:\n  cloudsigma drives resize UUID 20G --wait",
    )
    resize.add_argument("uuid", metavar="UUID")
    resize.add_argument("size", type=size, metavar="SIZE", help="new size: bytes, 20G, 512M")
    add_wait_options(resize, "the resize is over")
    resize.set_defaults(handler=_resize_drive)


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


def add_wait_command(commands: argparse._SubParsersAction, common, formatter) -> None:
    """Add ``wait RESOURCE UUID STATUS``."""
    parser = commands.add_parser(
        "wait",
        help="wait until an object reaches a status",
        description="Wait until an object reaches STATUS, then show it; "
        "STATUS 'deleted' waits until it is gone.",
        parents=[common],
        formatter_class=formatter,
        epilog="examples:\n  cloudsigma wait servers UUID running --timeout 120\n"
        "  cloudsigma wait drives UUID unmounted\n  cloudsigma wait drives UUID deleted",
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
    parser.set_defaults(handler=_wait)

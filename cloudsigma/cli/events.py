"""``cloudsigma events``: print the account's websocket events, one line each, as they come."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from typing import Any

from cloudsigma.cli.parsing import ParserKit, positive
from cloudsigma.cli.session import Session

__all__ = ["add_events_command", "describe_event"]

#: How long one wait for a frame lasts when no --wait-timeout is given; the loop just waits again.
_IDLE_WAIT = 3600.0
#: Seconds allowed for opening the websocket, unless --timeout is given.
_CONNECT_TIMEOUT = 10.0
#: Width of the type column: the longest resource type the API sends ("subscriptions").
_TYPE_WIDTH = 13


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def describe_event(event: dict[str, Any], received: str, colour: Any = None) -> str:
    """One aligned line: time received, resource type, URI and, when the frame has it, status."""
    resource_type = str(event.get("resource_type", "?"))
    parts = [received, resource_type.ljust(_TYPE_WIDTH), str(event.get("resource_uri", "-"))]
    obj = event.get("object")
    if isinstance(obj, dict) and obj.get("status"):
        status = str(obj["status"])
        parts.append(colour(status) if colour else status)
    return "  ".join(parts)


def _print_event(event: Any, session: Session) -> None:
    received = _now()
    if session.output == "yaml":
        from cloudsigma.cli.output import print_yaml

        sys.stdout.write("---\n")
        print_yaml({"received": received, "event": event})
    elif session.json_output or not isinstance(event, dict):
        print(json.dumps(event, separators=(",", ":")))
    else:
        print(describe_event(event, received, session.style.status))
    sys.stdout.flush()


def _listen(args: argparse.Namespace, session: Session) -> int:
    from cloudsigma import resource

    deadline = None if args.wait_timeout is None else time.monotonic() + args.wait_timeout
    client_kwargs = session.client_kwargs()
    # the websocket's own ``timeout`` is for connecting and waiting; --timeout sets it, as it
    # sets the HTTP timeout of every other command
    connect_timeout = client_kwargs.pop("timeout", None) or _CONNECT_TIMEOUT
    with resource.Websocket(timeout=connect_timeout, reconnect=True, **client_kwargs) as websocket:
        print("listening for events (Ctrl-C to stop)", file=sys.stderr, flush=True)
        seen = _print_events(websocket, args.count, deadline, session)
    if args.count is not None and seen < args.count:
        print(
            f"cloudsigma: error: no more events within --wait-timeout {args.wait_timeout:g} s "
            f"({seen} of {args.count})",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_events(
    websocket: Any, count: int | None, deadline: float | None, session: Session
) -> int:
    """Print events until ``count`` of them came or ``deadline`` passed; returns how many came."""
    from cloudsigma import resource

    seen = 0
    while count is None or seen < count:
        remaining = _IDLE_WAIT if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            frames = websocket.wait(timeout=remaining)
        except resource.WebsocketTimeoutError:
            continue
        for frame in frames:
            _print_event(frame, session)
            seen += 1
    return seen


def add_events_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``events [--count N] [--wait-timeout SECONDS]``."""
    parser = kit.add(
        commands,
        "events",
        "print websocket events (changes to drives, servers...) as they happen",
        _listen,
        description="Print one line per websocket event: the time it came (UTC), resource "
        "type, resource URI and, when the event carries it, the new status. With -o json each "
        "line is the frame's JSON; with -o yaml each event is a YAML document.",
        examples=(
            "cloudsigma events",
            "cloudsigma events -o json --count 1 --wait-timeout 60",
        ),
    )
    parser.add_argument("--count", type=positive(int), metavar="N", help="stop after N events")
    parser.add_argument(
        "--wait-timeout",
        dest="wait_timeout",
        type=positive(float),
        metavar="SECONDS",
        help="stop after this long (an error if --count events did not come)",
    )

"""``cloudsigma events``: print the account's websocket events, one line each, as they come."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.session import Session

__all__ = ["add_events_command", "describe_event"]

#: How long one wait for a frame lasts when no --timeout is given; the loop just waits again.
_IDLE_WAIT = 3600.0
#: Seconds allowed for opening the websocket, unless --timeout is given before the command.
_CONNECT_TIMEOUT = 10.0


def describe_event(event: dict[str, Any]) -> str:
    """One line for an event: type, URI and, when the frame carries the object, its status."""
    parts = [str(event.get("resource_type", "?")), str(event.get("resource_uri", "-"))]
    obj = event.get("object")
    if isinstance(obj, dict) and obj.get("status"):
        parts.append(str(obj["status"]))
    return "  ".join(parts)


def _print_event(event: Any, as_json: bool) -> None:
    if as_json or not isinstance(event, dict):
        print(json.dumps(event, separators=(",", ":")), flush=True)
    else:
        print(describe_event(event), flush=True)


def _listen(args: argparse.Namespace, session: Session) -> int:
    from cloudsigma import resource

    deadline = None if args.events_timeout is None else time.monotonic() + args.events_timeout
    client_kwargs = session.client_kwargs()
    # Websocket's own ``timeout`` is for connecting and waiting; --timeout before the command
    # sets it, as it sets the HTTP timeout of every other command
    connect_timeout = client_kwargs.pop("timeout", None) or _CONNECT_TIMEOUT
    with resource.Websocket(timeout=connect_timeout, reconnect=True, **client_kwargs) as websocket:
        print("listening for events (Ctrl-C to stop)", file=sys.stderr, flush=True)
        seen = _print_events(websocket, args.count, deadline, session.json_output)
    if args.count is not None and seen < args.count:
        print(
            f"cloudsigma: error: timed out after {args.events_timeout:g}s "
            f"with {seen} of {args.count} events",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_events(websocket: Any, count: int | None, deadline: float | None, as_json: bool) -> int:
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
            _print_event(frame, as_json)
            seen += 1
    return seen


def _positive(cast):
    def parse(text: str):
        value = cast(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    parse.__name__ = cast.__name__
    return parse


def add_events_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``events [--count N] [--timeout SECONDS]``."""
    parser = kit.add(
        commands,
        "events",
        "print websocket events (changes to drives, servers...) as they happen",
        _listen,
        description="Print one line per websocket event: resource type, resource URI and, "
        "when the event carries it, the new status. With --json each line is the frame's JSON.",
        examples=("cloudsigma events", "cloudsigma --json events --count 1 --timeout 60"),
    )
    parser.add_argument("--count", type=_positive(int), metavar="N", help="stop after N events")
    parser.add_argument(
        "--timeout",
        dest="events_timeout",
        type=_positive(float),
        metavar="SECONDS",
        help="stop after this long (an error if --count events did not come)",
    )

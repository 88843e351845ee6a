#!/usr/bin/env python3
"""Print every websocket event of your account and the object it points to.

Each event names a ``resource_uri``; the script GETs it and prints the object, or
``deleted`` when the API answers 404 (the event was the object's deletion).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import cloudsigma


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, metavar="N", help="stop after N events (default: never)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop listening after this many seconds (default: never)",
    )
    parser.add_argument(
        "--fields",
        default="name,status",
        help="comma-separated fields of the object to print, or 'all' (default: name,status)",
    )
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 1:
        parser.error("--count must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def describe_object(
    reader: cloudsigma.resource.ResourceBase, resource_uri: str, fields: str
) -> str:
    """The object behind ``resource_uri`` as JSON, or ``deleted`` if it is gone (404).

    :param reader: any resource; its client GETs the URI.
    """
    try:
        found = reader.get_from_url(resource_uri)
    except cloudsigma.errors.ApiClientError as exc:
        if exc.status_code == 404:
            return "deleted"
        return f"cannot be read: {exc}"
    if fields != "all" and isinstance(found, dict):
        wanted = [field.strip() for field in fields.split(",") if field.strip()]
        found = {field: found[field] for field in wanted if field in found}
    return json.dumps(found, sort_keys=True)


def listen(
    websocket: cloudsigma.resource.Websocket, count: int | None, deadline: float | None, fields: str
) -> int:
    """Print events until ``count`` were seen or ``deadline`` passed; return how many."""
    reader = cloudsigma.resource.ResourceBase()
    seen = 0
    while count is None or seen < count:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            break
        try:
            events = websocket.wait(timeout=remaining if remaining is not None else 3600)
        except (cloudsigma.resource.WebsocketTimeoutError, cloudsigma.errors.WaitTimeoutError):
            continue
        for event in events:
            print_event(reader, event, fields)
            seen += 1
    return seen


def print_event(reader: cloudsigma.resource.ResourceBase, event: dict, fields: str) -> None:
    """Print one event: its type, its URI and the object there (or ``deleted``)."""
    resource_uri = event.get("resource_uri")
    resource_type = event.get("resource_type", "?")
    shown = describe_object(reader, resource_uri, fields) if resource_uri else json.dumps(event)
    print(f"{resource_type} {resource_uri}: {shown}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    with cloudsigma.resource.Websocket(reconnect=True) as websocket:
        print("listening for events (Ctrl-C to stop)", flush=True)
        seen = listen(websocket, args.count, deadline, args.fields)
    if args.count is not None and seen < args.count:
        print(
            f"timed out after {args.timeout:g}s: saw {seen} of {args.count} events", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cloudsigma.errors.ApiClientError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(0)

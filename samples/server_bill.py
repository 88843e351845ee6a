#!/usr/bin/env python3
"""Show what each server cost over a period, from the ledger and the usage records.

The ledger says what was charged for each resource (``cpu``, ``mem``, ``dssd``...) at each
5-minute poll; ``/usage/`` says which server or drive used how much of it at that poll. Each
charge is split between the objects in proportion to their use, drives count for the server
they are attached to, and the shares are summed by server. Drives on no server and servers
deleted since are summed as "(no current server)"; charges that no usage record explains
(subscriptions, IPs, licences...) are shown on a separate line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import cloudsigma

#: Ledger reasons read like "Burst: 4.50 GB of dssd for 5 minutes at 2014-06-05 09:06".
REASON_RESOURCE = re.compile(r"\bof (?P<resource>[\w.-]+) for\b")
NOT_ATTRIBUTED = "(not attributed to a server)"
UNATTACHED = "(no current server)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=float, default=30, help="the period: the last N days (default: 30)"
    )
    parser.add_argument(
        "--start", type=parse_moment, help="period start (ISO date), overrides --days"
    )
    parser.add_argument("--end", type=parse_moment, help="period end (ISO date; default: now)")
    args = parser.parse_args(argv)
    args.end = args.end or datetime.now(timezone.utc)
    args.start = args.start or args.end - timedelta(days=args.days)
    if args.start >= args.end:
        parser.error("the period start must come before its end")
    return args


def parse_moment(text: str) -> datetime:
    """An ISO date or time as the API writes them; naive values are UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Usage(cloudsigma.resource.ResourceBase):
    """``/usage/``: what each server and drive used at each poll."""

    resource_name = "usage"


def fetch_records(start: datetime, end: datetime) -> tuple[list[dict], list[dict]]:
    """The ledger entries and usage samples polled inside ``[start, end)``."""
    window = {"poll_time_gt": start.isoformat(), "poll_time_lt": end.isoformat()}
    usage = [u for u in Usage().list(window) if start <= parse_moment(u["poll_time"]) < end]
    # a charge is booked (``time``) shortly after the poll it bills (``poll_time``)
    booked = {"time__gt": start.isoformat(), "time__lt": (end + timedelta(days=1)).isoformat()}
    ledger = [
        entry
        for entry in cloudsigma.resource.Ledger().list(booked)
        if entry.get("poll_time") and start <= parse_moment(entry["poll_time"]) < end
    ]
    return ledger, usage


def charged_resource(entry: dict) -> str | None:
    """The resource a ledger entry charges for, read from its ``reason``."""
    found = REASON_RESOURCE.search(entry.get("reason") or "")
    return found["resource"] if found else None


def same_resource(charged: str, used: str) -> bool:
    """Whether a usage ``resource`` counts for a charged one (``intel_cpu`` counts for ``cpu``)."""
    return used == charged or used.endswith("_" + charged) or charged.endswith("_" + used)


def split_charges(ledger: Iterable[dict], usage: list[dict]) -> dict[str, Decimal]:
    """Each ledger amount shared among the objects that used its resource at its poll."""
    by_poll: dict[datetime, list[dict]] = defaultdict(list)
    for sample in usage:
        by_poll[parse_moment(sample["poll_time"])].append(sample)
    costs: dict[str, Decimal] = defaultdict(Decimal)
    for entry in ledger:
        amount, resource = Decimal(entry["amount"]), charged_resource(entry)
        users = [
            s
            for s in by_poll.get(parse_moment(entry["poll_time"]), ())
            if resource and same_resource(resource, s["resource"]) and Decimal(s["amount"]) > 0
        ]
        total_used = sum((Decimal(s["amount"]) for s in users), Decimal(0))
        if not users:
            costs[NOT_ATTRIBUTED] += amount
            continue
        for sample in users:
            costs[sample["uuid"]] += amount * Decimal(sample["amount"]) / total_used
    return costs


def server_of_each_object(servers: list[dict]) -> dict[str, str]:
    """Map each server uuid to itself and each attached drive's uuid to its server."""
    owner = {}
    for server in servers:
        owner[server["uuid"]] = server["uuid"]
        for attachment in server.get("drives") or ():
            drive = attachment.get("drive")
            owner[drive["uuid"] if isinstance(drive, dict) else drive] = server["uuid"]
    return owner


def costs_by_server(costs: dict[str, Decimal], servers: list[dict]) -> dict[str, Decimal]:
    """Sum the per-object ``costs`` by the server each object is (or is attached to)."""
    owner = server_of_each_object(servers)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for uuid, amount in costs.items():
        totals[owner.get(uuid, NOT_ATTRIBUTED if uuid == NOT_ATTRIBUTED else UNATTACHED)] += amount
    return totals


def print_table(totals: dict[str, Decimal], servers: list[dict], currency: str) -> None:
    """Print one row per server, dearest first, the catch-all rows, then the total."""
    names = {server["uuid"]: server["name"] for server in servers}
    rank = {UNATTACHED: 1, NOT_ATTRIBUTED: 2}
    rows = sorted(totals.items(), key=lambda row: (rank.get(row[0], 0), -row[1]))
    print(f"{'SERVER':36}  {'NAME':30}  {'COST ' + currency:>14}")
    for uuid, amount in rows:
        print(f"{uuid:36}  {names.get(uuid, '')[:30]:30}  {amount:>14.4f}")
    print(f"{'TOTAL':36}  {'':30}  {sum(totals.values(), Decimal(0)):>14.4f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ledger, usage = fetch_records(args.start, args.end)
    servers = cloudsigma.resource.Server().list_detail()
    currency = cloudsigma.resource.Balance().get().get("currency", "")
    print(f"costs from {args.start:%Y-%m-%d %H:%M} to {args.end:%Y-%m-%d %H:%M} UTC")
    print_table(costs_by_server(split_charges(ledger, usage), servers), servers, currency)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cloudsigma.errors.ApiClientError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)

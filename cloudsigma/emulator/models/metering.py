"""Burst billing over emulated time (``backend.clock``).

What an account uses beyond what it subscribed is burst. Every five minutes of emulated time
(a billing cycle, aligned to the clock) the burst of the cycle is billed into the ledger at
the current burst level's price, the usage of the account is polled for ``/usage/``, and a
burst record is kept for ``/burstusage/`` and ``/dailyburstusage/``. Usage is remembered as
pieces of constant use between the moments the backend settles an account, which it does
before every change (a request, a status change, the clock moving), so nothing is guessed.
The use is computed again only when something may have changed it since: a settle before a
request that changes nothing (a GET) reuses it and lengthens the last piece, so reading one
object costs the same in an account of ten drives or of ten thousand.

Consecutive whole cycles of one resource with the same burst, settled together and on the
same UTC day, make one ledger entry: moving the clock by days costs a few entries, not
thousands. Cycles settled one by one (the clock following real time) get one entry each.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .kernel import Account, iso, new_uuid
from .pricing import BURST_RESOURCE, GIB, PriceList, as_text

CYCLE = 300
DAY = 86400
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
#: Server statuses that use cpu and memory: from the moment a start is accepted until the
#: server has stopped (the live API counts a server as soon as it is ``starting``).
POWERED = ("starting", "running", "stopping")
#: The usage keys a subscription counts for: ``cpu``/``mem`` ones are the AMD pool (the
#: recorded answer shows them under both names), ``intel_*`` ones count in the totals too.
SUBSCRIPTION_COVERS = {
    "cpu": ("cpu", "amd_cpu"),
    "mem": ("mem", "amd_mem"),
    "intel_cpu": ("intel_cpu", "cpu"),
    "intel_mem": ("intel_mem", "mem"),
}
Sample = tuple[str, str, int]


def usage_of(account: Account) -> list[Sample]:
    """``(uuid, resource, amount)`` of everything the account uses now.

    Powered servers use ``<cpu_type>_cpu`` (MHz) and ``<cpu_type>_mem`` (bytes); drives use
    their storage type (bytes), ephemeral ones only while a powered server has them attached;
    VPCs and dedicated hosts count one each.
    """
    used = []
    powered = {
        uuid: server
        for uuid, server in account.objects["servers"].items()
        if server["status"] in POWERED
    }
    for server in powered.values():
        used.append((server["uuid"], f"{server['cpu_type']}_cpu", server["cpu"]))
        used.append((server["uuid"], f"{server['cpu_type']}_mem", server["mem"]))
    for drive in account.objects["drives"].values():
        on_powered = any(mount["uuid"] in powered for mount in drive["mounted_on"])
        if drive["runtime"].get("is_ephemeral") and not on_powered:
            continue
        used.append((drive["uuid"], drive["storage_type"], drive["size"]))
    used.extend((vpc["uuid"], "vpc", 1) for vpc in account.objects["vpc"].values())
    used.extend((node["uuid"], node["resource"], 1) for node in account.objects["nodes"].values())
    return used


def totals(samples: list[Sample]) -> dict[str, int]:
    using: dict[str, int] = {}
    for _uuid, key, amount in samples:
        using[key] = using.get(key, 0) + amount
    return using


def floor_cycle(moment: datetime.datetime) -> datetime.datetime:
    seconds = (moment - EPOCH).total_seconds()
    return EPOCH + datetime.timedelta(seconds=math.floor(seconds / CYCLE) * CYCLE)


def human_interval(seconds: float) -> str:
    """``"5 minutes"``, ``"2 hours"``, ``"1 day"`` (the largest whole unit, rounded down)."""
    for unit, size in (("day", DAY), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} seconds"


def quantity(resource: str, amount: int) -> str:
    """A burst amount as the ledger words it: ``12.00 GHz``, ``4.50 GB``, or a count."""
    if resource.startswith(("cpu", "intel_cpu")):
        return f"{amount / 1000:.2f} GHz"
    if resource in ("ip", "vlan", "vpc", "sms") or resource.startswith("dedicated_"):
        return str(amount)
    return f"{amount / GIB:.2f} GB"


@dataclass
class Piece:
    """A stretch of time in which the account's use did not change."""

    start: datetime.datetime
    end: datetime.datetime
    samples: tuple[Sample, ...]

    @property
    def using(self) -> dict[str, int]:
        return totals(list(self.samples))


@dataclass
class PollRun:
    """Polls every cycle from ``first`` on, ``count`` of them, all with the same samples."""

    first: datetime.datetime
    count: int
    samples: tuple[Sample, ...]


@dataclass
class Charge:
    """Burst of one resource to bill: ``burst`` units during ``seconds`` from ``start``."""

    key: str
    start: datetime.datetime
    seconds: float
    burst: int
    whole: bool


@dataclass
class Meter:
    """The billing state of one account."""

    marked: datetime.datetime | None = None
    billed: datetime.datetime | None = None
    pieces: list[Piece] = field(default_factory=list)
    polls: list[PollRun] = field(default_factory=list)
    bursts: list[dict] = field(default_factory=list)
    #: The account's use as last computed (from ``usage_of``), and whether it still is.
    samples: tuple[Sample, ...] = ()
    samples_current: bool = False
    #: (UTC day, resource) -> [burst x seconds, cost] for /dailyburstusage/.
    daily: dict[tuple[str, str], list[Fraction]] = field(default_factory=dict)


def meter_of(account: Account) -> Meter:
    meter = getattr(account, "meter", None)
    if meter is None:
        meter = account.meter = Meter()  # type: ignore[attr-defined]
    return meter


class Metering:
    """Settles accounts: records their use, bills their burst and polls their usage."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.prices = PriceList(backend.seed["licenses"])

    # what the account has ----------------------------------------------------------
    def level(self, resource: str) -> int:
        return int(self.backend.seed["pricing"]["current"].get(resource, 1))

    def coverage(
        self, account: Account
    ) -> list[tuple[datetime.datetime, datetime.datetime, str, int]]:
        """``(start, end, usage key, amount)`` of every subscription of the account."""
        covered = []
        for sub in account.objects["subscriptions"].values():
            start = datetime.datetime.fromisoformat(sub["start_time"])
            end = datetime.datetime.fromisoformat(sub["end_time"])
            for key in SUBSCRIPTION_COVERS.get(sub["resource"], (sub["resource"],)):
                covered.append((start, end, key, int(sub["amount"])))
        return covered

    @staticmethod
    def subscribed_at(coverage: list, moment: datetime.datetime) -> dict[str, int]:
        subscribed: dict[str, int] = {}
        for start, end, key, amount in coverage:
            if start <= moment < end:
                subscribed[key] = subscribed.get(key, 0) + amount
        return subscribed

    def bursts(self, using: dict[str, int], subscribed: dict[str, int]) -> dict[str, int]:
        """The billable burst per usage key."""
        return {
            key: amount - subscribed.get(key, 0)
            for key, amount in using.items()
            if key in BURST_RESOURCE and amount > subscribed.get(key, 0)
        }

    def burst_cost(self, account: Account, bursts: dict[str, int], seconds: float) -> Fraction:
        currency = account.balance["currency"]
        return sum(
            (
                self.prices.cost(
                    BURST_RESOURCE[key],
                    amount,
                    seconds,
                    currency,
                    self.level(BURST_RESOURCE[key]),
                )
                for key, amount in bursts.items()
            ),
            Fraction(0),
        )

    def projected_burst(self, account: Account, extra: list[Sample], seconds: float) -> Fraction:
        """What the account's burst would cost over ``seconds`` with ``extra`` use added."""
        using = totals(usage_of(account) + extra)
        subscribed = self.subscribed_at(self.coverage(account), self.backend.clock.now())
        return self.burst_cost(account, self.bursts(using, subscribed), seconds)

    # settling ----------------------------------------------------------------------
    def settle(
        self, account: Account, now: datetime.datetime | None = None, changes: bool = True
    ) -> None:
        """Record the account's use up to ``now`` and bill every cycle that has ended.

        :param changes: whether what follows may change the account's use (False for a
            request that only reads, or the clock moving): if not, the next settle reuses it.
        """
        now = now or self.backend.clock.now()
        meter = meter_of(account)
        if meter.marked is None:
            meter.marked = meter.billed = now
        elif now > meter.marked:
            self.record(meter, account, meter.marked, now)
        meter.samples_current = meter.samples_current and not changes
        self.bill_ended_cycles(account, meter, now)

    @staticmethod
    def record(
        meter: Meter, account: Account, since: datetime.datetime, now: datetime.datetime
    ) -> None:
        """Add the use from ``since`` to ``now`` as a piece (or lengthen the last one)."""
        if not meter.samples_current:
            meter.samples, meter.samples_current = tuple(usage_of(account)), True
        last = meter.pieces[-1] if meter.pieces else None
        if (
            last is not None
            and last.end == since
            and (last.samples is meter.samples or last.samples == meter.samples)
        ):
            last.end = now  # the same use goes on: one piece, however many requests
            meter.samples = last.samples  # compared by identity from now on
        else:
            meter.pieces.append(Piece(since, now, meter.samples))
        meter.marked = now

    def bill_ended_cycles(self, account: Account, meter: Meter, now: datetime.datetime) -> None:
        boundary = floor_cycle(now)
        if meter.billed is None or boundary <= meter.billed:
            return
        charges = self.cycles(account, meter, boundary)
        meter.billed = boundary
        meter.pieces = [
            Piece(max(p.start, boundary), p.end, p.samples)
            for p in meter.pieces
            if p.end > boundary
        ]
        for charge in charges:
            self.bill(account, charge)
        self.expire(account, now)

    def cycles(self, account: Account, meter: Meter, boundary: datetime.datetime) -> list[Charge]:
        """The charges of the cycles from ``meter.billed`` to ``boundary``, polling each."""
        coverage = self.coverage(account)
        changes = sorted({t for s, e, _k, _a in coverage for t in (s, e)})
        charges: list[Charge] = []
        last: dict[str, Charge] = {}
        cycle = floor_cycle(meter.billed or boundary)
        step = datetime.timedelta(seconds=CYCLE)
        while cycle + step <= boundary:
            self.poll(meter, cycle)
            by_key = self.cycle_bursts(meter.pieces, coverage, changes, cycle, cycle + step)
            for key, amounts in by_key.items():
                for burst, seconds in amounts.items():
                    whole = seconds == CYCLE and len(amounts) == 1
                    previous = last.get(key)
                    if (
                        whole
                        and previous is not None
                        and previous.whole
                        and previous.burst == burst
                        and previous.start.date() == cycle.date()
                        and previous.start + datetime.timedelta(seconds=previous.seconds) == cycle
                    ):
                        previous.seconds += seconds
                        continue
                    charge = Charge(key, cycle, seconds, burst, whole)
                    charges.append(charge)
                    last[key] = charge
            cycle += step
        return charges

    def cycle_bursts(
        self,
        pieces: list[Piece],
        coverage: list,
        changes: list[datetime.datetime],
        start: datetime.datetime,
        end: datetime.datetime,
    ) -> dict[str, dict[int, float]]:
        """Seconds of each burst amount per usage key within ``[start, end)``."""
        found: dict[str, dict[int, float]] = {}
        for piece in pieces:
            low, high = max(piece.start, start), min(piece.end, end)
            if low >= high:
                continue
            cuts = [low] + [t for t in changes if low < t < high] + [high]
            using = piece.using
            for a, b in zip(cuts, cuts[1:], strict=False):
                bursts = self.bursts(using, self.subscribed_at(coverage, a))
                for key, amount in bursts.items():
                    per_key = found.setdefault(key, {})
                    per_key[amount] = per_key.get(amount, 0) + (b - a).total_seconds()
        return found

    def poll(self, meter: Meter, moment: datetime.datetime) -> None:
        """The usage poll at ``moment``: the samples of the piece in force then."""
        piece = next((p for p in meter.pieces if p.start <= moment < p.end), None)
        if piece is None:
            return
        runs = meter.polls
        step = datetime.timedelta(seconds=CYCLE)
        last = runs[-1] if runs else None
        if last and last.samples == piece.samples and last.first + last.count * step == moment:
            last.count += 1
            return
        runs.append(PollRun(moment, 1, piece.samples))

    def bill(self, account: Account, charge: Charge) -> None:
        resource = BURST_RESOURCE[charge.key]
        cost = self.burst_cost(account, {charge.key: charge.burst}, charge.seconds)
        interval = human_interval(charge.seconds)
        reason = (
            f"Burst: {quantity(resource, charge.burst)} of {resource} for {interval} "
            f"at {charge.start:%Y-%m-%d %H:%M}"
        )
        cycle = int((charge.start - EPOCH).total_seconds() // CYCLE)
        end = charge.start + datetime.timedelta(seconds=charge.seconds)
        debit(
            self.backend,
            account,
            cost,
            reason,
            moment=end,
            billing_cycle=cycle,
            interval=int(charge.seconds),
            human_interval=interval,
            poll_time=iso(charge.start),
            resource_amount=str(charge.burst),
        )
        meter = meter_of(account)
        day = meter.daily.setdefault((charge.start.date().isoformat(), resource), [Fraction(0)] * 2)
        day[0] += charge.burst * Fraction(charge.seconds)
        day[1] += Fraction(as_text(cost))  # as billed, so the days add up to the records
        meter.bursts.append(
            {
                "amount": as_text(cost),
                "date": iso(charge.start),
                "resource_type": resource,
                "usage": charge.burst,
                "uuid": new_uuid(),
            }
        )

    def expire(self, account: Account, now: datetime.datetime) -> None:
        """VPCs and dedicated hosts go away with their subscription."""
        for sub in list(account.objects["subscriptions"].values()):
            if datetime.datetime.fromisoformat(sub["end_time"]) > now:
                continue
            for name in ("vpc", "nodes"):
                obj = account.objects[name].get(sub.get("subscribed_object") or "")
                if obj is not None:
                    self.backend.collections[name].remove(account, obj)
                    meter_of(account).samples_current = False

    # what the views show -----------------------------------------------------------
    def polls(
        self, account: Account, after: datetime.datetime, before: datetime.datetime
    ) -> list[tuple[datetime.datetime, tuple[Sample, ...]]]:
        """The polls strictly between ``after`` and ``before``, oldest first."""
        step = CYCLE
        found = []
        for run in meter_of(account).polls:
            offset = (after - run.first).total_seconds()
            first = max(0, math.floor(offset / step) + 1) if offset >= 0 else 0
            for index in range(first, run.count):
                moment = run.first + datetime.timedelta(seconds=index * step)
                if moment >= before:
                    break
                found.append((moment, run.samples))
        return found


def debit(
    backend: Any,
    account: Account,
    amount: Fraction,
    reason: str,
    *,
    moment: datetime.datetime | None = None,
    **entry: Any,
) -> dict | None:
    """Take ``amount`` from the balance and write the ledger entry (none for nothing)."""
    if amount == 0:
        return None
    initial = Fraction(account.balance["balance"])
    final = initial - Fraction(as_text(amount))
    account.balance["balance"] = as_text(final)
    entry_id = str(backend.next_id())
    when = iso(moment or backend.clock.now())
    record = {
        "amount": as_text(amount),
        "billing_cycle": None,
        "end": account.balance["balance"],
        "human_interval": None,
        "id": entry_id,
        "initial": as_text(initial),
        "interval": None,
        "poll_time": when,
        "reason": reason,
        "resource_amount": "1",
        "time": when,
    }
    record.update(entry)
    account.objects["ledger"][entry_id] = record
    backend.emit(account, "balance", account.balance)
    return record

"""Subscriptions, the calculator and the account's billing views (guide 4.11)."""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from . import fields
from .errors import payment, validation
from .kernel import Account, Collection, iso, new_uuid, now, query
from .metering import CYCLE, SUBSCRIPTION_COVERS, debit, meter_of, usage_of
from .network import Ips, Vlans
from .pricing import as_text
from .vpc import NODE_RESOURCES, VPC_RESOURCES, Nodes, Vpcs

SUBSCRIBABLE = (
    "dssd",
    "hdd",
    "ssd",
    "cpu",
    "mem",
    "tx",
    "ip",
    "vlan",
    "zadara",
    "nvme",
    "vpc",
    "virtual_private_cloud",
    "backup",
    "sms",
    "intel_cpu",
    "intel_mem",
    *NODE_RESOURCES,
)
#: Resources whose subscription brings one object (an IP, a VLAN, a VPC, a dedicated host):
#: an amount of n makes n subscriptions.
ONE_OBJECT_EACH = ("ip", "vlan", *VPC_RESOURCES, *NODE_RESOURCES)
#: Resources whose subscriptions last at least one calendar month (a 27-day ``vpc``
#: subscription answered 400 on the live API).
MONTH_MINIMUM = VPC_RESOURCES
#: The most subscriptions one request may buy.
MAX_PER_REQUEST = 500


def add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    """``moment`` moved by whole calendar months (the day clamped to the month's length)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def shift(moment: datetime.datetime, period: str, sign: int = 1) -> datetime.datetime:
    """``moment`` plus (``sign`` -1: minus) a period text: ``"1 month"``, ``"30 days"``,
    ``"2 years"``, ``"12 hours"``, ``"3 weeks"``; months and years are calendar ones.

    :raises ApiError: 400 validation for text it cannot read.
    """
    match = re.fullmatch(r"\s*(\d+)\s*(hour|day|week|month|year)s?\s*", str(period))
    if not match:
        raise validation(f"period must look like '1 month' or '30 days', got {period!r}", "period")
    amount, unit = int(match.group(1)) * sign, match.group(2)
    if unit in ("month", "year"):
        return add_months(moment, amount * (12 if unit == "year" else 1))
    hours = {"hour": 1, "day": 24, "week": 24 * 7}[unit] * amount
    return moment + datetime.timedelta(hours=hours)


def parse_time(values: dict, key: str) -> datetime.datetime | None:
    raw = values.get(key)
    if raw is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise validation(f"{key} must be an ISO date and time, got {raw!r}", key)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def same_length(subscription: dict) -> str:
    """The length of ``subscription`` as a period text (the default of an extension)."""
    start = datetime.datetime.fromisoformat(subscription["start_time"])
    end = datetime.datetime.fromisoformat(subscription["end_time"])
    return f"{max(1, (end - start).days)} days"


def next_noon(moment: datetime.datetime) -> datetime.datetime:
    """The first noon (UTC) at or after ``moment``."""
    noon = moment.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon >= moment else noon + datetime.timedelta(days=1)


def previous_noon(moment: datetime.datetime) -> datetime.datetime:
    """The last noon (UTC) at or before ``moment``."""
    noon = moment.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon <= moment else noon - datetime.timedelta(days=1)


def timespan(
    values: dict, moment: datetime.datetime | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    """Start and end of a subscription from two of start_time/end_time/period, or one of the
    last two (subscriptions.rst)."""
    given = {k for k in ("start_time", "end_time", "period") if values.get(k) is not None}
    if given in (set(), {"start_time"}, {"start_time", "end_time", "period"}):
        raise validation(
            "give two of start_time, end_time and period, or period or end_time alone", "period"
        )
    moment = moment or now()
    try:
        start = parse_time(values, "start_time") or moment
        if start > moment:
            start = previous_noon(start)
        end = parse_time(values, "end_time")
        if end is None:
            end = shift(start, values["period"])
        elif "period" in given and "start_time" not in given:
            start = shift(end, values["period"], -1)
        if end <= start:
            raise validation("end_time must be after start_time", "end_time")
        return start, next_noon(end)
    except (OverflowError, ValueError):  # beyond what datetime holds: years 1 to 9999
        point = "period" if "period" in given else "end_time"
        raise validation(
            "the subscription would start or end outside the years 1 to 9999; "
            "give a shorter period or an earlier end_time",
            point,
        ) from None


def refresh_status(subscription: dict, moment: datetime.datetime | None = None) -> dict:
    """Bring ``status`` in line with the clock: ``inactive`` before the start, ``expired`` after."""
    moment = moment or now()
    if datetime.datetime.fromisoformat(subscription["end_time"]) <= moment:
        subscription["status"] = "expired"
    elif datetime.datetime.fromisoformat(subscription["start_time"]) > moment:
        subscription["status"] = "inactive"
    else:
        subscription["status"] = "active"
    return subscription


class Subscriptions(Collection):
    """``/subscriptions/``: purchases; ``ip``/``vlan`` ones bring their IPs and VLANs."""

    name = "subscriptions"
    operations = {"list": 200, "get": 200, "create": 201, "action": 200}
    actions = {"extend": "extend", "auto_renew": "auto_renew"}
    audit_category = "Subscriptions"

    def get(self, account: Account, uuid: str) -> dict:
        return refresh_status(self.find(account, uuid), self.backend.clock.now())

    def seed_account(self, account: Account) -> None:
        """Give a new account the starter subscriptions of the dumps (one IP, one VLAN)."""
        for resource, amount in (
            ("cpu", "10000"),
            ("mem", "17179869184"),
            ("dssd", "32212254720"),
            ("ip", "1"),
            ("vlan", "1"),
        ):
            values = self.prepare(
                account, {"resource": resource, "amount": amount, "period": "1 year"}
            )
            # The starter subscriptions come free, as in the dumps (price 0E-20, billed).
            values.update(price="0", discount_amount=None, discount_percent=None, discounts=None)
            self.commit(account, dict(values, was_billed=True))

    def priced(self, values: dict, currency: str = "EUR") -> dict:
        """A subscription dict (not stored) from a create body, priced from the price list:
        the level-0 price x amount x period, less the period discount of ``/discount/``."""
        resource = fields.text(values, "resource")
        if resource not in SUBSCRIBABLE and not resource.startswith("msft_"):
            raise validation(f"unknown resource {resource!r}", "resource")
        amount = fields.integer(values, "amount", 1, minimum=1)
        start, end = timespan(values, self.backend.clock.now())
        if resource in MONTH_MINIMUM and end < add_months(start, 1):
            raise validation(
                f"a {resource} subscription lasts at least one month; it would end {iso(end)}",
                "period",
            )
        billed_as = "dssd" if resource == "hdd" else resource
        full = self.backend.metering.prices.cost(
            billed_as, amount, Fraction((end - start).total_seconds()), currency, 0
        )
        percent = period_discount(self.backend, (end - start).days)
        if not self.backend.metering.prices.timed(billed_as):
            percent = Decimal(0)  # traffic and messages are bought by amount, not by time
        discount = full * Fraction(percent)
        identifier = str(self.backend.next_id())
        return {
            "amount": str(amount),
            "auto_renew": fields.boolean(values, "auto_renew", True),
            "descendants": [],
            "discount_amount": as_text(discount),
            "discount_percent": str(percent),
            "discounts": {"period": str(percent)} if percent else {},
            "end_time": iso(end),
            "free_tier": False,
            "id": identifier,
            "period": str(end - start),
            "price": as_text(full - discount),
            "remaining": str(amount),
            "resource": billed_as,
            "resource_uri": f"/api/2.0/subscriptions/{identifier}/",
            "start_time": iso(start),
            "status": "active",
            "subscribed_object": None,
            "uuid": new_uuid(),
            "was_billed": False,
        }

    def prepare(self, account: Account, values: dict) -> dict:
        subscription = self.priced(values, account.balance["currency"])
        cost = Decimal(subscription["price"])
        if cost > Decimal(account.balance["balance"]):
            raise payment(
                f"subscription costs {cost} but the balance is "
                f"{account.balance['balance']}; top up the account"
            )
        return subscription

    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        # An ip, vlan, vpc or node subscription of amount N is N: count before expanding.
        count = sum(self.subscription_count(item) for item in items)
        if count > MAX_PER_REQUEST:
            raise validation(
                f"at most {MAX_PER_REQUEST} subscriptions per request (an ip or vlan amount of "
                f"N is N subscriptions); these are {count}",
                "amount",
            )
        expanded: list[Any] = []
        for item in items:
            if isinstance(item, dict) and item.get("resource") in ONE_OBJECT_EACH:
                count = fields.integer(item, "amount", 1, minimum=1)
                expanded.extend(dict(item, amount=1) for _ in range(count))
            else:
                expanded.append(item)
        created_cost = Decimal(0)
        for item in expanded:
            if isinstance(item, dict):
                created_cost += Decimal(self.priced(item, account.balance["currency"])["price"])
        if created_cost > Decimal(account.balance["balance"]):
            raise payment(
                f"these subscriptions cost {created_cost} but the balance is "
                f"{account.balance['balance']}; top up the account"
            )
        return super().create_many(account, expanded, params)

    @staticmethod
    def subscription_count(item: Any) -> int:
        """How many subscriptions ``item`` makes (those of one object each: one per unit)."""
        if isinstance(item, dict) and item.get("resource") in ONE_OBJECT_EACH:
            return fields.integer(item, "amount", 1, minimum=1)
        return 1

    def commit(self, account: Account, values: dict) -> dict:
        self.store(account)[values["id"]] = values
        self.backend.register(self.name, values["id"], account)
        if values["resource"] in ("ip", "vlan"):
            values["subscribed_object"] = self.add_network(account, values)
        elif values["resource"] in VPC_RESOURCES:
            values["subscribed_object"] = self.sibling("vpc", Vpcs).add(account, values)["uuid"]
        elif values["resource"] in NODE_RESOURCES:
            node = self.sibling("nodes", Nodes).add(account, values)
            values["subscribed_object"] = node["uuid"]
        self.charge(account, Decimal(values["price"]), values)
        self.backend.emit(account, self.name, values)
        return values

    def add_network(self, account: Account, subscription: dict) -> str:
        number = int(subscription["id"])
        if subscription["resource"] == "ip":
            address = f"31.{171 + number // 65536 % 50}.{number // 256 % 256}.{number % 256}"
            return self.sibling("ips", Ips).add(account, address, number)["uuid"]
        return self.sibling("vlans", Vlans).add(account, new_uuid(), number)["uuid"]

    def charge(self, account: Account, amount: Decimal, subscription: dict) -> None:
        """Take ``amount`` from the balance and write a ledger entry for it."""
        debit(
            self.backend,
            account,
            Fraction(amount),
            f"Subscription of {subscription['amount']} {subscription['resource']}",
            billing_cycle=0,
            human_interval=subscription["period"],
            interval=0,
            resource_amount=subscription["amount"],
        )

    def envelope(self, account: Account, objects: list[dict]) -> dict:
        return {"price": str(sum((Decimal(s["price"]) for s in objects), Decimal(0)))}

    def create_answer(self, created: list[dict]) -> dict:
        price = sum((Decimal(s["price"]) for s in created), Decimal(0))
        return {"objects": created, "price": str(price)}

    def extend(self, account: Account, uuid: str, body: dict) -> dict:
        subscription = self.find(account, uuid, "EDIT")
        period = body.get("period") or same_length(subscription)
        values = {
            "resource": subscription["resource"],
            "amount": subscription["amount"],
            "start_time": subscription["end_time"],
        }
        if body.get("end_time"):
            values["end_time"] = body["end_time"]
        else:
            values["period"] = period
        extension = self.prepare(account, values)
        self.commit(account, extension)
        self.chain_root(account, subscription)["descendants"].append(extension["id"])
        return extension

    def chain_root(self, account: Account, subscription: dict) -> dict:
        """The first subscription of the chain of extensions ``subscription`` belongs to."""
        for candidate in self.store(account).values():
            if subscription["id"] in candidate["descendants"]:
                return candidate
        return subscription

    def auto_renew(self, account: Account, uuid: str, body: dict) -> dict:
        subscription = self.find(account, uuid, "EDIT")
        wanted = body.get("auto_renew") if isinstance(body, dict) else None
        subscription["auto_renew"] = (
            not subscription["auto_renew"] if wanted is None else fields.boolean(body, "auto_renew")
        )
        self.backend.emit(account, self.name, subscription)
        return subscription

    @query("status")
    def visible(self, account: Account, *, status: str = "all") -> list[dict]:
        """The subscriptions with ``status`` (``all``, ``notexpired`` or one status)."""
        moment = self.backend.clock.now()
        objects = [refresh_status(s, moment) for s in self.store(account).values()]
        if status in ("all", ""):
            return objects
        if status == "notexpired":
            return [s for s in objects if s["status"] != "expired"]
        return [s for s in objects if s["status"] == status]


#: Keys of a priced (not bought) subscription, as the calculator answers.
PRICED_KEYS = (
    "amount",
    "discount_amount",
    "discount_percent",
    "discounts",
    "end_time",
    "free_tier",
    "period",
    "price",
    "resource",
    "start_time",
    "was_billed",
)


def period_discount(backend: Any, days: int) -> Decimal:
    """The discount for a subscription of ``days`` (``/discount/``: 3 months 3% ... 3 years)."""
    months = {"3 months": 90, "6 months": 180, "1 year": 365, "2 years": 730, "3 years": 1095}
    best = Decimal(0)
    for entry in backend.seed["discount"]:
        if days >= months.get(entry["period"], 10**9):
            best = max(best, Decimal(entry["value"]))
    return best


class SubscriptionCalculator(Subscriptions):
    """``/subscriptioncalculator/``: prices a subscription without buying it."""

    name = "subscriptioncalculator"
    operations = {"create": 200, "action": 200}

    def seed_account(self, account: Account) -> None:
        """The calculator buys nothing, not even for a new account."""

    def action_target(self, account: Account, uuid: str) -> None:
        """Its actions price subscriptions, which they look up themselves."""

    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise validation(f"objects[{index}] must be an object", "objects")
        return [self.quote(item) for item in items]

    def quote(self, values: dict) -> dict:
        """A priced subscription with the period discount applied (nothing is bought): what
        buying it would cost."""
        priced = dict(self.priced(values), was_billed=False)
        return {key: priced[key] for key in PRICED_KEYS}

    def extend(self, account: Account, uuid: str, body: dict) -> dict:
        subscription = self.backend.collections["subscriptions"].find(account, uuid)
        values = {
            "resource": subscription["resource"],
            "amount": subscription["amount"],
            "start_time": subscription["end_time"],
            "period": body.get("period") or same_length(subscription),
        }
        return self.quote(values)


class Groupedsubscriptions(Collection):
    """``/groupedsubscriptions/``: the first subscription of each chain of extensions, with
    the later ones in ``descendants`` (whole subscriptions, in the order they were bought)."""

    name = "groupedsubscriptions"
    operations = {"list": 200, "get": 200}

    def store(self, account: Account) -> dict[str, dict]:
        return account.objects["subscriptions"]

    def grouped(self, account: Account, subscription: dict) -> dict:
        store, moment = self.store(account), self.backend.clock.now()
        descendants = [
            refresh_status(store[i], moment) for i in subscription["descendants"] if i in store
        ]
        return dict(refresh_status(subscription, moment), descendants=descendants)

    def visible(self, account: Account) -> list[dict]:
        store = self.store(account)
        later = {i for subscription in store.values() for i in subscription["descendants"]}
        return [self.grouped(account, s) for key, s in store.items() if key not in later]

    def get(self, account: Account, uuid: str) -> dict:
        return self.grouped(account, self.find(account, uuid))


class Seeded(Collection):
    """A read-only list taken from the shipped seed data (pricing, discount, licenses...)."""

    operations = {"list": 200, "get": 200}
    seed_key = ""
    key = "id"

    def store(self, account: Account) -> dict[str, dict]:
        items = self.backend.seed[self.seed_key]
        if isinstance(items, dict):
            items = items["objects"]
        return {str(item.get(self.key, index)): item for index, item in enumerate(items)}


class Pricing(Seeded):
    """``/pricing/``: every price row (:mod:`.pricing`), with the current burst levels."""

    name = "pricing"
    seed_key = "pricing"
    default_limit = 0

    def store(self, account: Account) -> dict[str, dict]:
        return {row["id"]: row for row in self.backend.metering.prices.rows}

    def envelope(self, account: Account, objects: list[dict]) -> dict:
        return {
            "current": self.backend.seed["pricing"]["current"],
            "next": self.backend.seed["pricing"]["next"],
        }


class Discount(Seeded):
    name = "discount"
    seed_key = "discount"
    key = "period"
    default_limit = 0


class Licenses(Seeded):
    name = "licenses"
    seed_key = "licenses"
    key = "name"


class Ledger(Collection):
    """``/ledger/``: the account's debits and credits, newest first."""

    name = "ledger"
    operations = {"list": 200, "get": 200}

    def visible(self, account: Account) -> list[dict]:
        return list(reversed(self.store(account).values()))


class Logs(Collection):
    """``/logs/``: the audit log, newest first."""

    name = "logs"
    operations = {"list": 200}

    def visible(self, account: Account) -> list[dict]:
        return account.logs[::-1]


STEP = datetime.timedelta(seconds=CYCLE)


class Usage(Collection):
    """The account's usage history views (read only)."""

    operations = {"list": 200}


def poll_bound(value: str | None, key: str, default: datetime.datetime) -> datetime.datetime:
    """A ``poll_time`` filter ``key``: an ISO date or date-time (UTC unless it says otherwise).

    :raises ApiError: 400 ``validation`` for anything else.
    """
    try:
        bound = default if value is None else datetime.datetime.fromisoformat(value)
    except ValueError:
        raise validation(f"{key} must be an ISO date or date-time, got {value!r}", key)
    return bound if bound.tzinfo else bound.replace(tzinfo=datetime.timezone.utc)


def date_bound(value: str | None, key: str) -> datetime.datetime | None:
    """A date filter: an ISO date or date-time (UTC unless it says otherwise), or ``None``."""
    return None if value is None else poll_bound(value, key, datetime.datetime.min)


class BurstUsage(Usage):
    """``/burstusage/``: one record per burst billed (``uuid, date, resource_type, usage,
    amount``), newest first; without a date filter the last 30 days."""

    name = "burstusage"

    @query("date", "date__lt", "date__lte", "date__gt", "date__gte")
    def visible(self, account: Account, **dates: str) -> list[dict]:
        bounds = {key: date_bound(value, key) for key, value in dates.items()}
        if not bounds:
            bounds["date__gte"] = self.backend.clock.now() - datetime.timedelta(days=30)
        tests = {
            "date": lambda d, b: d.date() == b.date(),
            "date__lt": lambda d, b: d < b,
            "date__lte": lambda d, b: d <= b,
            "date__gt": lambda d, b: d > b,
            "date__gte": lambda d, b: d >= b,
        }
        found = []
        for record in meter_of(account).bursts:
            moment = datetime.datetime.fromisoformat(record["date"])
            if all(tests[key](moment, bound) for key, bound in bounds.items() if bound):
                found.append(record)
        return found[::-1]


class DailyBurstUsage(Usage):
    """``/dailyburstusage/``: the burst of each UTC day per resource type: ``usage`` is the
    day's average burst (base units), ``amount`` what it cost; newest first."""

    name = "dailyburstusage"

    def visible(self, account: Account) -> list[dict]:
        return [
            {
                "amount": as_text(money),
                "date": day,
                "resource_type": resource,
                "usage": int(unit_seconds / 86400),
            }
            for (day, resource), (unit_seconds, money) in sorted(
                meter_of(account).daily.items(), reverse=True
            )
        ]


class UsageSamples(Usage):
    """``/usage/``: the usage polls, one every billing cycle, and the one being taken now.

    Powered servers give ``<cpu_type>_cpu`` and ``<cpu_type>_mem`` samples, drives one sample
    of their storage type; ``poll_time_gt``/``poll_time_lt`` bound the poll time (default:
    the last 24 hours).
    """

    name = "usage"

    @query("poll_time_gt", "poll_time_lt")
    def visible(
        self, account: Account, *, poll_time_gt: str | None = None, poll_time_lt: str | None = None
    ) -> list[dict]:
        moment = self.backend.clock.now()
        default = moment - datetime.timedelta(days=1)
        after = poll_bound(poll_time_gt, "poll_time_gt", default.replace(tzinfo=None))
        before = poll_bound(poll_time_lt, "poll_time_lt", datetime.datetime.max)
        polls = self.backend.metering.polls(account, after, before)
        if after < moment < before and (not polls or polls[-1][0] + STEP < moment + STEP):
            polls.append((moment, tuple(self.used(account))))
        return [
            {"amount": str(amount), "poll_time": iso(when), "resource": resource, "uuid": uuid}
            for when, samples in polls
            for uuid, resource, amount in samples
        ]

    @staticmethod
    def used(account: Account) -> list[tuple[str, str, int]]:
        return usage_of(account)


#: Keys every ``/currentusage/`` answer has: those of the recorded answer, plus the ones a
#: current account shows (Intel servers, NVMe drives, VPCs and dedicated hosts).
CURRENT_USAGE_KEYS = (
    "amd_cpu",
    "amd_mem",
    "cpu",
    "dedicated_host_6148",
    "dssd",
    "intel_cpu",
    "intel_mem",
    "ip",
    "mem",
    "nvme",
    "sms",
    "sparc_t4_cpu",
    "sparc_t4_mem",
    "ssd",
    "tx",
    "vlan",
    "vlan_ecx",
    "vpc",
    "zadara",
)


def current_usage(backend: Any, account: Account) -> dict:
    """``/currentusage/``: what running servers, drives and subscriptions use now."""
    usage: dict[str, dict[str, int]] = {}

    def add(key: str, using: int = 0, subscribed: int = 0) -> None:
        entry = usage.setdefault(key, {"burst": 0, "subscribed": 0, "using": 0})
        entry["using"] += using
        entry["subscribed"] += subscribed

    # These keys are always there; others appear once something uses them.
    for key in CURRENT_USAGE_KEYS:
        add(key)
    for lic in backend.seed["licenses"]:
        add(lic["name"])
    for _uuid, key, amount in usage_of(account):
        add(key, amount)
        if key.endswith(("_cpu", "_mem")):  # the unprefixed keys total every cpu type
            add(key.rsplit("_", 1)[1], amount)
    add("ip", using=sum(1 for ip in account.objects["ips"].values() if ip["server"]))
    add("vlan", using=sum(1 for vlan in account.objects["vlans"].values() if vlan["servers"]))
    moment = backend.clock.now()
    for subscription in account.objects["subscriptions"].values():
        if refresh_status(subscription, moment)["status"] == "active":
            resource = subscription["resource"]
            for key in SUBSCRIPTION_COVERS.get(resource, (resource,)):
                add(key, subscribed=int(subscription["amount"]))
    for entry in usage.values():
        entry["burst"] = max(0, entry["using"] - entry["subscribed"])
    balance = {"balance": account.balance["balance"], "currency": account.balance["currency"]}
    return {"balance": balance, "usage": usage}

"""Billing over emulated time: subscription prices from the price list, burst billed into the
ledger every cycle, usage and burst history, the 402 for a start without 5 days of burst."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest
from emulator_support import GIB, assert_api_error, server_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsigma.emulator.models import metering

GENERATED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CYCLE = 300
INITIAL = Fraction("10000.00")
#: ``/discount/`` periods as days (a period of at least that long gets the discount).
DISCOUNT_DAYS = {"3 months": 90, "6 months": 180, "1 year": 365, "2 years": 730, "3 years": 1095}


@pytest.fixture
def clock(emu):
    """The emulated clock, frozen: only ``emu.advance_clock`` moves it."""
    emu.clock.freeze()
    return emu.clock


def price_rows(api) -> dict[tuple[str, int, str], dict]:
    rows = api.ok("GET", "pricing/", params={"limit": 0})["objects"]
    return {(r["resource"], r["level"], r["currency"]): r for r in rows}


def ledger(api) -> list[dict]:
    return api.ok("GET", "ledger/", params={"limit": 0})["objects"]


def balance(api) -> Fraction:
    return Fraction(api.ok("GET", "balance/")["balance"])


def expected_price(api, quote: dict) -> Fraction:
    """The price of a quote computed from /pricing/ and /discount/ alone."""
    row = price_rows(api)[(quote["resource"], 0, "EUR")]
    start = datetime.datetime.fromisoformat(quote["start_time"])
    end = datetime.datetime.fromisoformat(quote["end_time"])
    seconds = Fraction((end - start).total_seconds()) if "/" in row["unit"] else Fraction(1)
    full = Fraction(quote["amount"]) * seconds * Fraction(row["price"]) / row["multiplier"]
    discount = Fraction(0)
    if "/" in row["unit"]:
        for entry in api.ok("GET", "discount/", params={"limit": 0})["objects"]:
            if (end - start).days >= DISCOUNT_DAYS[entry["period"]]:
                discount = max(discount, Fraction(entry["value"]))
    return full * (1 - discount)


def seconds_to_next_cycle(clock) -> float:
    now = clock.now().timestamp()
    return (CYCLE - now % CYCLE) + 1


# prices -------------------------------------------------------------------------------
def test_the_price_list_has_every_resource_at_every_level_with_the_recorded_rows(api):
    rows = price_rows(api)
    assert rows[("dssd", 1, "EUR")]["price"].startswith("0.21")
    assert rows[("dssd", 1, "EUR")]["id"] == "636" and rows[("dssd", 0, "USD")]["id"] == "307"
    assert rows[("dssd", 0, "EUR")]["multiplier"] == GIB * 30 * 86400
    for resource in ("cpu", "intel_cpu", "mem", "ip", "vlan", "vpc", "dedicated_host_6148"):
        levels = {level for (res, level, cur) in rows if res == resource and cur == "EUR"}
        assert levels == set(range(11)), resource
    listing = api.ok("GET", "pricing/", params={"limit": 0})
    assert listing["current"]["intel_cpu"] == 2


RESOURCES = st.sampled_from(
    [
        ("cpu", 250, 200_000),
        ("intel_cpu", 250, 200_000),
        ("mem", GIB // 4, 256 * GIB),
        ("dssd", GIB, 4096 * GIB),
        ("nvme", GIB, 4096 * GIB),
        ("ip", 1, 1),
        ("vlan", 1, 1),
        ("tx", GIB, 1000 * GIB),
    ]
)
PERIODS = st.one_of(
    st.integers(1, 1200).map(lambda n: f"{n} days"),
    st.integers(1, 40).map(lambda n: f"{n} months"),
    st.integers(1, 3).map(lambda n: f"{n} years"),
)


@GENERATED
@given(resource=RESOURCES, data=st.data(), period=PERIODS)
def test_subscription_price_is_list_price_times_amount_times_period_less_discount(
    api, clock, resource, data, period
):
    name, low, high = resource
    amount = data.draw(st.integers(low, high), label="amount")
    body = {"objects": [{"resource": name, "amount": amount, "period": period}]}
    quote = api.ok("POST", "subscriptioncalculator/", 200, json=body)["objects"][0]
    assert abs(Fraction(quote["price"]) - expected_price(api, quote)) <= Fraction(1, 10**20)


def test_buying_costs_the_quoted_price_and_the_ledger_says_so(api, clock):
    body = {"objects": [{"resource": "dssd", "amount": 100 * GIB, "period": "1 year"}]}
    quote = api.ok("POST", "subscriptioncalculator/", 200, json=body)["objects"][0]
    before = balance(api)
    bought = api.ok("POST", "subscriptions/", 201, json=body)
    assert bought["price"] == quote["price"] == bought["objects"][0]["price"]
    assert bought["objects"][0]["discount_percent"] == "0.2500000000"
    assert balance(api) == before - Fraction(quote["price"])
    entry = ledger(api)[0]
    assert entry["amount"] == quote["price"] and entry["reason"].startswith("Subscription")
    assert Fraction(entry["initial"]) - Fraction(entry["end"]) == Fraction(quote["price"])


def test_a_new_account_starts_with_free_starter_subscriptions(api):
    assert api.ok("GET", "balance/")["balance"] == "10000.00"
    assert ledger(api) == []
    assert {s["price"] for s in api.ok("GET", "subscriptions/")["objects"]} == {"0"}


def test_buying_more_than_the_balance_is_402(api):
    body = {"resource": "dedicated_host_6148", "amount": 1, "period": "3 years"}
    assert_api_error(api.post("subscriptions/", json=body), 402, "payment")
    assert balance(api) == INITIAL


# burst -------------------------------------------------------------------------------
def intel_server(api, emu, cpu=20000, mem=GIB) -> dict:
    server = api.create("servers", **server_body("burst", cpu=cpu, mem=mem, cpu_type="intel"))
    api.action("servers", server["uuid"], "start")
    emu.advance()
    return server


def test_a_running_server_beyond_the_subscriptions_bursts_into_the_ledger(api, emu, clock):
    intel_server(api, emu, cpu=20000)
    start = clock.now()
    emu.advance_clock(seconds_to_next_cycle(clock) + 3600)
    billed_until = datetime.datetime.fromtimestamp(
        clock.now().timestamp() // CYCLE * CYCLE, datetime.timezone.utc
    )
    entries = [e for e in ledger(api) if "intel_cpu" in e["reason"]]
    assert entries and all(e["resource_amount"] == "20000" for e in entries)
    assert sum(e["interval"] for e in entries) == int((billed_until - start).total_seconds())
    row = price_rows(api)[("intel_cpu", 2, "EUR")]  # the current level of intel_cpu
    per_second = 20000 * Fraction(row["price"]) / row["multiplier"]
    for entry in entries:  # ``interval`` is in whole seconds, the amount counts every instant
        assert 0 <= Fraction(entry["amount"]) - entry["interval"] * per_second < per_second
        assert entry["reason"].startswith("Burst: 20.00 GHz of intel_cpu for ")
    assert balance(api) == INITIAL - sum(Fraction(e["amount"]) for e in ledger(api))
    usage = api.ok("GET", "currentusage/")["usage"]["intel_cpu"]
    assert usage == {"burst": 20000, "subscribed": 0, "using": 20000}


def test_nothing_bursts_within_the_subscriptions(api, emu, clock):
    api.create("servers", **server_body("small", cpu=1000, mem=GIB))
    api.action("servers", api.ok("GET", "servers/")["objects"][0]["uuid"], "start")
    emu.advance()
    emu.advance_clock(3 * 3600)
    assert ledger(api) == [] and balance(api) == INITIAL


def test_a_day_of_steady_burst_is_one_entry_per_resource(api, emu, clock):
    api.create("drives", name="big", size=100 * GIB, media="disk")  # 30 GiB are subscribed
    emu.advance()
    emu.advance_clock(seconds_to_next_cycle(clock))
    emu.advance_clock(86400)
    entries = [e for e in ledger(api) if "of dssd" in e["reason"]]
    assert 1 <= len(entries) <= 3  # a day boundary may cut the steady stretch once
    assert {e["resource_amount"] for e in entries} == {str(70 * GIB)}
    assert sum(e["interval"] for e in entries) >= 86400 - CYCLE


def test_burst_and_daily_burst_usage_keep_the_history(api, emu, clock):
    intel_server(api, emu)
    emu.advance_clock(seconds_to_next_cycle(clock) + 2 * 86400)
    records = api.ok("GET", "burstusage/", params={"limit": 0})["objects"]
    # no intel subscription: both the cpu and the memory of an Intel server burst
    assert records and {r["resource_type"] for r in records} == {"intel_cpu", "intel_mem"}
    assert {"uuid", "date", "resource_type", "usage", "amount"} <= set(records[0])
    daily = api.ok("GET", "dailyburstusage/", params={"limit": 0})["objects"]
    days = {d["date"] for d in daily}
    assert len(days) >= 2
    total = sum(Fraction(d["amount"]) for d in daily)
    assert total == sum(Fraction(r["amount"]) for r in records)
    first_day = min(days)
    later = api.ok("GET", "dailyburstusage/", params={"date__gt": first_day, "limit": 0})
    assert first_day not in {d["date"] for d in later["objects"]}
    old = api.ok("GET", "burstusage/", params={"date__lt": first_day})["objects"]
    assert old == []


def test_usage_keeps_a_poll_every_cycle(api, emu, clock):
    server = intel_server(api, emu, cpu=3000)
    start = clock.now()
    emu.advance_clock(seconds_to_next_cycle(clock) + 1800)
    params = {
        "poll_time_gt": (start - datetime.timedelta(minutes=1)).isoformat(),
        "poll_time_lt": (clock.now() + datetime.timedelta(minutes=1)).isoformat(),
        "limit": 0,
    }
    samples = api.ok("GET", "usage/", params=params)["objects"]
    cpu = [s for s in samples if s["uuid"] == server["uuid"] and s["resource"] == "intel_cpu"]
    times = sorted(datetime.datetime.fromisoformat(s["poll_time"]) for s in cpu)
    assert len(times) >= 7 and all(s["amount"] == "3000" for s in cpu)
    gaps = {(b - a).total_seconds() for a, b in zip(times[:-2], times[1:-1], strict=True)}
    assert gaps == {CYCLE}
    earlier = {"poll_time_lt": start.isoformat(), "poll_time_gt": "2000-01-01"}
    assert api.ok("GET", "usage/", params=earlier)["objects"] == []


# the 5-day rule -----------------------------------------------------------------------------
def test_a_start_without_funds_for_five_days_of_burst_is_402(api, emu, clock):
    emu.call(lambda: emu.account().balance.update(balance="10.00"))
    big = api.create("servers", **server_body("big", cpu=40000, cpu_type="intel"))
    response = api.post(f"servers/{big['uuid']}/action/", params={"do": "start"}, json={})
    assert_api_error(response, 402, "payment", "5 days of burst")
    assert api.ok("GET", f"servers/{big['uuid']}/")["status"] == "stopped"
    small = api.create("servers", **server_body("small", cpu=1000))
    api.action("servers", small["uuid"], "start")  # within the subscriptions: no burst


def test_funds_for_exactly_five_days_are_enough(api, emu, clock):
    rows = price_rows(api)
    cpu, mem = rows[("intel_cpu", 2, "EUR")], rows[("intel_mem", 1, "EUR")]
    per_second = 1000 * Fraction(cpu["price"]) / cpu["multiplier"]
    per_second += GIB * Fraction(mem["price"]) / mem["multiplier"]
    five_days = 5 * 86400 * per_second
    needed = f"{float(five_days) + 0.01:.2f}"
    emu.call(lambda: emu.account().balance.update(balance=needed))
    server = api.create("servers", **server_body("edge", cpu=1000, cpu_type="intel"))
    api.action("servers", server["uuid"], "start")


# generated sequences: the balance is the initial one less the ledger, always -----------------
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.integers(0, 1)),
        st.tuples(st.just("stop"), st.integers(0, 1)),
        st.tuples(st.just("advance"), st.integers(1, 6 * 3600)),
        st.tuples(st.just("drive"), st.integers(1, 200)),
        st.tuples(st.just("subscribe"), st.integers(1, 40)),
    ),
    max_size=10,
)


@GENERATED
@given(operations=OPERATIONS)
def test_balance_is_always_the_initial_one_less_the_ledger(api, emu, operations):
    emu.reset()
    emu.transition_delay = None
    emu.clock.freeze()
    servers = [
        api.create("servers", **server_body(f"s{n}", cpu=8000 * (n + 1), cpu_type="intel"))
        for n in range(2)
    ]
    running = [False, False]
    intel_seconds = Fraction(0)  # MHz x seconds of intel cpu beyond the subscriptions
    for kind, value in operations:
        if kind == "start" and not running[value]:
            api.action("servers", servers[value]["uuid"], "start")
            running[value] = True
        elif kind == "stop" and running[value]:
            api.action("servers", servers[value]["uuid"], "stop")
            running[value] = False
        elif kind == "advance":
            intel_seconds += value * sum(
                s["cpu"] for s, on in zip(servers, running, strict=True) if on
            )
            emu.advance_clock(value)
        elif kind == "drive":
            api.create("drives", name="d", size=value * GIB, media="disk")
        elif kind == "subscribe":
            body = {"resource": "dssd", "amount": value * GIB, "period": "1 month"}
            api.ok("POST", "subscriptions/", 201, json=body)
        emu.advance()
        entries = ledger(api)
        assert balance(api) == INITIAL - sum(Fraction(e["amount"]) for e in entries)
        assert all(Fraction(e["amount"]) > 0 for e in entries)
    # bill up to the next cycle's end, then compare the intel cpu burst with our own integral
    to_boundary = CYCLE - emu.clock.now().timestamp() % CYCLE
    intel_seconds += Fraction(to_boundary) * sum(
        s["cpu"] for s, on in zip(servers, running, strict=True) if on
    )
    emu.advance_clock(to_boundary + 1)
    row = price_rows(api)[("intel_cpu", 2, "EUR")]
    per_mhz_second = Fraction(row["price"]) / row["multiplier"]
    billed = sum(Fraction(e["amount"]) for e in ledger(api) if "of intel_cpu" in e["reason"])
    # within a millisecond of the busiest server's running time (float clock arithmetic)
    assert abs(billed - intel_seconds * per_mhz_second) <= 16000 * per_mhz_second / 1000


# the clock and expiry --------------------------------------------------------------------
def test_the_clock_control_endpoint_freezes_and_advances(api, emu):
    base = emu.api_endpoint.replace("/api/2.0/", "")
    frozen = api.session.post(
        f"{base}/_emulator/clock/", json={"frozen": True}, headers=emu.control_headers, timeout=10
    )
    assert frozen.status_code == 200 and frozen.json()["frozen"] is True
    before = datetime.datetime.fromisoformat(frozen.json()["now"])
    moved = api.session.post(
        f"{base}/_emulator/clock/", json={"advance": 600}, headers=emu.control_headers, timeout=10
    )
    after = datetime.datetime.fromisoformat(moved.json()["now"])
    assert (after - before).total_seconds() == 600
    bad = api.session.post(
        f"{base}/_emulator/clock/", json={"advance": -1}, headers=emu.control_headers, timeout=10
    )
    assert_api_error(bad, 400, "validation")


def test_a_vpc_goes_away_when_its_subscription_ends(api, emu, clock):
    body = {"objects": [{"resource": "vpc", "amount": 1, "period": "1 month", "auto_renew": False}]}
    bought = api.ok("POST", "subscriptions/", 201, json=body)["objects"][0]
    assert len(api.ok("GET", "vpc/")["objects"]) == 1
    emu.advance_clock(40 * 86400)
    assert api.ok("GET", "vpc/")["objects"] == []
    assert api.ok("GET", f"subscriptions/{bought['id']}/")["status"] == "expired"


def test_a_vpc_gone_with_its_subscription_is_not_counted_by_a_later_settle(api, emu, clock):
    body = {"objects": [{"resource": "vpc", "amount": 1, "period": "1 month", "auto_renew": False}]}
    api.ok("POST", "subscriptions/", 201, json=body)
    vpc = api.ok("GET", "vpc/")["objects"][0]
    drive = api.create("drives", name="kept", size=GIB, media="disk")
    backend = emu.backend
    # Two settles with no request between: the second reuses the use the first computed.
    emu.call(lambda: (backend.pass_time(40 * 86400), backend.pass_time(3600)))
    end = emu.clock.now() - datetime.timedelta(seconds=3600)
    params = {"poll_time_gt": end.isoformat(), "limit": 0}
    polled = {sample["uuid"] for sample in api.ok("GET", "usage/", params=params)["objects"]}
    assert drive["uuid"] in polled and vpc["uuid"] not in polled


# what a settle computes ----------------------------------------------------------------------
@pytest.fixture
def use_computed(monkeypatch) -> list[int]:
    """How many times billing computed an account's use (one entry a computation)."""
    computed: list[int] = []
    usage_of = metering.usage_of

    def counted(account):
        computed.append(1)
        return usage_of(account)

    monkeypatch.setattr(metering, "usage_of", counted)
    return computed


def test_reading_objects_does_not_compute_the_accounts_use_again(api, emu, use_computed):
    emu.clock.freeze(False)
    made = api.ok("POST", "drives/", 201, json={"objects": [_drive(n) for n in range(50)]})
    uuid = made["objects"][0]["uuid"]
    emu.advance()
    api.ok("GET", f"drives/{uuid}/")
    pieces_before = emu.call(lambda: len(metering.meter_of(emu.account()).pieces))
    api.ok("GET", f"drives/{uuid}/")  # the first settle after emu.call computes it
    use_computed.clear()
    for _ in range(20):
        api.ok("GET", f"drives/{uuid}/")
        api.ok("GET", "servers/detail/")
    assert use_computed == []
    # the reads lengthen the last piece (the same use, the same object) instead of adding any
    meter = emu.call(lambda: metering.meter_of(emu.account()))
    assert len(meter.pieces) == pieces_before and meter.pieces[-1].samples is meter.samples
    api.ok("PUT", f"drives/{uuid}/", json={**_drive(0), "size": 2 * GIB})
    api.ok("GET", f"drives/{uuid}/")
    assert use_computed  # after a change it is computed again


def _drive(number: int) -> dict:
    return {"name": f"d{number}", "size": GIB, "media": "disk"}


READS = ["drives/detail/", "servers/detail/", "ledger/", "currentusage/", "usage/"]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.sampled_from(READS)),
        st.tuples(st.just("drive"), st.integers(1, 80)),
        st.tuples(st.just("resize"), st.integers(1, 80)),
        st.tuples(st.just("delete drive"), st.integers(0, 3)),
        st.tuples(st.just("ephemeral"), st.integers(0, 1)),
        st.tuples(st.just("start"), st.integers(0, 1)),
        st.tuples(st.just("stop"), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=14,
)


@GENERATED
@given(steps=STEPS)
def test_a_reused_use_is_always_the_accounts_use_at_that_moment(api, emu, monkeypatch, steps):
    """Billing computes an account's use again only after something may have changed it; at
    every settle that reuses it instead, it must equal a fresh computation."""
    emu.reset()
    emu.transition_delay = None
    emu.clock.freeze(False)  # time passes between requests: every request settles a piece
    reuses: list[bool] = []
    record = metering.Metering.record

    def checked(meter, account, since, now):
        if meter.samples_current:
            reuses.append(meter.samples == tuple(metering.usage_of(account)))
        record(meter, account, since, now)

    monkeypatch.setattr(metering.Metering, "record", staticmethod(checked))
    servers = [
        api.create("servers", **server_body(f"s{n}", cpu=2000, mem=GIB, cpu_type="intel"))
        for n in range(2)
    ]
    drives: list[str] = []
    for kind, value in steps:
        if kind == "read":
            api.ok("GET", value, params={"limit": 0})
        elif kind == "drive":
            drives.append(api.create("drives", name="d", size=value * GIB, media="disk")["uuid"])
        elif kind == "resize" and drives:
            body = {"name": "d", "media": "disk", "size": value * GIB}
            api.post(f"drives/{drives[-1]}/action/", params={"do": "resize"}, json=body)
        elif kind == "delete drive" and drives:
            api.ok("DELETE", f"drives/{drives.pop(value % len(drives))}/", 204)
        elif kind == "ephemeral":
            _attach_ephemeral(api, emu, servers[value])
        elif kind in ("start", "stop"):
            api.post(f"servers/{servers[value]['uuid']}/action/", params={"do": kind}, json={})
        emu.advance()
        api.ok("GET", "servers/detail/")  # a read after every step: settled with the reused use
        api.ok("GET", "drives/detail/")
    assert reuses and all(reuses)


def _attach_ephemeral(api, emu, server: dict) -> None:
    """A local NVMe drive (ephemeral: used only while a powered server has it) on ``server``."""
    body = {"name": "scratch", "size": GIB, "media": "disk", "storage_type": "local_nvme"}
    drive = api.create("drives", **body)
    emu.advance()
    current = api.ok("GET", f"servers/{server['uuid']}/")
    entry = {"device": "virtio", "dev_channel": f"0:{len(current['drives'])}", "drive": drive}
    fields = {key: current[key] for key in ("name", "cpu", "mem", "vnc_password")}
    api.put(f"servers/{server['uuid']}/", json={**fields, "drives": [*current["drives"], entry]})

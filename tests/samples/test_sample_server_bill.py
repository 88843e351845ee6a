"""samples/server_bill.py splits the ledger's charges between servers by their usage."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cloudsigma import resource

GIB = 1024**3


def ago(days: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return moment.isoformat()


@pytest.fixture
def account_state(cloudsigma_emulator, sdk, monkeypatch):
    """Two servers, three drives, and ledger and usage records seeded into the emulator.

    The emulator bills nothing by itself, so the records are put into its state directly;
    the sample still reads them over HTTP like any client.
    """
    drives, servers = sdk(resource.Drive), sdk(resource.Server)
    attached = drives.create({"name": "attached", "size": GIB, "media": "disk"})
    loose = drives.create({"name": "loose", "size": GIB, "media": "disk"})
    for drive in (attached, loose):
        drives.wait_for_status(drive["uuid"], "unmounted", timeout=20)
    base = {"cpu": 1000, "mem": GIB, "vnc_password": "billing"}
    web = servers.create(
        {
            **base,
            "name": "web",
            "drives": [{"device": "virtio", "dev_channel": "0:0", "drive": attached["uuid"]}],
        }
    )
    worker = servers.create({**base, "name": "worker"})

    recent, old = ago(1), ago(40)
    ledger = [
        ("1", recent, "3.00", "Burst: 3.00 GHz of cpu for 5 minutes at ..."),
        ("2", recent, "0.90", "Burst: 3.00 GB of dssd for 5 minutes at ..."),
        ("3", recent, "5.00", "Subscription of 1 ip"),
        ("4", old, "100.00", "Burst: 2.00 GHz of cpu for 5 minutes at ..."),
    ]
    usage = [
        (web["uuid"], "intel_cpu", "2000", recent),
        (worker["uuid"], "intel_cpu", "1000", recent),
        (attached["uuid"], "dssd", str(2 * GIB), recent),
        (loose["uuid"], "dssd", str(GIB), recent),
        (web["uuid"], "intel_cpu", "2000", old),
    ]
    backend = cloudsigma_emulator.backend
    account = backend.by_email[cloudsigma_emulator.username.lower()]
    store = backend.collections["ledger"].store(account)
    store.clear()  # only the charges below, not those of the account's opening subscriptions
    for entry_id, poll_time, amount, reason in ledger:
        store[entry_id] = {
            "id": entry_id, "time": poll_time, "poll_time": poll_time, "amount": amount,
            "reason": reason, "billing_cycle": 1, "interval": 300, "human_interval": "5 minutes",
            "initial": "0", "end": "0", "resource_amount": "0",
        }  # fmt: skip
    records = [
        {"uuid": uuid, "resource": name, "amount": amount, "poll_time": poll_time}
        for uuid, name, amount, poll_time in usage
    ]
    usage_collection = backend.collections["usage"]
    monkeypatch.setattr(usage_collection, "listing", lambda account, query: list(records))
    return {"web": web, "worker": worker}


def table_rows(stdout: str) -> dict[str, str]:
    """The bill's rows below its header: the 36-character server column -> the cost."""
    return {line[:36].strip(): line.split()[-1] for line in stdout.splitlines()[2:]}


def test_bill_splits_charges_by_usage_and_attached_drives(run_sample, account_state):
    result = run_sample("server_bill.py", "--days", "30")

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert rows[account_state["web"]["uuid"]] == "2.6000"
    assert rows[account_state["worker"]["uuid"]] == "1.0000"
    assert rows["(no current server)"] == "0.3000"
    assert rows["(not attributed to a server)"] == "5.0000"
    assert rows["TOTAL"] == "8.9000"
    assert "web" in result.stdout and "worker" in result.stdout
    assert "COST EUR" in result.stdout


def test_longer_period_includes_older_charges(run_sample, account_state):
    result = run_sample("server_bill.py", "--days", "60")

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert rows[account_state["web"]["uuid"]] == "102.6000"
    assert rows["TOTAL"] == "108.9000"


def test_subscription_charges_are_not_attributed_to_servers(run_sample, sdk):
    """Without seeded records: what the emulator itself booked for the account's purchases."""
    sdk(resource.Subscriptions).create({"resource": "ip", "amount": 1, "period": "1 month"})
    booked = sum(Decimal(entry["amount"]) for entry in sdk(resource.Ledger).list())
    assert booked > 0

    result = run_sample("server_bill.py", "--days", "1")

    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert Decimal(rows["(not attributed to a server)"]) == booked.quantize(Decimal("0.0001"))
    assert Decimal(rows["TOTAL"]) == booked.quantize(Decimal("0.0001"))


def test_period_that_ends_before_it_starts_is_refused(run_sample, cloudsigma_emulator):
    result = run_sample("server_bill.py", "--start", "2024-02-01", "--end", "2024-01-01")

    assert result.returncode == 2
    assert "start must come before its end" in result.stderr

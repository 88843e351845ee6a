"""Billing and account commands: balance, usage, pricing, ledger, profile, subscriptions, keys."""

from __future__ import annotations

import argparse
import os
import stat
from decimal import Decimal

import cli_support
import pytest
from cli_support import record_fields
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsigma import resource
from cloudsigma.cli import values


def test_balance_in_every_form_and_alone_with_quiet(cli):
    expected = resource.Balance().get()
    header, row = cli("balance").expect(0).lines()
    assert header.split()[:2] == ["BALANCE", "CURRENCY"]
    assert row.split()[:2] == [expected["balance"], expected["currency"]]
    assert cli("balance", "-o", "json").expect(0).json() == expected
    assert cli("balance", "-o", "yaml").expect(0).yaml() == expected
    assert cli("balance", "-q").expect(0).lines() == [expected["balance"]]
    refused = cli("balance", "--username", "nobody@example.com").expect(1)
    assert "status 401" in refused.stderr


def test_usage_shows_units_per_resource_and_raw_numbers_in_json(cli):
    cli_support.drive("used", size=10 * cli_support.GIB)
    table = cli("usage").expect(0)
    rows = {line.split()[0]: line for line in table.lines()[1:] if line and ":" not in line}
    assert "10 GiB" in rows["dssd"]  # using
    assert "10 GHz" in rows["cpu"]  # the starter subscription of 10000 MHz
    raw = cli("usage", "-o", "json").expect(0).json()
    assert raw["usage"]["dssd"]["using"] == 10 * 1024**3
    assert cli("usage", "-o", "yaml").expect(0).yaml() == raw
    everything = cli("usage", "--all").expect(0)
    assert len(everything.lines()) > len(table.lines())
    samples = cli("usage", "--samples", "-o", "json").expect(0).json()
    assert any(sample["resource"] == "dssd" for sample in samples)
    bad = cli("usage", "--samples", "--since", "yesterday").expect(1)
    assert "poll_time_gt" in bad.stderr


def test_pricing_filters_and_marks_what_applies(cli):
    table = cli("pricing", "--currency", "EUR").expect(0)
    assert all(" EUR " in line for line in table.lines()[1:])
    assert "burst now" in table.stdout
    every = cli("pricing", "-o", "json").expect(0).json()
    assert {price["currency"] for price in every} >= {"EUR", "USD"}
    assert Decimal(every[0]["price"])  # raw API strings
    assert cli("pricing", "--resource", "nothing", "-o", "yaml").expect(0).yaml() == []


def test_ledger_lists_the_newest_debit_first(cli):
    cli("subscriptions", "create", "--resource", "vlan", "--amount", "1").expect(0)
    header, newest, *_ = cli("ledger", "list").expect(0).lines()
    assert header.split() == ["TIME", "AMOUNT", "BALANCE", "REASON"]
    assert "vlan" in newest
    entries = cli("ledger", "list", "-o", "json").expect(0).json()
    assert entries[0]["reason"].endswith("vlan")
    assert cli("ledger", "list", "-o", "yaml", "--limit", "1").expect(0).yaml() == entries[:1]


def test_profile_get_and_update_with_typed_values(cli):
    shown = record_fields(cli("profile", "get").expect(0).stdout)
    assert shown["email"] == resource.Profile().get()["email"]
    cli("profile", "update", "--set", "company=Example Ltd", "--set", "mailing_list=false")
    stored = resource.Profile().get()
    assert (stored["company"], stored["mailing_list"]) == ("Example Ltd", False)
    assert cli("profile", "get", "-o", "yaml").expect(0).yaml()["company"] == "Example Ltd"
    bad = cli("profile", "update", "--set", "mailing_list=maybe").expect(2)
    assert "mailing_list is true or false" in bad.stderr
    assert cli("profile", "update").expect(2).stderr.count("nothing to update") == 1


@pytest.mark.parametrize(
    ("resource_name", "amount", "stored"),
    [("mem", "10G", str(10 * 1024**3)), ("cpu", "2GHz", "2000"), ("vlan", "2", "1")],
)
def test_subscriptions_take_amounts_in_units(cli, resource_name, amount, stored):
    created = cli(
        "subscriptions", "create", "--resource", resource_name, "--amount", amount, "-o", "json"
    ).expect(0)
    answer = created.json()
    first = answer[0] if isinstance(answer, list) else answer
    assert (first["resource"], first["amount"]) == (resource_name, stored)
    table = cli("subscriptions", "list", "--filter", f"resource={resource_name}").expect(0)
    if resource_name == "mem":
        assert "10 GiB" in table.stdout


def test_subscription_amount_errors_name_the_unit(cli):
    bad = cli("subscriptions", "create", "--resource", "ip", "--amount", "10G").expect(2)
    assert "counts whole units" in bad.stderr
    worse = cli("subscriptions", "create", "--resource", "mem", "--amount", "lots").expect(2)
    assert "invalid size 'lots'" in worse.stderr


def test_subscriptions_extend_and_auto_renew(cli):
    bought = cli_support.subscription("vlan")
    extended = cli("subscriptions", "extend", bought["id"], "--period", "1 month", "-o", "json")
    extension = extended.expect(0).json()
    assert (extension["resource"], extension["amount"]) == ("vlan", "1")
    assert extension["id"] in resource.Subscriptions().get(bought["id"])["descendants"]
    off = cli("subscriptions", "auto-renew", bought["id"], "off", "-o", "yaml").expect(0).yaml()
    assert off["auto_renew"] is False
    assert resource.Subscriptions().get(bought["id"])["auto_renew"] is False
    on = record_fields(cli("subscriptions", "auto-renew", bought["id"], "on").expect(0).stdout)
    assert on["auto_renew"] == "true"
    missing = cli("subscriptions", "extend", "999999").expect(1)
    assert "status 404" in missing.stderr


#: Units the amount parser takes, with their factors to bytes / MHz.
BYTE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


@settings(max_examples=300, derandomize=True)
@given(
    number=st.integers(min_value=1, max_value=10**6),
    unit=st.sampled_from(sorted(BYTE_UNITS)),
    suffix=st.sampled_from(["", "B", "iB"]),
    space=st.sampled_from(["", " "]),
    resource_name=st.sampled_from(["mem", "dssd", "nvme", "tx", "intel_mem"]),
)
def test_byte_amounts_parse_in_every_spelling(number, unit, suffix, space, resource_name):
    text = f"{number}{space}{unit.lower() if number % 2 else unit}{suffix if unit else ''}"
    assert values.amount(resource_name, text) == str(number * BYTE_UNITS[unit])


@settings(max_examples=200, derandomize=True)
@given(
    mhz=st.integers(min_value=1, max_value=10**6),
    spelling=st.sampled_from(["{m}", "{m}MHz", "{m}mhz", "{g}GHz", "{g}G"]),
)
def test_cpu_amounts_parse_as_mhz(mhz, spelling):
    if "{g}" in spelling and mhz % 1000:
        spelling = "{m}MHz"
    text = spelling.format(m=mhz, g=f"{mhz / 1000:g}")
    assert values.amount("cpu", text) == str(mhz)


@settings(max_examples=200, derandomize=True)
@given(text=st.text(max_size=8), resource_name=st.sampled_from(["ip", "vlan", "vpc", "mem"]))
def test_any_other_amount_is_refused_with_a_usage_error(text, resource_name):
    try:
        parsed = values.amount(resource_name, text)
    except argparse.ArgumentTypeError as exc:
        assert repr(text) in str(exc)
    else:
        assert parsed.isdigit() and int(parsed) > 0


def test_keypairs_generate_save_the_private_key_and_import(cli, tmp_path):
    key_file = tmp_path / "id_cloudsigma"
    made = cli("keypairs", "create", "--name", "laptop", "--private-key-file", str(key_file))
    fields = record_fields(made.expect(0).stdout)
    assert fields["private_key"] == "********"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "PRIVATE KEY" in key_file.read_text()
    again = cli("keypairs", "create", "--name", "again", "--private-key-file", str(key_file))
    assert "exists already" in again.expect(1).stderr

    public = tmp_path / "key.pub"
    public.write_text(fields["public_key"] + " me@laptop\n")
    imported = cli("keypairs", "import", "mine", str(public), "-o", "json").expect(0).json()
    assert imported["fingerprint"] == fields["fingerprint"]
    listed = cli("keypairs", "list", "-o", "yaml").expect(0).yaml()
    assert sorted(item["name"] for item in listed) == ["laptop", "mine"]
    cli("keypairs", "delete", "mine").expect(0)
    assert cli("keypairs", "list", "-q").expect(0).lines() == [fields["uuid"]]
    missing = cli("keypairs", "import", "x", str(tmp_path / "absent.pub")).expect(1)
    assert "absent.pub" in missing.stderr


def test_account_commands_in_a_real_process(cli):
    assert cli.subprocess("balance", "-o", "json").expect(0).json()["currency"]
    assert "RESOURCE" in cli.subprocess("usage").expect(0).stdout

"""Output forms: table, wide, JSON, YAML, keys only, no header, masked secrets, closed pipes."""

from __future__ import annotations

import subprocess

import cli_support
import pytest
from cli_support import command, record_fields

from cloudsigma import resource


def test_list_in_json_and_yaml_carries_the_fields_the_table_shows(cli):
    drive = cli_support.drive("listed", size=10 * cli_support.GIB)
    table = cli("drives", "list").expect(0)
    header, row = table.lines()
    assert header.split()[:4] == ["UUID", "NAME", "STATUS", "SIZE"]
    assert "10 GiB" in row and "listed" in row
    as_json = cli("drives", "list", "-o", "json").expect(0).json()
    as_yaml = cli("drives", "list", "-o", "yaml").expect(0).yaml()
    assert as_json == as_yaml
    (only,) = as_json
    assert (only["uuid"], only["name"], only["size"]) == (drive["uuid"], "listed", 10 * 1024**3)
    assert {"status", "media", "storage_type", "mounted_on"} <= set(only)


def test_wide_adds_columns_and_quiet_prints_keys_only(cli):
    server = cli_support.server("wide-one")
    wide = cli("servers", "list", "-o", "wide").expect(0)
    assert "CPU TYPE" in wide.lines()[0] and "VNC PASSWORD" in wide.lines()[0]
    assert "CPU TYPE" not in cli("servers", "list").expect(0).lines()[0]
    assert cli("servers", "list", "-q").expect(0).lines() == [server["uuid"]]
    assert cli("servers", "get", "wide-one", "-q").expect(0).lines() == [server["uuid"]]
    bare = cli("servers", "list", "--no-header").expect(0).lines()
    assert len(bare) == 1 and bare[0].startswith(server["uuid"])
    bad = cli("servers", "list", "-o", "xml").expect(2)
    assert "invalid choice: 'xml'" in bad.stderr


def test_secrets_are_masked_in_tables_and_records_unless_asked(cli):
    cli_support.server("secretive")  # vnc_password "secret-vnc"
    for args in (("servers", "list", "-o", "wide"), ("servers", "get", "secretive")):
        assert "secret-vnc" not in cli(*args).expect(0).stdout
        assert "********" in cli(*args).expect(0).stdout
        assert "secret-vnc" in cli(*args, "--show-secrets").expect(0).stdout
    assert cli("servers", "get", "secretive", "-o", "json").expect(0).json()["vnc_password"] == (
        "secret-vnc"
    )
    assert "secret-vnc" in cli("servers", "get", "secretive", "-o", "yaml").expect(0).stdout


def test_get_shows_nested_fields_readably(cli):
    server = cli_support.server("nested")
    disk = cli_support.drive("nested-disk")
    resource.Server().update(
        server["uuid"],
        dict(server, drives=[{"device": "virtio", "dev_channel": "0:0", "drive": disk["uuid"]}]),
    )
    resource.Server().update(server["uuid"], {"meta": {"role": "web"}})
    shown = cli("servers", "get", "nested").expect(0).lines()
    assert "meta" in shown and "  role  web" in shown
    assert "drives" in shown
    assert any(line.startswith("  - boot_order") for line in shown)
    assert any(line.split() == ["dev_channel", "0:0"] for line in shown)
    assert any(line.split() == ["drive", disk["uuid"]] for line in shown)
    assert record_fields("\n".join(shown))["cpu"] == "1 GHz"
    assert record_fields("\n".join(shown))["mem"] == f"512 MiB ({512 * 1024**2} bytes)"


def test_a_closed_pipe_exits_zero_quietly(cli):
    for number in range(3):
        cli_support.tag(f"piped-{number}")
    # the reader is gone before the command writes: its first write meets a closed pipe
    script = f"{' '.join(command('tags', 'list', '-o', 'yaml'))} | true; echo ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", script], env=cli.env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "0"
    assert done.stderr == ""


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_delete_reports_in_the_chosen_form(cli, output):
    tag = cli_support.tag("short-lived")
    shown = cli("tags", "delete", "short-lived", "-o", output).expect(0)
    answer = shown.json() if output == "json" else shown.yaml()
    assert answer == {"uuid": tag["uuid"], "deleted": True}
    assert cli("tags", "list", "-q").expect(0).stdout == ""


def test_yaml_and_wide_and_quiet_in_a_real_process(cli):
    drive = cli_support.drive("processed")
    as_yaml = cli.subprocess("drives", "list", "-o", "yaml").expect(0).yaml()
    assert [item["uuid"] for item in as_yaml] == [drive["uuid"]]
    assert cli.subprocess("-q", "drives", "list").expect(0).lines() == [drive["uuid"]]

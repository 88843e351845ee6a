"""Contexts: create (asked on a terminal or given), list, use, delete; --context and --location."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli_global_options import run_on_terminal

from cloudsigma.cli.contexts import config_line
from cloudsigma.cli.locations import LOCATIONS
from cloudsigma.cli.problems import CommandFailed
from cloudsigma.conf import parse_config_text
from cloudsigma.testing import allow_endpoint


@pytest.fixture
def home(tmp_path, monkeypatch, cli):
    """A user with an empty home: no ~/.cloudsigma.conf, no contexts, no CLOUDSIGMA_CONFIG."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.delenv("CLOUDSIGMA_CONFIG", raising=False)
    monkeypatch.delenv("CLOUDSIGMA_CONTEXT", raising=False)
    # the default file of this process was fixed at import: point it into the empty home too
    monkeypatch.setattr("cloudsigma.conf.CONFIG_LOCATION", str(tmp_path / ".cloudsigma.conf"))
    env = {k: v for k, v in cli.env.items() if k != "CLOUDSIGMA_CONFIG"}
    env |= {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    return tmp_path, env


def create_emulator_context(cli, emulator, name: str, *extra: str):
    return cli(
        "context", "create", name,
        "--api-endpoint", emulator.api_endpoint,
        "--username", emulator.username,
        "--password-stdin", *extra,
        stdin=emulator.password + "\n",
    )  # fmt: skip


def test_create_writes_a_private_file_and_use_makes_it_the_default(cli, cloudsigma_emulator, home):
    folder, _ = home
    created = create_emulator_context(cli, cloudsigma_emulator, "lab").expect(0)
    path = folder / ".config" / "cloudsigma" / "contexts" / "lab.conf"
    assert str(path) in created.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    values = parse_config_text(path.read_text())
    assert values["password"] == cloudsigma_emulator.password
    assert cloudsigma_emulator.password not in created.stdout + created.stderr

    assert cli("--context", "lab", "drives", "list", "-o", "json").expect(0).json() == []
    without = cli("drives", "list").expect(1)  # ~/.cloudsigma.conf does not exist here
    assert ".cloudsigma.conf" in without.stderr
    cli("context", "use", "lab").expect(0)
    assert cli("drives", "list", "-o", "yaml").expect(0).yaml() == []
    assert cli("context", "active").expect(0).stdout.strip() == "lab"

    listed = cli("context", "list", "-o", "json").expect(0).json()
    assert [(c["name"], c["active"]) for c in listed] == [("default", False), ("lab", True)]
    assert listed[1]["api_endpoint"] == cloudsigma_emulator.api_endpoint
    assert "password" not in str(listed)
    table = cli("context", "list").expect(0)
    assert any(line.split()[:2] == ["*", "lab"] for line in table.lines())

    cli("context", "use", "default").expect(0)
    assert cli("drives", "list").expect(1).status == 1
    cli("context", "delete", "lab").expect(0)
    assert not path.exists()
    gone = cli("--context", "lab", "drives", "list").expect(2)
    assert "no context named 'lab'" in gone.stderr


def test_the_context_environment_variable_picks_one_for_a_command(
    cli, cloudsigma_emulator, home, monkeypatch
):
    create_emulator_context(cli, cloudsigma_emulator, "ci").expect(0)
    monkeypatch.setenv("CLOUDSIGMA_CONTEXT", "ci")
    assert cli("tags", "list", "-o", "json").expect(0).json() == []
    monkeypatch.setenv("CLOUDSIGMA_CONTEXT", "nope")
    assert "no context named 'nope'" in cli("tags", "list").expect(2).stderr


def test_create_refuses_to_replace_and_to_go_without_credentials(cli, cloudsigma_emulator, home):
    create_emulator_context(cli, cloudsigma_emulator, "one").expect(0)
    again = create_emulator_context(cli, cloudsigma_emulator, "one").expect(1)
    assert "exists already" in again.stderr
    create_emulator_context(cli, cloudsigma_emulator, "one", "--force").expect(0)
    lacking = cli("context", "create", "two", "--location", "zrh").expect(2)
    assert "needs the account's e-mail and password" in lacking.stderr
    bad_name = cli("context", "create", "../evil", "--location", "zrh").expect(2)
    assert "invalid context name" in bad_name.stderr
    unknown = cli("context", "create", "x", "--location", "atlantis").expect(2)
    assert "unknown location 'atlantis'" in unknown.stderr


def test_location_fills_in_both_endpoints(cli, home):
    folder, _ = home
    created = cli(
        "context", "create", "zurich", "--location", "ZRH", "--username", "me@example.com",
        "--password-stdin", stdin="pw\n",
    ).expect(0)  # fmt: skip
    values = parse_config_text((folder / ".config/cloudsigma/contexts/zurich.conf").read_text())
    assert values["api_endpoint"] == "https://zrh.cloudsigma.com/api/2.0/"
    assert values["ws_endpoint"] == "wss://direct.zrh.cloudsigma.com/websocket"
    assert "zrh.cloudsigma.com" in created.stdout
    assert set(LOCATIONS) >= {"zrh", "fra", "per", "tyo", "wdc", "dub"}


def test_location_option_points_a_command_at_that_location(cli, monkeypatch):
    # nothing listens there from a test; the request must at least go to that host
    monkeypatch.setitem(LOCATIONS, "emu", LOCATIONS["zrh"].__class__("emu", "x", "127.0.0.1:9"))
    allow_endpoint("https://127.0.0.1:9/")
    failed = cli("--location", "emu", "--timeout", "2", "tags", "list").expect(1)
    assert "127.0.0.1:9" in failed.stderr
    both = cli("--location", "zrh", "--api-endpoint", "http://x/", "tags", "list").expect(2)
    assert "not both" in both.stderr


def test_create_asks_on_a_terminal(cloudsigma_emulator, home):
    folder, env = home
    status, shown = run_on_terminal(
        [
            "context", "create", "typed", "--api-endpoint", cloudsigma_emulator.api_endpoint,
            "--username", cloudsigma_emulator.username,
        ],
        env,
        cloudsigma_emulator.password,
        prompt=b"Password:",
    )  # fmt: skip
    assert status == 0, shown
    assert cloudsigma_emulator.password not in shown  # not echoed
    values = parse_config_text((folder / ".config/cloudsigma/contexts/typed.conf").read_text())
    assert values["password"] == cloudsigma_emulator.password


def test_contexts_in_a_real_process(cli, cloudsigma_emulator, home):
    _, env = home
    import subprocess

    from cli_support import command

    done = subprocess.run(
        command(
            "context", "create", "proc", "--api-endpoint", cloudsigma_emulator.api_endpoint,
            "--username", cloudsigma_emulator.username, "--password-stdin", "--use",
        ),
        input=cloudsigma_emulator.password + "\n", env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        command("servers", "list", "-o", "json"), env=env, capture_output=True, text=True
    )
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]"), listed.stderr


@settings(max_examples=300, derandomize=True)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_any_password_reads_back_as_written_or_is_refused(password):
    try:
        line = config_line("password", password)
    except CommandFailed as exc:  # the refusal must say what to do
        assert "CLOUDSIGMA_PASSWORD" in str(exc) or "span lines" in str(exc)
    else:
        assert parse_config_text(line)["password"] == password

"""``events``, ``metadata`` and ``emulator``: the commands that read streams or run servers."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import cli_support
from cli_support import Run, cli_environment, command, record_fields

from cloudsigma import resource


def start_listening(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start ``cloudsigma events`` and return once it says it is listening."""
    process = subprocess.Popen(
        command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first_line = process.stderr.readline()
    assert "listening for events" in first_line, first_line + process.stderr.read()
    return process


def finish(process: subprocess.Popen, args: tuple[str, ...], timeout: float = 30) -> Run:
    stdout, stderr = process.communicate(timeout=timeout)
    return Run(args, process.returncode, stdout, stderr)


def test_events_prints_one_line_per_event_and_fails_when_none_come(cli):
    as_json = ("--json", "events", "--count", "1", "--wait-timeout", "30")
    listener = start_listening(cli.env, *as_json)
    drive = cli_support.drive("evented")
    frame = json.loads(finish(listener, as_json).expect(0).stdout.splitlines()[0])
    assert frame["resource_type"] == "drives"
    assert frame["resource_uri"] == drive["resource_uri"]

    as_table = ("events", "--count", "1", "--wait-timeout", "30")
    listener = start_listening(cli.env, *as_table)
    resource.Drive().update(drive["uuid"], {"name": "evented-again"})
    line = finish(listener, as_table).expect(0).stdout.splitlines()[0]
    received, resource_type, uri = line.split()[:3]
    assert (resource_type, uri) == ("drives", drive["resource_uri"])
    assert received.endswith("+00:00")  # when it came, in UTC

    as_yaml = ("-o", "yaml", "events", "--count", "1", "--wait-timeout", "30")
    listener = start_listening(cli.env, *as_yaml)
    resource.Drive().update(drive["uuid"], {"name": "evented-in-yaml"})
    import yaml

    (document,) = yaml.safe_load_all(finish(listener, as_yaml).expect(0).stdout)
    assert document["event"]["resource_uri"] == drive["resource_uri"]
    assert document["received"].endswith("+00:00")

    quiet = cli("events", "--count", "1", "--wait-timeout", "0.5").expect(1)
    assert "no more events within --wait-timeout 0.5 s (0 of 1)" in quiet.stderr


def test_events_stops_on_ctrl_c_with_status_130(cli):
    listener = start_listening(cli.env, "events")
    listener.send_signal(signal.SIGINT)
    stopped = finish(listener, ("events",)).expect(130)
    assert "interrupted" in stopped.stderr


def test_metadata_reads_the_context_over_the_serial_device(cli, cloudsigma_emulator):
    server = cli_support.server("context-server")
    resource.Server().update(server["uuid"], {"meta": {"ssh_public_key": "ssh-ed25519 AAAA k"}})
    device = cloudsigma_emulator.serial_device(server["uuid"])

    whole = cli("metadata", "--device", device).expect(0)
    fields = record_fields(whole.stdout)
    assert fields["name"] == "context-server"
    assert fields["uuid"] == server["uuid"]

    key = cli("metadata", "/meta/ssh_public_key", "--device", device).expect(0)
    assert key.stdout == "ssh-ed25519 AAAA k\n"
    meta = cli("--json", "metadata", "meta", "--device", device).expect(0).json()
    assert meta == {"ssh_public_key": "ssh-ed25519 AAAA k"}

    absent = cli("metadata", "--device", "/dev/no-such-serial-port", "--timeout", "2").expect(1)
    assert "/dev/no-such-serial-port" in absent.stderr


def test_emulator_command_runs_the_emulator_with_its_own_options(tmp_path):
    config = tmp_path / "emulator.conf"
    args = ("emulator", "--port", "0", "--write-config", str(config))
    env = cli_environment(str(tmp_path / "unused.conf"))
    emulator = subprocess.Popen(
        command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not (config.exists() and config.stat().st_size) and emulator.poll() is None:
            assert time.monotonic() < deadline, "the emulator did not write its config"
            time.sleep(0.1)
        listed = subprocess.run(
            command("--config", str(config), "--json", "servers", "list"),
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
    finally:
        emulator.send_signal(signal.SIGINT)
        stopped = finish(emulator, args)
    assert stopped.status in (0, 130), stopped.stderr
    assert "Traceback" not in stopped.stderr

    bad = subprocess.run(
        command("emulator", "--no-such-option"), env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "--no-such-option" in bad.stderr

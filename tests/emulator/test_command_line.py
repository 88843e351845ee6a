"""``python -m cloudsigma.emulator``: options, printed config, config file, TLS, clean stop."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import pytest
import requests


def run_emulator(*args, config):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloudsigma.emulator",
            "--port",
            "0",
            "--write-config",
            str(config),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = {}
    while "password" not in lines:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        key, _, value = line.partition(" = ")
        lines[key.strip()] = value.strip()
    while len(lines) < 5 and "--tls" in args:
        key, _, value = process.stdout.readline().partition(" = ")
        lines[key.strip()] = value.strip()
    return process, lines


def stop(process, sig=signal.SIGINT):
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    return out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_command_line_prints_config_writes_it_and_stops_cleanly(tmp_path, sig):
    config = tmp_path / "emu.conf"
    process, lines = run_emulator(
        "--username",
        "cli@example.com",
        "--password",
        "pw-123",
        "--transition-delay",
        "0",
        config=config,
    )
    try:
        assert lines["username"] == "cli@example.com" and lines["password"] == "pw-123"
        assert lines["api_endpoint"].startswith("http://127.0.0.1:")
        assert lines["ws_endpoint"].endswith("/websocket")
        assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
        response = requests.get(
            lines["api_endpoint"] + "drives/", auth=("cli@example.com", "pw-123"), timeout=10
        )
        assert response.status_code == 200
    finally:
        stop(process, sig)


def test_tls_serves_https_with_a_ca_next_to_the_config(tmp_path):
    config = tmp_path / "emu.conf"
    process, lines = run_emulator("--tls", config=config)
    try:
        assert lines["api_endpoint"].startswith("https://")
        assert lines["ws_endpoint"].startswith("wss://")
        ca_bundle = lines["ca_bundle"]
        assert os.path.dirname(ca_bundle) == str(tmp_path)
        assert f"ca_bundle = {ca_bundle}" in config.read_text()
        response = requests.get(
            lines["api_endpoint"] + "capabilities/",
            verify=ca_bundle,
            auth=(lines["username"], lines["password"]),
            timeout=10,
        )
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(lines["api_endpoint"] + "capabilities/", timeout=10)
    finally:
        stop(process)


def test_unknown_option_fails_with_usage():
    result = subprocess.run(
        [sys.executable, "-m", "cloudsigma.emulator", "--nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "usage" in result.stderr


def test_serial_context_option_prints_a_pty_path(tmp_path):
    config = tmp_path / "emu.conf"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloudsigma.emulator",
            "--port",
            "0",
            "--write-config",
            str(config),
            "--serial-context",
            "web",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(10):
            line = process.stdout.readline()
            if line.startswith("serial_context"):
                break
        assert line.startswith("serial_context web = /dev/")
    finally:
        stop(process)


def test_direct_port_listens_as_a_separate_direct_host(tmp_path):
    config = tmp_path / "emu.conf"
    process, lines = run_emulator("--direct-port", "0", config=config)
    try:
        while "direct_endpoint" not in lines:
            key, _, value = process.stdout.readline().partition(" = ")
            lines[key.strip()] = value.strip()
        api, direct = lines["api_endpoint"], lines["direct_endpoint"]
        assert direct != api and direct.startswith("http://127.0.0.1:")
        assert lines["ws_endpoint"].startswith(direct.replace("http", "ws", 1).split("/api")[0])
        assert f"direct_endpoint = {direct}" in config.read_text()
        auth = (lines["username"], lines["password"])
        uploaded = requests.post(direct + "drives/upload/", data=b"x" * 4096, auth=auth, timeout=10)
        assert uploaded.status_code == 200
        drive = requests.get(api + f"drives/{uploaded.text}/", auth=auth, timeout=10)
        assert drive.json()["status"] == "unmounted"
    finally:
        stop(process)


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_direct_port_out_of_range_fails_with_usage(port):
    result = subprocess.run(
        [sys.executable, "-m", "cloudsigma.emulator", "--direct-port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "--direct-port" in result.stderr

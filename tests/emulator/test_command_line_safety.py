"""``cloudsigma-emulator --write-config`` never replaces a file it did not write, and a missing
folder or a missing extra is one clear line, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from test_command_line import run_emulator, stop

from cloudsigma.emulator import Emulator

REAL = "api_endpoint = https://zrh.cloudsigma.com/api/2.0/\nusername = me@example.com\n" + (
    "password = s3cret\n"
)


def emulator_command(*args: str, code: str = "") -> subprocess.CompletedProcess:
    """Run the command line in a fresh interpreter (``code`` runs first) until it exits."""
    program = "\n".join(
        [code, "import sys", "from cloudsigma.emulator.__main__ import main", "sys.exit(main())"]
    )
    return subprocess.run(
        [sys.executable, "-c", program, "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_config_file_the_emulator_did_not_write_is_left_alone(tmp_path):
    config = tmp_path / "cloudsigma.conf"
    config.write_text(REAL)
    done = emulator_command("--write-config", str(config))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "was not written by the emulator" in done.stderr
    assert "--force" in done.stderr and "Traceback" not in done.stderr
    assert config.read_text() == REAL


def test_force_replaces_a_config_file_the_emulator_did_not_write(tmp_path):
    config = tmp_path / "cloudsigma.conf"
    config.write_text(REAL)
    process, lines = run_emulator("--force", config=config)
    try:
        assert "s3cret" not in config.read_text()
        assert f"password = {lines['password']}" in config.read_text()
    finally:
        stop(process)


def test_a_config_file_the_emulator_wrote_is_replaced_on_the_next_start(tmp_path):
    config = tmp_path / "cloudsigma.conf"
    first, lines = run_emulator(config=config)
    stop(first)
    second, again = run_emulator(config=config)
    try:
        assert again["api_endpoint"] in config.read_text()
    finally:
        stop(second)


def test_a_missing_folder_is_one_line(tmp_path):
    done = emulator_command("--write-config", str(tmp_path / "nowhere" / "emu.conf"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr.splitlines()[-1] and "Traceback" not in done.stderr


def test_a_missing_aiohttp_is_one_line():
    done = emulator_command(code="import sys; sys.modules['aiohttp'] = None")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pip install 'cloudsigma[emulator]'" in done.stderr and "aiohttp" in done.stderr


def test_the_emulator_in_process_refuses_to_replace_a_foreign_file(tmp_path):
    config = tmp_path / "cloudsigma.conf"
    config.write_text(REAL)
    with pytest.raises(RuntimeError, match="was not written by the emulator"):
        Emulator(config_path=str(config)).start()
    assert config.read_text() == REAL
    with Emulator(config_path=str(config), overwrite_config=True) as emulator:
        assert emulator.control_token in config.read_text()


def test_the_parser_is_built_without_side_effects(tmp_path):
    """``build_parser()`` (what the docs list the options from) starts, writes and imports
    nothing of the emulator's runtime."""
    program = (
        "import sys\n"
        "from cloudsigma.emulator.__main__ import build_parser\n"
        "parser = build_parser(); build_parser()\n"
        "print(sorted(o for a in parser._actions for o in a.option_strings))\n"
        "print('aiohttp' in sys.modules, 'cloudsigma.emulator.runner' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    options, imported = done.stdout.splitlines()
    assert "'--write-config'" in options and "'--force'" in options
    assert "'--serial-context'" in options and "'--direct-port'" in options
    assert imported == "False False" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []

"""Global options, help, configuration and error reporting of the ``cloudsigma`` command."""

from __future__ import annotations

import argparse
import base64
import os
import select
import subprocess
import sys

import pytest
from cli_support import cli_environment, command

from cloudsigma.cli import main
from cloudsigma.testing import allow_endpoint
from cloudsigma.version import __version__


def help_paths() -> list[list[str]]:
    """Every command and verb, as the words that name it."""
    from cloudsigma.cli.app import build_parser

    paths: list[list[str]] = [[]]

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            for name, child in action.choices.items():
                if name != "emulator":  # its help is the emulator's own
                    paths.append([*prefix, name])
                    walk(child, [*prefix, name])

    walk(build_parser(), [])
    return paths


@pytest.mark.parametrize("path", help_paths(), ids=lambda path: " ".join(path) or "top")
def test_every_command_has_help_with_examples(path, capsys):
    assert main([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "usage: cloudsigma" in shown
    assert "example" in shown


def test_version_and_usage_errors_exit_as_documented(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cloudsigma {__version__}"
    assert main([]) == 2
    assert main(["drives", "list", "--no-such-flag"]) == 2
    assert main(["drives", "create", "--size", "ten"]) == 2
    assert "invalid size 'ten'" in capsys.readouterr().err
    assert main(["--config", "/no/such/file.conf", "drives", "list"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_global_options_work_after_the_command_too(cli, cloudsigma_emulator):
    after = cli("drives", "list", "--json").expect(0)
    assert after.json() == []
    config = cloudsigma_emulator.config_path
    explicit = cli("servers", "list", "--config", config, "--json").expect(0)
    assert explicit.json() == []


def test_verbose_logs_requests_without_the_password(cli, cloudsigma_emulator):
    logged = cli("-v", "tags", "list").expect(0)
    assert "DEBUG" in logged.stderr
    assert "/tags/" in logged.stderr
    credentials = f"{cloudsigma_emulator.username}:{cloudsigma_emulator.password}".encode()
    assert cloudsigma_emulator.password not in logged.stderr
    assert base64.b64encode(credentials).decode() not in logged.stderr


def test_username_and_endpoint_options_override_the_configuration(cli, cloudsigma_emulator):
    stranger = cli("--username", "nobody@example.com", "drives", "list").expect(1)
    assert "status 401" in stranger.stderr

    allow_endpoint("http://127.0.0.1:9/")
    closed = cli("--api-endpoint", "http://127.0.0.1:9/api/2.0/", "--timeout", "2", "tags", "list")
    closed.expect(1)
    assert "127.0.0.1:9" in closed.stderr


def test_missing_password_is_reported_without_a_prompt_or_traceback(tmp_path, cloudsigma_emulator):
    config = tmp_path / "no-password.conf"
    config.write_text(
        f"api_endpoint = {cloudsigma_emulator.api_endpoint}\n"
        f"username = {cloudsigma_emulator.username}\n"
    )
    config.chmod(0o600)
    done = subprocess.run(
        command("drives", "list"),
        env=cli_environment(str(config)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "password" in done.stderr
    assert "Traceback" not in done.stderr


def test_password_comes_from_the_environment(tmp_path, cloudsigma_emulator):
    config = tmp_path / "no-password.conf"
    config.write_text(
        f"api_endpoint = {cloudsigma_emulator.api_endpoint}\n"
        f"username = {cloudsigma_emulator.username}\n"
    )
    env = cli_environment(str(config))
    env["CLOUDSIGMA_PASSWORD"] = cloudsigma_emulator.password
    done = subprocess.run(
        command("--json", "tags", "list"), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


#: Run in a new session: make the pty (fd argv[1]) the controlling terminal, put it on
#: stdin, stdout and stderr, then become the command.
_ON_TERMINAL = (
    "import fcntl, os, sys, termios\n"
    "terminal = int(sys.argv[1])\n"
    "fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)\n"
    "for fd in (0, 1, 2): os.dup2(terminal, fd)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'cloudsigma', *sys.argv[2:]])\n"
)


def run_on_terminal(
    args: list[str], env: dict[str, str], typed: str, prompt: bytes = b"password for"
) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its terminal, type ``typed`` at the first
    prompt, and return the exit status and everything it wrote to the terminal."""
    terminal, child_end = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", _ON_TERMINAL, str(child_end), *args],
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        pass_fds=(child_end,),
    )
    os.close(child_end)
    shown = b""
    try:
        while prompt not in shown:
            shown += _read_terminal(terminal)
        os.write(terminal, typed.encode() + b"\n")
        while True:
            try:
                chunk = _read_terminal(terminal)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(terminal)
        if process.poll() is None and prompt not in shown:
            process.kill()  # it never asked: do not leave it waiting
    return process.wait(timeout=30), shown.decode(errors="replace")


def _read_terminal(terminal: int) -> bytes:
    ready, _, _ = select.select([terminal], [], [], 30)
    assert ready, "the command wrote nothing for 30 s"
    return os.read(terminal, 4096)


def test_password_is_asked_on_the_terminal_when_the_configuration_has_none(
    tmp_path, cloudsigma_emulator
):
    config = tmp_path / "no-password.conf"
    config.write_text(
        f"api_endpoint = {cloudsigma_emulator.api_endpoint}\n"
        f"username = {cloudsigma_emulator.username}\n"
    )
    config.chmod(0o600)
    status, shown = run_on_terminal(
        ["--json", "tags", "list"], cli_environment(str(config)), cloudsigma_emulator.password
    )
    assert status == 0, shown
    assert f"CloudSigma password for {cloudsigma_emulator.username}:" in shown
    assert cloudsigma_emulator.password not in shown  # not echoed
    assert shown.rstrip().endswith("[]")


def test_building_the_parser_imports_no_optional_or_heavy_module():
    probe = (
        "import sys\n"
        "from cloudsigma.cli.app import build_parser\n"
        "build_parser()\n"
        "heavy = {'tqdm', 'requests', 'serial', 'websocket', 'aiohttp', 'cloudsigma.emulator'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_main_called_from_python_leaves_logging_and_environment_as_they_were(
    cloudsigma_emulator, capsys
):
    import logging

    package_logger = logging.getLogger("cloudsigma")
    before = (package_logger.level, package_logger.propagate, list(package_logger.handlers))
    config_before = os.environ["CLOUDSIGMA_CONFIG"]
    status = main(["-v", "--config", cloudsigma_emulator.config_path, "--json", "tags", "list"])
    assert status == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert (package_logger.level, package_logger.propagate, package_logger.handlers) == before
    assert os.environ["CLOUDSIGMA_CONFIG"] == config_before

"""Terminal manners: global options anywhere, progress and colour only on a terminal,
retry warnings only with -v, and --wait-timeout for waits."""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import termios

import cli_support
import pytest
from cli_support import command

from cloudsigma import resource
from cloudsigma.testing import allow_endpoint


def on_terminal(args: list[str], env: dict[str, str], *streams: str) -> tuple[int, str, str]:
    """Run the command with ``streams`` (``stdout``, ``stderr``) on a pseudo-terminal.

    :returns: the exit status, what reached the terminal, and the other stream's text.
    """
    terminal, child = os.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    piped = {"stdout", "stderr"} - set(streams)
    options = {stream: child for stream in streams}
    options |= {stream: subprocess.PIPE for stream in piped}
    process = subprocess.Popen(command(*args), env=env, stdin=subprocess.DEVNULL, **options)
    os.close(child)
    shown = b""
    while True:
        ready, _, _ = select.select([terminal], [], [], 60)
        assert ready, "the command wrote nothing to its terminal for 60 s"
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    other = ""
    if piped:
        with getattr(process, piped.pop()) as pipe:
            other = pipe.read().decode()
    return process.wait(timeout=30), shown.decode(errors="replace"), other


def test_global_options_are_taken_before_and_after_the_command(cli, cloudsigma_emulator):
    tag = cli_support.tag("anywhere")
    config = cloudsigma_emulator.config_path
    before = cli("-o", "json", "--timeout", "5", "--config", config, "tags", "list").expect(0)
    after = cli("tags", "list", "-o", "json", "--timeout", "5", "--config", config).expect(0)
    assert before.json() == after.json() == [resource.Tags().get(tag["uuid"])]
    assert cli("tags", "get", "anywhere", "-o", "yaml").expect(0).yaml()["uuid"] == tag["uuid"]
    bad = cli("tags", "list", "--timeout", "soon").expect(2)
    assert "expected a number, got 'soon'" in bad.stderr


def test_wait_timeout_bounds_a_wait_and_the_error_names_the_option(cli):
    cli_support.server("slow")
    late = cli("wait", "servers", "slow", "running", "--wait-timeout", "0.3").expect(1)
    assert "did not reach status running" in late.stderr
    assert "--wait-timeout" in late.stderr
    shown = cli("servers", "start", "slow", "--wait", "--wait-timeout", "30", "-o", "json")
    assert shown.expect(0).json()["status"] == "running"


def test_a_request_timeout_names_the_timeout_option(cli, tmp_path):
    silent = socket.socket()  # accepts connections (the backlog does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    allow_endpoint(f"http://127.0.0.1:{silent.getsockname()[1]}/")
    config = tmp_path / "silent.conf"
    config.write_text(
        f"api_endpoint = http://127.0.0.1:{silent.getsockname()[1]}/api/2.0/\n"
        "username = someone@example.com\npassword = secret\nmax_retries = 0\n"
    )
    config.chmod(0o600)
    try:
        late = cli("--config", str(config), "tags", "list", "--timeout", "0.3").expect(1)
    finally:
        silent.close()
    assert "--timeout" in late.stderr


def test_progress_bar_only_on_a_terminal_and_never_with_no_progress(cli, tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(2 * 1024**2 + 5))
    upload = ["drives", "upload", str(image), "--chunk-size", "1M", "-q"]
    status, drawn, stdout = on_terminal(upload, cli.env, "stderr")
    assert status == 0, drawn
    assert "upload" in drawn and "100%" in drawn
    assert len(stdout.split()) == 1  # -q: the new drive's uuid
    status, drawn, _ = on_terminal([*upload, "--no-progress"], cli.env, "stderr")
    assert (status, drawn) == (0, "")
    piped = cli.subprocess(*upload).expect(0)
    assert piped.stderr == ""


def test_status_words_are_coloured_on_a_terminal_unless_no_color(cli):
    server = cli_support.server("colourful")
    status, shown, _ = on_terminal(["servers", "list"], cli.env, "stdout")
    assert status == 0
    assert "\033[31mstopped\033[0m" in shown
    quiet_env = dict(cli.env, NO_COLOR="1")
    status, plain, _ = on_terminal(["servers", "list"], quiet_env, "stdout")
    assert "\033[" not in plain and "stopped" in plain
    piped = cli.subprocess("servers", "list").expect(0)
    assert "\033[" not in piped.stdout and server["uuid"] in piped.stdout


@pytest.fixture
def one_retry_config(cloudsigma_emulator, tmp_path):
    """The emulator's configuration, with one retry per request."""
    config = tmp_path / "one-retry.conf"
    with open(cloudsigma_emulator.config_path, encoding="utf-8") as original:
        config.write_text(original.read() + "max_retries = 1\n")
    config.chmod(0o600)
    cloudsigma_emulator.set_faults("503=1,paths=tags")
    yield str(config)
    cloudsigma_emulator.set_faults(None)


def test_retry_warnings_show_only_with_verbose(cli, one_retry_config):
    quiet = cli("--config", one_retry_config, "tags", "list").expect(1)
    assert "status 503" in quiet.stderr
    assert "retry" not in quiet.stderr
    loud = cli("--config", one_retry_config, "tags", "list", "-v").expect(1)
    assert "retry 1 of 1" in loud.stderr


def test_parser_help_lists_every_command_group(capsys):
    from cloudsigma.cli import main
    from cloudsigma.cli.app import SPECIAL_VERBS
    from cloudsigma.cli.specs import RESOURCES

    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    expected = [*RESOURCES, *SPECIAL_VERBS, "balance", "usage", "pricing", "profile", "context"]
    expected += ["completion", "wait", "events", "metadata", "emulator", "capabilities"]
    missing = [name for name in expected if f"\n    {name} " not in shown]
    assert missing == []


def test_building_the_parser_has_no_side_effects(tmp_path):
    probe = (
        "import os, sys\n"
        "from cloudsigma.cli.app import build_parser\n"
        "build_parser(); build_parser()\n"
        "heavy = {'yaml', 'argcomplete', 'tqdm', 'requests', 'cloudsigma.emulator'}\n"
        "print(sorted(heavy & set(sys.modules)), sorted(os.listdir(os.environ['HOME'])))\n"
    )
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME="", XDG_CACHE_HOME="")
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"


def readme_commands() -> list[list[str]]:
    """The ``cloudsigma ...`` lines of the README's command-line section, as argument lists."""
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    commands = []
    in_code = False
    for line in section.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        for part in line.split("#", 1)[0].replace("|", ";").split(";") if in_code else ():
            words = shlex.split(part)
            if "cloudsigma" in words and "$(" not in part:
                words = words[words.index("cloudsigma") + 1 :]
                words = words[: words.index(">")] if ">" in words else words
                fed = part.strip().startswith("xargs")  # xargs adds the object
                commands.append(words + ["OBJECT"] * fed)
    return commands


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_the_readme_commands_parse(words):
    from cloudsigma.cli.app import build_parser

    args, extra = build_parser().parse_known_args(words)
    assert extra == [] or args.command == "emulator"  # the emulator parses its own options
    assert args.command in words

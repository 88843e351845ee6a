"""The ``--live`` switch and the markers shared by the whole test tree.

Without ``--live`` every test runs offline: tests marked ``live`` run against the local
emulator and tests marked ``live_only`` are deselected. With ``--live`` (or ``CLOUDSIGMA_LIVE=1``)
only the tests marked ``live`` or ``live_only`` run, against the account configured in
``~/.cloudsigma.conf`` (or the file named by ``CLOUDSIGMA_CONFIG``).
"""

from __future__ import annotations

import os
import signal
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

LIVE_MARKERS = ("live", "live_only")
REQUIRED_LIVE_KEYS = ("api_endpoint", "ws_endpoint", "username", "password")

LIVE_CONFIG_HELP = """\
--live runs the integration suite against a real CloudSigma account, and needs a readable
configuration file: {path} (or a file named by CLOUDSIGMA_CONFIG).
{problem}
Put these lines in ~/.cloudsigma.conf (mode 600, it holds your password):

    api_endpoint = https://zrh.cloudsigma.com/api/2.0/
    ws_endpoint = wss://direct.zrh.cloudsigma.com/websocket
    username = you@example.com
    password = secret

and, for the tests that clone a VM and log in over SSH as root:

    persistent_drive_name = <name of a drive in your account with an SSH server>
    persistent_drive_ssh_password = <root password on that drive>

For the ACL tests add a second account: acl_username = ..., acl_password = ...
The live tests create servers, drives and snapshots in that account (and delete them
again), which costs money."""


def _hear_ctrl_c() -> None:
    """Let the commands the tests start hear SIGINT, as they would from a terminal.

    A shell without job control starts background jobs (``make test &`` in a script) with
    SIGINT ignored, and the processes they start inherit that, so a command that a test stops
    the way Ctrl-C does would never stop. A Python handler here is reset to the default in
    every process the tests start.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_hear_ctrl_c()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="run the tests marked live/live_only against the CloudSigma account in "
        "~/.cloudsigma.conf (or $CLOUDSIGMA_CONFIG) instead of the local emulator; "
        "CLOUDSIGMA_LIVE=1 does the same",
    )
    parser.addoption(
        "--record",
        metavar="DIR",
        default=None,
        help="write every API exchange of the integration tests, without secrets, to "
        "DIR/exchanges.jsonl (replay it with python -m tests.conformance.report --against DIR)",
    )


def live_requested(config: pytest.Config) -> bool:
    """Whether this run targets a real account (``--live`` or ``CLOUDSIGMA_LIVE=1``)."""
    env = os.environ.get("CLOUDSIGMA_LIVE", "").strip().lower()
    return bool(config.getoption("--live")) or env in ("1", "true", "yes")


@pytest.fixture(scope="session")
def live(pytestconfig: pytest.Config) -> bool:
    """Whether this run targets a real account (``--live``) rather than the emulator."""
    return live_requested(pytestconfig)


def pytest_configure(config: pytest.Config) -> None:
    if live_requested(config):
        _check_live_configuration()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(WorkerFigures(), "cloudsigma-worker-figures")


class WorkerFigures:
    """Under xdist, the figures the generated layers counted in each worker (requests sent,
    checks made: see tests/adversarial/conftest.py), summed and printed by the controller."""

    def __init__(self) -> None:
        self.figures: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.replay = ""

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {})
        self.replay = output.get("adversarial_replay", self.replay)
        for layer, counts in output.get("adversarial_figures", {}).items():
            self.figures[layer].update(counts)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.figures:
            return
        terminalreporter.write_line(f"{self.replay} (figures summed over the xdist workers)")
        for layer, counts in sorted(self.figures.items()):
            shown = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
            terminalreporter.write_line(f"{layer}: {shown}")


def _check_live_configuration() -> None:
    """Fail the run at once when the live account is not configured.

    :raises pytest.UsageError: naming the file and the keys it needs.
    """
    from cloudsigma.conf import Config, config_path
    from cloudsigma.errors import ConfigError

    path = config_path()
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        problem = f"{path} does not exist or cannot be read."
        raise pytest.UsageError(LIVE_CONFIG_HELP.format(path=path, problem=problem))
    account = Config(path)
    try:
        missing = [key for key in REQUIRED_LIVE_KEYS if key not in account]
    except ConfigError as exc:
        raise pytest.UsageError(LIVE_CONFIG_HELP.format(path=path, problem=str(exc)))
    if missing:
        problem = f"{path} lacks: {', '.join(missing)}."
        raise pytest.UsageError(LIVE_CONFIG_HELP.format(path=path, problem=problem))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if live_requested(config):
        _keep_only(config, items, lambda item: _has_marker(item, LIVE_MARKERS))
    else:
        # Deselected, not skipped: offline they cannot run at all (the emulator cannot
        # stand in for a VM reached over SSH), so they are no part of an offline run.
        _keep_only(config, items, lambda item: not _has_marker(item, ("live_only",)))


def _has_marker(item: pytest.Item, names: tuple[str, ...]) -> bool:
    return any(item.get_closest_marker(name) for name in names)


def _keep_only(
    config: pytest.Config, items: list[pytest.Item], keep: Callable[[pytest.Item], bool]
) -> None:
    """Deselect the items ``keep`` refuses (with --live: everything offline)."""
    selected = [item for item in items if keep(item)]
    deselected = [item for item in items if not keep(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected

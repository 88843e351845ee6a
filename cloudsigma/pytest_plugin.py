"""Pytest fixtures that run the local CloudSigma emulator (entry point ``pytest11: cloudsigma``).

The emulator (and aiohttp) is imported only inside the fixtures, so installing the plugin
costs nothing to projects that never use them.

Strict mode (the emulator answers 400 to filters, query parameters and body fields the API
would silently ignore) is on for a whole run with ``--cloudsigma-strict`` (or the ini option
``cloudsigma_strict = true``), and for one test with ``@pytest.mark.cloudsigma_strict``
(``@pytest.mark.cloudsigma_strict(False)`` turns it off again).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

#: Transition delay of the shared emulator: short, but long enough to see intermediate states.
TRANSITION_DELAY = 0.05
STRICT_HELP = (
    "run the cloudsigma emulator fixtures in strict mode: filters, query parameters and body "
    "fields that the API ignores are answered with 400"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cloudsigma")
    group.addoption("--cloudsigma-strict", action="store_true", default=None, help=STRICT_HELP)
    parser.addini("cloudsigma_strict", STRICT_HELP, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cloudsigma_strict(on=True): run this test's cloudsigma_emulator in strict mode",
    )


def strict_default(config: pytest.Config) -> bool:
    """Whether the run asked for strict mode (the option wins over the ini value)."""
    option = config.getoption("--cloudsigma-strict")
    return bool(config.getini("cloudsigma_strict") if option is None else option)


def strict_for(request: pytest.FixtureRequest) -> bool:
    """Strict mode for one test: its ``cloudsigma_strict`` marker, else the run's default."""
    marker = request.node.get_closest_marker("cloudsigma_strict")
    if marker is None:
        return strict_default(request.config)
    return bool(marker.args[0]) if marker.args else True


@pytest.fixture(scope="session")
def cloudsigma_emulator_server(pytestconfig: pytest.Config) -> Iterator[Any]:
    """One emulator for the whole session, on a free port of 127.0.0.1."""
    try:
        from cloudsigma.emulator import Emulator
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        pytest.fail(f"the emulator needs its extra: pip install 'cloudsigma[emulator]' ({error})")
    with Emulator(
        host="127.0.0.1",
        port=0,
        transition_delay=TRANSITION_DELAY,
        strict=strict_default(pytestconfig),
    ) as emulator:
        yield emulator


@pytest.fixture
def cloudsigma_emulator(
    cloudsigma_emulator_server: Any, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """The session emulator, reset before the test, with ``CLOUDSIGMA_CONFIG`` pointing at it.

    The ``CLOUDSIGMA_*`` endpoint and credential variables are cleared for the test, so the
    configuration file decides; injected faults are cleared before and after; resources
    poll fast. No request of the test may go anywhere but the emulator: one that does (a
    client built at import time keeps its endpoint) is refused and fails the test. It is
    strict as the test's marker or the run's option say.
    """
    from cloudsigma.testing import EmulatorIsolation

    emulator = cloudsigma_emulator_server
    emulator.transition_delay = TRANSITION_DELAY
    emulator.strict = strict_for(request)
    emulator.reset()
    isolation = EmulatorIsolation(emulator, "the cloudsigma_emulator fixture")
    isolation.start()
    try:
        yield emulator
    finally:
        refused = isolation.stop()
        emulator.transition_delay = TRANSITION_DELAY
        emulator.strict = strict_default(request.config)
    if refused:
        pytest.fail(f"{len(refused)} request(s) refused during the test: {refused[0]}")

"""Pytest fixtures that run the local CloudSigma emulator (entry point ``pytest11: cloudsigma``).

The emulator (and aiohttp) is imported only inside the fixtures, so installing the plugin
costs nothing to projects that never use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ENVIRONMENT = (
    "CLOUDSIGMA_API_ENDPOINT",
    "CLOUDSIGMA_WS_ENDPOINT",
    "CLOUDSIGMA_USERNAME",
    "CLOUDSIGMA_PASSWORD",
)
#: Transition delay of the shared emulator: short, but long enough to see intermediate states.
TRANSITION_DELAY = 0.05


@pytest.fixture(scope="session")
def cloudsigma_emulator_server() -> Iterator[Any]:
    """One emulator for the whole session, on a free port of 127.0.0.1."""
    try:
        from cloudsigma.emulator import Emulator
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        pytest.fail(f"the emulator needs its extra: pip install 'cloudsigma[emulator]' ({error})")
    with Emulator(host="127.0.0.1", port=0, transition_delay=TRANSITION_DELAY) as emulator:
        yield emulator


@pytest.fixture
def cloudsigma_emulator(cloudsigma_emulator_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The session emulator, reset before the test, with ``CLOUDSIGMA_CONFIG`` pointing at it.

    The ``CLOUDSIGMA_*`` endpoint and credential variables are cleared for the test, so the
    configuration file decides.
    """
    emulator = cloudsigma_emulator_server
    emulator.transition_delay = TRANSITION_DELAY
    emulator.reset()
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", emulator.config_path)
    yield emulator
    emulator.transition_delay = TRANSITION_DELAY

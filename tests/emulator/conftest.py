"""Fixtures for the emulator tests: real HTTP with ``requests`` against the session emulator."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_support import GIB, Api


@pytest.fixture
def emu(cloudsigma_emulator: Any) -> Any:
    """The emulator with status changes only on ``emu.advance()`` (no timing in tests)."""
    cloudsigma_emulator.transition_delay = None
    return cloudsigma_emulator


@pytest.fixture
def api(emu: Any) -> Any:
    client = Api(emu.api_endpoint, emu.username, emu.password)
    yield client
    client.close()


@pytest.fixture
def anonymous(emu: Any) -> Any:
    client = Api(emu.api_endpoint, None, None)
    yield client
    client.close()


@pytest.fixture
def other_api(emu: Any) -> Any:
    """A client of a second account."""
    emu.create_account("other@example.com", "other-password")
    client = Api(emu.api_endpoint, "other@example.com", "other-password")
    yield client
    client.close()


@pytest.fixture
def drive(api: Api, emu: Any) -> dict:
    """An unmounted 1 GiB disk."""
    created = api.create("drives", name="disk", size=GIB, media="disk")
    emu.advance()
    return created


@pytest.fixture
def server(api: Api) -> dict:
    """A stopped server without drives."""
    return api.create("servers", name="srv", cpu=1000, mem=GIB, vnc_password="secret")

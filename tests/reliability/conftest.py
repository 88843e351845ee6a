"""Fixtures for the reliability tests: an emulator of their own, so faults never leak."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # reliability_support, chaos_workload


@pytest.fixture(scope="module")
def faulty_emulator() -> Iterator[Any]:
    """An emulator on 127.0.0.1 for this module; faults are off until a test sets them."""
    from cloudsigma.emulator import Emulator

    with Emulator(host="127.0.0.1", port=0, transition_delay=0) as emulator:
        yield emulator


@pytest.fixture
def emu(faulty_emulator: Any) -> Iterator[Any]:
    """The module's emulator, reset, with faults off before and after the test."""
    faulty_emulator.set_faults(None)
    faulty_emulator.transition_delay = 0
    faulty_emulator.reset()
    yield faulty_emulator
    faulty_emulator.set_faults(None)

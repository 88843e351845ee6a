"""Fixtures of the conformance suite: one emulator and one scenario runner per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .runner import ConformanceRun, started_emulator


@pytest.fixture(scope="session")
def conformance() -> Iterator[ConformanceRun]:
    """Runs replay scenarios on a private emulator; each scenario starts from a reset."""
    with started_emulator() as emulator:
        yield ConformanceRun(emulator)

"""Fixtures for the unit tests: an isolated configuration and clients that never sleep."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import generic, resource
from cloudsigma.generic import GenericClient, Retry


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point CLOUDSIGMA_CONFIG at a file that does not exist yet and clear CLOUDSIGMA_* vars."""
    for name in list(os.environ):
        if name.startswith("CLOUDSIGMA_"):
            monkeypatch.delenv(name)
    path = tmp_path / "cloudsigma.conf"
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", str(path))
    return path


@pytest.fixture
def write_config(isolated_config: Path) -> Callable[[str], Path]:
    """Write the configuration file (mode 600) with the given text."""

    def write(text: str) -> Path:
        isolated_config.write_text(text, encoding="utf-8")
        isolated_config.chmod(0o600)
        return isolated_config

    return write


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the sleeps of retries and polls instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(generic, "_sleep", recorded.append)
    monkeypatch.setattr(resource, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[GenericClient]:
    """A basic-auth client for API with three retries and no jitter."""
    with GenericClient(API, USERNAME, PASSWORD, retry=Retry(total=3, jitter=False)) as c:
        yield c

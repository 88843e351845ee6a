"""Fixtures for the sample tests: run a sample against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# sample_runner.py sits next to this file; pytest's default import mode puts this directory
# on sys.path, --import-mode=importlib does not, so do it here for both.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from sample_runner import sample_command  # noqa: E402

from cloudsigma.policies import WaitPolicy


@pytest.fixture
def run_sample(cloudsigma_emulator):
    """Run a sample to completion against the emulator (its config comes from the fixture)."""

    def run(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            sample_command(name, *args),
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def sdk(cloudsigma_emulator):
    """Build SDK resources for the emulator's account; their connections close afterwards."""
    made = []

    def make(resource_class):
        made.append(resource_class())
        # poll the emulator often: its state changes take milliseconds
        made[-1].wait_policy = WaitPolicy(timeout=20, interval=0.02, max_interval=0.2)
        return made[-1]

    yield make
    for resource in made:
        resource.c.close()

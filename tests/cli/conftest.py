"""Fixtures of the command-line tests: the ``cli`` runner bound to the test emulator."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from cli_support import Run, cli_environment, command


@pytest.fixture
def cli(cloudsigma_emulator) -> Callable[..., Run]:
    """``cli('drives', 'list')`` runs ``python -m cloudsigma drives list`` against the emulator."""
    env = cli_environment(cloudsigma_emulator.config_path)

    def run(*args: str, stdin: str | None = None, timeout: float = 60) -> Run:
        done = subprocess.run(
            command(*args),
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(args, done.returncode, done.stdout, done.stderr)

    run.env = env  # type: ignore[attr-defined]
    return run

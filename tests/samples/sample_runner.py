"""Run the scripts in samples/ as a user would: as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample_command(name: str, *args: str) -> list[str]:
    """The command line that runs ``samples/<name>`` with this interpreter."""
    return [sys.executable, str(SAMPLES / name), *map(str, args)]


def assert_clean_failure(result: subprocess.CompletedProcess) -> None:
    """The sample failed with a message, not a traceback."""
    assert result.returncode != 0
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr

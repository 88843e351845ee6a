"""Shared by the adversarial tests: the support modules on the path, and how to replay a run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from adversarial_support import FIGURES, replay_line  # noqa: E402


def pytest_report_header() -> str:
    return replay_line()


def pytest_terminal_summary(terminalreporter: object) -> None:
    if not FIGURES:
        return
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    write(replay_line())
    for layer, counts in sorted(FIGURES.items()):
        write(f"{layer}: " + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))

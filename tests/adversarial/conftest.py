"""Shared by the adversarial tests: the support modules on the path, how to replay a run, and
the figures of the generated layers (printed here, or by the controller under xdist: see
``pytest_testnodedown`` in tests/conftest.py)."""

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


def pytest_sessionfinish(session: object) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)  # type: ignore[attr-defined]
    if workeroutput is not None and FIGURES:  # an xdist worker: the controller prints them
        workeroutput["adversarial_replay"] = replay_line()
        workeroutput["adversarial_figures"] = {layer: dict(c) for layer, c in FIGURES.items()}

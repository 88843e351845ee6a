"""Run the replay scenarios against an emulator and collect one outcome per record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .replay import Outcome, Record, Replayer, load_records
from .scenarios import SCENARIOS, scenario_of_records

EMULATOR_USER = "conformance@example.com"
EMULATOR_PASSWORD = "conformance-password"
#: Short status transitions keep the scenarios fast; waits poll for the target status.
TRANSITION_DELAY = 0.02


@contextlib.contextmanager
def started_emulator() -> Iterator[Any]:
    """A fresh emulator on 127.0.0.1 for the conformance run.

    It is strict: every recorded request was accepted by the API, so a filter, parameter or
    body field the emulator refuses as unknown is a gap in what it knows, and fails the record.
    """
    from cloudsigma.emulator import Emulator

    with Emulator(
        host="127.0.0.1",
        port=0,
        tls=False,
        username=EMULATOR_USER,
        password=EMULATOR_PASSWORD,
        transition_delay=TRANSITION_DELAY,
        strict=True,
    ) as emulator:
        yield emulator


class ConformanceRun:
    """Runs each scenario once, on demand, from a reset emulator."""

    def __init__(self, emulator: Any, records: dict[str, Record] | None = None) -> None:
        self.emulator = emulator
        self.records = records if records is not None else load_records()
        self.owner = scenario_of_records()
        self.outcomes: dict[str, Outcome] = {}
        self.problems: dict[str, list[str]] = {}
        self._done: set[str] = set()

    def outcome(self, name: str) -> Outcome:
        """The outcome of replaying record ``name`` (runs its scenario the first time)."""
        scenario = self.owner[name]
        if scenario not in self._done:
            self.run_scenario(scenario)
        return self.outcomes[name]

    def run_all(self) -> dict[str, Outcome]:
        for scenario in SCENARIOS:
            if scenario not in self._done:
                self.run_scenario(scenario)
        return self.outcomes

    def run_scenario(self, scenario: str) -> None:
        self._done.add(scenario)
        self.emulator.reset()
        ctx = Replayer(self.emulator, scenario)
        try:
            for step in SCENARIOS[scenario]:
                try:
                    step.run(ctx, self.records)
                except Exception as exc:  # keep going: later records report what broke
                    ctx.problems.append(f"step {step!r:.120} raised {exc!r:.200}")
        finally:
            ctx.close()
        if ctx.problems:
            self.problems[scenario] = list(ctx.problems)
        for step in SCENARIOS[scenario]:
            for name in step.records:
                outcome = ctx.outcomes.get(name)
                if outcome is None:
                    record = self.records[name]
                    outcome = Outcome(name, scenario, record.status, notes=list(ctx.problems))
                    outcome.error = "the scenario stopped before this record was replayed"
                self.outcomes[name] = outcome

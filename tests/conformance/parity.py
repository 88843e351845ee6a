"""Replay of a recording made with ``pytest tests/integration --live --record DIR`` against a
fresh emulator, reporting every difference in status and key paths.

The recording holds placeholders where it had secrets: ``<email-N>`` and ``<account-N>`` name
the N-th account of the run. Each becomes an account of the emulator (the first is its
default account), so requests are sent with that account's credentials and its uuid where the
recording names it. The emulator's status changes happen only when the replay needs them: a
GET that got another status than recorded (or a request refused while something was still
changing) makes the emulator take the next pending change and asks again, so the replay
follows the recorded pace whatever the timing of the recorded account was.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .replay import Account, Outcome, Record, Replayer

PLACEHOLDER_RE = re.compile(r"<(account|email)-(\d+)>")
BINARY_RE = re.compile(r"<(\d+) bytes>|<streamed body>")
#: Answers that may only mean "not yet" while the emulator has pending changes.
NOT_YET = frozenset({403, 404, 409, 503})
#: How many pending changes one request may wait for.
MAX_STEPS = 50
PASSWORD = "parity-replay-password"


def load_recording(directory: Path) -> list[dict]:
    """The recorded exchanges of ``directory/exchanges.jsonl``, in the order they happened."""
    with open(Path(directory) / "exchanges.jsonl", encoding="utf-8") as recording:
        return [json.loads(line) for line in recording if line.strip()]


def account_numbers(entries: list[dict]) -> list[int]:
    """The account numbers the recording mentions, in order."""
    text = json.dumps(entries)
    return sorted({int(number) for _, number in PLACEHOLDER_RE.findall(text)} | {1})


@contextlib.contextmanager
def fresh_emulator() -> Iterator[Any]:
    """An emulator that changes statuses only when the replay steps it."""
    from cloudsigma.emulator import Emulator

    with Emulator(transition_delay=None, password=PASSWORD) as emulator:
        yield emulator


class ParityRun:
    """Replays one recording against ``emulator`` (reset first) and keeps each outcome."""

    def __init__(self, emulator: Any, entries: list[dict]) -> None:
        self.emulator = emulator
        self.entries = entries
        self.outcomes: list[Outcome] = []
        self.skipped: dict[str, str] = {}

    def run(self) -> list[Outcome]:
        self.emulator.reset()
        ctx = Replayer(self.emulator, "parity")
        try:
            placeholders = self.accounts(ctx)
            for entry in self.entries:
                self.replay(ctx, entry, placeholders)
        finally:
            ctx.close()
        return self.outcomes

    def accounts(self, ctx: Replayer) -> dict[str, str]:
        """An emulator account per recorded account; returns what each placeholder becomes."""
        placeholders = {}
        for number in account_numbers(self.entries):
            if number == 1:
                email = self.emulator.username
            else:
                email = f"parity-{number}@example.com"
                self.emulator.create_account(email, PASSWORD)
            account = self.emulator.account(email)
            ctx.accounts[f"<email-{number}>"] = Account(email, PASSWORD)
            placeholders[f"<email-{number}>"] = email
            placeholders[f"<account-{number}>"] = account.uuid
        return placeholders

    def replay(self, ctx: Replayer, entry: dict, placeholders: dict[str, str]) -> None:
        if isinstance(entry.get("request_body"), str) and BINARY_RE.fullmatch(
            entry["request_body"]
        ):
            self.skipped[entry["name"]] = "its binary request body is not recorded"
            return
        record = Record.from_json(fill(entry, placeholders), "recording")
        account = entry.get("account") if entry.get("account") in ctx.accounts else None
        shape = isinstance(record.response_body, dict | list)
        for _ in range(MAX_STEPS):
            ctx.replay(record, account=account, shape=shape)
            outcome = ctx.outcomes[record.name]
            if not self.behind(record, outcome) or not self.emulator.step():
                break
        if record.method == "GET" and outcome.agrees:
            # objects the account had before the run (its seeded IP and VLAN) are first seen
            # in listings: pair them by position, never replacing what is known
            ctx.ids.learn(record.response_body, outcome.got_body)
        self.outcomes.append(outcome)

    @staticmethod
    def behind(record: Record, outcome: Outcome) -> bool:
        """Whether the answer may only differ because a change has not happened yet."""
        if outcome.got_status != record.status:
            return record.method == "GET" or outcome.got_status in NOT_YET
        return record.method == "GET" and statuses(outcome.got_body) != statuses(
            record.response_body
        )


def fill(value: Any, placeholders: dict[str, str]) -> Any:
    """``value`` with the account placeholders replaced, at any depth and inside strings."""
    if isinstance(value, dict):
        return {fill(k, placeholders): fill(v, placeholders) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(item, placeholders) for item in value]
    if isinstance(value, str):
        return PLACEHOLDER_RE.sub(lambda m: placeholders.get(m.group(0), m.group(0)), value)
    return value


def statuses(body: Any) -> list[str]:
    """The ``status`` of an object, or of each object of a listing."""
    if isinstance(body, dict) and isinstance(body.get("objects"), list):
        return sorted(str(o.get("status")) for o in body["objects"] if isinstance(o, dict))
    if isinstance(body, dict) and "status" in body:
        return [str(body["status"])]
    return []


def parity_summary(directory: Path) -> dict:
    """Replay ``directory``'s recording against a fresh emulator; the counts and differences."""
    entries = load_recording(directory)
    with fresh_emulator() as emulator:
        run = ParityRun(emulator, entries)
        outcomes = run.run()
    differences = {o.name: o.describe() for o in outcomes if not o.agrees}
    return {
        "recording": str(directory),
        "exchanges": len(entries),
        "replayed": len(outcomes),
        "agree": len(outcomes) - len(differences),
        "differences": differences,
        "skipped": run.skipped,
    }


def print_parity(summary: dict) -> None:
    print(
        f"replayed {summary['replayed']} of the {summary['exchanges']} exchanges recorded in "
        f"{summary['recording']} against a fresh emulator: {summary['agree']} agree, "
        f"{len(summary['differences'])} differ, {len(summary['skipped'])} skipped"
    )
    for name, why in summary["differences"].items():
        print(f"  differs {name}: {why}")
    for name, why in summary["skipped"].items():
        print(f"  skipped {name}: {why}")

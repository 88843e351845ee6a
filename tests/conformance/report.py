"""Summary of the conformance replay: ``python -m tests.conformance.report [--json]``.

Starts an emulator, replays every scenario, and prints how many of the corpus records are
covered and agree, every disagreement, and the excluded and out-of-scope records with reasons.

With ``--against DIR`` it replays instead a recording made by
``pytest tests/integration --live --record DIR`` (see :mod:`.parity`) and prints every
difference between the recorded answers and the emulator's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .parity import parity_summary, print_parity
from .replay import load_records
from .runner import ConformanceRun, started_emulator
from .scenarios import EXCLUDED, PARTIAL, out_of_scope


def build_summary() -> dict:
    records = load_records()
    with started_emulator() as emulator:
        run = ConformanceRun(emulator, records)
        outcomes = run.run_all()
    main_corpus = [n for n, r in records.items() if r.source == "exchanges.jsonl"]
    disagreements = {n: o.describe() for n, o in sorted(outcomes.items()) if not o.agrees}
    tolerated = {
        n: o.tolerated for n, o in sorted(outcomes.items()) if o.tolerated and n not in PARTIAL
    }
    return {
        "corpus_records": len(main_corpus),
        "historical_records": len(records) - len(main_corpus),
        "covered": len(outcomes),
        "covered_from_corpus": sum(1 for n in outcomes if n in main_corpus),
        "agree": sum(1 for o in outcomes.values() if o.agrees),
        "disagreements": disagreements,
        "setup_problems": run.problems,
        "excluded": dict(sorted(EXCLUDED.items())),
        "out_of_scope": dict(sorted(out_of_scope(records).items())),
        "partial_records": dict(PARTIAL),
        "tolerated_newer_keys": tolerated,
    }


def print_summary(summary: dict) -> None:
    print(
        f"covered {summary['covered']} records "
        f"({summary['covered_from_corpus']} of the {summary['corpus_records']} in exchanges.jsonl, "
        f"{summary['covered'] - summary['covered_from_corpus']} historical); "
        f"agree {summary['agree']}, disagree {len(summary['disagreements'])}"
    )
    print("\ndisagreements:")
    for name, why in summary["disagreements"].items():
        print(f"  {name}: {why}")
    print("\nsetup problems (requests the scenarios make that the emulator refused):")
    for scenario, problems in summary["setup_problems"].items():
        for problem in problems:
            print(f"  [{scenario}] {problem}")
    print("\npartial records (only their keys are required):")
    for name, why in summary["partial_records"].items():
        print(f"  {name}: {why}")
    print(
        f"\nextra keys tolerated as newer than the record ({len(summary['tolerated_newer_keys'])}):"
    )
    for name, paths in summary["tolerated_newer_keys"].items():
        print(f"  {name}: {', '.join(paths)}")
    print(f"\nexcluded ({len(summary['excluded'])}):")
    for name, why in summary["excluded"].items():
        print(f"  {name}: {why}")
    print(f"\nout of scope ({len(summary['out_of_scope'])}):")
    for name, why in summary["out_of_scope"].items():
        print(f"  {name}: {why}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--against",
        metavar="DIR",
        type=Path,
        help="replay the recording in DIR (pytest tests/integration --live --record DIR) "
        "instead of the corpus",
    )
    args = parser.parse_args(argv)
    if args.against is not None and not (args.against / "exchanges.jsonl").is_file():
        parser.error(f"{args.against} has no exchanges.jsonl (record one with --record DIR)")
    summary = parity_summary(args.against) if args.against else build_summary()
    failures = summary["differences"] if args.against else summary["disagreements"]
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    elif args.against:
        print_parity(summary)
    else:
        print_summary(summary)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

"""Chaos figures: the SDK's mixed workload against an emulator that injects faults.

Runs tests/reliability/chaos_workload.py once per seed and writes bench/chaos.json with the
operations, the faults injected by kind, the retries made, the errors surfaced, duplicates
and corrupted bytes. Usage: ``python bench/chaos.py [--operations N] [--seeds 1,2] [--rate 0.1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reliability"))

from chaos_workload import ChaosWorkload  # noqa: E402

from cloudsigma.emulator import Emulator  # noqa: E402

KINDS = ("503", "429", "reset_before", "reset_after", "truncate")


def fault_spec(seed: int, rate: float) -> str:
    """``rate`` of the requests get a fault, split evenly over the kinds, plus some latency."""
    share = rate / len(KINDS)
    kinds = ",".join(f"{kind}={share:g}" for kind in KINDS)
    return f"seed={seed},{kinds},latency={rate / 5:g}:0.02,retry_after=0"


def run_seed(seed: int, operations: int, rate: float) -> dict[str, Any]:
    started = time.perf_counter()
    with Emulator(host="127.0.0.1", transition_delay=0, faults=fault_spec(seed, rate)) as emu:
        figures = ChaosWorkload(emu, seed=seed, upload_share=0.02).run(operations)
    report = figures.as_dict()
    report["seed"] = seed
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def totals(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def add(key: str) -> Any:
        return sum(run[key] for run in runs)

    def add_counts(key: str) -> dict[str, int]:
        summed: dict[str, int] = {}
        for run in runs:
            for name, count in run[key].items():
                summed[name] = summed.get(name, 0) + count
        return summed

    return {
        "operations": add("operations"),
        "faults_injected": add_counts("faults_injected"),
        "retries": add_counts("retries"),
        "errors_surfaced": add_counts("errors_surfaced"),
        "lost_create_answers": add("lost_create_answers"),
        "found_by_name_after_lost_answer": add("found_by_name_after_lost_answer"),
        "duplicates": add("duplicates"),
        "missing": add("missing"),
        "leftovers": add("leftovers"),
        "bytes_corrupted": add("bytes_corrupted"),
        "upload_bytes_checked": add("upload_bytes_checked"),
        "foreign_exceptions": sum(len(run["foreign_exceptions"]) for run in runs),
        "failed_operations": sum(len(run["failed_operations"]) for run in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2500, help="operations per seed")
    parser.add_argument("--seeds", default="1,2", help="comma-separated workload/fault seeds")
    parser.add_argument("--rate", type=float, default=0.10, help="share of requests faulted")
    parser.add_argument("--output", default=os.path.join(HERE, "chaos.json"))
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    runs = [run_seed(seed, args.operations, args.rate) for seed in seeds]
    result = {"rate": args.rate, "total": totals(runs), "runs": runs}
    with open(args.output, "w", encoding="utf-8") as output:
        json.dump(result, output, indent=2, sort_keys=True)
        output.write("\n")
    print(json.dumps(result["total"], indent=2, sort_keys=True))
    print(f"written to {args.output}")
    clean = result["total"]
    bad = clean["duplicates"] + clean["bytes_corrupted"] + clean["foreign_exceptions"]
    return 1 if bad or clean["failed_operations"] or clean["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: measure this package beside pycloudsigma 2.0.0 and bare requests.

Sets up the environments it needs (bench/.venvs/), starts and stops its own emulators on
loopback, runs each benchmark's contenders alternately in separate processes, then prints
one table and writes bench/results.json. A benchmark that cannot run is reported as
"not run: <reason>"; the exit status is 0 whenever the suite itself ran.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet_suite  # noqa: E402
import report  # noqa: E402
import suite  # noqa: E402
from common import BENCH_DIR, child_env  # noqa: E402
from venvs import ensure_peer_venv, ours_python  # noqa: E402

BENCHMARKS: dict[str, tuple[str, Callable[[suite.Context], Iterator[suite.Benchmark]]]] = {
    "per-call": ("1 per-call overhead", suite.per_call),
    "listing": ("2 listing", suite.listing),
    "import": ("3 import", suite.imports),
    "context": ("4 server context", suite.context_read),
    "images": ("5 images", suite.images),
    "emulator": ("6 emulator", suite.emulator_throughput),
    "fleet": ("8 fleet", fleet_suite.fleet),
    "scale": ("9 listing at scale", fleet_suite.listing_at_scale),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_walkthrough_compare(timeout: float) -> tuple[str, str]:
    """Run bench/walkthrough_compare.py; returns the table cell and the full output."""
    argv = [sys.executable, os.path.join(BENCH_DIR, "walkthrough_compare.py")]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=child_env(), cwd=BENCH_DIR
        )
    except subprocess.TimeoutExpired:
        return "FAILED: did not finish in time", ""
    output = done.stdout + done.stderr
    if done.returncode == 0:
        return "same results from both clients", output
    if done.returncode == 3:
        return "not run: " + (output.strip().splitlines() or ["?"])[-1], output
    last = (output.strip().splitlines() or ["no output"])[-1]
    return f"FAILED: {last[:100]} (details above the table)", output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per benchmark (5)")
    parser.add_argument("--calls", type=int, default=500, help="GETs per per-call round (500)")
    parser.add_argument("--drives", type=int, default=10_000, help="drives to list (10000)")
    parser.add_argument(
        "--fleet-servers", type=int, default=100, help="servers of the fleet benchmark (100)"
    )
    parser.add_argument(
        "--fleet-rounds", type=int, default=1, help="rounds of the fleet benchmark (1)"
    )
    parser.add_argument(
        "--scale-drives", type=int, default=100_000, help="drives listed at scale (100000)"
    )
    parser.add_argument(
        "--only", nargs="*", choices=[*BENCHMARKS, "walkthrough"], help="run only these"
    )
    parser.add_argument("--json", default=os.path.join(BENCH_DIR, "results.json"))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (2 rounds, 50 calls, 1000 drives, a fleet of 3, 5000 drives at "
        "scale) that still exercises everything",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.drives = 2, 50, 1000
        args.fleet_servers, args.fleet_rounds, args.scale_drives = 3, 1, 5000
    started = datetime.datetime.now(datetime.timezone.utc)
    load_at_start = [round(load, 2) for load in os.getloadavg()]
    selected = args.only or [*BENCHMARKS, "walkthrough"]

    peer_python, peer_error = None, None
    try:
        peer_python = ensure_peer_venv(log)
    except (RuntimeError, OSError) as exc:
        peer_error = str(exc)
        log(f"pycloudsigma environment unavailable: {peer_error}")
    ctx = suite.Context(
        ours_python=ours_python(),
        peer_python=peer_python,
        peer_error=peer_error,
        rounds=args.rounds,
        calls=args.calls,
        drives=args.drives,
        log=log,
        fleet_servers=args.fleet_servers,
        fleet_rounds=args.fleet_rounds,
        scale_drives=args.scale_drives,
    )

    benchmarks: list[suite.Benchmark] = []
    not_run: list[report.NotRunEntry] = []
    for key, (title, function) in BENCHMARKS.items():
        if key not in selected:
            continue
        log(f"== {title}")
        began = time.monotonic()
        done = len(benchmarks)
        try:
            # Each part is kept as soon as it is measured, even if a later part fails.
            for bench in function(ctx):
                benchmarks.append(bench)
        except suite.NotRun as exc:
            not_run.append(report.NotRunEntry(len(benchmarks), title, str(exc)))
        except Exception as exc:  # one broken benchmark must not hide the others
            log(traceback.format_exc())
            reason = (str(exc).strip().splitlines() or [""])[0]
            part = "the rest of " if len(benchmarks) > done else ""
            not_run.append(
                report.NotRunEntry(
                    len(benchmarks), f"{part}{title}", f"{type(exc).__name__}: {reason}"
                )
            )
        log(f"   ({time.monotonic() - began:.0f} s)")

    checks: list[tuple[str, str]] = []
    if "walkthrough" in selected:
        log("== 7 walkthrough: this package vs pycloudsigma 2.0.0")
        outcome, output = run_walkthrough_compare(timeout=600)
        log(output.rstrip())
        checks.append(("7 walkthrough compare", outcome))

    settings = {
        "rounds": args.rounds,
        "calls": args.calls,
        "drives": args.drives,
        "fleet_servers": args.fleet_servers,
        "fleet_rounds": args.fleet_rounds,
        "scale_drives": args.scale_drives,
    }
    document = report.results_document(benchmarks, not_run, checks, settings, started)
    versions = {"cloudsigma (this)": _version(ctx.ours_python)}
    if peer_python:
        versions["pycloudsigma"] = _version(peer_python)
    document["versions"] = versions
    document["machine"]["load_average_at_start"] = load_at_start
    report.write_json(document, args.json)

    info = document["machine"]
    print()
    print(
        f"cloudsigma benchmarks, {document['date']} — {info['cores']} cores, {info['cpu_model']}, "
        f"Python {info['python']}, {info['os']}; median and min–max over the rounds; "
        f"load average {load_at_start[0]} at start, {info['load_average'][0]} at the end"
    )
    print(report.render(report.table_rows(benchmarks, not_run, checks)))
    if not_run:
        print("\nNot run:\n" + "\n".join(f"- {entry.title}: {entry.reason}" for entry in not_run))
    notes = [note for bench in benchmarks for note in bench.notes]
    if notes:
        print("\nNotes:\n" + "\n".join(f"- {note}" for note in notes))
    print(
        "\nvs baseline: median / the baseline's median (for ms lower is better, for MB/s and "
        f"req/s higher is better). Written to {os.path.relpath(args.json)}"
    )
    return 0


def _version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('cloudsigma'))"],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=BENCH_DIR,
    )
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())

"""The fleet operations alone against the fleet benchmark's emulator, to see their ratio to the
lower bound in a few minutes instead of the hour the whole fleet benchmark takes.

The same workload, emulator (realistic timing, 30 ms per request, HTTPS) and lower bound as
``bench/run.py --only fleet``, without the three slow contenders::

    .venv/bin/python bench/fleet_alone.py --rounds 5 --servers 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from common import BENCH_DIR, child_env
from fleet_suite import FLEET, LATENCY_MS, fleet_runner, lower_bound
from procs import Background


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--servers", type=int, default=100, help="servers per round (100)")
    args = parser.parse_args()
    argv = [sys.executable, os.path.join(BENCH_DIR, "emulator_server.py")]
    argv += ["--timing", "realistic", "--latency", str(LATENCY_MS), "--journal", "1000000"]
    bound, fewest, how = lower_bound(args.servers)
    with Background(argv, child_env(), ready_timeout=600) as emulator:
        measure = fleet_runner(emulator.info, args.servers)
        runs = [measure(sys.executable, "fleet", FLEET) for _ in range(args.rounds)]
    for seconds, requests, rss in runs:
        print(f"{seconds:.2f} s ({seconds / bound:.2f}x), {requests} requests, {rss:.0f} MiB")
    median = statistics.median(seconds for seconds, _, _ in runs)
    print(f"lower bound: {bound:.2f} s and {fewest} requests ({how})")
    print(f"median: {median:.2f} s, {median / bound:.2f}x the lower bound")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Time reading the whole server context from a pty: GetServerMetadata against the way
pycloudsigma 2.0 read it (pyserial with timeout=1, write the request, readlines()).

Usage: .venv/bin/python bench/context_read.py [--reads 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
EXCHANGES = os.path.join(REPO_DIR, "tests", "conformance", "data", "exchanges.jsonl")
sys.path.insert(0, REPO_DIR)

from cloudsigma.emulator.serial_context import SerialContextServer  # noqa: E402
from cloudsigma.metadata import GetServerMetadata  # noqa: E402


def recorded_context(name: str = "context_all") -> dict[str, Any]:
    """The whole context of the recorded serial exchange ``name``."""
    with open(EXCHANGES, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["kind"] == "serial" and record["name"] == name:
                return record["response_body"]
    raise SystemExit(f"{EXCHANGES} has no serial record {name!r}")


def read_with_client(device: str) -> dict[str, Any]:
    return GetServerMetadata(device=device, timeout=5).get()


def read_like_pycloudsigma(device: str) -> dict[str, Any]:
    """pycloudsigma 2.0's read: it waits for a 1 s silence after the answer."""
    import serial

    port = serial.Serial(device, timeout=1)
    try:
        port.write(b"<\n\n>")
        lines = port.readlines()
    finally:
        port.close()
    return json.loads(lines[0])


def median_ms(
    read: Callable[[str], dict[str, Any]], device: str, reads: int, expected: dict
) -> tuple[float, float, float]:
    """Median, min and max milliseconds of ``reads`` reads, each checked against ``expected``."""
    times = []
    for _ in range(reads):
        start = time.perf_counter()
        context = read(device)
        times.append((time.perf_counter() - start) * 1000)
        if context != expected:
            raise SystemExit(f"{read.__name__} read a different context")
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=50, help="reads per method (default 50)")
    args = parser.parse_args()
    context = recorded_context()
    with SerialContextServer(lambda: context) as server:
        print(
            f"{args.reads} reads of the whole context ({len(json.dumps(context))} bytes of JSON) "
            f"from {server.path}"
        )
        for read in (read_with_client, read_like_pycloudsigma):
            median, low, high = median_ms(read, server.path, args.reads, context)
            print(f"  {read.__name__:24} median {median:8.2f} ms  (min {low:.2f}, max {high:.2f})")


if __name__ == "__main__":
    main()

"""Server context benchmark processes, built on the functions of bench/context_read.py.

``serve`` answers the recorded whole context on a pseudo-terminal (the emulator's
SerialContextServer) and prints ``{"device": PATH}``; it stops when its stdin closes.
``read --method client|original`` reads the whole context ``--reads`` times, checks it
and prints the median milliseconds per read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import context_read
from common import emit, pin_to_cpu

METHODS = {
    "client": context_read.read_with_client,
    "original": context_read.read_like_pycloudsigma,
}


def serve() -> None:
    from cloudsigma.emulator.serial_context import SerialContextServer

    context = context_read.recorded_context()
    with SerialContextServer(lambda: context) as server:
        emit({"device": server.path})
        sys.stdin.read()


def read(method: str, device: str, reads: int) -> None:
    expected = context_read.recorded_context()
    read_context = METHODS[method]
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        context = read_context(device)
        times.append((time.perf_counter() - started) * 1000)
        if context != expected:
            raise SystemExit(f"{method} read a context different from the one served")
    emit({"ms": statistics.median(times), "first_ms": times[0], "reads": reads})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve", "read"])
    parser.add_argument("--method", choices=sorted(METHODS))
    parser.add_argument("--device")
    parser.add_argument("--reads", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    pin_to_cpu(args.cpu)
    if args.mode == "serve":
        serve()
    else:
        read(args.method, args.device, args.reads)


if __name__ == "__main__":
    main()

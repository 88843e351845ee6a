"""Load generator for the emulator benchmark: keep-alive clients hammering one URL.

Runs in this project's environment (it needs aiohttp), in its own process, pinned to the
client CPU. ``rps`` counts successful GET /drives/<uuid>/ answers per second over a fixed
window after a warm-up; ``listing`` times one GET /drives/detail/?limit=0 to its last byte.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from common import emit, pin_to_cpu


def auth_header() -> dict[str, str]:
    import base64

    token = f"{os.environ['BENCH_USERNAME']}:{os.environ['BENCH_PASSWORD']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(token).decode()}


async def hammer(url: str, clients: int, warmup: float, duration: float) -> dict[str, Any]:
    """``clients`` concurrent loops of GET ``url`` on ``clients`` keep-alive connections."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    counts = {"ok": 0, "failed": 0}
    measuring = False
    stop_at = time.perf_counter() + warmup + duration

    async def loop(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            async with session.get(url) as response:
                await response.read()
                if measuring:
                    counts["ok" if response.status == 200 else "failed"] += 1

    async with aiohttp.ClientSession(connector=connector, headers=auth_header()) as session:
        tasks = [asyncio.create_task(loop(session)) for _ in range(clients)]
        await asyncio.sleep(warmup)
        measuring = True
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    if counts["failed"]:
        raise SystemExit(f"{counts['failed']} requests failed during the run")
    return {
        "rps": counts["ok"] / elapsed,
        "requests": counts["ok"],
        "seconds": elapsed,
        "loadgen_cpu_share": cpu / elapsed,
    }


def time_listing(endpoint: str, expect: int) -> dict[str, Any]:
    """One GET of every drive with details, on an already open connection."""
    import requests

    with requests.Session() as session:
        session.headers.update(auth_header())
        session.get(endpoint + "drives/", params={"limit": 1}).raise_for_status()
        started = time.perf_counter()
        response = session.get(endpoint + "drives/detail/", params={"limit": 0})
        body = response.content
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    count = len(response.json()["objects"])
    if count != expect:
        raise SystemExit(f"the listing returned {count} drives, expected {expect}")
    return {"ms": elapsed * 1000, "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["rps", "listing"])
    parser.add_argument("--uuid", help="the drive to GET (rps)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    pin_to_cpu(args.cpu)
    endpoint = os.environ["BENCH_API_ENDPOINT"].rstrip("/") + "/"
    if args.mode == "rps":
        url = f"{endpoint}drives/{args.uuid}/"
        emit(asyncio.run(hammer(url, args.clients, args.warmup, args.duration)))
    else:
        emit(time_listing(endpoint, args.expect))


if __name__ == "__main__":
    main()

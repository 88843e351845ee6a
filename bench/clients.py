"""Client workloads, run in a fresh process by the harness, one contender per process.

The same script runs in this project's virtual environment and in the one holding the
published pycloudsigma 2.0.0: both install a package named ``cloudsigma``, so the
``sdk`` client means whichever of the two the interpreter finds. The ``bare`` client
is a plain ``requests.Session`` with basic auth, the floor any SDK adds to.
Prints one JSON line with the timings.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from common import emit, pin_to_cpu, process_memory


def bare_session() -> tuple[Any, str]:
    """A requests.Session set up as a careful script would: auth, CA, keep-alive."""
    import requests

    session = requests.Session()
    session.auth = (os.environ["BENCH_USERNAME"], os.environ["BENCH_PASSWORD"])
    session.verify = os.environ.get("BENCH_CA_BUNDLE") or True
    session.headers["Content-Type"] = "application/json"
    return session, os.environ["BENCH_API_ENDPOINT"].rstrip("/") + "/"


def sdk_version() -> str:
    import cloudsigma

    return str(cloudsigma.__version__)


def per_call(client: str, uuid: str, calls: int, fresh: bool) -> dict[str, Any]:
    """``calls`` sequential GETs of one drive; returns the mean time per call."""
    if client == "bare":
        session, endpoint = bare_session()
        url = f"{endpoint}drives/{uuid}/"

        def get_drive() -> dict[str, Any]:
            response = session.get(url)
            response.raise_for_status()
            return response.json()

    else:
        import cloudsigma.resource

        drive = cloudsigma.resource.Drive()

        def get_drive() -> dict[str, Any]:
            source = cloudsigma.resource.Drive() if fresh else drive
            return source.get(uuid)

    started = time.perf_counter()
    for _ in range(calls):
        answer = get_drive()
    elapsed = time.perf_counter() - started
    if answer.get("uuid") != uuid:
        raise SystemExit(f"GET returned {answer.get('uuid')!r} instead of drive {uuid}")
    return {"ms_per_call": elapsed * 1000 / calls, "calls": calls}


def listing(client: str, expect: int) -> dict[str, Any]:
    """One listing of every drive with details (``limit=0``), imports done beforehand."""
    if client == "bare":
        session, endpoint = bare_session()

        def list_drives() -> list[Any]:
            response = session.get(f"{endpoint}drives/detail/", params={"limit": 0})
            response.raise_for_status()
            return response.json()["objects"]

    else:
        import cloudsigma.resource

        list_drives = cloudsigma.resource.Drive().list_detail

    started = time.perf_counter()
    drives = list_drives()
    elapsed = time.perf_counter() - started
    if len(drives) != expect:
        raise SystemExit(f"list_detail returned {len(drives)} drives, expected {expect}")
    return {"ms": elapsed * 1000, "drives": len(drives)}


#: Objects per page when iterating (100 pages for 100,000 drives).
SCALE_PAGE = 1000


def at_scale(client: str, mode: str, expect: int) -> dict[str, Any]:
    """Every drive once, by ``mode``: ``iter_detail``/``iter_all`` page by page (this package),
    or ``list_detail`` in one answer (this package, or the bare session).

    Memory growth is the peak RSS (VmHWM) at the end less the RSS after a first small
    request (imports, TLS and the connection already paid for).
    """
    if client == "bare":
        session, endpoint = bare_session()
        session.get(f"{endpoint}drives/", params={"limit": 1}).raise_for_status()

        def every_drive() -> Any:
            response = session.get(f"{endpoint}drives/detail/", params={"limit": 0})
            response.raise_for_status()
            return response.json()["objects"]

    else:
        import cloudsigma.resource

        # The default answer limit (64 MiB) refuses one answer holding every drive.
        drive = cloudsigma.resource.Drive(max_response_bytes=2**31)
        drive.list(query_params={"limit": 1})
        if mode == "list_detail":
            every_drive = drive.list_detail
        else:
            iterate = drive.iter_detail if mode == "iter_detail" else drive.iter_all

            def every_drive() -> Any:
                return iterate(page_size=SCALE_PAGE)

    before = process_memory("VmRSS")
    started = time.perf_counter()
    count = sum(1 for _drive in every_drive())
    elapsed = time.perf_counter() - started
    if count != expect:
        raise SystemExit(f"{mode} saw {count} drives, expected {expect}")
    growth = (process_memory("VmHWM") - before) / 2**20
    return {"seconds": elapsed, "rss_growth_mib": growth, "drives": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["per-call", "listing", "scale"])
    parser.add_argument("--client", choices=["sdk", "bare"], required=True)
    parser.add_argument("--uuid", help="the drive to GET (per-call)")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--fresh", action="store_true", help="a new Drive() for every call")
    parser.add_argument("--expect", type=int, default=0, help="drives the listing must return")
    parser.add_argument(
        "--mode", choices=["iter_detail", "iter_all", "list_detail"], default="list_detail"
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args()
    pin_to_cpu(args.cpu)
    if args.workload == "per-call":
        result = per_call(args.client, args.uuid, args.calls, args.fresh)
    elif args.workload == "scale":
        result = at_scale(args.client, args.mode, args.expect)
    else:
        result = listing(args.client, args.expect)
    if args.client == "sdk":
        result["version"] = sdk_version()
    emit(result)


if __name__ == "__main__":
    main()

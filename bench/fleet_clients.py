"""The fleet workload, run in a fresh process per contender: N servers up and down.

Each server boots from its own clone of a library drive: clone, create, start, wait until
running, stop, wait until stopped, delete with its drives. The contenders:

- ``fleet``: this package's fleet operations (``cloudsigma.fleet.Fleet``);
- ``sdk-loop``: this package in the loop a user writes from the README, one server at a
  time, with ``wait_for_status``;
- ``polling-loop``: the same loop for pycloudsigma 2.0.0, which has no ``wait_for_status``:
  ``get`` every second until the status is there (runs in either environment);
- ``libcloud``: Apache libcloud's CloudSigma driver: ``create_node`` one server at a time
  (it clones the image and waits for the clone itself), ``wait_until_running``, then
  ``ex_stop_node``, a ``list_nodes`` poll every 5 s until all are stopped, and
  ``destroy_node(ex_delete_drives=True)``.

The endpoint, credentials and CA come from the environment the harness sets. Prints one JSON
line: seconds, peak RSS (the process's VmHWM) and the version of the library used.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from common import emit, pin_to_cpu, process_memory

WAIT = 900  # seconds any one wait may take: far beyond what the profile makes them last


def server_definition(name: str, drive_uuid: str | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {
        "name": name,
        "cpu": 1000,
        "mem": 512 * 1024**2,
        "vnc_password": "fleet-bench",
    }
    if drive_uuid:
        server["drives"] = [boot_drive(drive_uuid)]
    return server


def boot_drive(uuid: str) -> dict[str, Any]:
    return {"boot_order": 1, "dev_channel": "0:0", "device": "virtio", "drive": uuid}


def run_fleet(count: int, library: str, workers: int) -> str:
    """This package's fleet operations."""
    import cloudsigma
    from cloudsigma.fleet import Fleet

    with Fleet(workers=workers) as fleet:
        definitions = [server_definition(f"fleet-{n}") for n in range(count)]
        servers = fleet.launch_servers(definitions, boot_drive=library, timeout=WAIT)
        servers.raise_for_errors()
        fleet.destroy_servers(servers.uuids, timeout=WAIT).raise_for_errors()
    return str(cloudsigma.__version__)


def one_at_a_time(count: int, library: str, wait: Callable[[Any, str, str], Any]) -> None:
    """The loop a user writes: each server cloned, created and started, and waited for, in
    turn; then each stopped, waited for and deleted. ``wait(resource, uuid, status)``."""
    import cloudsigma.resource

    drive = cloudsigma.resource.Drive()
    server = cloudsigma.resource.Server()
    uuids = []
    for n in range(count):
        clone = drive.clone(library, {"name": f"loop-{n}-boot"})
        wait(drive, clone["uuid"], "unmounted")
        created = server.create(server_definition(f"loop-{n}", clone["uuid"]))
        server.start(created["uuid"])
        wait(server, created["uuid"], "running")
        uuids.append(created["uuid"])
    for uuid in uuids:
        server.stop(uuid)
        wait(server, uuid, "stopped")
        server.delete_with_all_drives(uuid)


def wait_for_status(resource: Any, uuid: str, status: str) -> None:
    """This package's own wait (a poll at growing intervals, 1 s to 10 s)."""
    resource.wait_for_status(uuid, status, timeout=WAIT)


def poll(resource: Any, uuid: str, status: str) -> None:
    """What a pycloudsigma 2.0 script does: ``get`` every second until the status is there."""
    deadline = time.monotonic() + WAIT
    while resource.get(uuid)["status"] != status:
        if time.monotonic() > deadline:
            raise SystemExit(f"{uuid} did not reach {status} within {WAIT} s")
        time.sleep(1)


def run_libcloud(count: int, library: str) -> str:
    """Apache libcloud's CloudSigma driver, as its documentation uses it."""
    import urllib.parse

    import libcloud
    import libcloud.security
    from libcloud.compute.drivers.cloudsigma import (
        CloudSigma_2_0_NodeDriver,
        CloudSigmaNodeSize,
    )
    from libcloud.compute.types import NodeState

    libcloud.security.CA_CERTS_PATH = os.environ["BENCH_CA_BUNDLE"]
    endpoint = urllib.parse.urlsplit(os.environ["BENCH_API_ENDPOINT"])
    driver = CloudSigma_2_0_NodeDriver(
        os.environ["BENCH_USERNAME"],
        os.environ["BENCH_PASSWORD"],
        host=endpoint.hostname,
        port=endpoint.port,
    )
    image = driver.ex_get_drive(library)
    # the size of the image's disk (10 GB), so that create_node does not resize the clone
    size = CloudSigmaNodeSize("bench", "bench", 1, 512, 10, None, 0, driver)
    nodes = [
        driver.create_node(f"libcloud-{n}", size, image, ex_vnc_password="fleet-bench")
        for n in range(count)
    ]
    driver.wait_until_running(nodes, timeout=WAIT)
    for node in nodes:
        driver.ex_stop_node(node)
    deadline = time.monotonic() + WAIT
    while any(node.state != NodeState.STOPPED for node in driver.list_nodes()):
        if time.monotonic() > deadline:
            raise SystemExit(f"the nodes were not stopped within {WAIT} s")
        time.sleep(5)  # libcloud's own wait_period
    for node in nodes:
        driver.destroy_node(node, ex_delete_drives=True)
    return str(libcloud.__version__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=["fleet", "sdk-loop", "polling-loop", "libcloud"])
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--library", required=True, help="uuid of the library drive to clone")
    parser.add_argument("--workers", type=int, default=32, help="the fleet's workers (32)")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args()
    pin_to_cpu(args.cpu)
    started = time.perf_counter()
    if args.contender == "fleet":
        version = run_fleet(args.servers, args.library, args.workers)
    elif args.contender == "libcloud":
        version = run_libcloud(args.servers, args.library)
    else:  # pycloudsigma has no wait_for_status; the polling loop runs in either environment
        one_at_a_time(
            args.servers, args.library, wait_for_status if args.contender == "sdk-loop" else poll
        )
        import importlib.metadata

        version = importlib.metadata.version("cloudsigma")
    seconds = time.perf_counter() - started
    emit({"seconds": seconds, "peak_rss_mib": process_memory("VmHWM") / 2**20, "version": version})


if __name__ == "__main__":
    main()

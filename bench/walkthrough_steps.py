"""The README walkthrough, using only what pycloudsigma 2.0.0 also offers, recording each answer.

Runs in either virtual environment (this package's or pycloudsigma's), configured through
CLOUDSIGMA_CONFIG. Waiting is done by polling ``get``, since pycloudsigma has no waits.
Writes a JSON list of ``{"step": ..., "result": ...}`` to ``--out``; a step that raises
ends the list with its error.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import cloudsigma.errors
import cloudsigma.resource

POLL = 0.05
TIMEOUT = 60.0


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Poll ``fetch`` until ``done`` says yes; returns the last answer."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        answer = fetch()
        if done(answer):
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: still {answer!r:.200} after {TIMEOUT} s")
        time.sleep(POLL)


def status_of(resource: Any, uuid: str, status: str) -> Any:
    return wait_for(lambda: resource.get(uuid), lambda item: item["status"] == status, status)


def gone(resource: Any, uuid: str) -> str:
    """Wait until GET answers 404; returns the status code seen."""

    def probe() -> int:
        try:
            resource.get(uuid)
        except cloudsigma.errors.ClientError as exc:
            return int(exc.status_code)
        return 200

    return f"HTTP {wait_for(probe, lambda code: code == 404, f'{uuid} deleted')}"


def walkthrough(record: Callable[[str, Any], None]) -> None:
    drive = cloudsigma.resource.Drive()
    server = cloudsigma.resource.Server()
    snapshot = cloudsigma.resource.Snapshot()

    disk = drive.create({"name": "test_drive", "size": 1024**3, "media": "disk"})
    record("create drive", disk)
    record("wait drive unmounted", status_of(drive, disk["uuid"], "unmounted"))

    test_server = {
        "name": "My Test Server",
        "cpu": 1000,
        "mem": 512 * 1024**2,
        "vnc_password": "test_server",
    }
    created = server.create(test_server)
    record("create server", created)
    uuid = created["uuid"]

    created["drives"] = [
        {"boot_order": 1, "dev_channel": "0:0", "device": "virtio", "drive": disk["uuid"]}
    ]
    created["nics"] = [
        {"ip_v4_conf": {"conf": "dhcp", "ip": None}, "model": "virtio", "vlan": None}
    ]
    record("attach drive and NIC (update)", server.update(uuid, created))
    record("drive after attach", drive.get(disk["uuid"]))

    record("start server", server.start(uuid))
    record("wait server running", status_of(server, uuid, "running"))
    record("stop server", server.stop(uuid))
    record("wait server stopped", status_of(server, uuid, "stopped"))

    taken = snapshot.create({"drive": disk["uuid"], "name": "before upgrade"})
    record("create snapshot", taken)
    record("wait snapshot available", status_of(snapshot, taken["uuid"], "available"))

    record("delete server with its drives", server.delete_with_all_drives(uuid))
    record("server gone", gone(server, uuid))
    record("drive gone", gone(drive, disk["uuid"]))
    record(
        "what is left",
        {
            "servers": server.list(),
            "drives": drive.list(),
            "snapshots": snapshot.list(),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="file to write the recorded steps to")
    args = parser.parse_args()
    steps: list[dict[str, Any]] = []
    try:
        walkthrough(lambda step, result: steps.append({"step": step, "result": result}))
    except Exception as exc:  # recorded, so the comparison shows where a client broke
        status = getattr(exc, "status_code", None)
        steps.append({"step": "error", "result": f"{type(exc).__name__} {status}: {exc}"[:500]})
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump({"version": cloudsigma.__version__, "steps": steps}, out, indent=1)


if __name__ == "__main__":
    main()

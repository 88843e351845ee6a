"""Fill an emulator with drives through the API's bulk create, as any client could."""

from __future__ import annotations

import time
from typing import Any

import requests

BATCH = 500
DRIVE_SIZE = 1024**3


def create_drives(
    api_endpoint: str,
    auth: tuple[str, str],
    count: int,
    verify: str | bool = True,
    prefix: str = "bench",
) -> list[str]:
    """Create ``count`` drives in batches; returns their uuids in creation order.

    :raises RuntimeError: if the emulator refuses a batch, with its answer.
    """
    url = api_endpoint.rstrip("/") + "/drives/"
    uuids: list[str] = []
    with requests.Session() as session:
        session.auth = auth
        session.verify = verify
        for start in range(0, count, BATCH):
            batch = [
                {"name": f"{prefix}-{number:05d}", "size": DRIVE_SIZE, "media": "disk"}
                for number in range(start, min(count, start + BATCH))
            ]
            response = session.post(url, json={"objects": batch}, timeout=300)
            if response.status_code not in (200, 201, 202):
                raise RuntimeError(
                    f"creating drives {start}..{start + len(batch)} failed: "
                    f"{response.status_code} {response.text[:300]}"
                )
            uuids.extend(drive["uuid"] for drive in response.json()["objects"])
    return uuids


def wait_for_drives(
    api_endpoint: str, auth: tuple[str, str], expect: int, verify: str | bool = True
) -> dict[str, Any]:
    """Wait until no drive is still ``creating``; returns the count by status."""
    url = api_endpoint.rstrip("/") + "/drives/detail/"
    deadline = time.monotonic() + 120
    with requests.Session() as session:
        session.auth = auth
        session.verify = verify
        while True:
            drives = session.get(url, params={"limit": 0}, timeout=300).json()["objects"]
            statuses: dict[str, int] = {}
            for drive in drives:
                statuses[drive["status"]] = statuses.get(drive["status"], 0) + 1
            if len(drives) >= expect and "creating" not in statuses:
                return statuses
            if time.monotonic() > deadline:
                raise RuntimeError(f"drives still creating after 120 s: {statuses}")
            time.sleep(0.2)

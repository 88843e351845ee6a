"""Run an emulator (HTTPS by default) in its own process, filled with drives, for the clients.

Runs in this project's virtual environment, with the emulator's timing profile and latency
when asked. Prints one JSON line (endpoint, credentials,
CA file, a config file usable by both SDKs, the seeded drive uuids), then serves until its
standard input closes or it gets SIGTERM.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import secrets
import signal
import sys
import tempfile
import uuid as uuid_module
from typing import Any

from common import emit, pin_to_cpu
from seed import create_drives, wait_for_drives


def write_client_config(directory: str, info: dict[str, str]) -> str:
    """A ``key = value`` file that both this package and pycloudsigma (configobj) read."""
    path = os.path.join(directory, "cloudsigma.conf")
    keys = ("api_endpoint", "ws_endpoint", "username", "password", "ca_bundle")
    lines = [f"{key} = {info[key]}" for key in keys if info.get(key)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as config_file:
        config_file.write("\n".join(lines) + "\n")
    return path


def seed_directly(emulator: Any, template_uuid: str, count: int) -> list[str]:
    """``count`` copies of drive ``template_uuid`` stored straight into the account's state
    (the documented direct state access), named ``scale-00000``... in order."""
    backend = emulator.backend
    account = emulator.account()
    drives = account.objects["drives"]
    template = drives[template_uuid]
    uuids = []
    for number in range(count):
        drive = copy.deepcopy(template)
        drive["uuid"] = str(uuid_module.uuid4())
        drive["resource_uri"] = f"/api/2.0/drives/{drive['uuid']}/"
        drive["name"] = f"scale-{number:06d}"
        drives[drive["uuid"]] = drive
        backend.register("drives", drive["uuid"], account)
        uuids.append(drive["uuid"])
    return uuids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drives", type=int, default=0, help="drives to create")
    parser.add_argument(
        "--seed-directly",
        type=int,
        default=0,
        metavar="N",
        help="N drives: one created through the API, the others copied straight into the "
        "emulator's state (the documented direct state access) instead of N requests",
    )
    parser.add_argument("--plain", action="store_true", help="HTTP instead of HTTPS")
    parser.add_argument("--timing", default="uniform", help="the emulator's --timing")
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds per request")
    parser.add_argument(
        "--journal", type=int, default=10_000, help="requests the journal keeps (10000)"
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin the emulator to one CPU")
    args = parser.parse_args()
    pin_to_cpu(args.cpu)

    from cloudsigma.emulator import Emulator

    password = secrets.token_urlsafe(16)
    with (
        tempfile.TemporaryDirectory(prefix="cloudsigma-bench-") as workdir,
        Emulator(
            host="127.0.0.1",
            port=0,
            tls=not args.plain,
            username="bench@example.com",
            password=password,
            transition_delay=0,
            timing=args.timing,
            latency=args.latency / 1000,
        ) as emulator,
    ):
        emulator.api.journal.entries = collections.deque(maxlen=args.journal)
        ca_path = getattr(emulator, "ca_path", None) if not args.plain else None
        verify: str | bool = ca_path or True
        auth = (emulator.username, emulator.password)
        created = args.drives or (1 if args.seed_directly else 0)
        uuids = create_drives(emulator.api_endpoint, auth, created, verify=verify)
        if uuids:
            wait_for_drives(emulator.api_endpoint, auth, len(uuids), verify=verify)
        if args.seed_directly:
            uuids += emulator.call(seed_directly, emulator, uuids[0], args.seed_directly - 1)
        info = {
            "api_endpoint": emulator.api_endpoint,
            "ws_endpoint": emulator.ws_endpoint,
            "username": emulator.username,
            "password": emulator.password,
            "ca_bundle": ca_path or "",
            "emulator_token": emulator.control_token,
        }
        info["config_path"] = write_client_config(workdir, info)
        uuids_path = os.path.join(workdir, "drives.json")
        with open(uuids_path, "w", encoding="utf-8") as uuids_file:
            json.dump(uuids, uuids_file)
        emit({**info, "drives_path": uuids_path, "drives": len(uuids), "pid": os.getpid()})
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        sys.stdin.read()


if __name__ == "__main__":
    main()

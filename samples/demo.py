"""Run the README walkthrough, printing each step and its result.

By default it starts a fresh local emulator, points the SDK at it and stops it
at the end. With ``LIVE=1`` (or ``--live``) it runs against the account in
``~/.cloudsigma.conf`` (or ``$CLOUDSIGMA_CONFIG``) instead, after saying what it
will create; everything it creates is deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import cloudsigma
from cloudsigma import errors

DISK_SIZE = 1024**3
EXAMPLE_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAeexSoBrSIm4RyEbXF90FpDARsRDv6To3QrIClBTuSw"
    " demo@example.com"
)


def step(title: str, result: Any = None) -> None:
    """Print one step of the walkthrough and the part of its result worth seeing."""
    print(f"-> {title}")
    if isinstance(result, dict):
        shown = {k: result[k] for k in ("uuid", "name", "status", "size") if k in result}
        print(f"   {shown}")
    elif result is not None:
        print(f"   {result}")


@contextlib.contextmanager
def local_emulator() -> Iterator[Any]:
    """Start an emulator, point CLOUDSIGMA_CONFIG at it, stop it afterwards."""
    from cloudsigma.emulator import Emulator

    with Emulator(transition_delay=0.2) as emulator:
        os.environ["CLOUDSIGMA_CONFIG"] = emulator.config_path
        for name in ("API_ENDPOINT", "WS_ENDPOINT", "USERNAME", "PASSWORD"):
            os.environ.pop(f"CLOUDSIGMA_{name}", None)
        step(f"started a local emulator at {emulator.api_endpoint}")
        yield emulator
    step("stopped the emulator")


def walkthrough(emulator: Any = None, timeout: float = 300) -> None:
    """The README's walkthrough, step by step."""
    drive = cloudsigma.resource.Drive()
    server = cloudsigma.resource.Server()
    snapshot = cloudsigma.resource.Snapshot()
    keypairs = cloudsigma.resource.Keypairs()
    my_key: dict[str, Any] = {}

    my_test_disk = drive.create({"name": "test_drive", "size": DISK_SIZE, "media": "disk"})
    step("created a drive", my_test_disk)
    step(
        "drive is ready", drive.wait_for_status(my_test_disk["uuid"], "unmounted", timeout=timeout)
    )

    test_server = {
        "name": "My Test Server",
        "cpu": 1000,
        "mem": 512 * 1024**2,
        "vnc_password": "test_server",
    }
    my_test_server = server.create(test_server)
    step("created a server", my_test_server)
    uuid = my_test_server["uuid"]
    try:
        my_test_server["drives"] = [
            {
                "boot_order": 1,
                "dev_channel": "0:0",
                "device": "virtio",
                "drive": my_test_disk["uuid"],
            }
        ]
        my_test_server["nics"] = [
            {"ip_v4_conf": {"conf": "dhcp", "ip": None}, "model": "virtio", "vlan": None}
        ]
        my_test_server = server.update(uuid, my_test_server)
        step("attached the drive and a NIC", f"nic mac {my_test_server['nics'][0]['mac']}")

        my_key = keypairs.create({"name": "laptop", "public_key": EXAMPLE_KEY})
        step("stored the SSH key as a keypair", my_key)
        my_test_server["pubkeys"] = [my_key["uuid"]]
        my_test_server["meta"] = {"ssh_public_key": my_key["public_key"]}
        my_test_server = server.update(uuid, my_test_server)
        attached = [ref["uuid"] for ref in my_test_server["pubkeys"]]
        step("attached the keypair to the server", f"pubkeys {attached}")

        server.start(uuid)
        step("server is running", server.wait_for_status(uuid, "running", timeout=timeout))

        if emulator is not None:
            read_context(emulator, uuid)

        server.stop(uuid)
        step("server is stopped", server.wait_for_status(uuid, "stopped", timeout=timeout))

        my_snapshot = snapshot.create({"drive": my_test_disk["uuid"], "name": "before upgrade"})
        step("took a snapshot", my_snapshot)
        ready = snapshot.wait_for_status(my_snapshot["uuid"], "available", timeout=timeout)
        step("snapshot is available", ready)
    finally:
        clean_up(server, uuid, timeout)
        if my_key:
            keypairs.delete(my_key["uuid"])
            step("deleted the keypair")


def read_context(emulator: Any, server_uuid: str) -> None:
    """Read the server context the way a VM does, over the emulator's serial device."""
    from cloudsigma import metadata

    device = emulator.serial_device(server_uuid)
    context = metadata.GetServerMetadata(device=device).get()
    step(f"read the server context from {device}", f"name={context['name']!r}")
    key = metadata.GetServerMetadata(device=device).get("/meta/ssh_public_key")
    step("the VM sees the SSH key", key[:40] + "...")


def clean_up(server: Any, uuid: str, timeout: float) -> None:
    """Stop the server if it runs, then delete it with its drives (and their snapshots)."""
    if server.get(uuid)["status"] != "stopped":
        with contextlib.suppress(errors.PermissionError):
            server.stop(uuid)
        server.wait_for_status(uuid, "stopped", timeout=timeout)
    server.delete_with_all_drives(uuid)
    server.wait_deleted(uuid, timeout=timeout)
    step("deleted the server with its drives")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--live",
        action="store_true",
        default=os.environ.get("LIVE") == "1",
        help="run against the account in the config file instead of a local emulator",
    )
    args = parser.parse_args(argv)
    try:
        if args.live:
            endpoint = cloudsigma.conf.config["api_endpoint"]
            print(f"Running against {endpoint}: this creates a 1 GiB drive, a server")
            print("(1000 MHz, 512 MiB), a keypair and a snapshot, and deletes them at the end.")
            walkthrough()
        else:
            with local_emulator() as emulator:
                walkthrough(emulator, timeout=30)
    except errors.ApiClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("walkthrough complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())

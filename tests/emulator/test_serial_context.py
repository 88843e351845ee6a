"""``emu.serial_device()``: the server context answered on a pty from live emulator state."""

from __future__ import annotations

import json
import os
import select
import time

from emulator_support import GIB


def ask(device: str, path: str) -> str:
    descriptor = os.open(device, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(descriptor, f"<\n{path}\n>".encode())
        answer = b""
        deadline = time.monotonic() + 10
        while not answer.endswith(b"\x04") and time.monotonic() < deadline:
            ready, _, _ = select.select([descriptor], [], [], 0.5)
            if ready:
                answer += os.read(descriptor, 65536)
        return answer.decode().strip("\x04\n")
    finally:
        os.close(descriptor)


def test_context_shows_the_server_and_follows_changes(emu, api, drive):
    entry = {"device": "virtio", "dev_channel": "0:0", "drive": drive["uuid"]}
    server = api.create(
        "servers",
        name="web",
        cpu=1000,
        mem=GIB,
        vnc_password="pw",
        meta={"ssh_public_key": "ssh-ed25519 AAAA"},
        drives=[entry],
    )
    device = emu.serial_device(server["uuid"])
    assert ask(device, "name") == "web"
    assert ask(device, "/meta/ssh_public_key") == "ssh-ed25519 AAAA"
    whole = json.loads(ask(device, ""))
    assert whole["uuid"] == server["uuid"] and "owner" not in whole and "status" not in whole
    assert whole["drives"][0]["drive"]["name"] == "disk"
    api.ok("PUT", f"servers/{server['uuid']}/", json={"name": "renamed"})
    api.ok("POST", "global_context/", json={"key": "value"})
    assert ask(device, "name") == "renamed"
    assert ask(device, "/global_context/key") == "value"


def test_serial_device_can_name_a_server_created_later(emu, api):
    device = emu.serial_device("later")
    assert ask(device, "name") == ""
    api.create("servers", name="later", cpu=1000, mem=GIB, vnc_password="pw")
    assert ask(device, "name") == "later"


def test_whole_context_has_the_recorded_keys(emu, api):
    server = api.create("servers", name="web", cpu=1000, mem=GIB, vnc_password="pw")
    context = json.loads(ask(emu.serial_device(server["uuid"]), ""))
    assert set(context) == {
        "cpu", "cpu_model", "cpu_perf_threshold", "cpu_type", "cpus_instead_of_cores", "drives",
        "enable_numa", "global_context", "hv_relaxed", "hv_tsc", "hypervisor", "is_grey", "mem",
        "mem_perf_threshold", "meta", "name", "nics", "pubkeys", "requirements", "smp", "tags",
        "uuid", "vnc_password",
    }  # fmt: skip

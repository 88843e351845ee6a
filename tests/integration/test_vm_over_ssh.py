"""A VM cloned from the persistent drive boots, answers SSH as root and reads its context.

Needs ``persistent_drive_name`` (a drive in the account with an SSH server that lets root
log in with a password) and ``persistent_drive_ssh_password`` in ~/.cloudsigma.conf, and the
``paramiko`` package. Only a real account can run it.
"""

from __future__ import annotations

import socket
import time

import pytest
from integration_support import unique_name

pytestmark = pytest.mark.live_only(
    reason="a VM cloned from persistent_drive_name and reached over SSH as root"
)

CONTEXT_READ = (
    "stty -F /dev/ttyS1 raw -echo && exec 3<>/dev/ttyS1 && "
    "printf '<\\n/meta/integration_token\\n>' >&3 && timeout 10 head -n 1 <&3"
)


@pytest.fixture
def persistent_drive(api, live_config, tracker):
    name = live_config("persistent_drive_name")
    password = live_config("persistent_drive_ssh_password")
    if not (name and password):
        pytest.skip(
            "add persistent_drive_name and persistent_drive_ssh_password to ~/.cloudsigma.conf "
            "to run the SSH tests (they are not configured for this account)"
        )
    found = [d for d in api.drives.list_detail({"name": name}) if d["name"] == name]
    assert len(found) == 1, f"expected one drive named {name!r}, found {len(found)}"
    tracker.protect(found[0]["uuid"])
    return found[0], password


def wait_for_ssh_banner(address: str, timeout: float) -> str:
    """Poll port 22 until the SSH server greets; return its banner."""
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, 22), timeout=10) as connection:
                banner = connection.recv(256).decode("ascii", "replace")
                if banner.startswith("SSH-"):
                    return banner
        except OSError as exc:
            last_error = exc
        time.sleep(5)
    raise AssertionError(f"no SSH server on {address}:22 within {timeout:g}s ({last_error})")


def public_address(api, server_uuid: str, timeout: float) -> str:
    """The IPv4 address the running server got by DHCP."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for nic in api.servers.runtime(server_uuid).get("nics") or ():
            if nic.get("ip_v4"):
                return nic["ip_v4"]["uuid"]
        time.sleep(5)
    raise AssertionError(f"server {server_uuid} got no IPv4 address within {timeout:g}s")


def test_cloned_vm_answers_ssh_as_root_and_reads_its_context(
    api, persistent_drive, tracker, wait_timeout
):
    paramiko = pytest.importorskip(
        "paramiko", reason="the SSH test needs paramiko: pip install paramiko"
    )
    source, password = persistent_drive
    token = unique_name("token")
    clone = tracker.track("drives", api.drives.clone(source["uuid"], {"name": unique_name("os")}))
    api.drives.wait_for_status(clone["uuid"], "unmounted", timeout=wait_timeout * 4)
    server = api.servers.create(
        {
            "name": unique_name("vm"),
            "cpu": 2000,
            "mem": 2 * 1024**3,
            "vnc_password": "integration",
            "meta": {"integration_token": token},
            "drives": [
                {"device": "virtio", "dev_channel": "0:0", "boot_order": 1, "drive": clone["uuid"]}
            ],
            "nics": [{"ip_v4_conf": {"conf": "dhcp", "ip": None}, "model": "virtio"}],
        }
    )
    tracker.track("servers", server)
    api.servers.start(server["uuid"])
    api.servers.wait_for_status(server["uuid"], "running", timeout=wait_timeout)
    address = public_address(api, server["uuid"], wait_timeout)

    assert wait_for_ssh_banner(address, wait_timeout).startswith("SSH-2.0")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(address, username="root", password=password, timeout=30)
    try:
        _, whoami, _ = client.exec_command("whoami", timeout=30)
        assert whoami.read().decode().strip() == "root"
        _, context, _ = client.exec_command(CONTEXT_READ, timeout=30)
        assert token in context.read().decode()
    finally:
        client.close()

    api.servers.shutdown(server["uuid"])
    assert api.servers.wait_for_status(server["uuid"], "stopped", timeout=wait_timeout)

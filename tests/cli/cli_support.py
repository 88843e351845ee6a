"""Helpers for the command-line tests: running the command, checking errors, making objects."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cloudsigma import resource

#: A uuid no emulator object has.
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Run:
    """The outcome of one command: exit status and both streams."""

    args: tuple[str, ...]
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def yaml(self) -> Any:
        import yaml

        return yaml.safe_load(self.stdout)

    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def expect(self, status: int) -> Run:
        """Check the exit status, showing the streams when it is not the one expected."""
        assert self.status == status, (
            f"cloudsigma {' '.join(self.args)} exited {self.status}, not {status}\n"
            f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )
        assert "Traceback" not in self.stderr, self.stderr
        return self


def record_fields(text: str) -> dict[str, str]:
    """The ``key  value`` lines of a record, without the continuation lines of long values."""
    fields = {}
    for line in text.splitlines():
        if line and not line[0].isspace():
            key, _, value = line.partition(" ")
            fields[key] = value.strip()
    return fields


def cli_environment(config_path: str) -> dict[str, str]:
    """The environment of a user whose configuration file is ``config_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSIGMA_")}
    env["CLOUDSIGMA_CONFIG"] = config_path
    env["PYTHONWARNINGS"] = "error"
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudsigma", *args]


def api_error(call: Callable[[], Any]):
    """The ApiClientError the SDK raises for ``call``, to compare with what the command prints."""
    from cloudsigma import errors

    with pytest.raises(errors.ApiClientError) as raised:
        call()
    return raised.value


def assert_reports_api_error(run: Run, error) -> None:
    """The command failed with status 1 and printed the API's messages, status and request id."""
    run.expect(1)
    assert error.errors, "the API should have sent its error list"
    for entry in error.errors:
        assert entry["error_message"] in run.stderr
    assert f"status {error.status_code}" in run.stderr
    if error.request_id:
        assert "request id" in run.stderr


# -- objects, made through the SDK (fast, in the test process) --
GIB = 1024**3


def drive(name: str = "cli-drive", size: int = GIB) -> dict[str, Any]:
    drives = resource.Drive()
    created = drives.create({"name": name, "size": size, "media": "disk"})
    return drives.wait_for_status(created["uuid"], "unmounted", timeout=30)


def server(name: str = "cli-server") -> dict[str, Any]:
    return resource.Server().create(
        {"name": name, "cpu": 1000, "mem": 512 * 1024**2, "vnc_password": "secret-vnc"}
    )


def snapshot(name: str = "cli-snapshot") -> dict[str, Any]:
    snapshots = resource.Snapshot()
    created = snapshots.create({"drive": drive()["uuid"], "name": name})
    return snapshots.wait_for_status(created["uuid"], "available", timeout=30)


def tag(name: str = "cli-tag") -> dict[str, Any]:
    return resource.Tags().create({"name": name})


def subscription(resource_type: str = "vlan") -> dict[str, Any]:
    created = resource.Subscriptions().create(
        {"resource": resource_type, "amount": "1", "period": "1 month"}
    )
    return created[0] if isinstance(created, list) else created


def _subscribed(resource_type: str, cls: type) -> dict[str, Any]:
    bought = subscription(resource_type)
    uuid = bought.get("subscribed_object")
    objects = cls().list_detail()
    return next(obj for obj in objects if obj["uuid"] == uuid) if uuid else objects[0]


def ip() -> dict[str, Any]:
    return _subscribed("ip", resource.IP)


def vlan() -> dict[str, Any]:
    return _subscribed("vlan", resource.VLAN)


def libdrive() -> dict[str, Any]:
    return resource.LibDrive().list()[0]


#: One existing object of each collection, by command name.
MAKERS = {
    "drives": drive,
    "servers": server,
    "snapshots": snapshot,
    "libdrives": libdrive,
    "ips": ip,
    "vlans": vlan,
    "tags": tag,
    "subscriptions": subscription,
}

#: The key of each collection's objects in URLs.
KEYS = {"subscriptions": "id"}


def make(collection: str) -> tuple[dict[str, Any], str]:
    """An object of ``collection`` and its key (uuid, or id for subscriptions)."""
    obj = MAKERS[collection]()
    return obj, str(obj[KEYS.get(collection, "uuid")])

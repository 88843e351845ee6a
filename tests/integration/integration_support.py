"""Helpers of the integration suite: the resources of an account and the cleanup tracker."""

from __future__ import annotations

import contextlib
import uuid as uuid_module
from collections.abc import Callable
from typing import Any

import pytest

from cloudsigma import errors, resource
from cloudsigma.policies import WaitPolicy

GIB = 1024**3
#: Every object the suite creates carries this prefix, so leftovers are easy to spot.
NAME_PREFIX = "pytest-integration"
#: Drive states that end by themselves; cleanup waits for them to settle.
SETTLING_DRIVE_STATES = ("creating", "cloning_dst", "cloning_src", "resizing", "uploading")


def unique_name(label: str) -> str:
    """A name for a new object: the suite prefix, ``label`` and a random suffix."""
    return f"{NAME_PREFIX}-{label}-{uuid_module.uuid4().hex[:8]}"


class Api:
    """The SDK resources of one account, built with the same client arguments.

    :param client_args: ``(api_endpoint, username, password)``, or nothing for the
        configured account.
    :param emulator: the emulator serving this account, None for a live account.
    :param wait_policy: how every resource's wait helpers poll.
    """

    def __init__(
        self,
        *client_args: str,
        live: bool,
        emulator: Any = None,
        wait_policy: WaitPolicy | None = None,
    ) -> None:
        self.client_args = client_args
        self.live = live
        self.emulator = emulator
        self.drives = resource.Drive(*client_args)
        self.servers = resource.Server(*client_args)
        self.snapshots = resource.Snapshot(*client_args)
        self.tags = resource.Tags(*client_args)
        self.acls = resource.Acls(*client_args)
        self.ips = resource.IP(*client_args)
        self.vlans = resource.VLAN(*client_args)
        self.subscriptions = resource.Subscriptions(*client_args)
        self.profile = resource.Profile(*client_args)
        self.keypairs = resource.Keypairs(*client_args)
        self.pubkeys = resource.Pubkeys(*client_args)
        self.backupschedulers = resource.BackupSchedulers(*client_args)
        self.locations = resource.Locations(*client_args)
        if wait_policy is not None:
            for collection in self.resources():
                collection.wait_policy = wait_policy

    def resources(self) -> list[resource.ResourceBase]:
        """Every resource object of this account."""
        return [v for v in vars(self).values() if isinstance(v, resource.ResourceBase)]

    def websocket(self, timeout: float) -> resource.Websocket:
        """A websocket of the configured account; open it before making the change to see."""
        return resource.Websocket(timeout=timeout)

    def close(self) -> None:
        """Close the pooled connections of every resource's client."""
        for collection in self.resources():
            collection.c.close()


class ResourceTracker:
    """Remembers what a test created and deletes it afterwards, servers first.

    Order: stop the servers, delete them with their disks, then the drives, the snapshots,
    the keypairs and backup schedulers (servers and drives refer to them), the ACLs and last
    the tags (ACLs refer to tags). Objects already gone (404) are fine;
    anything that cannot be deleted is reported, so a live account is never left with
    silent leftovers.
    """

    def __init__(self, api: Api, timeout: float) -> None:
        self.api = api
        self.timeout = timeout
        self.created: dict[str, list[str]] = {
            kind: []
            for kind in (
                "servers",
                "drives",
                "snapshots",
                "keypairs",
                "backupschedulers",
                "tags",
                "acls",
            )
        }
        self.protected: set[str] = set()
        self.problems: list[str] = []

    def track(self, kind: str, created: Any) -> Any:
        """Remember ``created`` (an object, a list of them, or a uuid); return it."""
        for item in created if isinstance(created, list) else [created]:
            uuid = item["uuid"] if isinstance(item, dict) else item
            if uuid not in self.created[kind]:
                self.created[kind].append(uuid)
        return created

    def protect(self, uuid: str) -> None:
        """Never delete this drive, even when it is attached to a tracked server."""
        self.protected.add(uuid)

    def cleanup(self) -> None:
        """Delete everything tracked; what fails (other than 404) goes to ``problems``."""
        for uuid in self.created["servers"]:
            self._attempt("server", uuid, self._remove_server)
        for uuid in self.created["drives"]:
            self._attempt("drive", uuid, self._remove_drive)
        for uuid in self.created["snapshots"]:
            self._attempt("snapshot", uuid, self._remove_snapshot)
        for kind in ("keypairs", "backupschedulers"):
            collection = getattr(self.api, kind)
            for uuid in self.created[kind]:
                self._attempt(kind[:-1], uuid, lambda u, c=collection: c.delete(u))
        for kind, collection in (("acl", self.api.acls), ("tag", self.api.tags)):
            for uuid in self.created[f"{kind}s"]:
                self._attempt(kind, uuid, lambda u, c=collection: c.delete(u))

    def _attempt(self, kind: str, uuid: str, remove: Callable[[str], None]) -> None:
        try:
            remove(uuid)
        except errors.ApiClientError as exc:
            if exc.status_code != 404:
                self.problems.append(f"{kind} {uuid}: {exc}")

    def _remove_server(self, uuid: str) -> None:
        servers = self.api.servers
        server = servers.get(uuid)
        if server["status"] in ("starting", "stopping"):
            server = servers.wait_for_status(
                uuid,
                "running" if server["status"] == "starting" else "stopped",
                timeout=self.timeout,
            )
        if server["status"] != "stopped":
            with contextlib.suppress(errors.PermissionError):
                servers.stop(uuid)
            servers.wait_for_status(uuid, "stopped", timeout=self.timeout)
        attached = {drive_uuid(d) for d in server.get("drives") or ()}
        recurse = None if attached & self.protected else "disks"
        servers.delete(uuid, recurse=recurse)
        servers.wait_deleted(uuid, timeout=self.timeout)

    def _remove_drive(self, uuid: str) -> None:
        if uuid in self.protected:
            return
        drives = self.api.drives
        drive = drives.get(uuid)
        if drive["status"] in SETTLING_DRIVE_STATES:
            drives.wait_for_status(uuid, "unmounted", timeout=self.timeout * 4)
        drives.delete(uuid)
        drives.wait_deleted(uuid, timeout=self.timeout)

    def _remove_snapshot(self, uuid: str) -> None:
        snapshots = self.api.snapshots
        if snapshots.get(uuid)["status"] == "creating":
            snapshots.wait_for_status(uuid, "available", timeout=self.timeout)
        snapshots.delete(uuid)
        snapshots.wait_deleted(uuid, timeout=self.timeout)


def drive_uuid(attachment: dict) -> str:
    """The drive uuid of a server's ``drives`` entry (a ref dict or a plain uuid)."""
    drive = attachment["drive"]
    return drive["uuid"] if isinstance(drive, dict) else drive


def assert_gone(collection: Any, uuid: str) -> None:
    """GET on ``uuid`` answers 404."""
    with pytest.raises(errors.ClientError) as raised:
        collection.get(uuid)
    assert raised.value.status_code == 404

"""Snapshots and remote snapshots of drives (guide 4.4 and 4.5), and the backup schedulers
that take them."""

from __future__ import annotations

import datetime
import functools
from typing import Any

from . import fields
from .drives import MEDIA, Drives
from .errors import permission, validation
from .kernel import OPERATIONS, Account, Collection, Generic, load_data, new_uuid, now, query, ref

BACKUP_TYPES = ("snapshot", "backup", "dr", "migration")


class Snapshots(Collection):
    """``/snapshots/``: ``creating`` -> ``available``; cloned into drives; gone with their drive."""

    name = "snapshots"
    operations = OPERATIONS | {"bulk_delete": 204}
    shareable = True
    permissions = ("LIST", "EDIT", "CLONE")
    audit_category = "Snapshots"
    actions = {"clone": "clone"}

    def prepare(self, account: Account, values: dict) -> dict:
        if values.get("drive") is None:
            raise fields.required("drive")
        drives = self.sibling("drives", Drives)
        drive = drives.find(account, fields.ref_uuid(values["drive"], "drive"), "EDIT")
        # A snapshot belongs with its drive: a grantee's goes into the drive owner's account.
        holder = drives.holder(account, drive)
        if not drive["runtime"].get("is_snapshotable", True) and drive["status"] != "mounted":
            raise permission(f"drive {drive['uuid']} cannot be snapshotted now")
        if drive["storage_type"] == "local_nvme":
            raise permission(f"drive {drive['uuid']} is ephemeral and cannot be snapshotted")
        limit = self.backend.capabilities["snapshots"]["max_per_drive"]
        if len(drive["snapshots"]) >= limit:
            raise validation(f"drive {drive['uuid']} already has {limit} snapshots", "drive")
        moment = now()
        uuid = new_uuid()
        return {
            "allocated_size": None,
            "drive": ref("drives", drive["uuid"]),
            "grantees": [],
            "meta": fields.meta(values),
            "name": fields.text(values, "name", None)
            or f"{drive['uuid']}__{moment.strftime('%Y-%m-%d__%H_%M_%S')}",
            "owner": holder.owner,
            "permissions": [],
            "resource_uri": self.uri(uuid),
            "status": "creating",
            "tags": self.backend.tag_refs(
                holder, self.editable(account, holder, values).get("tags")
            ),
            "timestamp": str(moment),
            "uuid": uuid,
        }

    def drive_of(self, account: Account, snapshot: dict) -> tuple[Account, dict]:
        """The account holding the drive of a new ``snapshot``, and the drive."""
        drives = self.sibling("drives", Drives)
        holder = self.backend.owner_of("drives", snapshot["drive"]["uuid"]) or account
        return holder, drives.store(holder)[snapshot["drive"]["uuid"]]

    def commit(self, account: Account, values: dict) -> dict:
        account, drive = self.drive_of(account, values)
        snapshot = super().commit(account, values)
        drive["snapshots"].append(ref("snapshots", snapshot["uuid"]))
        self.remember_origin(snapshot, drive)
        self.backend.emit(account, "drives", drive)

        def measured() -> None:
            stored = self.backend.images.get(snapshot["uuid"])
            snapshot["allocated_size"] = 0 if stored is None else stored.size

        self.backend.settle(account, "snapshots", snapshot, "available", apply=measured)
        return snapshot

    def check_update(self, account: Account, snapshot: dict, values: dict) -> dict:
        changes = {}
        if "name" in values:
            changes["name"] = fields.text(values, "name")
        if "meta" in values:
            changes["meta"] = fields.meta(values)
        if "tags" in values:
            changes["tags"] = self.backend.tag_refs(account, values["tags"])
        return changes

    def remove(self, account: Account, snapshot: dict) -> None:
        drive = self.sibling("drives", Drives).store(account).get(snapshot["drive"]["uuid"])
        if drive is not None:
            drive["snapshots"] = [s for s in drive["snapshots"] if s["uuid"] != snapshot["uuid"]]
            self.backend.emit(account, "drives", drive)
        self.backend.drop_image(snapshot["uuid"])
        self.backend.origins.pop(snapshot["uuid"], None)
        super().remove(account, snapshot)

    @query("avoid")
    def clone(self, account: Account, uuid: str, body: dict, *, avoid: str | None = None) -> dict:
        """A drive from the snapshot, placed away from what ``?avoid=`` names."""
        snapshot = self.find(account, uuid, "CLONE")
        self.require_available(snapshot)
        drive = self.clone_to_drive(account, snapshot, self.clone_source(account, snapshot), body)
        self.sibling("drives", Drives).place(account, drive["uuid"], avoid)
        return drive

    def require_available(self, snapshot: dict) -> None:
        if snapshot["status"] != "available":
            raise permission(
                f"snapshot {snapshot['uuid']} is {snapshot['status']}; wait until it is "
                "available before cloning it"
            )

    def clone_source(self, account: Account, snapshot: dict) -> dict | None:
        """The drive whose size, media and storage type a clone takes: the snapshot's own."""
        return self.sibling("drives", Drives).store(account).get(snapshot["drive"]["uuid"])

    def remember_origin(self, snapshot: dict, drive: dict) -> None:
        """Keep the drive's bytes, meta and tags as they were, for clones of the snapshot."""
        image = self.backend.images.get(drive["uuid"])
        if image is not None:
            self.backend.images[snapshot["uuid"]] = image.copy()
        self.backend.origins[snapshot["uuid"]] = {
            "meta": dict(drive["meta"]),
            "tags": [t["uuid"] for t in drive["tags"]],
        }

    def clone_to_drive(
        self, account: Account, snapshot: dict, source: dict | None, body: dict
    ) -> dict:
        drives = self.sibling("drives", Drives)
        meta = source or snapshot.get("drive_meta") or {}
        origin = self.backend.origins.get(snapshot["uuid"], {})
        # The live API names the drive exactly like the snapshot, whatever the profile's
        # clone naming says (the snapshot name already tells the copies apart).
        name = fields.text(body, "name", None) or snapshot["name"]
        values = {
            "name": name,
            "size": meta.get("size", 1024**3),
            "media": fields.choice(body, "media", MEDIA, meta.get("media", "disk")),
            "storage_type": meta.get("storage_type", "dssd"),
            "affinities": fields.sequence(body, "affinities", []),
            "meta": origin.get("meta", {}),
            "tags": [t for t in origin.get("tags", ()) if t in account.objects["tags"]],
        }
        drive = drives.prepare(account, values, exact=True)
        drive["status"] = "cloning_dst"
        drive["runtime"]["is_snapshotable"] = None
        return drives.start_clone(account, snapshot, drive, None)


class RemoteSnapshots(Snapshots):
    """``/remotesnapshots/``: ``creating`` -> ``transferring`` -> ``available``; outlive drives."""

    name = "remotesnapshots"
    audit_category = "Remote snapshots"
    #: At most one remote snapshot per drive in this window (remote_snapshots.rst).
    min_interval = datetime.timedelta(minutes=30)

    def prepare(self, account: Account, values: dict) -> dict:
        if values.get("drive") is None:
            raise fields.required("drive")
        drives = self.sibling("drives", Drives)
        drive = drives.find(account, fields.ref_uuid(values["drive"], "drive"), "EDIT")
        for other in self.store(drives.holder(account, drive)).values():
            if other["drive"]["uuid"] != drive["uuid"]:
                continue
            if other["status"] != "available":
                raise permission(
                    f"a remote snapshot of drive {drive['uuid']} is still {other['status']}"
                )
            taken = datetime.datetime.fromisoformat(other["timestamp"])
            if now() - taken < self.min_interval:
                raise permission(
                    f"drive {drive['uuid']} had a remote snapshot less than 30 minutes ago"
                )
        snapshot = super().prepare(account, values)
        snapshot.update(
            resource_uri=self.uri(snapshot["uuid"]),
            location=fields.text(values, "location", "ZRH"),
            last_state_change=str(now()),
            drive_meta={k: drive[k] for k in ("name", "media", "size", "storage_type")}
            | {"src_uuid": drive["uuid"]},
        )
        return snapshot

    def commit(self, account: Account, values: dict) -> dict:
        account, drive = self.drive_of(account, values)
        snapshot = Collection.commit(self, account, values)
        drive["remote_snapshots"].append(ref("remotesnapshots", snapshot["uuid"]))
        self.remember_origin(snapshot, drive)

        def arrived() -> None:
            snapshot["allocated_size"] = snapshot["drive_meta"]["size"]
            snapshot["last_state_change"] = str(now())
            self.backend.settle(account, self.name, snapshot, "available")

        self.backend.settle(account, self.name, snapshot, "transferring", apply=arrived)
        return snapshot

    def require_available(self, snapshot: dict) -> None:
        if snapshot["status"] != "available":
            raise permission(
                f"remote snapshot {snapshot['uuid']} is {snapshot['status']}; wait "
                "until it is available"
            )

    def check_update(self, account: Account, snapshot: dict, values: dict) -> dict:
        self.require_available(snapshot)
        return super().check_update(account, snapshot, values)

    def check_delete(self, account: Account, snapshot: dict) -> None:
        self.require_available(snapshot)

    def remove(self, account: Account, snapshot: dict) -> None:
        drive = self.sibling("drives", Drives).store(account).get(snapshot["drive"]["uuid"])
        if drive is not None:
            drive["remote_snapshots"] = [
                s for s in drive["remote_snapshots"] if s["uuid"] != snapshot["uuid"]
            ]
        self.backend.drop_image(snapshot["uuid"])
        self.backend.origins.pop(snapshot["uuid"], None)
        Collection.remove(self, account, snapshot)

    def clone_source(self, account: Account, snapshot: dict) -> dict | None:
        """None: a clone takes what the remote snapshot recorded (it outlives its drive)."""
        return None


class BackupSchedulers(Generic):
    """``/backupschedulers/``: snapshot and backup policies that drives point at."""

    name = "backupschedulers"
    defaults = {
        "name": "",
        "type": "snapshot",
        "meta": {},
        "tags": [],
        "enable_backup_policy_notifications": True,
        "enable_retention_policy_notifications": True,
        "incremental_backup": {},
        "initial_backup": {},
        "is_default": False,
        "is_enabled": True,
        "manual_incremental_backup": "",
        "orchestrator_timezone": "",
        "remote_location": "",
        "retention_policy": {},
        "user_timezone": "Etc/UTC",
    }
    required = ("type",)
    has_acl_fields = True
    short_fields = (
        "is_default",
        "is_enabled",
        "meta",
        "name",
        "orchestrator_timezone",
        "owner",
        "remote_location",
        "resource_uri",
        "type",
        "user_timezone",
        "uuid",
    )

    operations = OPERATIONS | {"bulk_delete": 204}

    def prepare(self, account: Account, values: dict) -> dict:
        fields.choice(values, "type", BACKUP_TYPES)
        return super().prepare(account, values)

    def check_value(self, account: Account, key: str, value: Any) -> Any:
        checked = super().check_value(account, key, value)
        if key == "user_timezone" and checked not in time_zones():
            raise validation(
                f"user_timezone must be a time zone name such as Europe/Zurich or Etc/UTC, "
                f"got {checked!r}",
                "user_timezone",
            )
        return checked


@functools.cache
def time_zones() -> frozenset[str]:
    """The time zone names a backup scheduler accepts (the IANA time zone database)."""
    return frozenset(load_data("timezones.json"))

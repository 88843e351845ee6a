"""Drives, library drives, initupload, jobs and drive users."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import fields, placement
from .errors import concurrency, notexist, permission, validation
from .kernel import (
    API,
    OPERATIONS,
    Account,
    Collection,
    SimpleCollection,
    iso,
    new_uuid,
    now,
    query,
    ref,
)
from .placement import avoided_uuids

MEDIA = ("disk", "cdrom")
STORAGE_TYPES = ("dssd", "zadara", "nvme", "local_nvme", "magnetic", "ssd")
STEADY = ("mounted", "unmounted")
#: Statuses of a drive with an operation in flight: changes meanwhile are 503 ``concurrency``.
BUSY = ("resizing", "cloning_src", "cloning_dst")
#: Sizes of created, cloned and resized drives are rounded up to this (UNSURE in the guide).
SIZE_ROUNDING = 16 * 1024
LIBRARY_META_KEYS = (
    "arch",
    "category",
    "description",
    "distribution",
    "image_type",
    "install_notes",
    "os",
    "paid",
    "url",
    "version",
)


def round_size(size: int) -> int:
    return -(-size // SIZE_ROUNDING) * SIZE_ROUNDING


def clone_name(strategy: str, name: str) -> str:
    """The name of a clone that was given none, per the profile's ``clone_naming``."""
    moment = now()
    if strategy == "NONE":
        return name
    suffix = {
        "DATE": moment.strftime("-%Y-%m-%d"),
        "TIMESTAMP": moment.strftime("-%Y-%m-%d %H:%M:%S"),
    }.get(strategy)
    if suffix is not None and not name.endswith(suffix):
        return name + suffix
    counted = re.match(r"^(.*)_(\d+)$", name)
    if counted:
        return f"{counted.group(1)}_{int(counted.group(2)) + 1}"
    return f"{name}_1"


def steady_status(drive: dict) -> str:
    return "mounted" if drive["mounted_on"] else "unmounted"


def default_meta(storage_type: str) -> dict:
    """The meta a new drive gets when none is sent.

    The NVMe drive dumps (``drive_storage_type``, ``ephemeral_drive_resize_action``)
    show ``{"description": ""}``, every dssd and zadara create dump ``{}``.
    """
    return {"description": ""} if storage_type in ("nvme", "local_nvme") else {}


class Jobs(Collection):
    """``/jobs/``: read-only records of clone operations."""

    name = "jobs"
    operations = {"list": 200, "get": 200}

    def start(
        self,
        account: Account,
        operation: str,
        resources: list[str],
        children: list[dict] | None = None,
    ) -> dict:
        """Create a job in state ``started`` that ends in ``success`` after the delay."""
        uuid = new_uuid()
        job: dict[str, Any] = {
            "uuid": uuid,
            "resource_uri": self.uri(uuid),
            "operation": operation,
            "state": "started",
            "data": {"progress": 0},
            "resources": resources,
            "children": children or [],
            "created": iso(),
            "last_modified": iso(),
        }
        self.commit(account, job)

        def finish() -> None:
            job["data"] = {"progress": 100}
            job["last_modified"] = iso()
            for child in job["children"]:
                child.update(state="success", data={"progress": 100}, last_modified=iso())

        self.backend.settle(account, "jobs", job, "success", apply=finish, factor=1.5)
        return job


class Drives(Collection):
    """``/drives/``: create, resize, clone, attach state, delete rules (guide 4.1)."""

    name = "drives"
    short_fields = ("owner", "resource_uri", "status", "uuid")
    operations = OPERATIONS | {"bulk_delete": 204, "availability_groups": 200}
    shareable = True
    permissions = ("LIST", "EDIT", "CLONE", "ATTACH")
    audit_category = "Drives"
    actions = {
        "clone": "clone",
        "resize": "resize",
        "upload_chunk": "upload_chunk",
        "set_scheduler": "set_scheduler",
    }

    # lookup -------------------------------------------------------------
    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        library = self.backend.library.get(uuid)
        if library is None:
            return super().find(account, uuid, need)
        if need in ("LIST", "CLONE") or (need == "ATTACH" and library["media"] == "cdrom"):
            return library
        if need == "ATTACH":
            raise permission(f"library drive {uuid} is a disk; clone it before attaching it")
        raise permission(f"library drive {uuid} cannot be changed")

    def get(self, account: Account, uuid: str) -> dict:
        drive = self.find(account, uuid)
        if drive.get("owner") is None:
            return self.library_as_drive(drive)
        return self.view(account, drive)

    @staticmethod
    def library_as_drive(library: dict) -> dict:
        """A library drive as ``/drives/<uuid>/`` shows it: drive keys only, ``owner`` null."""
        keys = (
            "affinities",
            "allow_multimount",
            "jobs",
            "licenses",
            "media",
            "meta",
            "mounted_on",
            "name",
            "owner",
            "size",
            "status",
            "tags",
            "uuid",
        )
        drive = {key: library.get(key) for key in keys}
        storage_type = library.get("storage_type") or "dssd"
        drive.update(
            grantees=[],
            permissions=[],
            snapshots=[],
            storage_type=storage_type,
            resource_uri=f"{API}drives/{library['uuid']}/",
            runtime={
                "is_snapshotable": True,
                "snapshots_allocated_size": 0,
                "storage_type": storage_type,
            },
        )
        return drive

    def servers_of(self, drive: dict) -> list[dict]:
        owner = self.backend.owner_of("drives", drive["uuid"])
        servers = self.backend.collections["servers"]
        found = []
        for mount in drive.get("mounted_on") or ():
            server_owner = self.backend.owner_of("servers", mount["uuid"]) or owner
            server = servers.store(server_owner).get(mount["uuid"]) if server_owner else None
            if server is not None:
                found.append(server)
        return found

    def running_server(self, drive: dict) -> dict | None:
        """The server that has ``drive`` attached and is not stopped, if any."""
        for server in self.servers_of(drive):
            if server["status"] != "stopped":
                return server
        return None

    # create ---------------------------------------------------------------
    def check_size(
        self, storage_type: str, size: int, point: str = "size", *, minimum: bool = True
    ) -> None:
        """Check a drive size against the capabilities of its storage type.

        :raises ApiError: 400 when ``size`` is outside the capabilities (or above the
            maximum only, for uploads, which may be smaller than a created drive).
        """
        limits = self.backend.capabilities["drives"].get(storage_type)
        limits = limits or self.backend.capabilities["drives"]["dssd"]
        low, high = int(limits["size"]["min"]), int(limits["size"]["max"])
        if not (low if minimum else 1) <= size <= high:
            raise validation(
                f"size {size} is outside the limits for {storage_type} drives ({low} to {high})",
                point,
            )

    def prepare(self, account: Account, values: dict, *, exact: bool = False) -> dict:
        name = fields.text(values, "name")
        size = fields.integer(values, "size", minimum=1)
        media = fields.choice(values, "media", MEDIA)
        default_type = self.backend.capabilities["default_storage_type"]
        storage_type = fields.choice(values, "storage_type", STORAGE_TYPES, default_type)
        self.check_size(storage_type, size, minimum=not exact)
        if not exact:
            size = round_size(size)
        uuid = new_uuid()
        return {
            "affinities": fields.sequence(values, "affinities", []),
            "allow_multimount": fields.boolean(values, "allow_multimount", False),
            "backup_scheduler": None,
            "grantees": [],
            "iops": fields.integer(values, "iops", None, minimum=1),
            "jobs": [],
            "licenses": self.check_licenses(values),
            "media": media,
            "meta": fields.meta(values, default_meta(storage_type)),
            "mounted_on": [],
            "name": name,
            "owner": account.owner,
            "permissions": [],
            "remote_snapshots": [],
            "resource_uri": self.uri(uuid),
            "runtime": self.runtime(storage_type),
            "size": size,
            "snapshots": [],
            "status": "creating",
            "storage_type": storage_type,
            "tags": self.backend.tag_refs(account, values.get("tags")),
            "uuid": uuid,
        }

    @staticmethod
    def runtime(storage_type: str) -> dict:
        ephemeral = storage_type == "local_nvme"
        return {
            "is_downloadable": not ephemeral,
            "is_ephemeral": ephemeral,
            "is_snapshotable": not ephemeral,
            "snapshots_allocated_size": 0,
            "storage_type": storage_type,
        }

    def check_licenses(self, values: dict) -> list[dict]:
        licenses = []
        known = {lic["name"]: lic for lic in self.backend.seed["licenses"]}
        for entry in fields.sequence(values, "licenses", []):
            if not isinstance(entry, dict) or "license" not in entry:
                raise validation("each license needs a 'license'", "licenses")
            name = entry["license"]
            name = name.get("name") if isinstance(name, dict) else name
            if name not in known:
                raise validation(f"unknown license {name!r}", "licenses")
            amount = fields.integer(entry, "amount", 1, minimum=1)
            licenses.append({"amount": amount, "license": known[name], "user": entry.get("user")})
        return licenses

    def commit(self, account: Account, values: dict) -> dict:
        drive = super().commit(account, values)
        if drive["status"] == "creating":
            self.backend.settle(account, "drives", drive, lambda: steady_status(drive))
        return drive

    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        """Create the drives and place them on storage pools away from ``?avoid=``."""
        created = super().create_many(account, items, params)
        for drive in created:
            self.place(account, drive["uuid"], (params or {}).get("avoid"))
        return created

    # placement --------------------------------------------------------------
    def place(self, account: Account, uuid: str, avoid: str | None) -> None:
        """Put drive ``uuid`` in a storage pool away from the drives (or the drives of the
        servers) that ``avoid`` names."""
        if not avoid:
            return
        avoided: set[str] = set()
        servers = self.backend.collections["servers"].store(account)
        for name in avoided_uuids(avoid):
            if name in servers:
                avoided.update(a["drive"]["uuid"] for a in servers[name]["drives"])
            elif name in self.store(account):
                avoided.add(name)
        placement.place(account.placement, uuid, {account.placement.get(u, 0) for u in avoided})

    def availability_groups(self, account: Account) -> list[list[str]]:
        """``/drives/availability_groups/``: the account's drives grouped by storage pool."""
        return placement.groups(account.placement, self.store(account))

    def availability_group(self, account: Account, uuid: str) -> list[str]:
        """The drives in the storage pool of drive ``uuid`` (itself included)."""
        drive = self.find(account, uuid)
        return placement.group_of(account.placement, drive["uuid"], self.store(account))

    # update ---------------------------------------------------------------
    def check_update(self, account: Account, drive: dict, values: dict) -> dict:
        self.check_not_busy(drive)
        running = self.running_server(drive)
        changes: dict[str, Any] = {}
        if "name" in values:
            changes["name"] = fields.text(values, "name")
        if "meta" in values:
            changes["meta"] = fields.meta(values)
        if "tags" in values:
            changes["tags"] = self.backend.tag_refs(account, values["tags"])
        if "allow_multimount" in values:
            changes["allow_multimount"] = fields.boolean(values, "allow_multimount")
            if not changes["allow_multimount"]:
                self.check_single_user(drive)
        if running is not None:
            return changes
        if "media" in values:
            changes["media"] = fields.choice(values, "media", MEDIA)
        if "affinities" in values:
            changes["affinities"] = fields.sequence(values, "affinities")
        if "iops" in values:
            changes["iops"] = fields.integer(values, "iops", None, minimum=1)
        if "licenses" in values:
            changes["licenses"] = self.check_licenses(values)
        if "size" in values:
            size = fields.integer(values, "size", minimum=1)
            if round_size(size) != drive["size"]:
                self.check_resizable(drive)
                self.check_size(drive["storage_type"], size)
                changes["size"] = round_size(size)
        return changes

    def check_single_user(self, drive: dict) -> None:
        """:raises ApiError: 403 when more than one server that is not stopped has ``drive``."""
        live = [s["uuid"] for s in self.servers_of(drive) if s["status"] != "stopped"]
        if len(live) > 1 and drive["media"] == "disk":
            raise permission(
                f"drive {drive['uuid']} is in use by servers {', '.join(live)}; stop all but one "
                "before setting allow_multimount to false",
                "allow_multimount",
            )

    @staticmethod
    def check_not_busy(drive: dict) -> None:
        """:raises ApiError: 503 while a resize or clone of ``drive`` is running."""
        if drive["status"] in BUSY:
            raise concurrency(
                f"drive {drive['uuid']} is {drive['status']}; retry when it is mounted or unmounted"
            )

    def check_resizable(self, drive: dict) -> None:
        self.check_not_busy(drive)
        if drive["status"] not in STEADY:
            raise permission(
                f"drive {drive['uuid']} is {drive['status']}; it can be resized only when "
                "mounted or unmounted"
            )

    def apply_update(self, account: Account, drive: dict, changes: dict) -> None:
        size = changes.pop("size", None)
        super().apply_update(account, drive, changes)
        if size is not None:
            self.start_resize(account, drive, size)

    def start_resize(self, account: Account, drive: dict, size: int) -> None:
        previous = drive["status"]
        self.backend.set_status(account, "drives", drive, "resizing")

        def grow() -> None:
            drive["size"] = size
            if drive["uuid"] in self.backend.images:
                self.backend.images[drive["uuid"]].resize(size)

        self.backend.settle(
            account,
            "drives",
            drive,
            lambda: steady_status(drive) if previous in STEADY else previous,
            apply=grow,
        )

    def resize(self, account: Account, uuid: str, body: dict) -> dict:
        drive = self.find(account, uuid, "EDIT")
        server = self.running_server(drive)
        if server is not None:
            raise permission(
                f"drive {uuid} is mounted on running server {server['uuid']}; stop the server "
                "before resizing the drive"
            )
        size = fields.integer(body, "size", minimum=1)
        self.check_size(drive["storage_type"], size)
        self.check_resizable(drive)
        holder = self.holder(account, drive)
        changes = self.check_update(account, drive, self.editable(account, holder, body))
        changes["size"] = round_size(size)
        self.apply_update(holder, drive, changes)
        self.backend.audit(account, self, drive, "update", body)
        return {"objects": [drive]}

    # delete ---------------------------------------------------------------
    def check_delete(self, account: Account, drive: dict) -> None:
        self.check_not_busy(drive)
        server = self.running_server(drive)
        if server is not None:
            raise permission(
                f"drive {drive['uuid']} is mounted on running server {server['uuid']}; stop the "
                "server first"
            )

    def remove(self, account: Account, drive: dict) -> None:
        account.placement.pop(drive["uuid"], None)
        for server in self.servers_of(drive):
            server["drives"] = [a for a in server["drives"] if a["drive"]["uuid"] != drive["uuid"]]
            self.backend.emit(account, "servers", server)
        snapshots = self.backend.collections["snapshots"]
        for snap in list(snapshots.store(account).values()):
            if snap["drive"]["uuid"] == drive["uuid"]:
                snapshots.remove(account, snap)
        self.backend.collections["driveusers"].store(account).pop(drive["uuid"], None)
        self.backend.drop_image(drive["uuid"])
        self.backend.forget_upload(drive["uuid"])
        super().remove(account, drive)

    # clone ----------------------------------------------------------------
    @query("avoid")
    def clone(self, account: Account, uuid: str, body: dict, *, avoid: str | None = None) -> dict:
        source = self.find(account, uuid, "CLONE")
        drive = self.clone_drive(account, source, body)
        self.place(account, drive["uuid"], avoid)
        return {"objects": [drive]}

    def check_cloneable(self, source: dict) -> None:
        if source["storage_type"] == "local_nvme":
            raise permission(f"drive {source['uuid']} is ephemeral and cannot be cloned")
        if source["status"] not in STEADY + ("cloning_src",):
            raise permission(
                f"drive {source['uuid']} is {source['status']}; wait until it is mounted or "
                "unmounted before cloning it"
            )

    def clone_drive(
        self, account: Account, source: dict, body: dict, job_children: list | None = None
    ) -> dict:
        """Create a ``cloning_dst`` copy of ``source`` with its own ``drive_clone`` job."""
        self.check_cloneable(source)
        name = fields.text(body, "name", None)
        size = fields.integer(body, "size", source["size"], minimum=1)
        if size < source["size"]:
            raise validation(
                f"a clone cannot be smaller than its source ({source['size']})", "size"
            )
        if size > source["size"]:  # a grown clone is rounded like a resize
            size = round_size(size)
        values = {
            "name": name if name else clone_name(account.profile["clone_naming"], source["name"]),
            "size": size,
            "media": fields.choice(body, "media", MEDIA, source["media"]),
            "storage_type": fields.choice(
                body,
                "storage_type",
                STORAGE_TYPES,
                source.get("storage_type") or self.backend.capabilities["default_storage_type"],
            ),
            "affinities": fields.sequence(body, "affinities", list(source["affinities"])),
            "meta": dict(source["meta"]),
            "licenses": [dict(lic, license=lic["license"]["name"]) for lic in source["licenses"]],
            "allow_multimount": source["allow_multimount"],
        }
        if size > source["size"]:
            self.check_size(values["storage_type"], size)
        if source.get("owner") is None:
            values["meta"].update(library_meta(source))
        drive = self.prepare(account, values, exact=True)
        drive["status"] = "cloning_dst"
        drive["runtime"]["is_snapshotable"] = None
        return self.start_clone(account, source, drive, job_children)

    def start_clone(
        self, account: Account, source: dict, drive: dict, job_children: list | None
    ) -> dict:
        job = self.sibling("jobs", Jobs).start(
            account, "drive_clone", [source["resource_uri"], drive["resource_uri"]]
        )
        if job_children is not None:
            job_children.append(job)
        drive["jobs"] = [ref("jobs", job["uuid"])]
        super().commit(account, drive)
        image = self.backend.images.get(source["uuid"])
        if image is not None:
            copied = image.copy()
            copied.resize(drive["size"])
            self.backend.images[drive["uuid"]] = copied
        owner = self.begin_cloning_source(source)

        def done() -> None:
            drive["runtime"]["is_snapshotable"] = True
            if owner is not None:
                self.end_cloning_source(owner, source, job["uuid"])

        self.backend.settle(
            account, "drives", drive, lambda: steady_status(drive), apply=done, factor=1.5
        )
        self.backend.audit(account, self, drive, "clone_dst", "")
        return drive

    def begin_cloning_source(self, source: dict) -> Account | None:
        """Show ``cloning_src`` on a drive being copied and audit ``clone_src`` in its owner's
        log; returns the owner (``None`` for library drives and snapshots, which keep their
        state)."""
        owner = self.backend.owner_of(self.name, source.get("uuid", ""))
        if owner is None or self.store(owner).get(source["uuid"]) is not source:
            return None
        if source["status"] in STEADY:
            self.backend.set_status(owner, self.name, source, "cloning_src")
        self.backend.audit(owner, self, source, "clone_src", "")
        return owner

    def end_cloning_source(self, owner: Account, source: dict, job_uuid: str) -> None:
        """Back to ``mounted``/``unmounted`` once no other copy of ``source`` is running."""
        if self.store(owner).get(source["uuid"]) is not source:
            return
        if source["status"] != "cloning_src" or self.clones_running(source, job_uuid):
            return
        self.backend.set_status(owner, self.name, source, steady_status(source))

    def clones_running(self, source: dict, finished_job: str) -> bool:
        """Whether a drive clone of ``source`` other than ``finished_job`` is still running."""
        return any(
            job["state"] == "started"
            and job["operation"] == "drive_clone"
            and job["uuid"] != finished_job
            and job["resources"][:1] == [source["resource_uri"]]
            for account in self.backend.accounts.values()
            for job in account.objects["jobs"].values()
        )

    # misc actions -----------------------------------------------------------
    def set_scheduler(self, account: Account, uuid: str, body: dict) -> dict:
        drive = self.find(account, uuid, "EDIT")
        policy = fields.text(body, "backup_policy_uuid", None)
        schedulers = self.backend.collections["backupschedulers"]
        if policy is not None and policy not in schedulers.store(account):
            raise validation(f"backup scheduler {policy} does not exist", "backup_policy_uuid")
        drive["backup_scheduler"] = None if policy is None else ref("backupschedulers", policy)
        self.backend.emit(account, "drives", drive)
        return drive

    def upload_chunk(self, account: Account, uuid: str, body: dict) -> dict:
        drive = self.find(account, uuid, "EDIT")
        return self.backend.upload_link(self.holder(account, drive), drive, body)


def library_meta(source: dict) -> dict:
    """Descriptive keys of a library drive, copied into the meta of its clones (as strings)."""
    meta = {}
    for key in LIBRARY_META_KEYS:
        value = source.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        meta[key] = value if isinstance(value, str) else str(value).lower()
    return meta


class LibDrives(Collection):
    """``/libdrives/``: the seeded public catalogue (GET and clone only)."""

    name = "libdrives"
    operations = {"list": 200, "get": 200}
    actions = {"clone": "clone"}

    def store(self, account: Account) -> dict[str, dict]:
        return self.backend.library

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        drive = self.backend.library.get(uuid)
        if drive is None:
            raise notexist("libdrives", uuid)
        return drive

    def clone(self, account: Account, uuid: str, body: dict) -> dict:
        drive = self.sibling("drives", Drives).clone_drive(account, self.find(account, uuid), body)
        return {"objects": [drive]}


class InitUpload(Collection):
    """``/initupload/``: a drive of the exact size in status ``uploading``."""

    name = "initupload"
    operations = {"create": 201}

    def store(self, account: Account) -> dict[str, dict]:
        return self.sibling("drives", Drives).store(account)

    def prepare(self, account: Account, values: dict) -> dict:
        drive = self.sibling("drives", Drives).prepare(account, values, exact=True)
        if drive["runtime"]["is_ephemeral"]:
            raise permission(
                f"{drive['storage_type']} drives are ephemeral and cannot be uploaded; "
                "upload to another storage type"
            )
        drive["status"] = "uploading"
        return drive

    def commit(self, account: Account, values: dict) -> dict:
        drive = self.sibling("drives", Drives).commit(account, values)
        self.backend.start_upload(drive)
        self.backend.audit(account, self.sibling("drives", Drives), drive, "init_upload", "")
        return drive


class DriveUsers(SimpleCollection):
    """``/driveusers/``: RDS user counts per drive, keyed by the drive uuid."""

    name = "driveusers"
    defaults = {"amount": 1}

    def prepare(self, account: Account, values: dict) -> dict:
        drive_uuid = fields.ref_uuid(values.get("drive"), "drive") if "drive" in values else None
        if drive_uuid is None:
            raise fields.required("drive")
        drive = self.sibling("drives", Drives).find(account, drive_uuid, "EDIT")
        if drive_uuid in self.store(account):
            raise validation(f"drive {drive_uuid} already has a user count", "drive")
        return {
            "uuid": drive["uuid"],
            "amount": fields.integer(values, "amount", 1, minimum=1),
            "drive": ref("drives", drive["uuid"]),
        }

    def commit(self, account: Account, values: dict) -> dict:
        self.store(account)[values["uuid"]] = values
        return self.public(values)

    @staticmethod
    def public(entry: dict) -> dict:
        return {"amount": entry["amount"], "drive": entry["drive"]}

    def visible(self, account: Account) -> list[dict]:
        return [self.public(entry) for entry in self.store(account).values()]

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        entry = self.store(account).get(uuid)
        if entry is None:
            raise notexist("driveusers", uuid)
        return entry

    def get(self, account: Account, uuid: str) -> dict:
        return self.public(self.find(account, uuid))

    def update(self, account: Account, uuid: str, values: dict) -> dict:
        entry = self.find(account, uuid)
        entry["amount"] = fields.integer(values, "amount", entry["amount"], minimum=1)
        return {"objects": [self.public(entry)]}

    def check_delete(self, account: Account, entry: dict) -> None:
        drive = self.sibling("drives", Drives).store(account).get(entry["uuid"])
        if drive is not None and drive["mounted_on"]:
            raise permission(f"drive {entry['uuid']} is mounted; detach it first")

    def remove(self, account: Account, entry: dict) -> None:
        self.store(account).pop(entry["uuid"], None)

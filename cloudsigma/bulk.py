"""Bulk operations on many drives named by a common prefix (for load tests and cleanups)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from cloudsigma import conf, errors, resource
from cloudsigma.generic import GenericClient
from cloudsigma.policies import WaitPolicy

__all__ = ["BulkBase", "DrivesBulk"]

LOG = logging.getLogger(__name__)

#: How long :meth:`DrivesBulk.clone` waits for the clones, and how often it looks.
CLONE_WAIT = WaitPolicy(timeout=3600.0, interval=10.0, max_interval=10.0, factor=1.0)


class BulkBase:
    """Shared parts of bulk operations: the clients and the naming of created objects.

    :param id_prefix: every object created gets a name ``<id_prefix>-00001``, ``-00002``, ...
    :param client: the client to use; by default one built from the configuration.
    """

    def __init__(self, id_prefix: str, *, client: GenericClient | None = None) -> None:
        self.id_prefix = id_prefix
        self.id_counter = 0
        self.c = client or GenericClient()
        self.c_drive = resource.Drive.from_client(self.c)
        self.c_libdrive = resource.LibDrive.from_client(self.c)
        self.c_guest = resource.Server.from_client(self.c)

    def get_name(self) -> str:
        """The next name for a created object."""
        self.id_counter += 1
        return f"{self.id_prefix}-{self.id_counter:05d}"

    def filter_by_name_uuid(self, resp: list[dict[str, Any]], name_or_uuid: str) -> list[Any]:
        """The objects whose uuid is ``name_or_uuid`` or whose name contains it."""
        return [
            obj
            for obj in resp
            if obj.get("uuid") == name_or_uuid or name_or_uuid in (obj.get("name") or "")
        ]


class DrivesBulk(BulkBase):
    """Create, clone, list and wipe drives named after a prefix.

    ``media``, ``size`` and ``description`` default to config ``CREATE_DRIVE_MEDIA``
    (``disk``), ``CREATE_DRIVE_SIZE`` (10 GiB) and ``CREATE_DRIVE_DESCRIPTION``.
    """

    def __init__(
        self,
        media: str | None = None,
        size: int | None = None,
        description: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.media = media or conf.config.get("CREATE_DRIVE_MEDIA", "disk")
        self.size = int(size or conf.config.get("CREATE_DRIVE_SIZE", 10 * 1024**3))
        self.description = description or conf.config.get("CREATE_DRIVE_DESCRIPTION", "some descr")

    def generate_definition(self) -> dict[str, Any]:
        """The definition of the next drive to create."""
        return {
            "media": self.media,
            "name": self.get_name(),
            "size": self.size,
            "meta": {"description": self.description},
        }

    def create(self, count: int) -> list[Any]:
        """Create ``count`` drives, one call each; returns them."""
        drives = []
        for _ in range(int(count)):
            drive = self.c_drive.create({"objects": [self.generate_definition()]})
            LOG.info("Created drive %r", drive["name"])
            drives.append(drive)
        return drives

    def delete(self, uuid: str, name: str) -> None:
        """Delete one drive."""
        self.c_drive.delete(uuid)
        LOG.info("Deleted drive %r", name)

    def wipe(self) -> None:
        """Delete every drive whose name starts with the prefix."""
        for drive in self.get_list():
            self.delete(drive["uuid"], drive["name"])

    @staticmethod
    def _clone_definition(source: dict[str, Any], name: str) -> dict[str, Any]:
        return {
            "media": source["media"],
            "name": name,
            "size": source["size"],
            "meta": source.get("meta", {}),
            "affinities": source.get("affinities", []),
        }

    def clone(self, count: int, source_name_or_uuid: str) -> list[Any]:
        """Clone a drive (or library drive) ``count`` times and wait until the clones are done.

        :param source_name_or_uuid: the source's uuid or part of its name.
        :raises WaitTimeoutError: when a clone is still ``cloning_dst`` after an hour.
        """
        source = self.lookup(source_name_or_uuid)
        drives = []
        for _ in range(int(count)):
            drive = self.c_drive.clone(
                source["uuid"], self._clone_definition(source, self.get_name())
            )
            LOG.info("Cloned drive %r from %r", drive["name"], source["name"])
            drives.append(drive)
        self._wait_cloned([drive["uuid"] for drive in drives], source["uuid"])
        return drives

    def _wait_cloned(self, uuids: Collection[str], source_uuid: str) -> None:
        report = ""
        for _ in CLONE_WAIT.polls(resource._sleep, resource._monotonic):
            statuses = {d["uuid"]: d["status"] for d in self.get_detail() if d["uuid"] in uuids}
            report = "\n".join(f"{uuid}: {statuses.get(uuid)}" for uuid in uuids)
            if "cloning_dst" not in statuses.values():
                LOG.info("Finished cloning %s to drives:\n%s", source_uuid, report)
                return
            LOG.info("Waiting for the clones of %s to finish:\n%s", source_uuid, report)
        raise errors.WaitTimeoutError(
            f"clones of drive {source_uuid} still cloning after {CLONE_WAIT.timeout:g} s:\n{report}"
        )

    def clone_all(self, count: int = 1) -> list[Any]:
        """Clone every available drive with the prefix ``count`` times (as ``clone_<name>_<i>``)."""
        drives = []
        for source in self.get_detail():
            if source["status"] == "unavailable":
                continue
            for i in range(int(count)):
                definition = self._clone_definition(source, f"clone_{source['name']}_{i}")
                drive = self.c_drive.clone(source["uuid"], definition)
                LOG.info("Cloned drive %r from %r", drive["name"], source["name"])
                drives.append(drive)
        return drives

    def get_list(self) -> list[Any]:
        """The drives (name and uuid) whose name starts with the prefix."""
        drives = self.c_drive.list(query_params={"fields": "name,uuid"})
        return [d for d in drives if (d.get("name") or "").startswith(self.id_prefix)]

    def get_detail(self) -> list[Any]:
        """The full drives whose name starts with the prefix."""
        drives = self.c_drive.list_detail()
        return [d for d in drives if (d.get("name") or "").startswith(self.id_prefix)]

    def lookup(self, name_or_uuid: str) -> Any:
        """The first drive, else library drive, with uuid ``name_or_uuid`` or a name containing it.

        :raises LookupError: when nothing matches.
        """
        candidates = self.filter_by_name_uuid(self.c_drive.list_detail(), name_or_uuid)
        if not candidates:
            candidates = self.filter_by_name_uuid(self.c_libdrive.list_detail(), name_or_uuid)
        if not candidates:
            raise LookupError(
                f"{type(self).__name__}: no drive or library drive has uuid {name_or_uuid!r} "
                "or a name containing it"
            )
        return candidates[0]

    def get_by_uuids(self, uuids: Collection[str]) -> list[Any]:
        """The drives (name, uuid, status) among ``uuids``."""
        drives = self.c_drive.list_detail(query_params={"fields": "name,uuid,status"})
        return [d for d in drives if d["uuid"] in uuids]

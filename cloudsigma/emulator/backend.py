"""The aggregate of the emulated API: accounts, sharing, tagging, events, audit, drive images,
uploads and status transitions around the collections of :mod:`.registry` (no HTTP).

The HTTP layer (:mod:`cloudsigma.emulator.http`) parses a request, calls a collection of
:class:`Backend` and serialises what it returns.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable, Iterable
from typing import Any, cast

from .models import fields
from .models.clock import Clock
from .models.drives import Drives, Jobs
from .models.errors import ApiError, permission, validation
from .models.hosts import VmwareServers
from .models.kernel import API, Account, Collection, load_data, now, ref
from .models.metering import Metering, meter_of
from .models.network import Ips, Vlans
from .models.servers import Servers
from .models.snapshots import Snapshots
from .models.statemachine import STATUS_KEY, TimingProfile, Transitions, timing_profile
from .models.storage import DriveImage
from .models.tunnels import Tunnels
from .models.uploads import UploadProgress
from .registry import build_collections

#: Resource types that produce websocket frames (guide section 7).
EVENT_TYPES = frozenset(
    {
        "drives",
        "servers",
        "snapshots",
        "subscriptions",
        "ips",
        "vlans",
        "balance",
        "profile",
        "jobs",
    }
)

#: The default account of an emulator (here, below the HTTP layer, so that the command line
#: can show them without importing aiohttp).
DEFAULT_USERNAME = "test@example.com"
DEFAULT_PASSWORD = "emulator-test-password"


def same_secret(given: str, expected: str) -> bool:
    """Compare a secret in constant time; any text may be given (``compare_digest`` refuses
    non-ASCII ``str``)."""
    return secrets.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


class Backend:
    """All accounts, their objects, the library, drive images and the state machines.

    :param transition_delay: seconds a status change takes (see :class:`Transitions`).
    :param timing: a timing profile (or its name, e.g. ``"realistic"``) giving each kind of
        change its own duration.
    """

    def __init__(
        self, transition_delay: float | None = 0.1, timing: str | TimingProfile | None = None
    ) -> None:
        self.transitions = Transitions(transition_delay, timing_profile(timing))
        self.schemas: dict = load_data("schemas.json")
        self.seed: dict = load_data("seed.json")
        self.base_url = "http://127.0.0.1"
        self.direct_url = self.base_url
        self.host = "127.0.0.1"
        self.listeners: list[Callable[[Account, dict], None]] = []
        #: The open VNC tunnels (their listener is attached by the HTTP side).
        self.tunnels = Tunnels()
        self.images: dict[str, DriveImage] = {}
        self.collections: dict[str, Collection] = build_collections(self)
        self.metering = Metering(self)
        self._init_state()

    def _init_state(self) -> None:
        #: The emulated wall clock of billing (``reset()`` makes a new one).
        self.clock = Clock()
        self.capabilities: dict = copy.deepcopy(self.seed["capabilities"])
        self.library: dict[str, dict] = {d["uuid"]: d for d in load_data("libdrives.json")}
        self.uploads: dict[str, UploadProgress] = {}
        #: Meta and tags of the drive a snapshot was taken of, by snapshot uuid.
        self.origins: dict[str, dict] = {}
        self.link_index: dict[str, tuple[Account, str]] = {}
        self.accounts: dict[str, Account] = {}
        self.by_email: dict[str, Account] = {}
        self.owners: dict[tuple[str, str], Account] = {}
        self.has_acls = False
        #: Statuses of router answers: ``dumps`` (202, as recorded) or ``rst`` (201/200/204).
        self.vrouter_style = "dumps"
        #: Whether guests power off on an ACPI shutdown (per server, see
        #: ``account.guests_answer_acpi``).
        self.guests_answer_acpi = True
        #: The cpu type of a server created without one (the schema says amd; the cloud where
        #: pycloudsigma's tests ran counted such servers as intel).
        self.default_cpu_type = "amd"
        #: Switches of the VPC and zone API calls (404 when off), shown by /cloud_status/.
        self.features: dict[str, bool] = {"vpc": True, "host_availability_zones": True}
        self._dynamic = 0
        self._counter = 1000

    def reset(self) -> None:
        """Forget all accounts, objects, images and pending status changes."""
        self.close()
        self._init_state()

    # the collections other collections call ---------------------------------
    @property
    def drives(self) -> Drives:
        return cast(Drives, self.collections["drives"])

    @property
    def servers(self) -> Servers:
        return cast(Servers, self.collections["servers"])

    @property
    def snapshots(self) -> Snapshots:
        return cast(Snapshots, self.collections["snapshots"])

    @property
    def jobs(self) -> Jobs:
        return cast(Jobs, self.collections["jobs"])

    @property
    def vmware_servers(self) -> VmwareServers:
        return cast(VmwareServers, self.collections["vmware_servers"])

    @property
    def ips(self) -> Ips:
        return cast(Ips, self.collections["ips"])

    @property
    def vlans(self) -> Vlans:
        return cast(Vlans, self.collections["vlans"])

    # accounts -----------------------------------------------------------
    def create_account(self, email: str, password: str | None = None) -> Account:
        """Add an account (with seeded subscriptions, IPs and VLANs).

        :raises ApiError: 400 when the email is taken or empty.
        """
        if not isinstance(email, str) or "@" not in email:
            raise validation("email must be an e-mail address", "email")
        if email.lower() in self.by_email:
            raise validation(f"an account with email {email} already exists", "email")
        account = Account(email, password or secrets.token_urlsafe(12), self.seed["profile"])
        self.accounts[account.uuid] = account
        self.by_email[email.lower()] = account
        self.metering.settle(account)  # billing starts now
        for collection in self.collections.values():  # in registry order
            collection.seed_account(account)
        return account

    def authenticate(self, email: str, password: str) -> Account | None:
        account = self.by_email.get(email.lower())
        if account is None or not same_secret(password, account.password):
            return None
        return account

    def next_id(self) -> int:
        self._counter += 1
        return self._counter

    # ownership ------------------------------------------------------------
    def register(self, resource: str, uuid: str, account: Account) -> None:
        self.owners[(resource, uuid)] = account

    def unregister(self, resource: str, uuid: str) -> None:
        self.owners.pop((resource, uuid), None)

    def owner_of(self, resource: str, uuid: str) -> Account | None:
        return self.owners.get((resource, uuid))

    # events and audit -------------------------------------------------------
    def emit(
        self, account: Account, resource: str, obj: dict | None, deleted: bool = False
    ) -> None:
        """Tell websocket listeners about a change of an object of ``account``."""
        if resource not in EVENT_TYPES or not self.listeners:
            return
        if obj is not None and "resource_uri" in obj:
            uri = obj["resource_uri"]
        else:
            uri = f"{API}{resource}/"
        frame = {"resource_type": resource, "resource_uri": uri}
        if not deleted and obj is not None:
            frame["object"] = obj
        for listener in list(self.listeners):
            listener(account, frame)

    def audit(
        self,
        account: Account,
        collection: Collection,
        obj: dict,
        action: str,
        details: Any,
        error: ApiError | None = None,
    ) -> None:
        """Record an entry of the audit log (``/logs/``)."""
        if not collection.audit_category:
            return
        account.logs.append(
            {
                "uuid": obj.get("uuid"),
                "category": collection.audit_category,
                "action": action,
                "actor": account.owner,
                "details": details
                if isinstance(details, str)
                else json.dumps(details, sort_keys=True),
                "success": error is None,
                "error_type": None if error is None else error.errors[0]["error_type"],
                "error_point": None if error is None else error.errors[0]["error_point"],
                "error_message": "" if error is None else error.message,
                "timestamp": str(now()),
            }
        )

    # status changes --------------------------------------------------------
    def set_status(self, account: Account, resource: str, obj: dict, status: str) -> None:
        """Move ``obj`` to ``status`` now (checked against the state machine) and announce it."""
        self.meter(account)  # what the account used so far, before its use changes
        self.transitions.move(resource, obj, status, lambda: self.emit(account, resource, obj))

    def settle(
        self,
        account: Account,
        resource: str,
        obj: dict,
        target: str | Callable[[], str],
        apply: Callable[[], None] | None = None,
        factor: float = 1.0,
    ) -> int:
        """After the transition delay, run ``apply`` and move ``obj`` to ``target``.

        The change replaces one still pending for the same object (the latest action wins),
        happens in the account that holds the object (whoever asked for it), and does nothing
        if the object was deleted in between.

        :returns: the token of the scheduled change (for ``transitions.cancel``).
        """

        def fire() -> None:
            holder = self.owner_of(resource, obj["uuid"]) or account
            if self.collections[resource].store(holder).get(obj["uuid"]) is not obj:
                return
            self.meter(account)
            if apply is not None:
                apply()
            self.set_status(holder, resource, obj, target() if callable(target) else target)

        phase = f"{resource}.{obj.get(STATUS_KEY.get(resource, 'status'))}"
        phases = (f"{phase}>{target}", phase) if isinstance(target, str) else (phase,)
        size = self.size_of(self.owner_of(resource, obj["uuid"]) or account, obj)
        return self.transitions.later(
            fire, factor, phases=phases, size=size, key=(resource, obj["uuid"])
        )

    def size_of(self, account: Account, obj: dict) -> int | None:
        """The bytes a status change of ``obj`` has to move, for durations that grow with
        size: a drive's size, the size of a snapshot's drive, the largest drive a job copies."""
        if isinstance(obj.get("size"), int):
            return obj["size"]
        if isinstance(obj.get("drive_meta"), dict):
            return obj["drive_meta"].get("size")
        uris = list(obj.get("resources") or ())
        if isinstance(obj.get("drive"), dict):
            uris.append(obj["drive"].get("resource_uri"))
        for child in obj.get("children") or ():
            uris += list(child.get("resources") or ())
        sizes = [self.drive_size(account, uri) for uri in uris if isinstance(uri, str)]
        return max((size for size in sizes if size is not None), default=None)

    def drive_size(self, account: Account, resource_uri: str) -> int | None:
        """The size of the drive (or library drive) at ``resource_uri``, if it is one."""
        parts = resource_uri.rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] not in ("drives", "libdrives"):
            return None
        drive = self.drives.store(account).get(parts[-1]) or self.library.get(parts[-1])
        return drive.get("size") if drive is not None else None

    # billing -------------------------------------------------------------
    def meter(self, account: Account, changes: bool = True) -> None:
        """Record what ``account`` used up to now and bill the cycles that have ended.

        :param changes: False when what follows cannot change the account's use.
        """
        self.metering.settle(account, self.clock.now(), changes)

    def usage_may_have_changed(self) -> None:
        """Have every account's use computed again at its next settle (after a change made
        outside the requests, such as a function run through ``Emulator.call``)."""
        for account in self.accounts.values():
            meter_of(account).samples_current = False

    def pass_time(self, seconds: float) -> int:
        """Move the emulated clock forward: status changes due meanwhile happen, and every
        account is billed up to the new time; returns how many status changes happened."""
        applied = self.transitions.advance(seconds)
        self.clock.advance(seconds)
        for account in list(self.accounts.values()):
            self.meter(account, changes=False)  # the clock moving changes no one's use
        return applied

    # tags ----------------------------------------------------------------
    def tag_refs(self, account: Account, values: Any) -> list[dict]:
        """Check a ``tags`` list (uuids or refs of the account's tags) and return refs."""
        if values is None:
            return []
        if not isinstance(values, list):
            raise validation("tags must be a list of tag uuids", "tags")
        refs = []
        for value in values:
            uuid = fields.ref_uuid(value, "tags")
            if uuid not in account.objects["tags"]:
                raise validation(f"tag {uuid} does not exist", "tags")
            refs.append(ref("tags", uuid))
        return refs

    def retag(self, account: Account, resource: str, obj: dict, tags: list[dict]) -> None:
        """Set the tags of ``obj`` and keep each tag's ``resources`` in step."""
        old = {t["uuid"] for t in obj.get("tags", ())}
        new = {t["uuid"] for t in tags}
        obj["tags"] = tags
        for tag_uuid in old - new:
            tag = account.objects["tags"].get(tag_uuid)
            if tag is not None:
                tag["resources"] = [r for r in tag["resources"] if r["uuid"] != obj["uuid"]]
        for tag_uuid in new - old:
            tag = account.objects["tags"][tag_uuid]
            tag["resources"].append(self.tagged_ref(account, resource, obj["uuid"]))
        self.has_acls = self.has_acls or bool(account.objects["acls"])

    @staticmethod
    def tagged_ref(account: Account, resource: str, uuid: str) -> dict:
        return dict(ref(resource, uuid), owner=account.owner, res_type=resource)

    def untag_everywhere(self, account: Account, uuid: str) -> None:
        for tag in account.objects["tags"].values():
            tag["resources"] = [r for r in tag["resources"] if r["uuid"] != uuid]

    # ACLs ----------------------------------------------------------------
    def acl_permissions(self, viewer: Account, owner: Account, obj: dict) -> set[str]:
        """Permissions that ACLs of ``owner`` grant ``viewer`` on ``obj``."""
        tags = {t["uuid"] for t in obj.get("tags") or ()}
        granted: set[str] = set()
        if not tags:
            return granted
        for acl in owner.objects["acls"].values():
            if any(g["uuid"] == viewer.uuid for g in acl["grantees"]) and tags & {
                t["uuid"] for t in acl["tags"]
            }:
                granted.update(rule["permission"] for rule in acl["rules"])
        return granted

    def grantees(self, owner: Account, obj: dict, permissions: Iterable[str]) -> list[dict]:
        """The ``grantees`` list the owner of ``obj`` sees (only ``permissions`` count)."""
        result = []
        for user_uuid, user in self.accounts.items():
            if user is owner:
                continue
            granted = self.acl_permissions(user, owner, obj) & set(permissions)
            if granted:
                user_ref = dict(ref("user", user_uuid), email=user.email)
                result.append({"permissions": sorted(granted), "user": user_ref})
        return result

    # drive images ----------------------------------------------------------
    def image(self, drive_uuid: str, size: int) -> DriveImage:
        """The stored bytes of a drive, created empty (all zeros) on first use."""
        image = self.images.get(drive_uuid)
        if image is None:
            image = self.images[drive_uuid] = DriveImage(size)
        return image

    def drop_image(self, drive_uuid: str) -> None:
        image = self.images.pop(drive_uuid, None)
        if image is not None:
            image.close()

    def close(self) -> None:
        """Release every temporary file, pending change and VNC tunnel."""
        self.transitions.clear()
        self.tunnels.close_all()
        for uuid in list(self.images):
            self.drop_image(uuid)

    def iter_accounts(self) -> Iterable[Account]:
        return list(self.accounts.values())

    def dynamic_ip(self) -> str:
        """A fresh address for a DHCP NIC of a starting server."""
        self._dynamic += 1
        return f"185.12.{(self._dynamic // 254) % 256}.{self._dynamic % 254 + 1}"

    def set_base_url(self, base_url: str, host: str, direct_url: str | None = None) -> None:
        """Where the emulator listens (used in locations, VNC URLs and upload links).

        :param direct_url: the direct host (raw upload, downloads, websocket); the API
            host when not given.
        """
        self.base_url = base_url.rstrip("/")
        self.direct_url = (direct_url or base_url).rstrip("/")
        self.host = host

    # uploads ---------------------------------------------------------------
    def start_upload(self, drive: dict) -> UploadProgress:
        upload = self.uploads[drive["uuid"]] = UploadProgress(drive["size"])
        return upload

    def upload_of(self, account: Account, drive_uuid: str) -> tuple[dict, UploadProgress]:
        """The drive being uploaded and its progress.

        :raises ApiError: 404 for an unknown drive, 403 when it is not being uploaded.
        """
        drive = self.drives.find(account, drive_uuid, "EDIT")
        upload = self.uploads.get(drive_uuid)
        if upload is None or drive["status"] != "uploading":
            raise permission(
                f"drive {drive_uuid} is {drive['status']}, not uploading; start with initupload"
            )
        return drive, upload

    def store_chunk(
        self, account: Account, drive: dict, upload: UploadProgress, offset: int, data: bytes
    ) -> None:
        """Write bytes of an upload; the drive is complete once all bytes are there."""
        self.image(drive["uuid"], drive["size"]).write(offset, data)
        self.received(account, drive, upload, offset, offset + len(data))

    def received(
        self, account: Account, drive: dict, upload: UploadProgress, start: int, end: int
    ) -> None:
        """Record that ``[start, end)`` of an upload is stored; complete the drive when whole
        (``mounted`` if a server has it attached meanwhile, else ``unmounted``)."""
        upload.add(start, end)
        if upload.complete and drive["status"] == "uploading":
            self.forget_upload(drive["uuid"])
            holder = self.owner_of("drives", drive["uuid"]) or account
            steady = "mounted" if drive["mounted_on"] else "unmounted"
            self.set_status(holder, "drives", drive, steady)

    def forget_link(self, upload: UploadProgress, token: str) -> None:
        """Use up a one-time chunk link."""
        upload.links.pop(token, None)
        self.link_index.pop(token, None)

    def forget_upload(self, drive_uuid: str) -> None:
        """Drop the progress of an upload and its unused links (the drive is gone or whole)."""
        upload = self.uploads.pop(drive_uuid, None)
        for token in upload.links if upload is not None else ():
            self.link_index.pop(token, None)

    def upload_link(self, account: Account, drive: dict, body: dict) -> dict:
        """``upload_chunk``: a one-time link for chunk ``chunk_number`` (from 0).

        :raises ApiError: 416 when that chunk was already uploaded.
        """
        drive, upload = self.upload_of(account, drive["uuid"])
        number = fields.integer(body, "chunk_number", minimum=0)
        size = fields.integer(body, "chunk_size", minimum=1)
        offset = number * size
        # As with resumable chunks, the last chunk also holds the remainder.
        last = number >= max(1, upload.size // size) - 1
        length = upload.size - offset if last else size
        if offset >= upload.size:
            raise validation(
                f"chunk {number} of {size} bytes starts beyond the drive size {upload.size}",
                "chunk_number",
            )
        if number in upload.chunks or upload.covers(offset, offset + length):
            raise ApiError(
                416, "validation", f"chunk {number} was already uploaded", "chunk_number"
            )
        token = upload.new_link(number, offset, length)
        self.link_index[token] = (account, drive["uuid"])
        return {"link": f"{API}drives/{drive['uuid']}/upload/{token}/"}

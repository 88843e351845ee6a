"""The API's resources (drives, servers, ...) as thin classes over :class:`GenericClient`.

Payloads are plain dicts and lists, as the API sends them. Everything shared
lives in :class:`ResourceBase`; a subclass is its ``resource_name`` plus its
action verbs. :class:`Websocket` (from :mod:`cloudsigma.websocket`) waits for the API's
change events.
"""

from __future__ import annotations

import builtins
import logging
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator

from cloudsigma import _ids, errors
from cloudsigma.errors import WebsocketTimeoutError
from cloudsigma.generic import GenericClient, get_client
from cloudsigma.policies import WaitPolicy, status_set

# typing.TYPE_CHECKING without importing typing: importing resource stays light.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from typing import Any, TypeVar

    from cloudsigma import payloads
    from cloudsigma._transport import Response
    from cloudsigma.websocket.events import Websocket

    _Resource = TypeVar("_Resource", bound="ResourceBase")
    QueryParams = dict[str, Any]
    Payload = dict[str, Any]

__all__ = [
    "Accounts",
    "Acls",
    "AddressForwards",
    "AuditLog",
    "BServer",
    "BackupSchedulers",
    "Balance",
    "BurstUsage",
    "Capabilites",
    "CloudStatus",
    "CurrentUsage",
    "DailyBurstUsage",
    "Discount",
    "Drive",
    "DriveUsers",
    "DrivesAvailabilityGroups",
    "FirewallPolicy",
    "GlobalContext",
    "GroupedSubscriptions",
    "HostAllocationPools",
    "HostAvailabilityZones",
    "IP",
    "InitUpload",
    "IpAliases",
    "Jobs",
    "Keypairs",
    "Lans",
    "Ledger",
    "LibDrive",
    "Licenses",
    "Locations",
    "Nodes",
    "NotificationContact",
    "NotificationPreference",
    "PortForwards",
    "Pricing",
    "Profile",
    "Pubkeys",
    "RemoteSnapshot",
    "ResourceBase",
    "Routes",
    "Server",
    "ServersAvailabilityGroups",
    "Snapshot",
    "SubscriptionCalculator",
    "Subscriptions",
    "Tags",
    "Tunnels",
    "Upstream",
    "Usage",
    "VLAN",
    "VirtualRouters",
    "VmwareServers",
    "Vpc",
    "VrFwFilters",
    "VrFwPolicies",
    "WaitPolicy",
    "Websocket",
    "WebsocketTimeoutError",
    "chunk_span",
]

LOG = logging.getLogger(__name__)


def _sleep(seconds: float) -> None:
    """Sleep between polls (a separate function so tests can replace it)."""
    time.sleep(seconds)


def _monotonic() -> float:
    return time.monotonic()


def _avoid_params(avoid: str | Collection[str] | None) -> QueryParams:
    """``?avoid=uuid1,uuid2`` from one uuid or several."""
    if not avoid:
        return {}
    return {"avoid": avoid if isinstance(avoid, str) else ",".join(avoid)}


def _bulk_body(uuids: Iterable[str | bytes], kind: str) -> Payload:
    """``{"objects": [{"uuid": ...}, ...]}`` for a bulk DELETE, every id checked.

    :raises TypeError: for a lone string (which would otherwise be split into characters).
    :raises ValueError: for no uuid at all.
    :raises InvalidIdError: for an id that does not name one object.
    """
    if isinstance(uuids, (str, bytes)):
        raise TypeError("delete_many takes a list of uuids, not one uuid; use delete(uuid)")
    objects = [{"uuid": _ids.check_id(uuid, kind, "uuids")} for uuid in uuids]
    if not objects:
        raise ValueError("delete_many needs at least one uuid")
    return {"objects": objects}


def _poll_time(value: str | datetime.datetime | datetime.date) -> str:
    """A ``poll_time`` bound as the API takes it: ISO 8601 text."""
    return value if isinstance(value, str) else value.isoformat()


class ResourceBase:
    """A collection of the API, ``/<resource_name>/``; the arguments go to the client.

    ``ResourceBase(*args, **kwargs)`` builds ``get_client()(*args, **kwargs)`` as
    ``self.c``; :meth:`from_client` shares an existing client instead.
    """

    resource_name: str | None = None
    #: The form of this collection's ids (checked before any request): ``"uuid"``,
    #: ``"address"``, ``"number"``, ``"segment"`` (one safe path segment), or None for a
    #: collection without ids of its own, whose :meth:`get` with no id reads it whole.
    id_kind: str | None = _ids.UUID
    #: Actions of the collection itself (``/<resource>/action/?do=...``), sent without an id.
    collection_actions: frozenset[str] = frozenset()
    #: What this collection's action verbs call their id (named in errors).
    action_id_argument = "uuid"
    #: How :meth:`wait_for_status` and :meth:`wait_deleted` poll unless told otherwise.
    wait_policy: WaitPolicy = WaitPolicy()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.c: GenericClient = get_client()(*args, **kwargs)

    @classmethod
    def from_client(cls: type[_Resource], client: GenericClient) -> _Resource:
        """This resource over an existing client (and its pooled connections)."""
        resource = cls.__new__(cls)
        resource.c = client
        return resource

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.c!r})"

    def attach_response_hook(self, func: Callable[..., Any]) -> None:
        """Call ``func(response)`` after every HTTP answer of this resource's client."""
        self.c.response_hook = func

    def detach_response_hook(self) -> None:
        """Stop calling the response hook."""
        self.c.response_hook = None

    def _get_url(self) -> str:
        if not self.resource_name:
            raise TypeError(f"{type(self).__name__} must set resource_name")
        return f"/{self.resource_name}/"

    def _object_url(self, uuid: str | bytes, argument: str = "uuid") -> str:
        """``/<resource_name>/<uuid>/``, once ``uuid`` is known to name one object.

        :raises InvalidIdError: naming ``argument``, before anything is sent.
        """
        return f"{self._get_url()}{_ids.check_id(uuid, self.id_kind or _ids.SEGMENT, argument)}/"

    def get(self, uuid: str | bytes | None = None) -> Any:
        """One object by uuid; for a collection without ids (``Balance``), its answer.

        :raises InvalidIdError: for an id that does not name one object, or for no id at all
            where the collection has ids (use :meth:`list` to read them all).
        """
        if uuid is None and self.id_kind is None:
            return self.c.get(self._get_url(), return_list=False)
        return self.c.get(self._object_url(uuid), return_list=False)  # type: ignore[arg-type]

    def allowed_methods(self, uuid: str | None = None) -> builtins.list[str]:
        """The HTTP methods the API allows on the collection, or on one of its objects."""
        return self.c.options(self._get_url() if uuid is None else self._object_url(uuid))

    def get_schema(self) -> Any:
        """The resource's schema."""
        return self.c.get(self._get_url() + "schema")

    def get_from_url(self, url: str) -> Any:
        """The object at ``url``, such as a ``resource_uri`` (a plain path, no ``..``).

        :raises InvalidIdError: for a URL with dot segments, a query or escapes.
        """
        return self.c.get(_ids.check_path(url), return_list=False)

    def list(self, query_params: QueryParams | None = None) -> builtins.list[Any]:
        """All objects (short form), in one call (``limit=0``)."""
        return self.c.get(self._get_url(), query_params=self._all(query_params), return_list=True)

    def list_detail(self, query_params: QueryParams | None = None) -> builtins.list[Any]:
        """All objects with every field, in one call (``limit=0``)."""
        url = self._get_url() + "detail/"
        return self.c.get(url, query_params=self._all(query_params), return_list=True)

    @staticmethod
    def _all(query_params: QueryParams | None) -> QueryParams:
        return {"limit": 0, **(query_params or {})}

    def iter_all(
        self, query_params: QueryParams | None = None, page_size: int = 100
    ) -> Iterator[Any]:
        """Every object (short form), fetched ``page_size`` at a time with limit/offset."""
        return self._iter_pages(self._get_url(), query_params, page_size)

    def iter_detail(
        self, query_params: QueryParams | None = None, page_size: int = 100
    ) -> Iterator[Any]:
        """Every object with every field, fetched ``page_size`` at a time with limit/offset."""
        return self._iter_pages(self._get_url() + "detail/", query_params, page_size)

    def _iter_pages(
        self, url: str, query_params: QueryParams | None, page_size: int
    ) -> Iterator[Any]:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size!r}")
        offset = 0
        while True:
            params = {**(query_params or {}), "limit": page_size, "offset": offset}
            answer = self.c.request("GET", url, query_params=params)
            body = answer.data
            if body is None or isinstance(body, builtins.list):  # a bare list has no pages
                yield from body or []
                return
            if not isinstance(body, dict) or not isinstance(
                body.get("objects"), (builtins.list, type(None))
            ):
                raise self._not_a_page(url, body, answer.status_code, answer.request_id)
            objects = body.get("objects") or []
            yield from objects
            offset += len(objects)
            meta = body.get("meta")
            total = meta.get("total_count") if isinstance(meta, dict) else None
            # trust total_count when given: a server may cap the page below page_size
            finished = offset >= total if isinstance(total, int) else len(objects) < page_size
            if not objects or finished:
                return

    @staticmethod
    def _not_a_page(
        url: str, body: Any, status_code: int, request_id: str | None
    ) -> errors.InvalidResponseError:
        return errors.InvalidResponseError(
            f"GET {url} answered a {type(body).__name__} where a page of objects "
            "(a JSON object with an 'objects' list) was expected",
            status_code=status_code,
            request_id=request_id,
        )

    @staticmethod
    def _pepare_data(data: Any) -> Payload:
        """``{"objects": [...]}`` from one object or a list of them."""
        if isinstance(data, (builtins.list, tuple)):
            return {"objects": builtins.list(data)}
        if isinstance(data, dict):
            return data if "objects" in data else {"objects": [data]}
        raise TypeError(f"expected a dict or a list of dicts to create, got {type(data).__name__}")

    def create(self, data: Any, query_params: QueryParams | None = None) -> Any:
        """Create one object (returned as a dict) or several (returned as a list)."""
        return self.c.post(
            self._get_url(), self._pepare_data(data), return_list=False, query_params=query_params
        )

    def update(self, uuid: str, data: Payload) -> Any:
        """Replace the given fields of an object; returns the updated object."""
        return self.c.put(self._object_url(uuid), data, return_list=False)

    def delete(self, uuid: str, query_params: QueryParams | None = None) -> Any:
        """Delete an object (the API may finish asynchronously: see :meth:`wait_deleted`)."""
        return self.c.delete(self._object_url(uuid), query_params=query_params)

    def _delete_many(self, uuids: Iterable[str | bytes]) -> None:
        """One bulk DELETE of the collection: every object is checked, then all are deleted."""
        self.c.delete(self._get_url(), data=_bulk_body(uuids, self.id_kind or _ids.SEGMENT))

    def _action(
        self,
        uuid: str | None,
        action: str,
        data: Any = None,
        query_params: QueryParams | None = None,
        *,
        argument: str | None = None,
    ) -> Any:
        """POST ``/<resource>/<uuid>/action/?do=<action>``.

        ``uuid`` None means the collection's own action, for the actions listed in
        :attr:`collection_actions` only: any other action needs the id of one object.

        :param argument: the caller's name for the id, for the error
            (default :attr:`action_id_argument`).
        :raises InvalidIdError: for an id that does not name one object.
        """
        if uuid is None and action in self.collection_actions:
            url = self._get_url() + "action/"
        else:
            name = argument or self.action_id_argument
            url = self._object_url(uuid, name) + "action/"  # type: ignore[arg-type]
        params = {"do": action, **(query_params or {})}
        return self.c.post(url, data, query_params=params, return_list=False)

    # --- waiting --------------------------------------------------------------------------

    def wait_for_status(
        self,
        uuid: str,
        status: str | Collection[str],
        timeout: float | None = None,
        interval: float | None = None,
        *,
        policy: WaitPolicy | None = None,
    ) -> Any:
        """Poll an object until its status is ``status`` (or one of several); returns it.

        :raises WaitTimeoutError: naming the object, the wanted and the last seen status.
        """
        wanted = status_set(status)
        policy = (policy or self.wait_policy).with_overrides(timeout, interval)
        last_seen = None
        for _ in policy.polls(_sleep, _monotonic):
            resource = self.get(uuid)
            last_seen = resource.get("status") if isinstance(resource, dict) else None
            if last_seen in wanted:
                return resource
        raise errors.WaitTimeoutError(
            f"{self.resource_name} {uuid} did not reach status {' or '.join(sorted(wanted))} "
            f"within {policy.timeout:g} s; last seen status: {last_seen}"
        )

    def wait_deleted(
        self, uuid: str, timeout: float | None = None, *, policy: WaitPolicy | None = None
    ) -> None:
        """Poll an object until the API answers 404 for it.

        :raises WaitTimeoutError: when it still exists after ``timeout`` seconds.
        """
        policy = (policy or self.wait_policy).with_overrides(timeout, None)
        last_seen = None
        for _ in policy.polls(_sleep, _monotonic):
            try:
                resource = self.get(uuid)
            except errors.ClientError as exc:
                if exc.status_code == 404:
                    return
                raise
            last_seen = resource.get("status") if isinstance(resource, dict) else None
        raise errors.WaitTimeoutError(
            f"{self.resource_name} {uuid} was not deleted within {policy.timeout:g} s; "
            f"last seen status: {last_seen}"
        )


class Profile(ResourceBase):
    """The account's profile, ``/profile/`` (no uuid)."""

    resource_name = "profile"
    id_kind = None

    def get(self) -> Any:  # type: ignore[override]
        """The profile."""
        return self.c.get(self._get_url(), return_list=False)

    def update(self, data: Payload) -> Any:  # type: ignore[override]
        """Change the profile; returns it."""
        return self.c.put(self._get_url(), data, return_list=False)


class GlobalContext(ResourceBase):
    """The account-wide server context, ``/global_context/`` (no uuid)."""

    resource_name = "global_context"
    id_kind = None

    def get(self) -> Any:  # type: ignore[override]
        """The global context."""
        return self.c.get(self._get_url(), return_list=False)

    def update(self, data: Payload) -> Any:  # type: ignore[override]
        """Replace the global context (the API takes a POST here)."""
        return self.c.post(self._get_url(), data, return_list=False)


class NotificationContact(ResourceBase):
    resource_name = "notification_contacts"


class NotificationPreference(ResourceBase):
    """Notification preferences, updated all at once."""

    resource_name = "notification_preferences"
    id_kind = None

    def update(self, data: Any) -> Any:  # type: ignore[override]
        """Replace the preferences; returns the list of them."""
        return self.c.put(self._get_url(), data, return_list=True)


class LibDrive(ResourceBase):
    """The drives library, ``/libdrives/``: images to clone into the account."""

    resource_name = "libdrives"

    def clone(
        self, uuid: str, data: Payload | None = None, avoid: str | Collection[str] | None = None
    ) -> Any:
        """Copy a library drive into the account (``data`` may give ``name``, ``media``, ...).

        :returns: the new drive, ``cloning_dst`` until the copy is done.
        """
        return self._action(uuid, "clone", data or {}, query_params=_avoid_params(avoid))


class Drive(ResourceBase):
    """Drives, ``/drives/``."""

    resource_name = "drives"

    def clone(
        self, uuid: str, data: Payload | None = None, avoid: str | Collection[str] | None = None
    ) -> Any:
        """Clone a drive; ``avoid`` lists drives or servers whose storage to keep away from."""
        return self._action(uuid, "clone", data or {}, query_params=_avoid_params(avoid))

    def resize(self, uuid: str, data: Payload | None = None) -> Any:
        """Resize a drive to ``data['size']`` (it must not be mounted on a running server)."""
        return self._action(uuid, "resize", data or {})

    def upload_image(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        progress: Callable[[int, int], Any] | None = None,
    ) -> Any:
        """Upload an image file as a new drive, in one raw POST to the direct host.

        The documented upload: streamed from the file, Basic authentication, sent to the
        client's ``direct_endpoint`` (the location's ``upload_url``). For a resumable
        upload in chunks, use :class:`cloudsigma.resumable_upload.Upload`.

        :param name: the drive's name (default: the file's name).
        :param progress: called as ``progress(sent, total)`` in bytes.
        :returns: the new drive, once ``unmounted``.
        :raises UploadError: for an empty or unreadable file, or a refused upload.
        """
        from cloudsigma.direct_upload import DEFAULT_STORED_WAIT, upload_image

        drive_uuid = upload_image(self.c, path, name, progress)
        return self.wait_for_status(drive_uuid, "unmounted", policy=DEFAULT_STORED_WAIT)

    def set_scheduler(self, uuid: str, scheduler_uuid: str | None) -> Any:
        """Put the drive under a backup scheduler (``None`` takes it off its scheduler).

        :returns: the drive, whose ``backup_scheduler`` now refers to the scheduler.
        """
        return self._action(uuid, "set_scheduler", {"backup_policy_uuid": scheduler_uuid})

    def delete_many(self, uuids: Iterable[str]) -> None:
        """Delete several drives in one request (none is deleted if one cannot be)."""
        self._delete_many(uuids)

    def create(  # type: ignore[override]
        self, data: Any, avoid: str | Collection[str] | None = None
    ) -> Any:
        """Create one drive or several, away from the storage of the drives in ``avoid``."""
        return super().create(data, query_params=_avoid_params(avoid))

    def get_upload_chunk_link(
        self, uuid: str, chunk_number: int, chunk_size: int = 5 * 1024**2
    ) -> str:
        """A link (valid for about 5 minutes, no auth needed) to upload chunk ``chunk_number``.

        Chunks count from 0; the last one also holds the remainder of the file.
        """
        answer = self._action(
            uuid, "upload_chunk", {"chunk_number": chunk_number, "chunk_size": chunk_size}
        )
        return str(answer["link"])

    def upload_chunk(
        self, link: str, image_path: str, chunk_number: int, chunk_size: int
    ) -> Response:
        """POST the raw bytes of chunk ``chunk_number`` of ``image_path`` to ``link``.

        :returns: the HTTP response (416 means the chunk was already uploaded).
        """
        offset, length = chunk_span(os.path.getsize(image_path), chunk_number, chunk_size)
        with open(image_path, "rb") as image:
            image.seek(offset)
            chunk = image.read(length)
        answer = self.c.request(
            "POST",
            link,
            body=chunk,
            headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
            authenticate=False,  # the link is the credential; it may point at another host
            check=False,
        )
        return answer.response


def chunk_span(file_size: int, chunk_number: int, chunk_size: int) -> tuple[int, int]:
    """``(offset, length)`` of chunk ``chunk_number`` (from 0); the last chunk takes the rest.

    The layout every upload shares (see ``cloudsigma._layout.ChunkLayout``).
    """
    from cloudsigma._layout import chunk_span as span  # loaded on use: importing stays light

    return span(file_size, chunk_number, chunk_size)


class InitUpload(ResourceBase):
    """Drives created empty, in status ``uploading``, to be filled chunk by chunk."""

    resource_name = "initupload"

    def create(  # type: ignore[override]
        self,
        data: Payload,
        avoid: str | Collection[str] | None = None,
        image_path: str | None = None,
    ) -> Any:
        """Create a drive for an upload; name and size default to those of ``image_path``."""
        drive = dict(data)
        if image_path is not None:
            drive["name"] = drive.get("name") or os.path.basename(image_path)
            drive["size"] = drive.get("size") or os.path.getsize(image_path)
        return super().create(drive, query_params=_avoid_params(avoid))


class Server(ResourceBase):
    """Servers, ``/servers/``, with their power, console and clone actions."""

    resource_name = "servers"

    def start(
        self,
        uuid: str,
        allocation_method: str | None = None,
        avoid: str | Collection[str] | None = None,
    ) -> Any:
        """Start a stopped server.

        :param allocation_method: e.g. ``standard`` (the capabilities list the methods).
        :param avoid: servers whose hosts to keep away from (best effort).
        """
        data = {"allocation_method": str(allocation_method)} if allocation_method else {}
        return self._action(uuid, "start", data, query_params=_avoid_params(avoid))

    def stop(self, uuid: str) -> Any:
        """Power the server off at once."""
        return self._action(uuid, "stop", {})

    def restart(self, uuid: str) -> Any:
        """Restart the server."""
        return self._action(uuid, "restart", {})

    def shutdown(self, uuid: str) -> Any:
        """Ask the guest OS to shut down (ACPI)."""
        return self._action(uuid, "shutdown", {})

    def runtime(self, uuid: str) -> Any:
        """The runtime information of a running server."""
        return self.c.get(self._object_url(uuid) + "runtime/", return_list=False)

    def open_vnc(self, uuid: str) -> Any:
        """Open a VNC tunnel; the answer has ``vnc_url``."""
        return self._action(uuid, "open_vnc", {})

    def close_vnc(self, uuid: str) -> Any:
        return self._action(uuid, "close_vnc", {})

    def open_console(self, uuid: str) -> Any:
        """Open a web console; the answer has ``console_url``."""
        return self._action(uuid, "open_console", {})

    def close_console(self, uuid: str) -> Any:
        return self._action(uuid, "close_console", {})

    def clone(
        self, uuid: str, data: Payload | None = None, avoid: str | Collection[str] | None = None
    ) -> Any:
        """Clone a server with its disks (cdroms are attached, not cloned)."""
        return self._action(uuid, "clone", data or {}, query_params=_avoid_params(avoid))

    def delete(self, uuid: str, recurse: str | None = None) -> Any:  # type: ignore[override]
        """Delete a server; ``recurse`` is ``all_drives``, ``disks`` or ``cdroms``."""
        return super().delete(uuid, query_params={"recurse": recurse} if recurse else None)

    def delete_with_all_drives(self, uuid: str) -> Any:
        """Delete a server and every drive attached to it."""
        return self.delete(uuid, recurse="all_drives")

    def delete_with_disks(self, uuid: str) -> Any:
        """Delete a server and its attached disks (not cdroms)."""
        return self.delete(uuid, recurse="disks")

    def delete_with_cdroms(self, uuid: str) -> Any:
        """Delete a server and its attached cdroms."""
        return self.delete(uuid, recurse="cdroms")


class BServer(Server):
    resource_name = "bservers"


class ServersAvailabilityGroups(ResourceBase):
    resource_name = "servers/availability_groups"


class DrivesAvailabilityGroups(ResourceBase):
    """Which drives share storage: ``list()`` gives groups of drive uuids, ``get(uuid)``
    the group of one drive (its own uuid included)."""

    resource_name = "drives/availability_groups"


class VmwareServers(ResourceBase):
    """VMware servers, ``/vmware_servers/`` (beta; read-only)."""

    resource_name = "vmware_servers"


class CloudStatus(ResourceBase):
    """``/cloud_status/``: the cloud's feature flags (``vpc``, ``vmware``, ...)."""

    resource_name = "cloud_status"
    id_kind = None

    def get(self) -> Any:  # type: ignore[override]
        """The flags, one object."""
        return self.c.get(self._get_url(), return_list=False)


class VLAN(ResourceBase):
    resource_name = "vlans"


class IP(ResourceBase):
    resource_name = "ips"
    id_kind = _ids.ADDRESS


class FirewallPolicy(ResourceBase):
    resource_name = "fwpolicies"


class Keypairs(ResourceBase):
    """SSH keypairs, ``/keypairs/``: attach them to servers through the server's ``pubkeys``.

    ``create`` takes ``{"name", "public_key"}`` (optionally ``private_key`` too), or
    ``{"name", "algorithm_type"}`` to have the API generate the pair.
    """

    resource_name = "keypairs"

    def generate(
        self, name: str, algorithm_type: str = "ed25519", **fields: Any
    ) -> payloads.KeypairDict:
        """A new keypair made by the API (``rsa`` or ``ed25519``).

        :returns: the keypair, with the only copy of its ``private_key``.
        """
        return self.create({"name": name, "algorithm_type": algorithm_type, **fields})


class Pubkeys(ResourceBase):
    """The keypairs' public halves, ``/pubkeys/`` (read-only, ``has_private_key`` flag)."""

    resource_name = "pubkeys"


class Subscriptions(ResourceBase):
    resource_name = "subscriptions"
    id_kind = _ids.UUID_OR_NUMBER

    def extend(self, uuid: str, data: Payload | None = None) -> Any:
        """Extend a subscription (``data`` may give ``end_time`` or ``period``)."""
        return self._action(uuid, "extend", data or {})

    def auto_renew(self, uuid: str, enabled: bool | None = None) -> Any:
        """Turn automatic renewal on or off (``None`` toggles it); returns the subscription."""
        return self._action(uuid, "auto_renew", {} if enabled is None else {"auto_renew": enabled})


class GroupedSubscriptions(ResourceBase):
    """``/groupedsubscriptions/``: the first subscription of each chain, its extensions in
    ``descendants``."""

    resource_name = "groupedsubscriptions"


class SubscriptionCalculator(Subscriptions):
    resource_name = "subscriptioncalculator"

    def get_price(self, amount: Any, period: str, resource_type: str) -> Any:
        """The price of subscribing ``amount`` of ``resource_type`` for ``period``."""
        answer = self.create({"amount": amount, "period": period, "resource": resource_type})
        return answer["price"]


class Ledger(ResourceBase):
    resource_name = "ledger"
    id_kind = None


class Balance(ResourceBase):
    resource_name = "balance"
    id_kind = None


class Discount(ResourceBase):
    resource_name = "discount"
    id_kind = None


class Pricing(ResourceBase):
    resource_name = "pricing"
    id_kind = None


class AuditLog(ResourceBase):
    resource_name = "logs"
    id_kind = None


class Licenses(ResourceBase):
    resource_name = "licenses"
    id_kind = _ids.NUMBER


class Capabilites(ResourceBase):  # sic: pycloudsigma's spelling is part of the API
    resource_name = "capabilities"
    id_kind = None


class Accounts(ResourceBase):
    resource_name = "accounts"
    collection_actions = frozenset(
        {
            "authenticate_asynchronous",
            "check_login",
            "check_login_with_return_uuid",
            "create",
            "login",
            "logout",
        }
    )

    def authenticate_asynchronous(self) -> Any:
        """Get an ``async_auth`` cookie (in ``self.c.resp.cookies``) for the websocket."""
        return self._action(None, "authenticate_asynchronous", {})

    def logout(self) -> None:
        """End the session (login method ``session``); the client's next call logs in again."""
        self._action(None, "logout", {})

    def check_login(self) -> bool:
        """Whether the client's credentials or session are accepted (False on a 401)."""
        try:
            self._action(None, "check_login", {})
        except errors.AuthError:
            return False
        return True

    def check_login_with_return_uuid(self) -> str:
        """The uuid of the account the client is logged in to.

        :raises AuthError: when the credentials or the session are not accepted.
        """
        answer = self._action(None, "check_login_with_return_uuid", {})
        if not isinstance(answer, dict) or not isinstance(answer.get("uuid"), str):
            raise errors.InvalidResponseError(
                f"check_login_with_return_uuid answered {self.c.redact(repr(answer))[:300]}, "
                "not an object with a uuid"
            )
        return answer["uuid"]

    def asynchronous_cookie(self) -> str:
        """A fresh ``async_auth`` cookie for the websocket (valid for about 2 minutes).

        :raises InvalidResponseError: when the answer sets no such cookie.
        """
        from cloudsigma.websocket.events import asynchronous_cookie

        return asynchronous_cookie(self.c)

    def create(self, email: str, promo_code: str | None = None) -> Any:  # type: ignore[override]
        """Sign up a new account; sent without credentials."""
        answer = self.c.request(
            "POST",
            self._get_url() + "action/",
            {"email": email, "promo": promo_code},
            query_params={"do": "create"},
            authenticate=False,
        )
        return answer.objects()


class CurrentUsage(ResourceBase):
    resource_name = "currentusage"
    id_kind = None


class Snapshot(ResourceBase):
    resource_name = "snapshots"

    def clone(
        self, uuid: str, data: Payload | None = None, avoid: str | Collection[str] | None = None
    ) -> Any:
        """Create a drive from a snapshot."""
        return self._action(uuid, "clone", data or {}, query_params=_avoid_params(avoid))

    def delete_many(self, uuids: Iterable[str]) -> None:
        """Delete several snapshots in one request (none is deleted if one cannot be)."""
        self._delete_many(uuids)


class BackupSchedulers(ResourceBase):
    """Backup schedulers, ``/backupschedulers/``: snapshot, backup, DR or migration schedules
    that drives join with :meth:`Drive.set_scheduler`. ``list({"type": "snapshot"})``
    lists one type."""

    resource_name = "backupschedulers"

    def delete_many(self, uuids: Iterable[str]) -> None:
        """Delete several schedulers in one request (none is deleted if one cannot be)."""
        self._delete_many(uuids)


class RemoteSnapshot(Snapshot):
    resource_name = "remotesnapshots"


class Tags(ResourceBase):
    resource_name = "tags"

    def list_resource(self, uuid: str, resource_name: str) -> builtins.list[Any]:
        """The objects of type ``resource_name`` (``drives``, ``servers``, ...) tagged ``uuid``."""
        name = _ids.check_name(resource_name, "resource_name")
        return self.c.get(f"{self._object_url(uuid)}{name}/", return_list=True)

    def drives(self, uuid: str) -> builtins.list[Any]:
        return self.list_resource(uuid, "drives")

    def servers(self, uuid: str) -> builtins.list[Any]:
        return self.list_resource(uuid, "servers")

    def ips(self, uuid: str) -> builtins.list[Any]:
        return self.list_resource(uuid, "ips")

    def vlans(self, uuid: str) -> builtins.list[Any]:
        return self.list_resource(uuid, "vlans")


class Acls(ResourceBase):
    resource_name = "acls"


class Jobs(ResourceBase):
    resource_name = "jobs"


class BurstUsage(ResourceBase):
    resource_name = "burstusage"
    id_kind = None


class DailyBurstUsage(ResourceBase):
    """Burst usage summed per day, ``/dailyburstusage/`` (filters ``date__gt``, ``date__lt``)."""

    resource_name = "dailyburstusage"


class Usage(ResourceBase):
    """Usage samples, ``/usage/``: what each server and drive used, every 5 minutes."""

    resource_name = "usage"

    def list(  # type: ignore[override]
        self,
        query_params: QueryParams | None = None,
        *,
        poll_time_gt: str | datetime.datetime | datetime.date | None = None,
        poll_time_lt: str | datetime.datetime | datetime.date | None = None,
    ) -> builtins.list[Any]:
        """The samples polled after ``poll_time_gt`` and before ``poll_time_lt``."""
        params = dict(query_params or {})
        if poll_time_gt is not None:
            params["poll_time_gt"] = _poll_time(poll_time_gt)
        if poll_time_lt is not None:
            params["poll_time_lt"] = _poll_time(poll_time_lt)
        return super().list(params)


class Locations(ResourceBase):
    resource_name = "locations"
    id_kind = _ids.SEGMENT


class Vpc(ResourceBase):
    resource_name = "vpc"
    id_kind = _ids.SEGMENT


class Nodes(ResourceBase):
    resource_name = "nodes"
    id_kind = _ids.SEGMENT


class HostAvailabilityZones(ResourceBase):
    resource_name = "hostavailabilityzones"
    id_kind = _ids.SEGMENT


class HostAllocationPools(ResourceBase):
    resource_name = "hostallocationpools"
    id_kind = _ids.SEGMENT


class DriveUsers(ResourceBase):
    resource_name = "driveusers"
    id_kind = _ids.SEGMENT


class VirtualRouters(ResourceBase):
    """Virtual routers and their NAT, firewall and log actions."""

    resource_name = "virtualrouters"
    action_id_argument = "virtual_router_uuid"

    def enable_nat(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "enable_nat", data or {})

    def disable_nat(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "disable_nat", data or {})

    def enable_firewall(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "enable_firewall", data or {})

    def disable_firewall(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "disable_firewall", data or {})

    def enable_firewall_logging(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "enable_firewall_logging", data or {})

    def disable_firewall_logging(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "disable_firewall_logging", data or {})

    def get_log(
        self, virtual_router_uuid: str, data: Payload | None, query_params: QueryParams | None
    ) -> Any:
        return self._action(virtual_router_uuid, "get_log", data or {}, query_params)

    def enable_vpn(self, virtual_router_uuid: str, data: Payload | None = None) -> Any:
        """Turn the router's VPN on (configure it with :meth:`Upstream.configure_vpn`)."""
        return self._action(virtual_router_uuid, "enable_vpn", data or {})

    def disable_vpn(self, virtual_router_uuid: str, data: Payload | None = None) -> Any:
        return self._action(virtual_router_uuid, "disable_vpn", data or {})

    def get_keys(self, virtual_router_uuid: str, data: Payload | None = None) -> Any:
        """The router's VPN keys."""
        return self._action(virtual_router_uuid, "get_keys", data or {})

    def export_key(self, virtual_router_uuid: str, data: Payload | None = None) -> Any:
        """Export a VPN key of the router."""
        return self._action(virtual_router_uuid, "export_key", data or {})


class Lans(ResourceBase):
    resource_name = "lans"
    action_id_argument = "virtual_router_uuid"

    def configure_dhcp(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "configure_dhcp", data or {})


class IpAliases(ResourceBase):
    resource_name = "ipaliases"


class Upstream(ResourceBase):
    resource_name = "upstream"
    action_id_argument = "virtual_router_uuid"

    def configure_vpn(self, virtual_router_uuid: str, data: Payload | None) -> Any:
        return self._action(virtual_router_uuid, "configure_vpn", data or {})


class PortForwards(ResourceBase):
    resource_name = "portforwards"


class AddressForwards(ResourceBase):
    resource_name = "addressforwards"


class VrFwPolicies(ResourceBase):
    resource_name = "vrfwpolicies"
    action_id_argument = "fw_policy_uuid"

    def enable(self, fw_policy_uuid: str, data: Payload | None) -> Any:
        return self._action(fw_policy_uuid, "enable", data or {})

    def disable(self, fw_policy_uuid: str, data: Payload | None) -> Any:
        return self._action(fw_policy_uuid, "disable", data or {})


class VrFwFilters(ResourceBase):
    resource_name = "vrfwfilters"
    action_id_argument = "fw_filter_uuid"

    def enable_logging(self, fw_filter_uuid: str, data: Payload | None) -> Any:
        return self._action(fw_filter_uuid, "enable_logging", data or {})

    def disable_logging(self, fw_filter_uuid: str, data: Payload | None) -> Any:
        return self._action(fw_filter_uuid, "disable_logging", data or {})


class Routes(ResourceBase):
    resource_name = "routes"


class Tunnels(ResourceBase):
    """VPN tunnels of virtual routers, ``/tunnels/``."""

    resource_name = "tunnels"


def __getattr__(name: str) -> Any:
    # pycloudsigma's resource.Websocket, loaded on first use: most scripts never wait on
    # the event stream.
    if name == "Websocket":
        from cloudsigma.websocket.events import Websocket

        return Websocket
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

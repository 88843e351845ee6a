"""State and behaviour of the emulated API: accounts and their resources, no HTTP.

The HTTP layer (:mod:`cloudsigma.emulator.http`) parses a request, calls a :class:`Collection`
method of :class:`Backend` and serialises what it returns.
"""

from __future__ import annotations

import copy
import datetime
import json
import secrets
import uuid as uuid_module
from collections import defaultdict
from collections.abc import Callable, Iterable
from importlib import resources as package_resources
from typing import TYPE_CHECKING, Any, cast

from . import fields
from .errors import ApiError, notexist, permission, validation
from .statemachine import Transitions
from .storage import DriveImage
from .uploads import Upload

if TYPE_CHECKING:
    from .drives import Drives, Jobs
    from .network import Ips, Vlans
    from .servers import Servers
    from .snapshots import Snapshots

API = "/api/2.0/"

#: Profile keys of the seeded example person, blanked for every new account.
PERSONAL_PROFILE_KEYS = (
    "address",
    "company",
    "first_name",
    "last_name",
    "my_notes",
    "nickname",
    "phone",
    "postcode",
    "town",
    "title",
    "vat",
    "country",
)

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


def load_data(name: str) -> Any:
    """Load a JSON file shipped in ``cloudsigma/emulator/data``."""
    text = package_resources.files(__package__).joinpath("data").joinpath(name).read_text("utf-8")
    return json.loads(text)


def new_uuid() -> str:
    return str(uuid_module.uuid4())


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment: datetime.datetime | None = None) -> str:
    """A timestamp as the API writes it: ``2014-06-05T09:50:06.436976+00:00``."""
    return (moment or now()).isoformat()


def ref(resource: str, uuid: str) -> dict:
    """A reference to another object: ``{"resource_uri", "uuid"}``."""
    return {"resource_uri": f"{API}{resource}/{uuid}/", "uuid": uuid}


class Account:
    """One customer account with its own objects, profile, balance, global context and log."""

    def __init__(self, email: str, password: str, profile_seed: dict) -> None:
        self.uuid = new_uuid()
        self.email = email
        self.password = password
        self.owner = {"resource_uri": f"{API}user/{self.uuid}/", "uuid": self.uuid}
        self.objects: dict[str, dict[str, dict]] = defaultdict(dict)
        self.profile = dict(profile_seed, uuid=self.uuid, email=email, signup_time=iso())
        for key in PERSONAL_PROFILE_KEYS:
            self.profile[key] = ""
        self.profile["bank_reference"] = email.split("@")[0][:12]
        self.balance: dict[str, Any] = {
            "balance": "10000.00",
            "currency": "EUR",
            "credit_limit": None,
        }
        self.global_context: dict = {}
        self.logs: list[dict] = []

    def __repr__(self) -> str:
        return f"<Account {self.email} {self.uuid}>"


class Collection:
    """Behaviour shared by the collections: lookup, listing, bulk create, update, delete.

    A subclass names its resource, its short list fields and what a create, an update and an
    action do. Objects are stored in the shape the API returns, so a GET serialises them as
    they are.
    """

    name = ""
    short_fields: tuple[str, ...] | None = None
    methods = frozenset({"list", "get", "create", "update", "delete"})
    create_status = 201
    update_status = 200
    delete_status = 204
    bulk_delete = False
    actions: dict[str, str] = {}
    permissions: tuple[str, ...] = ("LIST", "EDIT")
    audit_category = ""
    default_limit = 20
    shareable = False
    #: Query parameters that :meth:`listing` interprets itself (not generic filters).
    own_filters: frozenset[str] = frozenset()

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # lookup -------------------------------------------------------------
    def store(self, account: Account) -> dict[str, dict]:
        return account.objects[self.name]

    def uri(self, uuid: str) -> str:
        return f"{API}{self.name}/{uuid}/"

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        """The object ``uuid`` as ``account`` may see it.

        :raises ApiError: 404 when it does not exist or is not visible, 403 when it is shared
            without the permission ``need``.
        """
        obj = self.store(account).get(uuid)
        if obj is not None:
            return obj
        owner = self.backend.owner_of(self.name, uuid)
        if owner is not None and owner is not account:
            granted = self.granted(account, owner, self.store(owner)[uuid])
            if "LIST" in granted:
                if need not in granted:
                    raise permission(f"{self.name} {uuid} is shared without {need} permission")
                return self.store(owner)[uuid]
        raise notexist(self.name, uuid)

    def granted(self, viewer: Account, owner: Account, obj: dict) -> set[str]:
        """The ACL permissions ``viewer`` has on ``obj``, limited to those of this collection."""
        return self.backend.acl_permissions(viewer, owner, obj) & set(self.permissions)

    def get(self, account: Account, uuid: str) -> dict:
        """GET one object."""
        return self.view(account, self.find(account, uuid))

    def view(self, account: Account, obj: dict) -> dict:
        """``obj`` as ``account`` sees it (ACL ``grantees``/``permissions`` filled in)."""
        if not self.shareable or not self.backend.has_acls:
            return obj
        owner = self.backend.owner_of(self.name, obj.get("uuid", ""))
        if owner is None:
            return obj
        if owner is account:
            if obj.get("status") == "creating":  # grants show once the object exists
                return obj
            grantees = self.backend.grantees(owner, obj, self.permissions)
            return dict(obj, grantees=grantees) if grantees else obj
        granted = self.granted(account, owner, obj)
        # The owner's tags are not the grantee's: a grantee sees none.
        return dict(obj, permissions=sorted(granted), grantees=[], tags=[])

    def listing(self, account: Account, query: dict) -> list[dict]:
        """Every object of this collection that ``account`` may list."""
        own = list(self.store(account).values())
        if not self.shareable or not self.backend.has_acls:
            return own
        shared = [
            self.view(account, obj)
            for owner in self.backend.accounts.values()
            if owner is not account
            for obj in self.store(owner).values()
            if "LIST" in self.granted(account, owner, obj)
        ]
        return [self.view(account, obj) for obj in own] + shared

    # writes -------------------------------------------------------------
    def create_many(self, account: Account, items: list, query: dict) -> list[dict]:
        """Validate every item first, then create them all (never half a bulk request)."""
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise validation(f"objects[{index}] must be an object", "objects")
        prepared = [self.prepare(account, item, query) for item in items]
        created = [self.commit(account, values) for values in prepared]
        for obj in created:
            self.backend.audit(account, self, obj, "create", "")
        return [self.view(account, obj) for obj in created]

    def prepare(self, account: Account, values: dict, query: dict) -> dict:
        """Check a create body and return the values to store (no state changes)."""
        raise NotImplementedError

    def commit(self, account: Account, values: dict) -> dict:
        """Store a prepared object and announce it."""
        obj = values
        tags = obj.get("tags")
        self.store(account)[obj["uuid"]] = obj
        self.backend.register(self.name, obj["uuid"], account)
        if tags:
            obj["tags"] = []
            self.backend.retag(account, self.name, obj, tags)
        self.backend.emit(account, self.name, obj)
        return obj

    def update(self, account: Account, uuid: str, values: dict) -> dict:
        """PUT: keys present replace the stored value; absent keys keep it."""
        obj = self.find(account, uuid, "EDIT")
        changes = self.check_update(account, obj, values)
        self.apply_update(account, obj, changes)
        self.backend.audit(account, self, obj, "update", values)
        self.backend.emit(self.backend.owner_of(self.name, uuid) or account, self.name, obj)
        return self.view(account, obj)

    def check_update(self, account: Account, obj: dict, values: dict) -> dict:
        """Validate a PUT body against ``obj`` and return the changes (no state changes)."""
        raise NotImplementedError

    def apply_update(self, account: Account, obj: dict, changes: dict) -> None:
        if "tags" in changes:
            self.backend.retag(account, self.name, obj, changes.pop("tags"))
        obj.update(changes)

    def delete(self, account: Account, uuid: str, query: dict) -> Any:
        """DELETE one object; returns the body of the answer (``None`` for 204)."""
        obj = self.find(account, uuid, "EDIT")
        self.check_delete(account, obj, query)
        self.remove(account, obj)
        return None

    def check_delete(self, account: Account, obj: dict, query: dict) -> None:
        """Refuse a delete that the state forbids (nothing by default)."""

    def delete_many(self, account: Account, uuids: list[str]) -> None:
        """Bulk DELETE: check every object, then delete them all."""
        objs = [self.find(account, uuid, "EDIT") for uuid in uuids]
        for obj in objs:
            self.check_delete(account, obj, {})
        for obj in objs:
            if obj["uuid"] in self.store(account):
                self.remove(account, obj)

    def remove(self, account: Account, obj: dict) -> None:
        """Forget ``obj`` and announce the deletion."""
        self.store(account).pop(obj["uuid"], None)
        self.backend.unregister(self.name, obj["uuid"])
        if "tags" in obj:
            self.backend.untag_everywhere(account, obj["uuid"])
        self.backend.audit(account, self, obj, "delete", "")
        self.backend.emit(account, self.name, obj, deleted=True)

    def action(self, account: Account, uuid: str | None, name: str, body: dict, query: dict):
        """Run ``?do=name``; returns ``(status, body)``."""
        method = self.actions.get(name)
        if method is None:
            raise validation(f"{self.name} have no action {name!r}", "do")
        try:
            return getattr(self, method)(account, uuid, body, query)
        except ApiError as error:
            target = self.store(account).get(uuid or "")
            if target is not None:  # refused actions on existing objects are audited too
                self.backend.audit(account, self, target, name, body, error)
            raise

    def schema(self) -> dict:
        """The Tastypie-style schema of the collection."""
        schemas = self.backend.schemas
        if self.name in schemas:
            entry = schemas[self.name]
            return entry.get("schema", entry)
        verbs = {"list": "get", "get": "get", "create": "post", "update": "put",
                 "delete": "delete"}  # fmt: skip
        methods = sorted({verbs[m] for m in self.methods})
        return {
            "allowed_detail_http_methods": methods,
            "allowed_list_http_methods": methods,
            "default_format": "application/json",
            "default_limit": self.default_limit,
            "fields": self.schema_fields(),
            "filtering": {"name": "exact", "uuid": "exact"},
        }

    def schema_fields(self) -> dict:
        """Field entries for a collection without a recorded schema."""
        return {
            "resource_uri": schema_field("", readonly=True),
            "uuid": schema_field("", readonly=True),
        }


SCHEMA_TYPES = {bool: "boolean", int: "integer", str: "string", dict: "dict", list: "list"}


def schema_field(default: Any, *, readonly: bool = False, required: bool = False) -> dict:
    """One Tastypie-style field entry, typed after its default value."""
    return {
        "type": SCHEMA_TYPES.get(type(default), "string"),
        "default": default,
        "readonly": readonly,
        "required": required,
        "nullable": default is None,
        "help_text": "",
    }


class SimpleCollection(Collection):
    """A collection whose objects are their fields with defaults, plus ``uuid``/``owner``.

    ``defaults`` lists the writable fields with their default values, ``required`` those a
    create must give. Unknown fields are ignored.
    """

    defaults: dict[str, Any] = {}
    required: tuple[str, ...] = ()
    has_owner = True
    has_acl_fields = False

    def prepare(self, account: Account, values: dict, query: dict) -> dict:
        for key in self.required:
            if values.get(key) is None:
                raise fields.required(key)
        obj = {
            key: self.check_value(account, key, values.get(key, default))
            for key, default in self.defaults.items()
        }
        obj["uuid"] = new_uuid()
        obj["resource_uri"] = self.uri(obj["uuid"])
        if self.has_owner:
            obj["owner"] = account.owner
        if self.has_acl_fields:
            obj.update(grantees=[], permissions=[])
        return self.complete(account, obj)

    def complete(self, account: Account, obj: dict) -> dict:
        """Fill in derived read-only fields of a new object."""
        return obj

    def schema_fields(self) -> dict:
        entries = super().schema_fields()
        for key, default in self.defaults.items():
            entries[key] = schema_field(default, required=key in self.required)
        if self.has_owner:
            entries["owner"] = schema_field(None, readonly=True)
        return entries

    def check_value(self, account: Account, key: str, value: Any) -> Any:
        """Validate one writable field (types follow the default's type)."""
        default = self.defaults[key]
        if key == "meta":
            return fields.meta({"meta": value})
        if key == "tags":
            return self.backend.tag_refs(account, value)
        if value is None:
            return None
        if default is None:  # a nullable text field
            return fields.text({key: value}, key, None)
        checker = {
            bool: fields.boolean,
            int: fields.integer,
            str: fields.text,
            dict: fields.mapping,
            list: fields.sequence,
        }.get(type(default))
        return checker({key: value}, key) if checker else copy.deepcopy(value)

    def check_update(self, account: Account, obj: dict, values: dict) -> dict:
        return {
            key: self.check_value(account, key, values[key])
            for key in self.defaults
            if key in values
        }


class Backend:
    """All accounts, their objects, the library, drive images and the state machines.

    :param transition_delay: seconds a status change takes (see :class:`Transitions`).
    """

    def __init__(self, transition_delay: float | None = 0.1) -> None:
        self.transitions = Transitions(transition_delay)
        self.schemas: dict = load_data("schemas.json")
        self.seed: dict = load_data("seed.json")
        self.base_url = "http://127.0.0.1"
        self.host = "127.0.0.1"
        self.listeners: list[Callable[[Account, dict], None]] = []
        self.images: dict[str, DriveImage] = {}
        from .registry import build_collections

        self.collections: dict[str, Collection] = build_collections(self)
        self._init_state()

    def _init_state(self) -> None:
        self.capabilities: dict = copy.deepcopy(self.seed["capabilities"])
        self.library: dict[str, dict] = {d["uuid"]: d for d in load_data("libdrives.json")}
        self.uploads: dict[str, Upload] = {}
        #: Meta and tags of the drive a snapshot was taken of, by snapshot uuid.
        self.origins: dict[str, dict] = {}
        self.link_index: dict[str, tuple[Account, str]] = {}
        self.accounts: dict[str, Account] = {}
        self.by_email: dict[str, Account] = {}
        self.owners: dict[tuple[str, str], Account] = {}
        self.has_acls = False
        #: Statuses of router answers: ``dumps`` (202, as recorded) or ``rst`` (201/200/204).
        self.vrouter_style = "dumps"
        self._dynamic = 0
        self._counter = 1000

    def reset(self) -> None:
        """Forget all accounts, objects, images and pending status changes."""
        self.close()
        self._init_state()

    # the collections other collections call ---------------------------------
    @property
    def drives(self) -> Drives:
        return cast("Drives", self.collections["drives"])

    @property
    def servers(self) -> Servers:
        return cast("Servers", self.collections["servers"])

    @property
    def snapshots(self) -> Snapshots:
        return cast("Snapshots", self.collections["snapshots"])

    @property
    def jobs(self) -> Jobs:
        return cast("Jobs", self.collections["jobs"])

    @property
    def ips(self) -> Ips:
        return cast("Ips", self.collections["ips"])

    @property
    def vlans(self) -> Vlans:
        return cast("Vlans", self.collections["vlans"])

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
        for hook in ("subscriptions", "notification_contacts", "notification_preferences"):
            cast(Any, self.collections[hook]).seed_account(account)
        return account

    def authenticate(self, email: str, password: str) -> Account | None:
        account = self.by_email.get(email.lower())
        if account is None or not secrets.compare_digest(account.password, password):
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
        self.transitions.move(resource, obj, status, lambda: self.emit(account, resource, obj))

    def settle(
        self,
        account: Account,
        resource: str,
        obj: dict,
        target: str | Callable[[], str],
        apply: Callable[[], None] | None = None,
        factor: float = 1.0,
    ) -> None:
        """After the transition delay, run ``apply`` and move ``obj`` to ``target``.

        Nothing happens if the object was deleted in between.
        """

        def fire() -> None:
            if self.collections[resource].store(account).get(obj["uuid"]) is not obj:
                return
            if apply is not None:
                apply()
            self.set_status(account, resource, obj, target() if callable(target) else target)

        self.transitions.later(fire, factor)

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
        """Release every temporary file and pending change."""
        self.transitions.clear()
        for uuid in list(self.images):
            self.drop_image(uuid)

    def iter_accounts(self) -> Iterable[Account]:
        return list(self.accounts.values())

    def dynamic_ip(self) -> str:
        """A fresh address for a DHCP NIC of a starting server."""
        self._dynamic += 1
        return f"185.12.{(self._dynamic // 254) % 256}.{self._dynamic % 254 + 1}"

    def set_base_url(self, base_url: str, host: str) -> None:
        """Where the emulator listens (used in locations, VNC URLs and upload links)."""
        self.base_url = base_url.rstrip("/")
        self.host = host

    # uploads ---------------------------------------------------------------
    def start_upload(self, drive: dict) -> Upload:
        upload = self.uploads[drive["uuid"]] = Upload(drive["size"])
        return upload

    def upload_of(self, account: Account, drive_uuid: str) -> tuple[dict, Upload]:
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
        self, account: Account, drive: dict, upload: Upload, offset: int, data: bytes
    ) -> None:
        """Write bytes of an upload; the drive becomes ``unmounted`` once all bytes are there."""
        self.image(drive["uuid"], drive["size"]).write(offset, data)
        self.received(account, drive, upload, offset, offset + len(data))

    def received(self, account: Account, drive: dict, upload: Upload, start: int, end: int) -> None:
        """Record that ``[start, end)`` of an upload is stored; complete the drive when whole."""
        upload.add(start, end)
        if upload.complete and drive["status"] == "uploading":
            self.uploads.pop(drive["uuid"], None)
            self.set_status(account, "drives", drive, "unmounted")

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

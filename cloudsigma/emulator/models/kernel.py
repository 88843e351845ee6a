"""The kernel every model builds on: accounts, collections, ids, times and references.

Plain Python: no HTTP, and no knowledge of the aggregate beyond the :class:`Aggregate`
protocol that :class:`~cloudsigma.emulator.backend.Backend` implements.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import uuid as uuid_module
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from . import fields
from .clock import Clock
from .errors import ApiError, notexist, permission, validation
from .statemachine import Transitions
from .storage import DriveImage
from .tunnels import Tunnels
from .uploads import UploadProgress

API = "/api/2.0/"
C = TypeVar("C", bound="Collection")
F = TypeVar("F", bound=Callable[..., Any])
#: The status of a successful action, unless the collection's table says otherwise.
ACTION_STATUS = 202
#: The operations of the standard collection and the HTTP status of their success.
#: ``list``, ``create`` and ``bulk_delete`` are GET, POST and DELETE on ``/<name>/``; ``get``,
#: ``update`` and ``delete`` the same on ``/<name>/<uuid>/``. A collection that is one object
#: offers ``read`` (GET ``/<name>/``), ``write`` (PUT) and ``replace`` (POST) instead.
#: ``action`` is the status of every ``?do=`` action (default :data:`ACTION_STATUS`);
#: ``availability_groups``, ``runtime`` and ``related`` the sub-resources of those routes.
OPERATIONS: dict[str, int] = {
    "list": 200,
    "get": 200,
    "create": 201,
    "update": 200,
    "delete": 204,
}
#: The HTTP verb of each operation, for the schema of a collection without a recorded one.
VERBS = {"list": "get", "get": "get", "read": "get", "create": "post", "replace": "post",
         "update": "put", "write": "put", "delete": "delete", "bulk_delete": "delete"}  # fmt: skip


def query(*names: str) -> Callable[[F], F]:
    """Declare the query parameters a model method reads; it gets them as keyword arguments.

    ``@query("recurse") def delete(self, account, uuid, *, recurse=None)`` is called with
    ``recurse=`` when the request has ``?recurse=``. Other parameters never reach it.
    """

    def declare(function: F) -> F:
        function.query_parameters = names  # type: ignore[attr-defined]
        return function

    return declare


def query_parameters(function: Callable[..., Any]) -> tuple[str, ...]:
    """The query parameters ``function`` declared with :func:`query` (none by default)."""
    return getattr(function, "query_parameters", ())


def query_arguments(function: Callable[..., Any], params: Mapping[str, str] | None) -> dict:
    """The keyword arguments for ``function`` from the request's query parameters."""
    if not params:
        return {}
    return {name: params[name] for name in query_parameters(function) if name in params}


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


#: The JSON files shipped with the emulator (seed data, schemas, the library, time zones).
DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def load_data(name: str) -> Any:
    """Load a JSON file of ``cloudsigma/emulator/data`` (read as a file: a plain open is
    several milliseconds cheaper at start-up than importlib.resources)."""
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as data:
        return json.load(data)


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
        #: The host of each running server and the storage pool of each drive, by uuid.
        self.placement: dict[str, int] = {}
        #: Servers whose guest does not power off on an ACPI shutdown (uuid -> False).
        self.guests_answer_acpi: dict[str, bool] = {}
        #: Pending "the guest did not answer" timeouts of ACPI shutdowns, by server uuid.
        self.acpi_waits: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<Account {self.email} {self.uuid}>"


class Collection:
    """Behaviour shared by the collections: lookup, listing, bulk create, update, delete.

    A subclass names its resource, the operations it offers with their HTTP statuses, its
    short list fields and what a create, an update and an action do. Objects are stored in
    the shape the API returns, so a GET serialises them as they are. Methods take the request
    body and named arguments, return data and raise :class:`~.errors.ApiError`.
    """

    name = ""
    #: The operations offered and the HTTP status of their success (see :data:`OPERATIONS`).
    operations: Mapping[str, int] = OPERATIONS
    short_fields: tuple[str, ...] | None = None
    #: ``?do=`` name -> method name; a method takes ``(account, uuid, body)``.
    actions: Mapping[str, str] = {}
    permissions: tuple[str, ...] = ("LIST", "EDIT")
    audit_category = ""
    default_limit = 20
    shareable = False
    #: Operations answered to a caller without credentials (its account is ``None``).
    anonymous: frozenset[str] = frozenset()
    #: Whether creates run :meth:`work_off_loop` first, off the event loop.
    heavy_create = False

    def __init__(self, backend: Aggregate) -> None:
        self.backend = backend

    def sibling(self, name: str, kind: type[C]) -> C:
        """The collection ``name`` of the same backend; ``kind`` is its class, for type checks."""
        found = self.backend.collections[name]
        if not isinstance(found, kind):
            raise TypeError(f"/{name}/ is served by {type(found).__name__}, not {kind.__name__}")
        return found

    def offers(self, operation: str) -> bool:
        """Whether this collection offers ``operation`` (a key of :data:`OPERATIONS`, or
        ``action`` when it has actions)."""
        if operation == "action":
            return bool(self.actions)
        return operation in self.operations

    def status(self, operation: str) -> int:
        """The HTTP status of a successful ``operation`` (``action`` for every action)."""
        if operation == "action":
            return self.operations.get("action", ACTION_STATUS)
        return self.operations[operation]

    def seed_account(self, account: Account) -> None:
        """Give a new account the objects it starts with (none by default)."""

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

    def holder(self, account: Account, obj: dict) -> Account:
        """The account that holds ``obj``: its owner, which is ``account`` unless a grant shares
        the object with ``account``. Changes of a shared object happen in the holder's account.
        """
        return self.backend.owner_of(self.name, obj["uuid"]) or account

    def granted(self, viewer: Account, owner: Account, obj: dict) -> set[str]:
        """The ACL permissions ``viewer`` has on ``obj``, limited to those of this collection."""
        return self.backend.acl_permissions(viewer, owner, obj) & set(self.permissions)

    def get(self, account: Account, uuid: str) -> dict:
        """GET one object."""
        return self.view(account, self.find(account, uuid))

    def related(self, account: Account, uuid: str, kind: str) -> list[dict]:
        """The objects of collection ``kind`` that belong to object ``uuid``
        (``/<name>/<uuid>/<kind>/``); none by default.

        :raises ApiError: 404 unless the collection relates objects to others.
        """
        raise notexist(self.name, f"{uuid}/{kind}")

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

    def listing(self, account: Account, params: Mapping[str, str] | None = None) -> list[dict]:
        """``GET /<name>/`` before filters and paging: what :meth:`visible` returns.

        :param params: the query parameters; :meth:`visible` gets those it declares.
        """
        return self.visible(account, **query_arguments(self.visible, params))

    def visible(self, account: Account) -> list[dict]:
        """Every object of this collection that ``account`` may list.

        A subclass that reads query parameters declares them with :func:`query`; they are
        then not generic filters of the listing.
        """
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
    def create_many(
        self, account: Account, items: list, params: Mapping[str, str] | None = None
    ) -> list[dict]:
        """Validate every item first, then create them all (never half a bulk request).

        :param params: the query parameters; :meth:`prepare` gets those it declares.
        """
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise validation(f"objects[{index}] must be an object", "objects")
        arguments = query_arguments(self.prepare, params)
        prepared = [self.prepare(account, item, **arguments) for item in items]
        created = [self.commit(account, values) for values in prepared]
        for obj in created:
            self.backend.audit(account, self, obj, "create", "")
        return [self.view(account, obj) for obj in created]

    def work_off_loop(self, items: list) -> list:
        """Work a create needs that is heavy on CPU and reads no state (generating keys...);
        the HTTP layer runs it in a worker thread when :attr:`heavy_create` is set, so one
        request never stalls the others. Returns the items to create."""
        return items

    def prepare(self, account: Account, values: dict) -> dict:
        """Check a create body and return the values to store (no state changes)."""
        raise NotImplementedError

    def create_answer(self, created: list[dict]) -> dict:
        """The body of the answer to a create."""
        return {"objects": created}

    def availability_groups(self, account: Account) -> list[list[str]]:
        """The uuids of the account's objects grouped by where they are placed (collections
        that offer ``availability_groups``)."""
        raise NotImplementedError

    def availability_group(self, account: Account, uuid: str) -> list[str]:
        """The uuids placed together with object ``uuid`` (``availability_groups``)."""
        raise NotImplementedError

    def read(self, account: Account) -> Any:
        """The whole resource at ``/<name>/`` (collections that offer ``read``)."""
        raise NotImplementedError

    def write(self, account: Account, values: Any) -> Any:
        """Change the resource at ``/<name>/`` with a whole body (``write``/``replace``);
        returns the body of the answer."""
        raise NotImplementedError

    def envelope(self, account: Account, objects: list[dict]) -> dict:
        """Keys a listing answer carries beside ``meta`` and ``objects`` (none by default)."""
        return {}

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
        holder = self.holder(account, obj)
        changes = self.check_update(account, obj, self.editable(account, holder, values))
        self.apply_update(holder, obj, changes)
        self.backend.audit(account, self, obj, "update", values)
        self.backend.emit(holder, self.name, obj)
        return self.view(account, obj)

    @staticmethod
    def editable(account: Account, holder: Account, values: dict) -> dict:
        """What of ``values`` ``account`` may change on an object of ``holder``: a grantee sees
        none of the owner's tags, so its ``tags`` are ignored (it cannot hang its own on the
        owner's object, nor strip the owner's by sending back what it sees)."""
        if holder is account:
            return values
        return {key: value for key, value in values.items() if key != "tags"}

    def check_update(self, account: Account, obj: dict, values: dict) -> dict:
        """Validate a PUT body against ``obj`` and return the changes (no state changes)."""
        raise NotImplementedError

    def apply_update(self, account: Account, obj: dict, changes: dict) -> None:
        if "tags" in changes:
            self.backend.retag(account, self.name, obj, changes.pop("tags"))
        obj.update(changes)

    def delete(self, account: Account, uuid: str) -> Any:
        """DELETE one object; returns the body of the answer (``None`` for none)."""
        obj = self.find(account, uuid, "EDIT")
        self.check_delete(account, obj)
        self.remove(self.holder(account, obj), obj)
        return None

    def check_delete(self, account: Account, obj: dict) -> None:
        """Refuse a delete that the state forbids (nothing by default)."""

    def delete_many(self, account: Account, uuids: list[str]) -> None:
        """Bulk DELETE: check every object, then delete them all."""
        objs = [self.find(account, uuid, "EDIT") for uuid in uuids]
        for obj in objs:
            self.check_delete(account, obj)
        for obj in objs:
            holder = self.holder(account, obj)
            if obj["uuid"] in self.store(holder):
                self.remove(holder, obj)

    def remove(self, account: Account, obj: dict) -> None:
        """Forget ``obj`` and announce the deletion."""
        self.store(account).pop(obj["uuid"], None)
        self.backend.unregister(self.name, obj["uuid"])
        if "tags" in obj:
            self.backend.untag_everywhere(account, obj["uuid"])
        self.backend.audit(account, self, obj, "delete", "")
        self.backend.emit(account, self.name, obj, deleted=True)

    def action(
        self,
        account: Account,
        uuid: str | None,
        name: str,
        body: dict,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Run ``?do=name`` on object ``uuid`` (``None``: on the collection); returns the body.

        :param params: the query parameters; the action's method gets those it declares.
        :raises ApiError: 404 for an unknown object, 400 for an unknown action, and whatever
            the action refuses (audited when the object exists).
        """
        if uuid is not None:
            self.action_target(account, uuid)
        method = self.actions.get(name)
        if method is None:
            raise validation(f"{self.name} have no action {name!r}", "do")
        run = getattr(self, method)
        try:
            return run(account, uuid, body, **query_arguments(run, params))
        except ApiError as error:
            target = self.store(account).get(uuid or "")
            if target is not None:  # refused actions on existing objects are audited too
                self.backend.audit(account, self, target, name, body, error)
            raise

    def action_target(self, account: Account, uuid: str) -> None:
        """Check that the object an action names exists before the action is looked up.

        :raises ApiError: 404 when it does not.
        """
        self.find(account, uuid)

    def schema(self) -> dict:
        """The Tastypie-style schema of the collection."""
        schemas = self.backend.schemas
        if self.name in schemas:
            entry = schemas[self.name]
            return entry.get("schema", entry)
        methods = sorted({VERBS[op] for op in self.operations if op in VERBS})
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

    def prepare(self, account: Account, values: dict) -> dict:
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


class Singleton(Collection):
    """A resource without uuid, one object at ``/<name>/``: it offers ``read`` and, if it
    can be changed, ``write`` (PUT) and ``replace`` (POST), both served by :meth:`write`."""

    operations: Mapping[str, int] = {"read": 200}


class Generic(SimpleCollection):
    """Resources the emulator keeps as plain stored objects (list/get/create/update/delete)."""

    defaults = {"name": "", "meta": {}, "tags": []}
    has_acl_fields = False

    def prepare(self, account: Account, values: dict) -> dict:
        obj = super().prepare(account, values)
        for key, value in values.items():
            if key not in obj and key not in ("uuid", "resource_uri", "owner"):
                obj[key] = copy.deepcopy(value)
        return self.complete(account, obj)

    def check_update(self, account: Account, obj: dict, values: dict) -> dict:
        changes = super().check_update(account, obj, values)
        for key, value in values.items():
            if key not in changes and key not in ("uuid", "resource_uri", "owner", "jobs"):
                changes[key] = copy.deepcopy(value)
        return changes


def generic(name: str, **attributes: Any) -> type[Generic]:
    """A :class:`Generic` collection served at ``/<name>/``."""
    return type(name.capitalize(), (Generic,), dict(attributes, name=name))


class Aggregate(Protocol):
    """What a collection uses of the aggregate that holds it (implemented by
    :class:`cloudsigma.emulator.backend.Backend`): the other collections, the accounts,
    sharing, tagging, events, audit, drive images, uploads and status transitions."""

    collections: dict[str, Collection]
    accounts: dict[str, Account]
    schemas: dict
    seed: dict
    capabilities: dict
    library: dict[str, dict]
    images: dict[str, DriveImage]
    uploads: dict[str, UploadProgress]
    origins: dict[str, dict]
    transitions: Transitions
    clock: Clock
    metering: Any
    tunnels: Tunnels
    has_acls: bool
    vrouter_style: str
    guests_answer_acpi: bool
    default_cpu_type: str
    features: dict[str, bool]
    base_url: str
    direct_url: str
    host: str

    def next_id(self) -> int: ...
    def dynamic_ip(self) -> str: ...
    def register(self, resource: str, uuid: str, account: Account) -> None: ...
    def unregister(self, resource: str, uuid: str) -> None: ...
    def owner_of(self, resource: str, uuid: str) -> Account | None: ...
    def emit(
        self, account: Account, resource: str, obj: dict | None, deleted: bool = False
    ) -> None: ...
    def audit(
        self,
        account: Account,
        collection: Collection,
        obj: dict,
        action: str,
        details: Any,
        error: ApiError | None = None,
    ) -> None: ...
    def set_status(self, account: Account, resource: str, obj: dict, status: str) -> None: ...
    def settle(
        self,
        account: Account,
        resource: str,
        obj: dict,
        target: str | Callable[[], str],
        apply: Callable[[], None] | None = None,
        factor: float = 1.0,
    ) -> int: ...
    def tag_refs(self, account: Account, values: Any) -> list[dict]: ...
    def retag(self, account: Account, resource: str, obj: dict, tags: list[dict]) -> None: ...
    def tagged_ref(self, account: Account, resource: str, uuid: str) -> dict: ...
    def untag_everywhere(self, account: Account, uuid: str) -> None: ...
    def acl_permissions(self, viewer: Account, owner: Account, obj: dict) -> set[str]: ...
    def grantees(self, owner: Account, obj: dict, permissions: Iterable[str]) -> list[dict]: ...
    def image(self, drive_uuid: str, size: int) -> DriveImage: ...
    def drop_image(self, drive_uuid: str) -> None: ...
    def start_upload(self, drive: dict) -> UploadProgress: ...
    def forget_upload(self, drive_uuid: str) -> None: ...
    def upload_link(self, account: Account, drive: dict, body: dict) -> dict: ...

"""Per-account singletons (profile, balance, capabilities...), locations, notifications and the
thinner resource families (backup schedulers, pools, backfilling servers)."""

from __future__ import annotations

import copy
import re
from typing import Any

from . import fields
from .backend import Account, Collection, SimpleCollection, new_uuid
from .billing import current_usage
from .errors import ApiError, permission, validation

BACKUP_TYPES = ("snapshot", "backup", "dr", "migration")
CLONE_NAMING = ("NONE", "COUNTER", "DATE", "TIMESTAMP")
PROFILE_READONLY = (
    "uuid",
    "email",
    "state",
    "currency",
    "bank_reference",
    "tax_name",
    "tax_rate",
    "network_restrictions",
)


class Singleton(Collection):
    """A resource without uuid: ``GET``/``PUT`` on ``/<name>/``."""

    methods = frozenset({"get"})

    def read(self, account: Account) -> Any:
        raise NotImplementedError

    def write(self, account: Account, values: Any) -> tuple[int, Any]:
        raise ApiError(405, "validation", f"/{self.name}/ cannot be changed")


class Profile(Singleton):
    name = "profile"
    methods = frozenset({"get", "update"})

    def read(self, account: Account) -> dict:
        return account.profile

    def write(self, account: Account, values: Any) -> tuple[int, dict]:
        if not isinstance(values, dict):
            raise validation("the profile must be an object")
        changes = {}
        for key, value in values.items():
            if key in PROFILE_READONLY or key not in account.profile and key != "meta":
                continue
            if key == "clone_naming":
                changes[key] = fields.choice(values, key, CLONE_NAMING)
            elif key == "meta":
                changes[key] = fields.meta(values)
            elif isinstance(account.profile[key], bool):
                changes[key] = fields.boolean(values, key)
            elif value is None or isinstance(value, str):
                changes[key] = fields.text(values, key, None)
            elif isinstance(value, int | float) and not isinstance(account.profile[key], str):
                changes[key] = str(value) if isinstance(value, float) else value
            else:
                raise validation(f"{key} must be a string", key)
        account.profile.update(changes)
        self.backend.emit(
            account, "profile", dict(account.profile, resource_uri="/api/2.0/profile/")
        )
        return 200, account.profile


class Balance(Singleton):
    name = "balance"

    def read(self, account: Account) -> dict:
        return account.balance


class Capabilities(Singleton):
    name = "capabilities"

    def read(self, account: Account) -> dict:
        return self.backend.capabilities


class CurrentUsage(Singleton):
    name = "currentusage"

    def read(self, account: Account) -> dict:
        return current_usage(self.backend, account)


class GlobalContext(Singleton):
    """``/global_context/``: a POSTed dict replaces the old one."""

    name = "global_context"
    methods = frozenset({"get", "update", "create"})

    def read(self, account: Account) -> dict:
        return account.global_context

    def write(self, account: Account, values: Any) -> tuple[int, dict]:
        if not isinstance(values, dict):
            raise validation("the global context must be an object")
        account.global_context = copy.deepcopy(values)
        return 200, account.global_context


class Locations(Collection):
    """``/locations/``: one location, this emulator."""

    name = "locations"
    methods = frozenset({"list", "get"})

    def store(self, account: Account | None) -> dict[str, dict]:
        base = self.backend.base_url
        ws = base.replace("http", "ws", 1)
        location = {
            "id": "EMU",
            "display_name": "Local emulator",
            "country_code": "CH",
            "api_endpoint": f"{base}/api/2.0/",
            "upload_url": f"{base}/api/2.0/",
            "websocket_url": f"{ws}/websocket",
            "default_frontend_url": f"{base}/ui/",
            "alternative_frontend_url": f"{base}/ui/",
            "default_frontend_signup_url": f"{base}/ui/",
            "documentation_url": "https://docs.cloudsigma.com",
        }
        return {"EMU": location}


class NotificationContacts(SimpleCollection):
    """``/notification_contacts/``: the main contact (the account email) cannot be deleted."""

    name = "notification_contacts"
    defaults = {"name": "", "email": None, "phone": None}
    has_owner = False

    def seed_account(self, account: Account) -> None:
        contact = self.prepare(account, {"name": account.email, "email": account.email}, {})
        contact["main"] = True
        self.commit(account, contact)

    def complete(self, account: Account, contact: dict) -> dict:
        contact["phone"] = self.normalise_phone(contact["phone"])
        contact.setdefault("main", None)
        return contact

    @staticmethod
    def normalise_phone(phone: str | None) -> str | None:
        if not phone:
            return phone
        digits = re.sub(r"[^\d]", "", phone)
        if not digits:
            raise validation(f"phone {phone!r} has no digits", "phone")
        return "+" + digits

    def check_update(self, account: Account, contact: dict, values: dict) -> dict:
        changes = super().check_update(account, contact, values)
        if "phone" in changes:
            changes["phone"] = self.normalise_phone(changes["phone"])
        return changes

    def update(self, account: Account, uuid: str, values: dict) -> dict:
        # The recorded PUT answer also carries the primary key.
        return dict(super().update(account, uuid, values), pk=uuid)

    def check_delete(self, account: Account, contact: dict, query: dict) -> None:
        if contact.get("main"):
            raise permission("the main notification contact cannot be deleted")


class NotificationPreferences(Collection):
    """``/notification_preferences/``: one flag per contact, medium and type."""

    name = "notification_preferences"
    methods = frozenset({"list"})

    def seed_account(self, account: Account) -> None:
        contact = next(iter(account.objects["notification_contacts"].values()))
        for medium, kind, value in self.backend.seed["notification_preference_types"]:
            key = f"{contact['uuid']}/{medium}/{kind}"
            self.store(account)[key] = {
                "contact": contact["resource_uri"],
                "medium": medium,
                "type": kind,
                "value": value,
            }

    def write(self, account: Account, values: Any) -> tuple[int, dict]:
        items = values if isinstance(values, list) else [values]
        checked = []
        for item in items:
            if not isinstance(item, dict):
                raise validation("each preference must be an object")
            contact = fields.text(item, "contact")
            uuid = [p for p in contact.split("/") if p][-1] if contact else ""
            found = self.backend.collections["notification_contacts"].find(account, uuid)
            key = (
                f"{found['uuid']}/{fields.choice(item, 'medium', ('email', 'sms'))}/"
                f"{fields.text(item, 'type')}"
            )
            if key not in self.store(account):
                raise validation(f"unknown notification type {item['type']!r}", "type")
            checked.append((key, fields.boolean(item, "value")))
        for key, value in checked:
            self.store(account)[key]["value"] = value
        return 202, {"objects": [self.store(account)[key] for key, _ in checked]}


class Generic(SimpleCollection):
    """Resources the emulator keeps as plain stored objects (list/get/create/update/delete)."""

    defaults = {"name": "", "meta": {}, "tags": []}
    has_acl_fields = False

    def prepare(self, account: Account, values: dict, query: dict) -> dict:
        obj = super().prepare(account, values, query)
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

    def prepare(self, account: Account, values: dict, query: dict) -> dict:
        fields.choice(values, "type", BACKUP_TYPES)
        return super().prepare(account, values, query)


def generic(name: str, **attributes: Any) -> type[Generic]:
    return type(name.capitalize(), (Generic,), dict(attributes, name=name))


class BServers(Collection):
    """``/bservers/``: backfilling servers need a feature this emulator does not offer."""

    name = "bservers"
    methods = frozenset({"list", "get", "create", "update", "delete"})

    def listing(self, account: Account, query: dict) -> list[dict]:
        raise permission("backfilling servers are not enabled for this account")

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        raise permission("backfilling servers are not enabled for this account")

    def prepare(self, account: Account, values: dict, query: dict) -> dict:
        raise permission("backfilling servers are not enabled for this account")


__all__ = ["BServers", "new_uuid", "generic"]

"""Notification contacts and the per-contact notification preferences."""

from __future__ import annotations

import re
from typing import Any

from . import fields
from .errors import permission, validation
from .kernel import Account, Collection, SimpleCollection


class NotificationContacts(SimpleCollection):
    """``/notification_contacts/``: the main contact (the account email) cannot be deleted."""

    name = "notification_contacts"
    defaults = {"name": "", "email": None, "phone": None}
    has_owner = False

    def seed_account(self, account: Account) -> None:
        contact = self.prepare(account, {"name": account.email, "email": account.email})
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

    def check_delete(self, account: Account, contact: dict) -> None:
        if contact.get("main"):
            raise permission("the main notification contact cannot be deleted")


class NotificationPreferences(Collection):
    """``/notification_preferences/``: one flag per contact, medium and type."""

    name = "notification_preferences"
    operations = {"list": 200, "write": 202}

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

    def write(self, account: Account, values: Any) -> dict:
        """PUT one preference or a list: each names its contact, medium and type."""
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
        return {"objects": [self.store(account)[key] for key, _ in checked]}

"""The singletons: the account's profile, balance, current usage and global context, and the
cloud's capabilities and status."""

from __future__ import annotations

import copy
from typing import Any

from . import fields
from .billing import current_usage
from .errors import validation
from .kernel import Account, Singleton, schema_field

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


class Profile(Singleton):
    name = "profile"
    operations = {"read": 200, "write": 200}

    def read(self, account: Account) -> dict:
        return account.profile

    def write(self, account: Account, values: Any) -> dict:
        """Change the writable keys sent; read-only and unknown keys are ignored."""
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
        return account.profile


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
    operations = {"read": 200, "write": 200, "replace": 200}

    def read(self, account: Account) -> dict:
        return account.global_context

    def write(self, account: Account, values: Any) -> dict:
        if not isinstance(values, dict):
            raise validation("the global context must be an object")
        account.global_context = copy.deepcopy(values)
        return account.global_context


#: The resources whose presence ``/cloud_status/`` reports, by flag.
CLOUD_FEATURES = {
    "host_availability_zones": "hostavailabilityzones",
    "remote_snapshots": "remotesnapshots",
    "vmware": "vmware_servers",
    "vpc": "vpc",
}


class CloudStatus(Singleton):
    """``/cloud_status/``: one bare object of flags saying what this cloud offers the caller
    (ADDENDUM section 1). A feature flag is true when the emulator serves its resources; the
    caller is an account, not a guest; nobody is on a trial, signing up is open, and there is
    no free tier, single sign-on or PaaS (the UNSURE choices are listed in docs/emulator.md).
    """

    name = "cloud_status"
    #: Set to ``frozenset({"read"})`` to answer visitors without credentials too (as guests).
    anonymous: frozenset[str] = frozenset()

    def read(self, account: Account | None) -> dict:
        """The flags as ``account`` sees them (``None``: a visitor without credentials)."""
        status: dict[str, Any] = {
            flag: resource in self.backend.collections and self.backend.features.get(flag, True)
            for flag, resource in CLOUD_FEATURES.items()
        }
        status.update(
            free_tier={"dssd": 0, "mem": 0},
            free_tier_monthly={"tx": 0},
            guest=account is None,
            paas=[],
            signup=True,
            sso=[],
            trial=False,
        )
        return dict(sorted(status.items()))

    def schema_fields(self) -> dict:
        return {key: schema_field(value, readonly=True) for key, value in self.read(None).items()}

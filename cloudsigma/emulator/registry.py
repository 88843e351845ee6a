"""The table of collections the emulated API serves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .account import (
    BackupSchedulers,
    Balance,
    BServers,
    Capabilities,
    CurrentUsage,
    GlobalContext,
    Locations,
    NotificationContacts,
    NotificationPreferences,
    Profile,
    generic,
)
from .backend import Collection
from .billing import (
    Discount,
    Groupedsubscriptions,
    Ledger,
    Licenses,
    Logs,
    Pricing,
    SubscriptionCalculator,
    Subscriptions,
    Usage,
    UsageSamples,
)
from .drives import Drives, DriveUsers, InitUpload, Jobs, LibDrives
from .network import Acls, FirewallPolicies, Ips, Keypairs, Pubkeys, Tags, Vlans
from .servers import Servers
from .snapshots import RemoteSnapshots, Snapshots
from .vrouters import PARTS, VirtualRouters

if TYPE_CHECKING:
    from .backend import Backend

COLLECTIONS: tuple[type[Collection], ...] = (
    Drives,
    LibDrives,
    InitUpload,
    Jobs,
    DriveUsers,
    Servers,
    Snapshots,
    RemoteSnapshots,
    Tags,
    Acls,
    Keypairs,
    Pubkeys,
    FirewallPolicies,
    Ips,
    Vlans,
    Subscriptions,
    SubscriptionCalculator,
    Groupedsubscriptions,
    Pricing,
    Discount,
    Licenses,
    Ledger,
    Logs,
    Profile,
    Balance,
    Capabilities,
    CurrentUsage,
    GlobalContext,
    Locations,
    NotificationContacts,
    NotificationPreferences,
    BServers,
    UsageSamples,
    type("BurstUsage", (Usage,), {"name": "burstusage"}),
    type("DailyBurstUsage", (Usage,), {"name": "dailyburstusage"}),
    BackupSchedulers,
    generic("hostallocationpools"),
    generic("hostavailabilityzones"),
    generic("nodes"),
    generic("vpc"),
    generic("vmware_servers", methods=frozenset({"list", "get"})),
    VirtualRouters,
    *PARTS,
)


def build_collections(backend: Backend) -> dict[str, Collection]:
    """Instantiate every collection for ``backend``, keyed by URL name."""
    return {cls.name: cls(backend) for cls in COLLECTIONS}

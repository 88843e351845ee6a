"""The table of collections the emulated API serves."""

from __future__ import annotations

from .models.billing import (
    BurstUsage,
    DailyBurstUsage,
    Discount,
    Groupedsubscriptions,
    Ledger,
    Licenses,
    Logs,
    Pricing,
    SubscriptionCalculator,
    Subscriptions,
    UsageSamples,
)
from .models.drives import Drives, DriveUsers, InitUpload, Jobs, LibDrives
from .models.hosts import BServers, Locations, VmwareServers
from .models.kernel import Aggregate, Collection
from .models.network import Acls, FirewallPolicies, Ips, Keypairs, Pubkeys, Tags, Vlans
from .models.notifications import NotificationContacts, NotificationPreferences
from .models.servers import Servers
from .models.singletons import (
    Balance,
    Capabilities,
    CloudStatus,
    CurrentUsage,
    GlobalContext,
    Profile,
)
from .models.snapshots import BackupSchedulers, RemoteSnapshots, Snapshots
from .models.vpc import HostAllocationPools, HostAvailabilityZones, Nodes, Vpcs
from .models.vrouters import PARTS, VirtualRouters

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
    CloudStatus,
    Locations,
    NotificationContacts,
    NotificationPreferences,
    BServers,
    UsageSamples,
    BurstUsage,
    DailyBurstUsage,
    BackupSchedulers,
    HostAllocationPools,
    HostAvailabilityZones,
    Nodes,
    Vpcs,
    VmwareServers,
    VirtualRouters,
    *PARTS,
)


def build_collections(backend: Aggregate) -> dict[str, Collection]:
    """Instantiate every collection for ``backend``, keyed by URL name."""
    return {cls.name: cls(backend) for cls in COLLECTIONS}

"""Typed views of the API's main payloads, for editors and type checkers.

The SDK returns plain dicts; these ``TypedDict`` classes describe them, so that
``drive: DriveDict = Drive().get(uuid)`` completes ``drive["status"]`` and checks the key
names. Every key is optional (``total=False``): a short listing, ``fields=`` or an older
API version returns fewer keys. Nothing here changes what is sent or returned.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "DriveDict",
    "IpConfDict",
    "KeypairDict",
    "NicDict",
    "Ref",
    "ServerDict",
    "ServerDriveDict",
    "SnapshotDict",
]

DriveStatus = Literal[
    "creating",
    "unmounted",
    "mounted",
    "resizing",
    "cloning_src",
    "cloning_dst",
    "uploading",
    "unavailable",
]
ServerStatus = Literal["stopped", "starting", "running", "stopping", "paused", "unavailable"]


class Ref(TypedDict, total=False):
    """A reference to another object, as the API writes it."""

    resource_uri: str
    uuid: str


class DriveDict(TypedDict, total=False):
    """A drive (``/drives/``)."""

    uuid: str
    resource_uri: str
    name: str
    size: int
    media: Literal["disk", "cdrom"]
    status: DriveStatus
    storage_type: str
    allow_multimount: bool
    affinities: list[str]
    meta: dict[str, str]
    tags: list[Ref]
    owner: Ref | None
    mounted_on: list[Ref]
    jobs: list[Ref]
    licenses: list[dict[str, Any]]
    snapshots: list[Ref]
    remote_snapshots: list[Ref]
    backup_scheduler: Ref | None
    runtime: dict[str, Any]
    iops: int
    grantees: list[Any]
    permissions: list[str]


class IpConfDict(TypedDict, total=False):
    """``ip_v4_conf`` / ``ip_v6_conf`` of a NIC."""

    conf: Literal["dhcp", "static", "manual"]
    ip: Ref | str | None


class NicDict(TypedDict, total=False):
    """A server NIC: public (``ip_v4_conf``) or private (``vlan``)."""

    mac: str
    model: Literal["virtio", "e1000", "rtl8139"]
    boot_order: int | None
    ip_v4_conf: IpConfDict | None
    ip_v6_conf: IpConfDict | None
    vlan: Ref | str | None
    firewall_policy: Ref | str | None
    runtime: dict[str, Any] | None


class ServerDriveDict(TypedDict, total=False):
    """A drive attached to a server."""

    drive: Ref | str
    dev_channel: str
    device: Literal["virtio", "ide"]
    boot_order: int | None
    runtime: dict[str, Any] | None


class ServerDict(TypedDict, total=False):
    """A server (``/servers/``)."""

    uuid: str
    resource_uri: str
    name: str
    cpu: int
    mem: int
    smp: int
    vnc_password: str
    status: ServerStatus
    cpu_type: str
    cpu_model: str
    cpus_instead_of_cores: bool
    enable_numa: bool
    hypervisor: str
    hv_relaxed: bool
    hv_tsc: bool
    is_grey: bool
    auto_start: bool
    context: bool
    allocation_pool: str | None
    drives: list[ServerDriveDict]
    nics: list[NicDict]
    pubkeys: list[Ref | str]
    gpus: list[dict[str, Any]]
    epcs: list[dict[str, Any]]
    requirements: list[str]
    meta: dict[str, str]
    tags: list[Ref]
    owner: Ref | None
    jobs: list[Ref]
    runtime: dict[str, Any] | None
    grantees: list[Any]
    permissions: list[str]


class SnapshotDict(TypedDict, total=False):
    """A snapshot (``/snapshots/``; remote snapshots add ``location`` and ``drive_meta``)."""

    uuid: str
    resource_uri: str
    name: str
    drive: Ref | str | None
    status: Literal["creating", "available", "transferring"]
    timestamp: str
    allocated_size: int
    meta: dict[str, str]
    tags: list[Ref]
    owner: Ref | None
    grantees: list[Any]
    permissions: list[str]


class KeypairDict(TypedDict, total=False):
    """An SSH keypair (``/keypairs/``; ``/pubkeys/`` has ``has_private_key`` instead of the key)."""

    uuid: str
    resource_uri: str
    name: str
    public_key: str
    private_key: str | None
    has_private_key: bool
    fingerprint: str
    algorithm_type: Literal["rsa", "ed25519"]
    meta: dict[str, str]
    tags: list[Ref]
    grantees: list[Any]
    permissions: list[str]

"""The resource commands: ``list``, ``get``, ``create``, ``update`` and ``delete``.

Each collection is described by a :class:`ResourceSpec` (data, not code): its SDK class, its
table columns, the verbs the API offers and the flags that build a create body.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudsigma.cli import values
from cloudsigma.cli.output import Column, human_size, ref_uuid
from cloudsigma.cli.parsing import Handler, ParserKit, add_wait_options
from cloudsigma.cli.session import Session

__all__ = ["RESOURCES", "CreateFlag", "ResourceSpec", "UsageError", "add_crud_commands"]

CRUD_VERBS = ("list", "get", "create", "update", "delete")


class UsageError(Exception):
    """The command line is incomplete or contradictory (exit status 2)."""


@dataclass(frozen=True)
class CreateFlag:
    """A ``create`` option that sets one key of the request body."""

    flag: str
    key: str
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    required: bool = False
    default: Any = None
    metavar: str | None = None


@dataclass(frozen=True)
class ResourceSpec:
    """How the command line presents one API collection."""

    name: str
    class_name: str
    singular: str
    columns: tuple[Column, ...]
    verbs: tuple[str, ...] = CRUD_VERBS
    create_flags: tuple[CreateFlag, ...] = ()
    #: the plain list omits columns of the table, so the table is filled from ``detail/``
    list_is_sparse: bool = False
    key: str = "uuid"
    #: the steady status a new object reaches, for ``create --wait``
    ready_status: str | None = None
    note: str = ""
    examples: tuple[str, ...] = field(default_factory=tuple)


def _mhz(value: Any) -> str:
    return f"{value} MHz"


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, list) else str(value)


def _random_vnc_password() -> str:
    return secrets.token_urlsafe(9)


UUID = Column("UUID", "uuid")
NAME = Column("NAME", "name")
STATUS = Column("STATUS", "status")

RESOURCES: dict[str, ResourceSpec] = {
    spec.name: spec
    for spec in (
        ResourceSpec(
            name="drives",
            class_name="Drive",
            singular="drive",
            columns=(
                UUID,
                NAME,
                STATUS,
                Column("SIZE", "size", human_size),
                Column("MEDIA", "media"),
                Column("STORAGE", "storage_type"),
                Column("MOUNTED ON", "mounted_on", ref_uuid),
            ),
            list_is_sparse=True,
            ready_status="unmounted",
            create_flags=(
                CreateFlag("--name", "name", "drive name", required=True),
                CreateFlag(
                    "--size",
                    "size",
                    "size in bytes or with a unit: 10G, 512M",
                    type=values.size,
                    required=True,
                ),
                CreateFlag(
                    "--media", "media", "disk or cdrom", choices=("disk", "cdrom"), default="disk"
                ),
                CreateFlag(
                    "--storage-type",
                    "storage_type",
                    "dssd, nvme, zadara... (the account's default when left out)",
                ),
            ),
            examples=(
                "cloudsigma drives list --filter name__contains=web",
                "cloudsigma drives create --name data --size 10G --wait",
                "cloudsigma drives update UUID --name data2 --meta purpose=backup",
                "cloudsigma drives clone UUID --name copy --wait",
                "cloudsigma drives resize UUID 20G",
                "cloudsigma drives upload disk.img --name my-image",
                "cloudsigma drives download UUID disk.img",
            ),
        ),
        ResourceSpec(
            name="servers",
            class_name="Server",
            singular="server",
            columns=(
                UUID,
                NAME,
                STATUS,
                Column("CPU", "cpu", _mhz),
                Column("SMP", "smp"),
                Column("MEM", "mem", human_size),
                Column("DRIVES", "drives", _count),
            ),
            list_is_sparse=True,
            create_flags=(
                CreateFlag("--name", "name", "server name", required=True),
                CreateFlag("--cpu", "cpu", "CPU in MHz", type=int, required=True, metavar="MHZ"),
                CreateFlag("--mem", "mem", "memory: 1G, 512M", type=values.size, required=True),
                CreateFlag(
                    "--vnc-password",
                    "vnc_password",
                    "VNC password (a random one when left out)",
                    default=_random_vnc_password,
                ),
            ),
            examples=(
                "cloudsigma servers create --name web --cpu 2000 --mem 2G",
                "cloudsigma servers start UUID --wait",
                "cloudsigma servers open-vnc UUID",
                "cloudsigma servers delete UUID --recurse all_drives --wait",
            ),
        ),
        ResourceSpec(
            name="snapshots",
            class_name="Snapshot",
            singular="snapshot",
            columns=(
                UUID,
                NAME,
                STATUS,
                Column("DRIVE", "drive", ref_uuid),
                Column("ALLOCATED", "allocated_size", human_size),
                Column("TIMESTAMP", "timestamp"),
            ),
            ready_status="available",
            create_flags=(
                CreateFlag("--drive", "drive", "uuid of the drive", required=True, metavar="UUID"),
                CreateFlag("--name", "name", "snapshot name"),
            ),
            examples=(
                "cloudsigma snapshots create --drive DRIVE_UUID --name nightly --wait",
                "cloudsigma snapshots list --filter drive=DRIVE_UUID",
            ),
        ),
        ResourceSpec(
            name="libdrives",
            class_name="LibDrive",
            singular="library drive",
            columns=(
                UUID,
                NAME,
                Column("OS", "os"),
                Column("VERSION", "version"),
                Column("ARCH", "arch"),
                Column("MEDIA", "media"),
                Column("SIZE", "size", human_size),
            ),
            verbs=("list", "get"),
            note="The drives library is read-only: there is no create, update or delete.",
            examples=("cloudsigma libdrives list --filter os=linux --filter arch=64",),
        ),
        ResourceSpec(
            name="ips",
            class_name="IP",
            singular="IP",
            columns=(
                UUID,
                Column("SERVER", "server", ref_uuid),
                Column("NETMASK", "netmask"),
                Column("GATEWAY", "gateway"),
            ),
            verbs=("list", "get", "update"),
            list_is_sparse=True,
            note="IPs come with subscriptions: there is no create or delete.",
            examples=("cloudsigma ips update 185.12.6.183 --meta role=frontend",),
        ),
        ResourceSpec(
            name="vlans",
            class_name="VLAN",
            singular="VLAN",
            columns=(
                UUID,
                Column("NAME", "meta", lambda meta: str(meta.get("name", "-"))),
                Column("SERVERS", "servers", _count),
                Column("SUBSCRIPTION", "subscription", lambda sub: str(sub.get("id", "-"))),
            ),
            verbs=("list", "get", "update"),
            list_is_sparse=True,
            note="VLANs come with subscriptions: there is no create or delete.",
            examples=("cloudsigma vlans update UUID --meta name=backend",),
        ),
        ResourceSpec(
            name="tags",
            class_name="Tags",
            singular="tag",
            columns=(UUID, NAME, Column("RESOURCES", "resources", _count)),
            create_flags=(CreateFlag("--name", "name", "tag name", required=True),),
            examples=(
                "cloudsigma tags create --name production",
                'cloudsigma tags update UUID --data \'{"resources": ["DRIVE_UUID"]}\'',
            ),
        ),
        ResourceSpec(
            name="subscriptions",
            class_name="Subscriptions",
            singular="subscription",
            key="id",
            columns=(
                Column("ID", "id"),
                Column("RESOURCE", "resource"),
                Column("AMOUNT", "amount"),
                STATUS,
                Column("START", "start_time"),
                Column("END", "end_time"),
                Column("AUTO RENEW", "auto_renew"),
            ),
            verbs=("list", "get", "create"),
            create_flags=(
                CreateFlag("--resource", "resource", "cpu, mem, dssd, ip, vlan...", required=True),
                CreateFlag("--amount", "amount", "amount (MHz, bytes or a count)", required=True),
                CreateFlag("--period", "period", "duration, e.g. '1 month'"),
            ),
            note="Subscriptions cannot be changed or deleted once bought.",
            examples=(
                "cloudsigma subscriptions list --filter status=active",
                "cloudsigma subscriptions create --resource vlan --amount 1 --period '1 month'",
            ),
        ),
    )
}


# -- handlers -------------------------------------------------------------------------------


def _filters(pairs: list[tuple[str, str]] | None, limit: int | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in pairs or ():
        query.setdefault(key, []).append(value)
    query = {key: found[0] if len(found) == 1 else found for key, found in query.items()}
    if limit is not None:
        query["limit"] = limit
    return query


def cmd_list(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """List a collection: a table of its columns, or every field with ``--detail``."""
    api = session.resource(spec.class_name)
    query = _filters(args.filter, args.limit)
    full = args.detail or (spec.list_is_sparse and not session.json_output)
    objects = api.list_detail(query) if full else api.list(query)
    if args.detail and not session.json_output:
        session.show(objects)  # every field, one record per object
    else:
        session.show(objects, spec.columns)
    return 0


def cmd_get(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Show one object."""
    session.show(session.resource(spec.class_name).get(args.uuid))
    return 0


def cmd_create(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Create one object (or several from a JSON list); ``--wait`` until ready."""
    body = create_body(spec, args)
    api = session.resource(spec.class_name)
    created = api.create(body)
    if getattr(args, "wait", False) and spec.ready_status:
        objects = created if isinstance(created, list) else [created]
        ready = [
            api.wait_for_status(obj[spec.key], spec.ready_status, timeout=args.wait_timeout)
            for obj in objects
        ]
        created = ready if isinstance(created, list) else ready[0]
    session.show(created, spec.columns)
    return 0


def create_body(spec: ResourceSpec, args: argparse.Namespace) -> Any:
    """The create request body: ``--data``/``--file``, then the per-resource flags over it.

    :raises UsageError: when a required key is missing or flags meet a list body.
    """
    body = values.load_body(args.data, args.file)
    flagged = {flag.key: getattr(args, flag.key) for flag in spec.create_flags}
    flagged = {key: value for key, value in flagged.items() if value is not None}
    if isinstance(body, list):
        if flagged:
            raise UsageError("options such as --name cannot be combined with a list in --data")
        return body
    if not isinstance(body, dict):
        raise UsageError("--data/--file must hold a JSON object or a list of objects")
    body.update(flagged)
    for flag in spec.create_flags:
        if flag.key not in body and flag.default is not None:
            body[flag.key] = flag.default() if callable(flag.default) else flag.default
    missing = [flag.flag for flag in spec.create_flags if flag.required and flag.key not in body]
    if missing:
        raise UsageError(
            f"{spec.name} create needs {' and '.join(missing)} (or the whole body in --data/--file)"
        )
    return body


def cmd_update(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Change an object; ``--meta`` merges into the meta it has now."""
    body = values.load_body(args.data, args.file)
    if not isinstance(body, dict):
        raise UsageError("--data/--file must hold a JSON object for update")
    if args.name is not None:
        body["name"] = args.name
    api = session.resource(spec.class_name)
    if args.meta:
        # the API replaces meta wholesale, so merge into what the object has now
        meta = body.get("meta")
        if meta is None:
            meta = dict(api.get(args.uuid).get("meta") or {})
        meta.update(dict(args.meta))
        body["meta"] = meta
    if not body:
        raise UsageError("nothing to update: give --name, --meta, --data or --file")
    session.show(api.update(args.uuid, body))
    return 0


def cmd_delete(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Delete an object; ``--wait`` until the API answers 404 for it."""
    api = session.resource(spec.class_name)
    recurse = getattr(args, "recurse", None)
    if recurse:
        api.delete(args.uuid, recurse=recurse)
    else:
        api.delete(args.uuid)
    if args.wait:
        api.wait_deleted(args.uuid, timeout=args.wait_timeout)
    if session.json_output:
        session.show({spec.key: args.uuid, "deleted": True})
    else:
        state = "deleted" if args.wait else "deletion requested for"
        print(f"{state} {spec.singular} {args.uuid}")
    return 0


# -- parsers --------------------------------------------------------------------------------


def _add_body_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data", type=values.json_object, metavar="JSON", help="the request body as JSON"
    )
    source.add_argument(
        "--file", metavar="PATH", help="read the request body (JSON) from PATH ('-' = stdin)"
    )


def _bind(handler: Callable[..., int], spec: ResourceSpec) -> Handler:
    return lambda args, session: handler(spec, args, session)


def _add_list(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    parser = kit.add(
        verbs,
        "list",
        f"list {spec.name}",
        _bind(cmd_list, spec),
        examples=(
            f"cloudsigma {spec.name} list --limit 10",
            f"cloudsigma --json {spec.name} list --detail",
        ),
    )
    parser.add_argument("--detail", action="store_true", help="show every field of every object")
    parser.add_argument(
        "--filter",
        type=values.key_value,
        action="append",
        metavar="KEY=VALUE",
        help="API filter, repeatable (name=web, name__contains=db, tag=UUID)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="at most N objects")


def _add_get(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    key = spec.key.upper()
    parser = kit.add(
        verbs,
        "get",
        f"show one {spec.singular}",
        _bind(cmd_get, spec),
        examples=(f"cloudsigma {spec.name} get {key}",),
    )
    parser.add_argument("uuid", metavar=key)


def _add_create(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    required = " ".join(f"{flag.flag} ..." for flag in spec.create_flags if flag.required)
    parser = kit.add(
        verbs,
        "create",
        f"create a {spec.singular}",
        _bind(cmd_create, spec),
        examples=(
            f"cloudsigma {spec.name} create {required}",
            f"cloudsigma {spec.name} create --file {spec.singular.replace(' ', '_')}.json",
        ),
    )
    _add_body_options(parser)
    for flag in spec.create_flags:
        parser.add_argument(
            flag.flag,
            dest=flag.key,
            type=flag.type,
            choices=flag.choices,
            metavar=flag.metavar,
            help=flag.help,
        )
    if spec.ready_status:
        add_wait_options(parser, f"the {spec.singular} is {spec.ready_status}")


def _add_update(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    key = spec.key.upper()
    parser = kit.add(
        verbs,
        "update",
        f"change a {spec.singular}",
        _bind(cmd_update, spec),
        examples=(
            f"cloudsigma {spec.name} update {key} --meta owner=ops",
            f"cloudsigma {spec.name} update {key} --data '{{\"meta\": {{}}}}'",
        ),
    )
    parser.add_argument("uuid", metavar=key)
    _add_body_options(parser)
    parser.add_argument("--name", help="new name")
    parser.add_argument(
        "--meta",
        type=values.key_value,
        action="append",
        metavar="KEY=VALUE",
        help="set one meta key, keeping the others; repeatable",
    )


def _add_delete(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    key = spec.key.upper()
    parser = kit.add(
        verbs,
        "delete",
        f"delete a {spec.singular}",
        _bind(cmd_delete, spec),
        examples=(f"cloudsigma {spec.name} delete {key} --wait",),
    )
    parser.add_argument("uuid", metavar=key)
    if spec.name == "servers":
        parser.add_argument(
            "--recurse",
            choices=("all_drives", "disks", "cdroms"),
            help="also delete the attached drives of this kind",
        )
    add_wait_options(parser, f"the {spec.singular} is gone")


_VERB_PARSERS = {
    "list": _add_list,
    "get": _add_get,
    "create": _add_create,
    "update": _add_update,
    "delete": _add_delete,
}


def add_crud_commands(
    spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit
) -> None:
    """Add the ``list``/``get``/``create``/``update``/``delete`` parsers the API offers."""
    for verb in spec.verbs:
        _VERB_PARSERS[verb](spec, verbs, kit)

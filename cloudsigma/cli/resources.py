"""The generic verbs of every collection: ``list``, ``get``, ``create``, ``update``, ``delete``.

They are built from the collection's :class:`~cloudsigma.cli.specs.ResourceSpec`; objects are
named by uuid or by name (see :mod:`cloudsigma.cli.refs`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from cloudsigma.cli import values
from cloudsigma.cli.completion import ObjectNames
from cloudsigma.cli.parsing import Handler, ParserKit, add_wait_options
from cloudsigma.cli.refs import resolve, resolve_filter
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import CRUD_VERBS, RESOURCES, CreateFlag, ResourceSpec, UsageError

__all__ = [
    "CRUD_VERBS",
    "RESOURCES",
    "CreateFlag",
    "ResourceSpec",
    "UsageError",
    "add_body_options",
    "add_crud_commands",
    "add_reference",
]


# -- handlers -------------------------------------------------------------------------------


def _filters(
    session: Session, pairs: list[tuple[str, str]] | None, limit: int | None
) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key, value in pairs or ():
        query.setdefault(key, []).append(resolve_filter(session, key, value))
    query = {key: found[0] if len(found) == 1 else found for key, found in query.items()}
    if limit is not None:
        query["limit"] = limit
    return query


def cmd_list(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """List a collection: a table of its columns, or every field with ``--detail``.

    JSON and YAML carry the same objects as the table, with every field the API sent.
    """
    api = session.api(spec)
    query = _filters(session, args.filter, args.limit)
    objects = api.list_detail(query) if spec.list_is_sparse or args.detail else api.list(query)
    if args.detail and not (session.json_output or session.quiet):
        session.show(objects)  # every field, one record per object
    else:
        session.show_list(objects, spec)
    return 0


def cmd_get(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Show one object."""
    key = resolve(session, spec, args.ref)
    session.show_object(session.api(spec).get(key), spec)
    return 0


def cmd_create(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Create one object (or several from a JSON list); ``--wait`` until ready."""
    body = create_body(spec, args, session)
    api = session.api(spec)
    created = api.create(body)
    if getattr(args, "wait", False) and spec.ready_status:
        objects = created if isinstance(created, list) else [created]
        ready = [
            api.wait_for_status(obj[spec.key], spec.ready_status, timeout=args.wait_timeout)
            for obj in objects
        ]
        created = ready if isinstance(created, list) else ready[0]
    session.show(created, spec.columns, key=spec.key)
    return 0


def _flag_value(flag: CreateFlag, value: Any, session: Session) -> Any:
    """A flag's value as the body holds it: names resolved, each item wrapped."""

    def one(item: Any) -> Any:
        if flag.resolve:
            item = resolve(session, flag.resolve, item)
        return flag.wrap(item) if flag.wrap else item

    return [one(item) for item in value] if flag.repeat else one(value)


def create_body(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> Any:
    """The create request body: ``--data``/``--file``, then the per-resource flags over it.

    :raises UsageError: when a required key is missing or flags meet a list body.
    """
    body = values.load_body(args.data, args.file)
    flagged = {
        flag.key: _flag_value(flag, getattr(args, flag.key), session)
        for flag in spec.create_flags
        if getattr(args, flag.key) is not None
    }
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
    return spec.finish_body(body) if spec.finish_body else body


def cmd_update(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Change an object; ``--meta`` merges into the meta it has now."""
    key = resolve(session, spec, args.ref)
    body = values.load_body(args.data, args.file)
    if not isinstance(body, dict):
        raise UsageError("--data/--file must hold a JSON object for update")
    if args.name is not None:
        body["name"] = args.name
    api = session.api(spec)
    if args.meta:
        # the API replaces meta wholesale, so merge into what the object has now
        meta = body.get("meta")
        if meta is None:
            meta = dict(api.get(key).get("meta") or {})
        meta.update(dict(args.meta))
        body["meta"] = meta
    if not body:
        raise UsageError("nothing to update: give --name, --meta, --data or --file")
    session.show_object(api.update(key, body), spec)
    return 0


def cmd_delete(spec: ResourceSpec, args: argparse.Namespace, session: Session) -> int:
    """Delete an object; ``--wait`` until the API answers 404 for it."""
    key = resolve(session, spec, args.ref)
    api = session.api(spec)
    recurse = getattr(args, "recurse", None)
    if recurse:
        api.delete(key, recurse=recurse)
    else:
        api.delete(key)
    if args.wait:
        api.wait_deleted(key, timeout=args.wait_timeout)
    state = "deleted" if args.wait else "deletion requested for"
    session.say(f"{state} {spec.singular} {key}", {spec.key: key, "deleted": True})
    return 0


# -- parsers --------------------------------------------------------------------------------


def add_reference(
    parser: argparse.ArgumentParser,
    spec: ResourceSpec | str,
    dest: str = "ref",
    *,
    nargs: str | None = None,
    help_text: str | None = None,
) -> argparse.Action:
    """A positional argument naming an object of ``spec`` (uuid, or name where it has names)."""
    spec = RESOURCES[spec] if isinstance(spec, str) else spec
    default_help = f"the {spec.singular}: its {'uuid or name' if spec.named else spec.key_kind}"
    action = parser.add_argument(
        dest, metavar=spec.key_label, nargs=nargs, help=help_text or default_help
    )
    action.completer = ObjectNames((spec.name,))  # type: ignore[attr-defined]
    return action


def add_body_options(parser: argparse.ArgumentParser) -> None:
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
            f"cloudsigma {spec.name} list -o yaml",
            f"cloudsigma {spec.name} list -q",
        ),
    )
    parser.add_argument("--detail", action="store_true", help="show every field of every object")
    parser.add_argument(
        "--filter",
        type=values.key_value,
        action="append",
        metavar="KEY=VALUE",
        help="API filter, repeatable (name=web, name__contains=db, tag=NAME_OR_UUID)",
    )
    parser.add_argument("--limit", type=int, metavar="N", help="at most N objects")


def _add_get(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    example = "web" if spec.named else spec.key_label
    parser = kit.add(
        verbs,
        "get",
        f"show one {spec.singular}",
        _bind(cmd_get, spec),
        examples=(
            f"cloudsigma {spec.name} get {example}",
            f"cloudsigma {spec.name} get {example} -o yaml",
        ),
    )
    add_reference(parser, spec)


def _add_create(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    required = " ".join(f"{flag.flag} ..." for flag in spec.create_flags if flag.required)
    parser = kit.add(
        verbs,
        "create",
        f"create a {spec.singular}",
        _bind(cmd_create, spec),
        examples=(
            f"cloudsigma {spec.name} create {required}".rstrip(),
            f"cloudsigma {spec.name} create --file {spec.singular.replace(' ', '_')}.json",
        ),
    )
    add_body_options(parser)
    for flag in spec.create_flags:
        parser.add_argument(
            flag.flag,
            dest=flag.key,
            type=flag.type,
            choices=flag.choices,
            metavar=flag.metavar,
            help=flag.help,
            action="append" if flag.repeat else "store",
        )
    if spec.ready_status:
        add_wait_options(parser, f"the {spec.singular} is {spec.ready_status}")


def _add_update(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    key = spec.key_label
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
    add_reference(parser, spec)
    add_body_options(parser)
    parser.add_argument("--name", help="new name")
    parser.add_argument(
        "--meta",
        type=values.key_value,
        action="append",
        metavar="KEY=VALUE",
        help="set one meta key, keeping the others; repeatable",
    )


def _add_delete(spec: ResourceSpec, verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    parser = kit.add(
        verbs,
        "delete",
        f"delete a {spec.singular}",
        _bind(cmd_delete, spec),
        examples=(f"cloudsigma {spec.name} delete {spec.key_label} --wait",),
    )
    add_reference(parser, spec)
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

"""``tags add|remove TAG OBJECT...``: put objects under a tag, or take them out."""

from __future__ import annotations

import argparse
import functools
import ipaddress
from typing import Any

from cloudsigma.cli.completion import ObjectNames
from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.refs import check_reference, is_uuid, resolve
from cloudsigma.cli.resources import add_reference
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES, LookupFailed, NotFound

__all__ = ["TAGGABLE", "add_tag_commands"]

TAGS = RESOURCES["tags"]
#: Collections whose objects can carry tags; names are looked up in the named ones.
TAGGABLE = ("servers", "drives", "snapshots", "keypairs", "acls", "ips", "vlans", "vpc")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _object_uuid(session: Session, text: str, kinds: tuple[str, ...]) -> str:
    """The uuid of the object ``text`` names, looking its name up in the collections ``kinds``.

    :raises LookupFailed: when no collection, or more than one, has an object of that name.
    """
    check_reference(TAGS, text)
    if is_uuid(text) or _is_address(text):
        return text
    found: dict[str, str] = {}
    for kind in kinds:
        spec = RESOURCES[kind]
        if not spec.named:
            continue
        try:
            found[kind] = resolve(session, spec, text)
        except NotFound:
            continue
    if not found:
        raise LookupFailed(f"no {' or '.join(kinds)} object is named {text!r}")
    if len(found) > 1:
        named = ", ".join(f"{kind} {uuid}" for kind, uuid in found.items())
        raise LookupFailed(f"{text!r} names several objects: {named}; give a uuid or --kind")
    return next(iter(found.values()))


def _current_resources(tag: dict[str, Any]) -> list[str]:
    return [str(ref["uuid"]) for ref in tag.get("resources") or () if isinstance(ref, dict)]


def _change_tag(args: argparse.Namespace, session: Session, *, adding: bool) -> int:
    tags = session.api(TAGS)
    tag_uuid = resolve(session, TAGS, args.tag)
    kinds = (args.kind,) if args.kind else TAGGABLE
    wanted = [_object_uuid(session, text, kinds) for text in args.objects]
    current = _current_resources(tags.get(tag_uuid))
    if adding:
        resources = current + [uuid for uuid in dict.fromkeys(wanted) if uuid not in current]
    else:
        resources = [uuid for uuid in current if uuid not in wanted]
    session.show_object(tags.update(tag_uuid, {"resources": resources}), TAGS)
    return 0


def add_tag_commands(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``tags add TAG OBJECT...`` and ``tags remove TAG OBJECT...``."""
    for verb, adding, help_text in (
        ("add", True, "put objects under a tag (keeping those it has)"),
        ("remove", False, "take objects out of a tag"),
    ):
        parser = kit.add(
            verbs,
            verb,
            help_text,
            functools.partial(_change_tag, adding=adding),
            description=help_text[0].upper() + help_text[1:] + ". Objects are uuids, IP "
            "addresses or names (looked up among servers, drives, snapshots, keypairs and ACLs, "
            "or only in --kind).",
            examples=(
                f"cloudsigma tags {verb} production web data",
                f"cloudsigma tags {verb} production web --kind servers",
            ),
        )
        add_reference(parser, TAGS, "tag")
        objects = parser.add_argument("objects", nargs="+", metavar="OBJECT", help="uuid or name")
        objects.completer = ObjectNames(("servers", "drives", "snapshots"))  # type: ignore[attr-defined]
        parser.add_argument("--kind", choices=TAGGABLE, help="look names up only here")

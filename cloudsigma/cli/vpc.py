"""``vpc link-node|unlink-node VPC NODE``: put a dedicated host into a VPC, or take it out."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.refs import resolve
from cloudsigma.cli.resources import add_reference
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES, CommandFailed

__all__ = ["add_vpc_commands"]

VPC, NODES = RESOURCES["vpc"], RESOURCES["nodes"]


def _node_uuids(vpc: dict[str, Any]) -> list[str]:
    """The uuids of the VPC's nodes (references, or bare uuids as an older answer may hold)."""
    nodes = vpc.get("nodes") or ()
    return [str(node["uuid"] if isinstance(node, dict) else node) for node in nodes]


def _link(args: argparse.Namespace, session: Session, *, linking: bool) -> int:
    vpcs = session.api(VPC)
    vpc_uuid = resolve(session, VPC, args.vpc)
    node_uuid = resolve(session, NODES, args.node)
    vpc = vpcs.get(vpc_uuid)
    nodes = _node_uuids(vpc)
    if linking and node_uuid in nodes:
        raise CommandFailed(f"node {node_uuid} is already in VPC {vpc_uuid}")
    if not linking and node_uuid not in nodes:
        raise CommandFailed(f"node {node_uuid} is not in VPC {vpc_uuid}")
    nodes = [*nodes, node_uuid] if linking else [uuid for uuid in nodes if uuid != node_uuid]
    # the API keeps what a PUT leaves out, and takes name and description with the nodes
    body = {"name": vpc.get("name"), "description": vpc.get("description"), "nodes": nodes}
    session.show_object(vpcs.update(vpc_uuid, body), VPC)
    return 0


def add_vpc_commands(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``vpc link-node VPC NODE`` and ``vpc unlink-node VPC NODE``."""
    for verb, linking, help_text in (
        ("link-node", True, "put a dedicated host (node) into a VPC"),
        ("unlink-node", False, "take a dedicated host (node) out of a VPC"),
    ):
        parser = kit.add(
            verbs,
            verb,
            help_text,
            functools.partial(_link, linking=linking),
            examples=(f"cloudsigma vpc {verb} my-vpc NODE_UUID",),
        )
        add_reference(parser, VPC, "vpc")
        add_reference(parser, NODES, "node")

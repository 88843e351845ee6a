"""``keypairs create`` (the API generates the pair) and ``keypairs import`` (your own key)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES, CommandFailed

__all__ = ["add_keypair_commands", "write_private_key"]

KEYPAIRS = RESOURCES["keypairs"]


def write_private_key(path: str, private_key: str) -> None:
    """Write a private key to a new file that only its owner may read (mode 600).

    :raises CommandFailed: when the file exists already (a key is never overwritten).
    """
    path = os.path.expanduser(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandFailed(f"{path} exists already; choose another --private-key-file")
    with os.fdopen(fd, "w", encoding="utf-8") as key_file:
        key_file.write(private_key if private_key.endswith("\n") else private_key + "\n")


def _generate(args: argparse.Namespace, session: Session) -> int:
    if args.private_key_file and os.path.exists(os.path.expanduser(args.private_key_file)):
        raise CommandFailed(f"{args.private_key_file} exists already; choose another file")
    keypair: dict[str, Any] = session.api(KEYPAIRS).generate(args.name, args.algorithm)
    if args.private_key_file and keypair.get("private_key"):
        write_private_key(args.private_key_file, keypair["private_key"])
    session.show_object(keypair, KEYPAIRS)
    return 0


def _read_text(path: str, what: str) -> str:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as key_file:
            return key_file.read().strip()
    except OSError as exc:
        raise CommandFailed(f"cannot read the {what} {path}: {exc.strerror}")


def _import(args: argparse.Namespace, session: Session) -> int:
    body = {"name": args.name, "public_key": _read_text(args.public_key_file, "public key")}
    if args.private_key_file:
        body["private_key"] = _read_text(args.private_key_file, "private key")
    session.show_object(session.api(KEYPAIRS).create(body), KEYPAIRS)
    return 0


def add_keypair_commands(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``keypairs create NAME`` and ``keypairs import NAME PUBLIC_KEY_FILE``."""
    create = kit.add(
        verbs,
        "create",
        "have the API generate a keypair",
        _generate,
        description="Have the API generate an SSH keypair. The private key is shown masked "
        "(see it with --show-secrets or -o json) unless saved with --private-key-file.",
        examples=(
            "cloudsigma keypairs create --name laptop --private-key-file ~/.ssh/cloudsigma",
            "cloudsigma keypairs create --name ci --algorithm rsa -o json",
        ),
    )
    create.add_argument("--name", required=True, help="keypair name")
    create.add_argument(
        "--algorithm", choices=("ed25519", "rsa"), default="ed25519", help="(default: ed25519)"
    )
    create.add_argument(
        "--private-key-file", metavar="PATH", help="save the private key here (mode 600)"
    )

    imported = kit.add(
        verbs,
        "import",
        "store your own public key (and, if you like, its private key)",
        _import,
        examples=("cloudsigma keypairs import laptop ~/.ssh/id_ed25519.pub",),
    )
    imported.add_argument("name", metavar="NAME", help="keypair name")
    imported.add_argument("public_key_file", metavar="PUBLIC_KEY_FILE", help="an OpenSSH .pub file")
    imported.add_argument(
        "--private-key-file", metavar="PATH", help="also store this private key in the account"
    )

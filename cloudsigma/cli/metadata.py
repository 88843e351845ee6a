"""``cloudsigma metadata``: read the server context from inside a VM, over its serial port."""

from __future__ import annotations

import argparse

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.session import Session

__all__ = ["add_metadata_command"]


def _read_metadata(args: argparse.Namespace, session: Session) -> int:
    from cloudsigma import metadata

    options = {"timeout": session.http_timeout} if session.http_timeout is not None else {}
    value = metadata.GetServerMetadata(device=args.device, **options).get(args.path or None)
    if session.json_output or isinstance(value, dict | list):
        session.show(value)
    else:
        print("" if value is None else value)
    return 0


def add_metadata_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``metadata [PATH] [--device DEVICE]``."""
    parser = kit.add(
        commands,
        "metadata",
        "read this VM's server context (inside a CloudSigma VM)",
        _read_metadata,
        description="Read the server context the way a VM does, over its second serial port. "
        "PATH picks one value: keys and list indexes joined by '/'. Needs no credentials, "
        "but read access to the port (root or the dialout group). --timeout bounds the wait for "
        "the answer.",
        examples=(
            "cloudsigma metadata",
            "cloudsigma metadata /meta/ssh_public_key",
            "cloudsigma metadata /nics/0/mac --device /dev/ttyS1 --timeout 5",
        ),
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="e.g. name, /meta/ssh_public_key")
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        help="serial device (default: CLOUDSIGMA_SERIAL_DEVICE, else /dev/ttyS1 or COM2)",
    )

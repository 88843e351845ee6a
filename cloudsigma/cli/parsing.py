"""Building blocks of the argument parser shared by every command module."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Handler", "ParserKit", "add_wait_options"]

#: A command: takes the parsed arguments and the session, returns the exit status.
Handler = Callable[[argparse.Namespace, Any], int]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of the examples in the epilogs."""


@dataclass(frozen=True)
class ParserKit:
    """What every command parser shares: the global options it repeats, and the formatter."""

    common: argparse.ArgumentParser
    formatter: type[argparse.HelpFormatter] = HelpFormatter

    def add(
        self,
        subparsers: argparse._SubParsersAction,
        name: str,
        help_text: str,
        handler: Handler,
        *,
        examples: Sequence[str] = (),
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        """Add the command ``name`` that runs ``handler``, with its examples in the epilog.

        :param help_text: one line, lower case, no final stop (shown in the command list).
        :param description: the longer text of its own ``--help`` (default: ``help_text``).
        """
        label = "example:" if len(examples) == 1 else "examples:"
        parser = subparsers.add_parser(
            name,
            help=help_text,
            description=description or help_text[0].upper() + help_text[1:] + ".",
            parents=[self.common],
            formatter_class=self.formatter,
            epilog="\n".join([label, *(f"  {line}" for line in examples)]) if examples else None,
        )
        parser.set_defaults(handler=handler)
        return parser


def add_wait_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--wait`` and the ``--timeout`` it uses (after the command, --timeout is a wait)."""
    parser.add_argument("--wait", action="store_true", help=f"wait until {what}")
    parser.add_argument(
        "--timeout",
        dest="wait_timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait (default: %(default)s)",
    )

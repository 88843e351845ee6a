"""Building blocks of the argument parser shared by every command module."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "WAIT_TIMEOUT_OPTION",
    "Handler",
    "ParserKit",
    "add_wait_options",
    "add_wait_timeout",
    "positive",
]

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


#: The option that bounds a wait (``--timeout`` bounds each HTTP request).
WAIT_TIMEOUT_OPTION = "--wait-timeout"


def add_wait_timeout(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--wait-timeout SECONDS`` (default 300)."""
    parser.add_argument(
        WAIT_TIMEOUT_OPTION,
        dest="wait_timeout",
        type=positive(float),
        default=300.0,
        metavar="SECONDS",
        help=help_text,
    )


def add_wait_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--wait`` and the ``--wait-timeout`` it uses."""
    parser.add_argument("--wait", action="store_true", help=f"wait until {what}")
    add_wait_timeout(parser, "how long to wait (default: %(default)s)")


def positive(cast: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: ``cast(text)``, which must be more than 0."""

    def parse(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    parse.__name__ = getattr(cast, "__name__", "number")
    return parse

"""The argument parser of the ``cloudsigma`` command: global options, commands and their help."""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

from cloudsigma.cli import actions, context, events, resources, transfer
from cloudsigma.cli.parsing import HelpFormatter, ParserKit
from cloudsigma.version import __version__

__all__ = ["CommandParser", "build_parser"]

DESCRIPTION = "Manage CloudSigma drives, servers and more from the shell (API 2.0)."

EPILOG = """\
configuration:
  Credentials come from ~/.cloudsigma.conf (or the file in CLOUDSIGMA_CONFIG or --config);
  CLOUDSIGMA_API_ENDPOINT, CLOUDSIGMA_USERNAME and CLOUDSIGMA_PASSWORD override it, and the
  options --api-endpoint and --username override both. The password is never an option: put
  it in the file or the environment, or type it when asked.

examples:
  cloudsigma servers list
  cloudsigma --json drives get UUID
  cloudsigma drives create --name data --size 10G
  cloudsigma servers start UUID --wait
  cloudsigma events --count 5
  cloudsigma emulator --port 8080

exit status: 0 success, 1 API or library error, 2 usage error, 130 interrupted.
"""

_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)'")


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that explains verbs the API does not have for a collection."""

    def __init__(self, *args: Any, absent_verbs: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.absent_verbs = absent_verbs or {}

    def error(self, message: str) -> NoReturn:
        match = _INVALID_CHOICE.search(message)
        if match and match.group(1) in self.absent_verbs:
            message = self.absent_verbs[match.group(1)]
        super().error(message)


def _global_options(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    """The options every command takes; repeated on each command so they may follow it.

    On the commands their default is SUPPRESS, so that they only override what was given
    before the command when they are given themselves.
    """
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if nested else {}
    flag_default: dict[str, Any] = {"default": argparse.SUPPRESS} if nested else {"default": False}
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: ~/.cloudsigma.conf)",
        **default,
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print the API's JSON instead of a table",
        **flag_default,
    )
    group.add_argument(
        "--api-endpoint",
        metavar="URL",
        help="API URL, e.g. https://zrh.cloudsigma.com/api/2.0/",
        **default,
    )
    group.add_argument("--username", metavar="EMAIL", help="account e-mail", **default)
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each request (credentials redacted)",
        **flag_default,
    )
    if not nested:
        group.add_argument(
            "--timeout",
            dest="http_timeout",
            type=float,
            metavar="SECONDS",
            help="HTTP timeout of each request (before the command)",
        )
        group.add_argument("--version", action="version", version=f"cloudsigma {__version__}")


def build_parser() -> CommandParser:
    """The full parser: global options, one command per collection, and the extra commands."""
    parser = CommandParser(
        prog="cloudsigma",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    _global_options(parser, nested=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, nested=True)
    kit = ParserKit(common)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    commands.required = True
    for spec in resources.RESOURCES.values():
        _add_resource_command(commands, spec, kit)
    actions.add_wait_command(commands, kit)
    context.add_metadata_command(commands, kit)
    events.add_events_command(commands, kit)
    commands.add_parser(
        "emulator",
        help="run the local API emulator (its options follow; see 'cloudsigma emulator --help')",
        add_help=False,
    ).set_defaults(handler=None)
    return parser


def _add_resource_command(
    commands: argparse._SubParsersAction, spec: resources.ResourceSpec, kit: ParserKit
) -> None:
    absent = [verb for verb in resources.CRUD_VERBS if verb not in spec.verbs]
    note = f"\n{spec.note}\n" if spec.note else ""
    examples = "\n".join(f"  {example}" for example in spec.examples)
    parser = commands.add_parser(
        spec.name,
        help=f"{spec.name}: {', '.join(spec.verbs)}"
        + (" and more" if spec.name in {"drives", "servers"} else ""),
        description=f"Work with {spec.name}.{note}",
        epilog=f"examples:\n{examples}" if examples else None,
        formatter_class=HelpFormatter,
        absent_verbs={
            verb: f"the API offers no '{verb}' for {spec.name}. {spec.note}".strip()
            for verb in absent
        },
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=CommandParser)
    verbs.required = True
    resources.add_crud_commands(spec, verbs, kit)
    if spec.name == "servers":
        actions.add_server_actions(verbs, kit)
    if spec.name == "drives":
        actions.add_drive_actions(verbs, kit)
        transfer.add_transfer_commands(verbs, kit)

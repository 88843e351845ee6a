"""The argument parser of the ``cloudsigma`` command: global options, commands and their help."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any, NoReturn

from cloudsigma.cli import (
    account,
    actions,
    attach,
    completion,
    contexts,
    events,
    keypairs,
    metadata,
    resources,
    tagging,
    transfer,
    vpc,
)
from cloudsigma.cli.parsing import HelpFormatter, ParserKit, positive
from cloudsigma.cli.session import OUTPUTS
from cloudsigma.cli.specs import CRUD_VERBS, RESOURCES, ResourceSpec
from cloudsigma.version import __version__

__all__ = ["CommandParser", "build_parser"]

DESCRIPTION = "Manage CloudSigma drives, servers and more from the shell (API 2.0)."

EPILOG = """\
configuration:
  Credentials come from ~/.cloudsigma.conf, as for the SDK; 'cloudsigma context create NAME'
  saves more accounts or locations, and 'context use NAME' (or --context, CLOUDSIGMA_CONTEXT)
  picks one. --config PATH and CLOUDSIGMA_CONFIG name a file directly. CLOUDSIGMA_API_ENDPOINT,
  CLOUDSIGMA_USERNAME and CLOUDSIGMA_PASSWORD override the file, and --location, --api-endpoint
  and --username override both. The password is never an option: put it in the file or the
  environment, or type it when asked.

objects are named by uuid or by exact name:
  cloudsigma servers get web
  cloudsigma servers attach-drive web data --boot-order 1

examples:
  cloudsigma servers list -o wide
  cloudsigma drives list -o yaml
  cloudsigma drives list -q | xargs -n1 cloudsigma drives get
  cloudsigma drives create --name data --size 10G --wait
  cloudsigma servers start web --wait --wait-timeout 120
  cloudsigma balance
  cloudsigma --context work servers list
  cloudsigma events --count 5
  cloudsigma completion bash > ~/.local/share/bash-completion/completions/cloudsigma
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

    def defaults(value: Any) -> dict[str, Any]:
        return {"default": argparse.SUPPRESS if nested else value}

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: ~/.cloudsigma.conf)",
        **defaults(None),
    )
    context = group.add_argument(
        "--context",
        metavar="NAME",
        help="use this saved context (see 'cloudsigma context'; also CLOUDSIGMA_CONTEXT)",
        **defaults(None),
    )
    context.completer = completion.context_names  # type: ignore[attr-defined]
    location = group.add_argument(
        "--location",
        metavar="CODE",
        type=str.lower,
        help="the API and websocket endpoints of a CloudSigma location: zrh, fra, ...",
        **defaults(None),
    )
    location.completer = completion.location_codes  # type: ignore[attr-defined]
    group.add_argument(
        "--api-endpoint",
        metavar="URL",
        help="API URL, e.g. https://zrh.cloudsigma.com/api/2.0/",
        **defaults(None),
    )
    group.add_argument("--username", metavar="EMAIL", help="account e-mail", **defaults(None))
    group.add_argument(
        "--timeout",
        dest="http_timeout",
        type=positive(float),
        metavar="SECONDS",
        help="HTTP timeout of each request (waits take --wait-timeout)",
        **defaults(None),
    )
    group.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        help="table (default), wide (more columns), json or yaml (every field, raw values)",
        **defaults("table"),
    )
    group.add_argument(
        "--json",
        dest="output",
        action="store_const",
        const="json",
        help="the same as -o json",
        **defaults("table"),
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the uuids (or ids) of the objects, one a line",
        **defaults(False),
    )
    group.add_argument(
        "--no-header",
        action="store_true",
        help="tables without their header line",
        **defaults(False),
    )
    group.add_argument(
        "--show-secrets",
        action="store_true",
        help="show VNC passwords and private keys in tables (JSON and YAML always do)",
        **defaults(False),
    )
    group.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none anyway when stderr is not a terminal)",
        **defaults(False),
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each request and every retry (credentials redacted)",
        **defaults(False),
    )
    if not nested:
        group.add_argument("--version", action="version", version=f"cloudsigma {__version__}")


#: Verbs beyond the generic ones, by command.
SPECIAL_VERBS: dict[str, tuple[Callable[[argparse._SubParsersAction, ParserKit], None], ...]] = {
    "servers": (actions.add_server_actions, attach.add_attach_commands),
    "drives": (actions.add_drive_actions, transfer.add_transfer_commands),
    "snapshots": (actions.add_snapshot_actions,),
    "tags": (tagging.add_tag_commands,),
    "keypairs": (keypairs.add_keypair_commands,),
    "subscriptions": (account.add_subscription_actions,),
    "vpc": (vpc.add_vpc_commands,),
}


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
    for spec in RESOURCES.values():
        _add_resource_command(commands, spec, kit)
    account.add_account_commands(commands, kit)
    actions.add_wait_command(commands, kit)
    events.add_events_command(commands, kit)
    metadata.add_metadata_command(commands, kit)
    contexts.add_context_command(commands, kit)
    completion.add_completion_command(commands, kit)
    commands.add_parser(
        "emulator",
        help="run the local API emulator (its options follow; see 'cloudsigma emulator --help')",
        add_help=False,
    ).set_defaults(handler=None)
    return parser


def _add_resource_command(
    commands: argparse._SubParsersAction, spec: ResourceSpec, kit: ParserKit
) -> None:
    special = SPECIAL_VERBS.get(spec.name, ())
    note = f"\n{spec.note}\n" if spec.note else ""
    examples = "\n".join(f"  {example}" for example in spec.examples)
    parser = commands.add_parser(
        spec.name,
        help=spec.summary or f"{spec.name}: {', '.join(spec.verbs)}",
        description=f"Work with {spec.name}.{note}",
        epilog=f"examples:\n{examples}" if examples else None,
        formatter_class=HelpFormatter,
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=CommandParser)
    verbs.required = True
    resources.add_crud_commands(spec, verbs, kit)
    for add_verbs in special:
        add_verbs(verbs, kit)
    parser.absent_verbs = {
        verb: f"the API offers no '{verb}' for {spec.name}. {spec.note}".strip()
        for verb in CRUD_VERBS
        if verb not in verbs.choices
    }

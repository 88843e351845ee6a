"""Contexts: saved accounts and locations, ``cloudsigma context create|list|use|delete``.

A context is a configuration file in the SDK's own format (``key = value``, mode 600) under
``~/.config/cloudsigma/contexts/``; ``context use`` remembers one in ``.../active``. Without
any, ``~/.cloudsigma.conf`` is used as always, so pycloudsigma's setup keeps working.

Which file a command reads: ``--config``, else ``--context``, else ``CLOUDSIGMA_CONTEXT``,
else ``CLOUDSIGMA_CONFIG``, else the active context, else ``~/.cloudsigma.conf``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from typing import Any

from cloudsigma.cli.locations import LOCATIONS, find_location
from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import CommandFailed, UsageError

__all__ = [
    "DEFAULT",
    "add_context_command",
    "config_line",
    "context_dir",
    "context_path",
    "known_contexts",
    "selected_config",
]

#: The name ``context list`` gives ``~/.cloudsigma.conf``, and ``context use`` takes back.
DEFAULT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def context_dir() -> str:
    """Where contexts live: ``$XDG_CONFIG_HOME/cloudsigma`` (default ``~/.config/cloudsigma``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "cloudsigma")


def _check_name(name: str) -> str:
    if not _NAME.match(name) or name == DEFAULT:
        raise UsageError(
            f"invalid context name {name!r}: use letters, digits, '.', '_' and '-' "
            f"(up to 64, not {DEFAULT!r})"
        )
    return name


def context_path(name: str) -> str:
    """The configuration file of context ``name``."""
    return os.path.join(context_dir(), "contexts", f"{_check_name(name)}.conf")


def _active_file() -> str:
    return os.path.join(context_dir(), "active")


def active_context() -> str | None:
    """The context chosen with ``context use``, or None (``~/.cloudsigma.conf``)."""
    try:
        with open(_active_file(), encoding="utf-8") as active:
            name = active.read().strip()
    except OSError:
        return None
    return name if name and _NAME.match(name) and name != DEFAULT else None


def _existing(name: str) -> str:
    path = context_path(name)
    if not os.path.isfile(path):
        known = ", ".join(known_contexts()) or "none yet"
        raise UsageError(
            f"no context named {name!r} (known: {known}); create it with "
            f"'cloudsigma context create {name}'"
        )
    return path


def selected_config(config: str | None, context: str | None) -> str | None:
    """The configuration file a command reads, or None for the SDK's own choice.

    :raises UsageError: for a context that does not exist.
    """
    if config:
        return config
    chosen = context or os.environ.get("CLOUDSIGMA_CONTEXT")
    if chosen:
        return None if chosen == DEFAULT else _existing(chosen)
    if os.environ.get("CLOUDSIGMA_CONFIG"):
        return None
    active = active_context()
    return _existing(active) if active else None


def known_contexts() -> list[str]:
    """The names of the saved contexts, sorted."""
    folder = os.path.join(context_dir(), "contexts")
    try:
        files = os.listdir(folder)
    except OSError:
        return []
    return sorted(name[: -len(".conf")] for name in files if name.endswith(".conf"))


# -- writing a context --------------------------------------------------------------------------


def config_line(key: str, value: str) -> str:
    """``key = value`` that the SDK's configuration parser reads back as exactly ``value``.

    :raises CommandFailed: when no quoting of ``value`` survives a read back.
    """
    from cloudsigma.conf import parse_config_text

    if "\n" in value or "\r" in value:
        raise CommandFailed(f"the {key} cannot span lines")
    for written in (value, f'"{value}"', f"'{value}'"):
        line = f"{key} = {written}"
        try:
            if parse_config_text(line).get(key) == value:
                return line
        except Exception:  # noqa: BLE001 - a form the parser refuses is just not this one
            continue
    raise CommandFailed(
        f"this {key} cannot be written to a configuration file; "
        f"set CLOUDSIGMA_{key.upper()} in the environment instead"
    )


def _write_private(path: str, text: str, *, replace: bool) -> None:
    """Write ``text`` to ``path`` with mode 600 from the first byte (no window for others)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    if not replace and os.path.exists(path):
        os.unlink(temporary)
        raise CommandFailed(f"{path} exists already; use --force to replace it")
    os.replace(temporary, path)


def _ask(prompt: str, secret: bool = False) -> str:
    if not sys.stdin.isatty():
        return ""
    return (getpass.getpass(prompt) if secret else input(prompt)).strip()


def _endpoints(args: argparse.Namespace) -> tuple[str, str | None]:
    """The API and websocket endpoints of the new context, asked for when not given."""
    location_text = getattr(args, "location", None)
    endpoint = getattr(args, "api_endpoint", None) or os.environ.get("CLOUDSIGMA_API_ENDPOINT")
    if not location_text and not endpoint:
        location_text = _ask(f"Location ({', '.join(LOCATIONS)}) or API URL [zrh]: ") or ""
        if location_text.startswith(("http://", "https://")):
            endpoint, location_text = location_text, ""
        elif not location_text and sys.stdin.isatty():
            location_text = "zrh"
    if location_text:
        location = find_location(location_text)
        if location is None:
            raise UsageError(f"unknown location {location_text!r}; known: {', '.join(LOCATIONS)}")
        return location.api_endpoint, args.ws_endpoint or location.ws_endpoint
    if not endpoint:
        raise UsageError(
            "context create needs --location CODE or --api-endpoint URL "
            "(or CLOUDSIGMA_API_ENDPOINT) when it cannot ask"
        )
    return endpoint, args.ws_endpoint or os.environ.get("CLOUDSIGMA_WS_ENDPOINT")


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    username = (
        getattr(args, "username", None) or os.environ.get("CLOUDSIGMA_USERNAME") or _ask("E-mail: ")
    )
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("CLOUDSIGMA_PASSWORD") or _ask("Password: ", secret=True)
    if not username or not password:
        raise UsageError(
            "context create needs the account's e-mail and password: give --username (or "
            "CLOUDSIGMA_USERNAME) and the password on stdin with --password-stdin (or "
            "CLOUDSIGMA_PASSWORD), or run it on a terminal to be asked"
        )
    return username, password


def _create(args: argparse.Namespace, session: Session) -> int:
    path = context_path(args.name)
    if os.path.exists(path) and not args.force:
        raise CommandFailed(f"context {args.name!r} exists already; use --force to replace it")
    api_endpoint, ws_endpoint = _endpoints(args)
    username, password = _credentials(args)
    lines = [config_line("api_endpoint", api_endpoint)]
    if ws_endpoint:
        lines.append(config_line("ws_endpoint", ws_endpoint))
    lines += [config_line("username", username), config_line("password", password)]
    _write_private(path, "\n".join(lines) + "\n", replace=args.force)
    if args.use:
        _write_private(_active_file(), args.name + "\n", replace=True)
    session.say(
        f"saved context {args.name} ({username} at {api_endpoint}) in {path}"
        + ("; it is now active" if args.use else f"; use it with --context {args.name}"),
        {"name": args.name, "path": path, "api_endpoint": api_endpoint, "username": username},
    )
    return 0


# -- reading and choosing -----------------------------------------------------------------------


def _describe(name: str, path: str, active: str) -> dict[str, Any]:
    from cloudsigma.conf import Config

    values = Config(path)
    try:
        endpoint, username = values.get("api_endpoint"), values.get("username")
    except Exception as exc:  # noqa: BLE001 - one broken file must not hide the others
        endpoint, username = f"(unreadable: {exc})", None
    return {
        "name": name,
        "active": name == active,
        "api_endpoint": endpoint,
        "username": username,
        "path": path,
    }


def _list(args: argparse.Namespace, session: Session) -> int:
    from cloudsigma.cli.output import Column
    from cloudsigma.conf import CONFIG_LOCATION

    active = active_context() or DEFAULT
    contexts = [_describe(DEFAULT, CONFIG_LOCATION, active)]
    contexts += [_describe(name, context_path(name), active) for name in known_contexts()]
    columns = (
        Column("ACTIVE", "active", lambda on: "*" if on else ""),
        Column("NAME", "name"),
        Column("API ENDPOINT", "api_endpoint"),
        Column("USERNAME", "username"),
        Column("FILE", "path"),
    )
    session.show(contexts, columns, key="name")
    if os.environ.get("CLOUDSIGMA_CONFIG") and not session.json_output:
        print(
            f"note: CLOUDSIGMA_CONFIG={os.environ['CLOUDSIGMA_CONFIG']} is set; it wins over "
            "the active context",
            file=sys.stderr,
        )
    return 0


def _use(args: argparse.Namespace, session: Session) -> int:
    if args.name == DEFAULT:
        try:
            os.unlink(_active_file())
        except FileNotFoundError:
            pass
    else:
        _existing(args.name)
        _write_private(_active_file(), args.name + "\n", replace=True)
    session.say(f"active context: {args.name}", {"active": args.name})
    return 0


def _delete(args: argparse.Namespace, session: Session) -> int:
    os.unlink(_existing(args.name))
    if active_context() == args.name:
        os.unlink(_active_file())
    session.say(f"deleted context {args.name}", {"name": args.name, "deleted": True})
    return 0


def _active(args: argparse.Namespace, session: Session) -> int:
    name = os.environ.get("CLOUDSIGMA_CONTEXT") or active_context() or DEFAULT
    session.say(name, {"active": name})
    return 0


def add_context_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``context create|list|use|delete|active``."""
    parser = commands.add_parser(
        "context",
        help="saved accounts and locations: create, list, use, delete, active",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=kit.formatter,
        epilog="examples:\n  cloudsigma context create work --location zrh\n"
        "  cloudsigma context use work\n  cloudsigma --context lab servers list",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    create = kit.add(
        verbs,
        "create",
        "save an account and location as a context",
        _create,
        description="Save a context. What is not given is asked for on a terminal: location "
        "or endpoint, e-mail and password (not echoed). Without a terminal give --location or "
        "--api-endpoint, --username (or CLOUDSIGMA_USERNAME) and the password with "
        "--password-stdin or CLOUDSIGMA_PASSWORD. The file is written with mode 600.",
        examples=(
            "cloudsigma context create work",
            "cloudsigma context create lab --location fra --username me@example.com --use",
            "pass show cloudsigma | cloudsigma context create ci --location zrh "
            "--username ci@example.com --password-stdin",
        ),
    )
    create.add_argument("name", metavar="NAME")
    create.add_argument(
        "--ws-endpoint", metavar="URL", help="websocket URL (default: the location's)"
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    create.add_argument("--use", action="store_true", help="make it the active context")
    create.add_argument("--force", action="store_true", help="replace a context of that name")
    kit.add(
        verbs,
        "list",
        "list the contexts (* = active)",
        _list,
        examples=("cloudsigma context list",),
    )
    use = kit.add(
        verbs,
        "use",
        "make a context the active one",
        _use,
        examples=("cloudsigma context use work", f"cloudsigma context use {DEFAULT}"),
    )
    use.add_argument("name", metavar="NAME", help=f"a context, or {DEFAULT} for ~/.cloudsigma.conf")
    delete = kit.add(
        verbs, "delete", "delete a context", _delete, examples=("cloudsigma context delete lab",)
    )
    delete.add_argument("name", metavar="NAME")
    kit.add(
        verbs,
        "active",
        "print the active context's name",
        _active,
        examples=("cloudsigma context active",),
    )

"""Shell completion: ``cloudsigma completion bash|zsh|fish`` and the completers behind it.

argcomplete does the work: it reads the parser itself, so commands and options complete
without a word of shell code kept here, in bash, zsh and fish alike. Object names complete
from a cache that lives for a minute (``~/.cache/cloudsigma/names/``, mode 600), filled by one
quick list request when it is stale, with the account and endpoint the command line selects.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.specs import CommandFailed

__all__ = [
    "CACHE_SECONDS",
    "SHELLS",
    "ObjectNames",
    "add_completion_command",
    "complete",
    "context_names",
    "location_codes",
]

SHELLS = ("bash", "zsh", "fish")
#: How long completions trust the names they fetched.
CACHE_SECONDS = 60.0
#: Seconds a completion may wait for the API before it offers nothing.
_COMPLETION_TIMEOUT = 3.0

_INSTALL = """\
install:
  bash  echo 'eval "$(cloudsigma completion bash)"' >> ~/.bashrc
  zsh   echo 'eval "$(cloudsigma completion zsh)"' >> ~/.zshrc   (after compinit)
  fish  cloudsigma completion fish > ~/.config/fish/completions/cloudsigma.fish
"""


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cloudsigma", "names")


def _session_for(parsed_args: argparse.Namespace) -> Any:
    """A session from the global options typed so far; it never asks for a password."""
    from cloudsigma.cli.session import Session

    session = Session.from_args(parsed_args)
    session.interactive = False
    return session


class ObjectNames:
    """An argcomplete completer: the names and uuids of the objects of some collections.

    :param collections: command names (``drives``...); None takes the collection from the
        argument ``from_argument`` already typed (as in ``wait drives OBJECT``).
    """

    def __init__(self, collections: Sequence[str] | None, from_argument: str = "resource"):
        self.collections = tuple(collections) if collections else None
        self.from_argument = from_argument

    def __call__(self, prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
        collections = self.collections or (getattr(parsed_args, self.from_argument, None),)
        words: list[str] = []
        for collection in collections:
            if collection:
                words += self._words(str(collection), parsed_args)
        return [word for word in dict.fromkeys(words) if word.startswith(prefix)]

    def _words(self, collection: str, parsed_args: argparse.Namespace) -> list[str]:
        try:
            from cloudsigma.cli.contexts import selected_config

            config = selected_config(
                getattr(parsed_args, "config", None), getattr(parsed_args, "context", None)
            )
            if config:
                os.environ["CLOUDSIGMA_CONFIG"] = os.path.abspath(config)
            session = _session_for(parsed_args)
            key = _cache_key(collection, session)
            cached = _read_cache(key)
            if cached is None:
                cached = _fetch(collection, session)
                _write_cache(key, cached)
            return cached
        except Exception:  # noqa: BLE001 - a completion offers nothing rather than an error
            return []


def _cache_key(collection: str, session: Any) -> str:
    from cloudsigma.conf import config

    identity = "\0".join(
        str(part)
        for part in (
            collection,
            session.api_endpoint or config.get("api_endpoint"),
            session.username or config.get("username"),
        )
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def _read_cache(key: str) -> list[str] | None:
    path = os.path.join(_cache_dir(), f"{key}.json")
    try:
        if time.time() - os.stat(path).st_mtime > CACHE_SECONDS:
            return None
        with open(path, encoding="utf-8") as cache:
            words = json.load(cache)
    except (OSError, ValueError):
        return None
    return [str(word) for word in words] if isinstance(words, list) else None


def _write_cache(key: str, words: list[str]) -> None:
    folder = _cache_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"{key}.json")
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as cache:
        json.dump(words, cache)
    os.replace(temporary, path)


def _fetch(collection: str, session: Any) -> list[str]:
    """Names (first) and keys of the objects of ``collection``, in one quick request."""
    from cloudsigma.cli.specs import RESOURCES

    spec = RESOURCES[collection]
    session.http_timeout = _COMPLETION_TIMEOUT
    api = session.api(spec, retry=0)
    objects = api.list_detail() if spec.list_is_sparse else api.list()
    names = [str(obj["name"]) for obj in objects if spec.named and obj.get("name")]
    keys = [str(obj[spec.key]) for obj in objects if obj.get(spec.key) is not None]
    return names + keys


def context_names(prefix: str, **_: Any) -> list[str]:
    """Completer of ``--context``: the saved contexts (and ``default``)."""
    from cloudsigma.cli.contexts import DEFAULT, known_contexts

    return [name for name in [DEFAULT, *known_contexts()] if name.startswith(prefix)]


def location_codes(prefix: str, **_: Any) -> list[str]:
    """Completer of ``--location``: the codes of the known locations."""
    from cloudsigma.cli.locations import LOCATIONS

    return [code for code in LOCATIONS if code.startswith(prefix.lower())]


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (``_ARGCOMPLETE`` is set); exits when it did."""
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def shell_code(shell: str, executables: Iterable[str] = ("cloudsigma",)) -> str:
    """The script that registers completion of ``executables`` in ``shell``.

    :raises CommandFailed: when argcomplete is not installed.
    """
    try:
        import argcomplete
    except ImportError:
        raise CommandFailed("completion needs argcomplete: pip install 'cloudsigma[cli]'") from None
    return str(argcomplete.shellcode(list(executables), shell=shell))


def _print_shell_code(args: argparse.Namespace, session: Any) -> int:
    sys.stdout.write(shell_code(args.shell))
    return 0


def add_completion_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``completion bash|zsh|fish``."""
    parser = kit.add(
        commands,
        "completion",
        "print the shell code that completes commands, options and object names",
        _print_shell_code,
        description="Print a script that makes the shell complete cloudsigma's commands, "
        "options and object names (names are fetched once a minute at most).\n\n" + _INSTALL,
        examples=(
            'eval "$(cloudsigma completion bash)"',
            "cloudsigma completion fish > ~/.config/fish/completions/cloudsigma.fish",
        ),
    )
    parser.add_argument("shell", choices=SHELLS)

"""What every command needs: connection settings from the global options, and how to print.

Results go out in one of four forms (``-o table|wide|json|yaml``), or as keys only (``-q``).
Tables and records are for people: sizes in units, secrets masked, status words coloured on
a terminal. JSON and YAML are for scripts: the API's values unchanged.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudsigma.cli.output import (
    Column,
    Style,
    mask_secrets,
    print_json,
    print_record,
    print_table,
    print_yaml,
)

if TYPE_CHECKING:
    from cloudsigma.cli.specs import ResourceSpec

__all__ = ["OUTPUTS", "Session"]

OUTPUTS = ("table", "wide", "json", "yaml")


def colour_wanted(stream: Any = None) -> bool:
    """Colour for people only: ``stream`` is a terminal and ``NO_COLOR`` is not set."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _endpoints(args: Any) -> tuple[str | None, str | None]:
    """The API and websocket endpoints that ``--location`` or ``--api-endpoint`` ask for.

    :raises UsageError: for an unknown location, or both options at once.
    """
    from cloudsigma.cli.locations import LOCATIONS, find_location
    from cloudsigma.cli.specs import UsageError

    code, endpoint = getattr(args, "location", None), getattr(args, "api_endpoint", None)
    if not code:
        return endpoint, None
    if endpoint:
        raise UsageError("give --location or --api-endpoint, not both")
    location = find_location(code)
    if location is None:
        raise UsageError(f"unknown location {code!r}; known: {', '.join(LOCATIONS)}")
    return location.api_endpoint, location.ws_endpoint


@dataclass
class Session:
    """Connection settings from the global options, and how to print results.

    Values left as ``None`` come from the SDK's configuration (environment, then file).
    The password never comes from an option: it is read from the configuration, or
    asked for on the terminal when the configuration has none.
    """

    api_endpoint: str | None = None
    ws_endpoint: str | None = None
    username: str | None = None
    http_timeout: float | None = None
    verbose: bool = False
    output: str = "table"
    quiet: bool = False
    header: bool = True
    show_secrets: bool = False
    colour: bool = False
    #: whether transfers draw a progress bar (stderr is a terminal and no --no-progress)
    progress: bool = False
    #: whether a person may be asked (for a password); not while completing a word
    interactive: bool = True
    _password: str | None = field(default=None, repr=False)
    _apis: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_args(cls, args: Any) -> Session:
        """The session the global options of a parsed command line describe.

        :raises UsageError: for an unknown ``--location``.
        """
        from cloudsigma.cli.progress import wanted

        api_endpoint, ws_endpoint = _endpoints(args)
        return cls(
            api_endpoint=api_endpoint,
            ws_endpoint=ws_endpoint,
            username=getattr(args, "username", None),
            http_timeout=getattr(args, "http_timeout", None),
            verbose=getattr(args, "verbose", False),
            output=getattr(args, "output", None) or "table",
            quiet=getattr(args, "quiet", False),
            header=not getattr(args, "no_header", False),
            show_secrets=getattr(args, "show_secrets", False),
            colour=colour_wanted(),
            progress=wanted(getattr(args, "no_progress", False)),
        )

    @property
    def json_output(self) -> bool:
        """Whether results are for a program (JSON or YAML) rather than a person."""
        return self.output in ("json", "yaml")

    @property
    def style(self) -> Style:
        return Style(colour=self.colour, header=self.header, show_secrets=self.show_secrets)

    # -- the API -----------------------------------------------------------------------------

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a resource (and so for its ``GenericClient``)."""
        kwargs: dict[str, Any] = {}
        for key in ("api_endpoint", "ws_endpoint", "username"):
            if getattr(self, key):
                kwargs[key] = getattr(self, key)
        password = self._prompted_password()
        if password is not None:
            kwargs["password"] = password
        if self.verbose:
            kwargs["request_log_level"] = "DEBUG"
        if self.http_timeout is not None:
            kwargs["timeout"] = self.http_timeout
        # timeout errors then tell the user the option that allows more time
        kwargs["timeout_option"] = "--timeout SECONDS"
        return kwargs

    def resource(self, class_name: str) -> Any:
        """A ``cloudsigma.resource`` object (``Drive``, ``Server``...) using these settings."""
        from cloudsigma import resource

        return getattr(resource, class_name)(**self.client_kwargs())

    def api(self, spec: ResourceSpec, **client_options: Any) -> Any:
        """The SDK resource of a collection (one per collection and command).

        Where the SDK has no class for the collection, a ``ResourceBase`` over its
        ``resource_name`` does the same work.

        :param client_options: more arguments for its client, e.g. ``retry=0``.
        """
        if spec.name not in self._apis:
            from cloudsigma import resource

            cls = getattr(resource, spec.class_name or "", None)
            if cls is None or getattr(cls, "resource_name", None) != spec.resource_name:
                attributes = {"resource_name": spec.resource_name}
                cls = type(spec.class_name or "Resource", (resource.ResourceBase,), attributes)
            self._apis[spec.name] = cls(**self.client_kwargs(), **client_options)
        return self._apis[spec.name]

    def _prompted_password(self) -> str | None:
        """Ask for the password when the configuration has none and a person is there to type it."""
        if self._password is not None:
            return self._password
        from cloudsigma.conf import config

        if config.get("login_method", "basic") == "none" or config.get("password"):
            return None
        if not self.interactive or not sys.stdin.isatty():
            return None  # the SDK then raises ConfigError naming the file and the key
        username = self.username or config.get("username") or "your account"
        self._password = getpass.getpass(f"CloudSigma password for {username}: ")
        return self._password

    # -- printing ----------------------------------------------------------------------------

    def _for_people(self, value: Any) -> Any:
        return value if self.show_secrets else mask_secrets(value)

    def _print_data(self, value: Any) -> None:
        if self.output == "yaml":
            print_yaml(value)
        else:
            print_json(value)

    def show(
        self,
        result: Any,
        columns: tuple[Column, ...] | None = None,
        *,
        key: str = "uuid",
    ) -> None:
        """Print an API result: a table (lists with columns), a record, or the data itself.

        With ``-q`` only the ``key`` of each object is printed, one a line.
        """
        if self.quiet:
            self._print_keys(result, key)
        elif self.json_output:
            self._print_data(result)
        elif isinstance(result, list) and columns:
            print_table(self._for_people(result), columns, style=self.style)
        elif isinstance(result, list):
            for number, item in enumerate(result):
                if number:
                    print()
                print_record(self._for_people(item), style=self.style)
        elif result is not None:
            print_record(self._for_people(result), style=self.style)

    @staticmethod
    def _print_keys(result: Any, key: str) -> None:
        for obj in result if isinstance(result, list) else [result]:
            if isinstance(obj, dict) and obj.get(key) is not None:
                print(obj[key])

    def show_list(self, objects: list[Any], spec: ResourceSpec) -> None:
        """Print the objects of a collection: its columns (more with ``-o wide``)."""
        columns = spec.columns + spec.wide if self.output == "wide" else spec.columns
        self.show(objects, columns, key=spec.key)

    def show_object(self, obj: Any, spec: ResourceSpec | None = None) -> None:
        """Print one object (a record; its key alone with ``-q``)."""
        self.show(obj, key=spec.key if spec else "uuid")

    def say(self, text: str, data: Any) -> None:
        """Tell a person ``text``, or a program ``data`` (JSON/YAML); nothing with ``-q``."""
        if self.quiet:
            return
        if self.json_output:
            self._print_data(data)
        else:
            print(text)

"""What every command needs: connection settings from the global options, and the output mode."""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass, field
from typing import Any

from cloudsigma.cli.output import Column, print_json, print_record, print_table

__all__ = ["Session"]


@dataclass
class Session:
    """Connection settings from the global options, and how to print results.

    Values left as ``None`` come from the SDK's configuration (environment, then file).
    The password never comes from an option: it is read from the configuration, or
    asked for on the terminal when the configuration has none.
    """

    api_endpoint: str | None = None
    username: str | None = None
    http_timeout: float | None = None
    verbose: bool = False
    json_output: bool = False
    _password: str | None = field(default=None, repr=False)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a resource (and so for its ``GenericClient``)."""
        kwargs: dict[str, Any] = {}
        if self.api_endpoint:
            kwargs["api_endpoint"] = self.api_endpoint
        if self.username:
            kwargs["username"] = self.username
        password = self._prompted_password()
        if password is not None:
            kwargs["password"] = password
        if self.verbose:
            kwargs["request_log_level"] = "DEBUG"
        if self.http_timeout is not None:
            kwargs["timeout"] = self.http_timeout
        return kwargs

    def resource(self, class_name: str) -> Any:
        """A ``cloudsigma.resource`` object (``Drive``, ``Server``...) using these settings."""
        from cloudsigma import resource

        return getattr(resource, class_name)(**self.client_kwargs())

    def _prompted_password(self) -> str | None:
        """Ask for the password when the configuration has none and a person is there to type it."""
        if self._password is not None:
            return self._password
        from cloudsigma.conf import config

        if config.get("login_method", "basic") == "none" or config.get("password"):
            return None
        if not sys.stdin.isatty():
            return None  # the SDK then raises ConfigError naming the file and the key
        username = self.username or config.get("username") or "your account"
        self._password = getpass.getpass(f"CloudSigma password for {username}: ")
        return self._password

    def show(self, result: Any, columns: tuple[Column, ...] | None = None) -> None:
        """Print an API result: JSON with ``--json``, else a table (lists) or a record."""
        if self.json_output:
            print_json(result)
        elif isinstance(result, list):
            if columns:
                print_table(result, columns)
            else:
                for item in result:
                    print_record(item)
                    print()
        elif result is not None:
            print_record(result)

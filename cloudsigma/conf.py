"""Configuration: ``~/.cloudsigma.conf`` (or ``$CLOUDSIGMA_CONFIG``) and the environment.

Nothing is read at import time. :data:`config` is a dict-like view that reads
the file at first use and again whenever the file (or ``CLOUDSIGMA_CONFIG``)
changes. Precedence is: explicit constructor arguments (handled by the
callers), then the ``CLOUDSIGMA_*`` environment variables, then the file.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

from cloudsigma.errors import ConfigError

__all__ = [
    "CONFIG_LOCATION",
    "ENVIRONMENT_KEYS",
    "Config",
    "config",
    "config_path",
    "parse_config_text",
]

LOG = logging.getLogger(__name__)

#: The default location of the configuration file; ``CLOUDSIGMA_CONFIG`` overrides it.
CONFIG_LOCATION = os.path.join(os.path.expanduser("~"), ".cloudsigma.conf")

#: Environment variables that take precedence over the file, by config key.
ENVIRONMENT_KEYS = {
    "api_endpoint": "CLOUDSIGMA_API_ENDPOINT",
    "ws_endpoint": "CLOUDSIGMA_WS_ENDPOINT",
    "username": "CLOUDSIGMA_USERNAME",
    "password": "CLOUDSIGMA_PASSWORD",
}

_HINTS = {
    "api_endpoint": "https://zrh.cloudsigma.com/api/2.0/",
    "ws_endpoint": "wss://direct.zrh.cloudsigma.com/websocket",
    "username": "you@example.com",
    "password": "secret",
}


def config_path() -> str:
    """The configuration file in force: ``$CLOUDSIGMA_CONFIG`` or ``~/.cloudsigma.conf``."""
    return os.path.expanduser(os.environ.get("CLOUDSIGMA_CONFIG") or CONFIG_LOCATION)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _strip_comment(value: str) -> str:
    """Drop a trailing ``# comment`` that is outside quotes."""
    if value[:1] and value[0] in "\"'":
        closing = value.find(value[0], 1)
        if closing != -1:
            rest = value[closing + 1 :].strip()
            if not rest or rest.startswith("#"):
                return value[: closing + 1]
    hash_at = value.find(" #")
    return value[:hash_at].rstrip() if hash_at != -1 else value


def parse_config_text(text: str, path: str = "<string>") -> dict[str, str]:
    """Parse ``key = value`` lines; ``#`` starts a comment, values may be quoted.

    :raises ConfigError: for a line that is not ``key = value``, naming file and line.
    """
    values: dict[str, str] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or any(ch.isspace() for ch in key):
            raise ConfigError(
                f"{path}, line {number}: expected 'key = value', got {_describe_line(line)}"
            )
        values[key] = _unquote(_strip_comment(value.strip()))
    return values


def _describe_line(line: str) -> str:
    """Show a bad line without echoing what may be a secret in it."""
    words = line.partition("=")[0].split()
    if "password" in line.lower():
        return f"a line starting with {(words[0] if words else '')[:20]!r}"
    return repr(line[:60])


class Config(MutableMapping[str, Any]):
    """Dict-like configuration, loaded lazily and reloaded when the file changes.

    Values set on the object (``config['username'] = ...``) win over the
    environment and the file, as pycloudsigma's in-memory config did.
    """

    def __init__(self, path: str | None = None) -> None:
        self._fixed_path = path
        self._overrides: dict[str, Any] = {}
        self._file_values: dict[str, str] = {}
        self._loaded_from: tuple[str, float | None] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """The file this configuration reads."""
        return os.path.expanduser(self._fixed_path) if self._fixed_path else config_path()

    def _file(self) -> dict[str, str]:
        path = self.path
        try:
            mtime: float | None = os.stat(path).st_mtime_ns
        except OSError:
            mtime = None
        with self._lock:
            if self._loaded_from != (path, mtime):
                self._file_values = self._read(path) if mtime is not None else {}
                self._loaded_from = (path, mtime)
            return self._file_values

    @staticmethod
    def _read(path: str) -> dict[str, str]:
        try:
            with open(path, "rb") as config_file:
                mode = os.fstat(config_file.fileno()).st_mode
                data = config_file.read()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ConfigError(f"{path}, line {line}: not UTF-8 text ({exc.reason})") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            LOG.warning(
                "%s is readable by other users (mode %o); it holds your password: chmod 600 %s",
                path,
                stat.S_IMODE(mode),
                path,
            )
        return parse_config_text(text, path)

    def _lookup(self, key: str) -> tuple[bool, Any]:
        if key in self._overrides:
            return True, self._overrides[key]
        env_name = ENVIRONMENT_KEYS.get(key)
        if env_name and os.environ.get(env_name):
            return True, os.environ[env_name]
        values = self._file()
        if key in values:
            return True, values[key]
        return False, None

    def __getitem__(self, key: str) -> Any:
        found, value = self._lookup(key)
        if not found:
            raise ConfigError(self._missing_message(key), None, None)
        return value

    def _missing_message(self, key: str) -> str:
        path = self.path
        hint = _HINTS.get(key, "...")
        env = ENVIRONMENT_KEYS.get(key)
        env_hint = f", or set {env}" if env else ""
        if not os.path.exists(path):
            return (
                f"configuration key {key!r} is not set: {path} does not exist; "
                f"create it (mode 600) with a line '{key} = {hint}'{env_hint}"
            )
        return f"configuration key {key!r} is missing from {path}; add '{key} = {hint}'{env_hint}"

    def get(self, key: str, default: Any = None) -> Any:
        found, value = self._lookup(key)
        return value if found else default

    def __setitem__(self, key: str, value: Any) -> None:
        self._overrides[key] = value

    def __delitem__(self, key: str) -> None:
        del self._overrides[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key)[0]

    def _keys(self) -> list[str]:
        keys = dict.fromkeys(self._file())
        keys.update(dict.fromkeys(k for k, env in ENVIRONMENT_KEYS.items() if os.environ.get(env)))
        keys.update(dict.fromkeys(self._overrides))
        return list(keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def reload(self) -> None:
        """Forget what was read, so the next lookup reads the file again."""
        with self._lock:
            self._loaded_from = None

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if "password" in k else self.get(k)) for k in self._keys()}
        return f"Config(path={self.path!r}, values={shown!r})"


#: The process-wide configuration, as in pycloudsigma (``from cloudsigma.conf import config``).
config = Config()

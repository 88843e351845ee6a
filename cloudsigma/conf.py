"""Configuration: ``~/.cloudsigma.conf`` (or ``$CLOUDSIGMA_CONFIG``), the environment, and
the settings of a client built from them and from its arguments.

Nothing is read at import time. :data:`config` is a dict-like view that reads
the file at first use and again whenever the file (or ``CLOUDSIGMA_CONFIG``)
changes. Precedence is: explicit constructor arguments, then the ``CLOUDSIGMA_*``
environment variables, then the file; :meth:`ClientSettings.load` applies it.
"""

from __future__ import annotations

import logging
import math
import os
import stat
import threading
import urllib.parse
from collections.abc import Iterator, MutableMapping

from cloudsigma._redact import redact_text, safe_url
from cloudsigma.errors import ConfigError
from cloudsigma.policies import Retry, Timeout, positive_seconds

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ALLOW_CLIENT_CLASS_ENV",
    "CONFIG_LOCATION",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ENVIRONMENT_KEYS",
    "LOGIN_METHODS",
    "MAX_CONFIG_BYTES",
    "ClientSettings",
    "Config",
    "allow_client_class",
    "client_class_spec",
    "config",
    "config_path",
    "derive_direct_endpoint",
    "log_level_number",
    "parse_config_text",
]

LOG = logging.getLogger(__name__)

#: The default location of the configuration file; ``CLOUDSIGMA_CONFIG`` overrides it.
CONFIG_LOCATION = os.path.join(os.path.expanduser("~"), ".cloudsigma.conf")

#: Environment variables that take precedence over the file, by config key.
ENVIRONMENT_KEYS = {
    "api_endpoint": "CLOUDSIGMA_API_ENDPOINT",
    "ws_endpoint": "CLOUDSIGMA_WS_ENDPOINT",
    "direct_endpoint": "CLOUDSIGMA_DIRECT_ENDPOINT",
    "username": "CLOUDSIGMA_USERNAME",
    "password": "CLOUDSIGMA_PASSWORD",
}

#: Largest configuration file read, in bytes: a configuration is a few lines.
MAX_CONFIG_BYTES = 1024 * 1024

#: Seconds one call may take in all (connecting, every attempt, the sleeps between them),
#: unless ``deadline`` says otherwise; never less than one attempt's connect + read timeout.
DEFAULT_DEADLINE = 300.0

#: Largest JSON answer accepted from the API, in bytes after decompression.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024**2

#: Setting this environment variable to 1 lets config ``client = module:Class`` be used.
ALLOW_CLIENT_CLASS_ENV = "CLOUDSIGMA_ALLOW_CLIENT_CLASS"

LOGIN_METHODS = ("basic", "session", "digest", "none")

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
    previous_key = ""
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or any(ch.isspace() for ch in key):
            after_secret = "password" in previous_key.lower() and not values.get(previous_key)
            raise ConfigError(f"{path}, line {number}: {_describe_line(line, sep, after_secret)}")
        values[key] = _unquote(_strip_comment(value.strip()))
        previous_key = key
    return values


def _check_regular(path: str, found: os.stat_result) -> None:
    """A configuration is a regular file of a sensible size (or the null device).

    :raises ConfigError: for a directory, a FIFO, a device such as /dev/zero, or a huge file.
    """
    if stat.S_ISREG(found.st_mode):
        if found.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(_too_big(path))
        return
    if os.path.abspath(path) == os.devnull:
        return
    kind = (
        "a directory"
        if stat.S_ISDIR(found.st_mode)
        else "a FIFO"
        if stat.S_ISFIFO(found.st_mode)
        else "a device"
        if stat.S_ISCHR(found.st_mode) or stat.S_ISBLK(found.st_mode)
        else "a socket"
        if stat.S_ISSOCK(found.st_mode)
        else "not a regular file"
    )
    raise ConfigError(
        f"the configuration {path} is {kind}, not a regular file; point CLOUDSIGMA_CONFIG "
        "at a file of 'key = value' lines"
    )


def _too_big(path: str) -> str:
    return (
        f"the configuration {path} is larger than {MAX_CONFIG_BYTES} bytes; a configuration "
        "is a few 'key = value' lines: is CLOUDSIGMA_CONFIG pointing at the right file?"
    )


def _describe_line(line: str, sep: str, after_secret: bool) -> str:
    """What is wrong with a line, without echoing what may be a secret.

    A password wrapped onto a line of its own (after ``password =``, or a lone word
    without ``=``) is described, not shown.
    """
    expected = "expected 'key = value', got"
    words = line.partition("=")[0].split()
    if "password" in line.lower():
        return f"{expected} a line starting with {(words[0] if words else '')[:20]!r}"
    if not sep and (after_secret or len(words) == 1):
        return (
            f"{expected} a line of {len(line)} characters without '=' (not shown: it may be "
            "a value wrapped onto a line of its own); each setting stays on one line"
        )
    return f"{expected} {line[:60]!r}"


class Config(MutableMapping[str, "Any"]):
    """Dict-like configuration, loaded lazily and reloaded when the file changes.

    Values set on the object (``config['username'] = ...``) win over the
    environment and the file, as pycloudsigma's in-memory config did.
    """

    def __init__(self, path: str | None = None) -> None:
        self._fixed_path = path
        self._overrides: dict[str, Any] = {}
        self._file_values: dict[str, str] = {}
        self._loaded_from: tuple[str, tuple[int, int] | None] | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """The file this configuration reads."""
        return os.path.expanduser(self._fixed_path) if self._fixed_path else config_path()

    def _file(self) -> dict[str, str]:
        path = self.path
        try:
            found = os.stat(path)
        except OSError:
            version: tuple[int, int] | None = None
        else:
            _check_regular(path, found)
            version = (found.st_mtime_ns, found.st_size)
        with self._lock:
            if self._loaded_from != (path, version):
                self._file_values = self._read(path) if version is not None else {}
                self._loaded_from = (path, version)
            return self._file_values

    @staticmethod
    def _read(path: str) -> dict[str, str]:
        if os.path.abspath(path) == os.devnull:
            return {}
        try:
            # O_NONBLOCK: a FIFO put in place after the check above must not hang the open
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as config_file:
            found = os.fstat(fd)
            _check_regular(path, found)
            mode = found.st_mode
            try:
                data = config_file.read(MAX_CONFIG_BYTES + 1)
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(_too_big(path))
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
        password = self.get("password")
        secrets = [password] if isinstance(password, str) else []
        shown = {
            k: ("<redacted>" if "password" in k.lower() else _shown_value(self.get(k), secrets))
            for k in self._keys()
        }
        return f"Config(path={self.path!r}, values={shown!r})"


def _shown_value(value: Any, secrets: list[str]) -> Any:
    """A configuration value for a repr: no ``user:password@`` part, no password."""
    if not isinstance(value, str):
        return value
    return redact_text(safe_url(value), secrets)


#: The process-wide configuration, as in pycloudsigma (``from cloudsigma.conf import config``).
config = Config()


# --- the settings of a client -----------------------------------------------------------------


def log_level_number(log_level: str | int) -> int | None:
    """The ``logging`` level of a name (``"debug"``) or a number; None if it is neither."""
    if isinstance(log_level, bool):
        return None
    if isinstance(log_level, int):
        return log_level
    level = logging.getLevelName(str(log_level).strip().upper())
    return level if isinstance(level, int) else None


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class _Source:
    """The configuration values a client reads, and errors that name the key and the file.

    Errors never show the password: a value is shown only after the configured password
    (in every form a value may hold it) is taken out.
    """

    def __init__(self, source: Config) -> None:
        self.source = source
        password = source.get("password")
        self.secrets = [password] if isinstance(password, str) else []

    def get(self, key: str) -> Any:
        value = self.source.get(key)
        return None if value is None or str(value).strip() == "" else value

    def error(self, key: str, problem: str) -> ConfigError:
        path = getattr(self.source, "path", "the configuration")
        return ConfigError(
            redact_text(f"configuration key {key!r} in {path} {problem}", self.secrets)
        )

    def seconds(self, key: str, default: float) -> float:
        raw = self.get(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise self.error(key, f"must be a number of seconds, not {raw!r}")
        if not math.isfinite(value) or value <= 0:
            raise self.error(key, f"must be a finite number of seconds > 0, not {raw!r}")
        return value

    def whole_number(self, key: str, default: int, meaning: str) -> int:
        raw = self.get(key)
        if raw is None:
            return default
        try:
            value = int(str(raw).strip())
        except ValueError:
            value = -1
        if value < 0:
            raise self.error(key, f"must be a whole number >= 0 ({meaning}), not {raw!r}")
        return value

    def flag(self, key: str) -> bool | None:
        raw = self.get(key)
        if raw is None:
            return None
        text = str(raw).strip().lower()
        if text not in _TRUE | _FALSE:
            raise self.error(key, f"must be true or false, not {raw!r}")
        return text in _TRUE


class ClientSettings:
    """Everything a :class:`~cloudsigma.generic.GenericClient` needs, from its arguments,
    then the ``CLOUDSIGMA_*`` environment, then the configuration file.

    :param api_endpoint: e.g. ``https://zrh.cloudsigma.com/api/2.0/``.
    :param username: the account email.
    :param password: the account password (never shown in a repr).
    :param login_method: ``basic``, ``session``, ``digest`` or ``none``.
    :param timeout: connect and read timeouts of each attempt.
    :param retry: the retry policy.
    :param verify: TLS verification: True, False or the path of a CA bundle.
    :param request_log_level: the level of the request log, or None for no log.
    :param deadline: seconds one call may take in all, attempts and sleeps included.
    :param max_response_bytes: the largest JSON answer accepted, after decompression.
    :param direct_endpoint: the location's direct host (raw uploads), e.g.
        ``https://direct.zrh.cloudsigma.com/api/2.0/``; None when not configured.
    """

    # A plain class, not a dataclass: building one at import costs a millisecond.
    __slots__ = (
        "api_endpoint",
        "username",
        "password",
        "login_method",
        "timeout",
        "retry",
        "verify",
        "request_log_level",
        "deadline",
        "max_response_bytes",
        "direct_endpoint",
    )

    def __init__(
        self,
        *,
        api_endpoint: str,
        username: str | None,
        password: str | None,
        login_method: str,
        timeout: Timeout,
        retry: Retry,
        verify: bool | str,
        request_log_level: str | int | None,
        deadline: float,
        max_response_bytes: int,
        direct_endpoint: str | None = None,
    ) -> None:
        self.api_endpoint = api_endpoint
        self.username = username
        self.password = password
        self.login_method = login_method
        self.timeout = timeout
        self.retry = retry
        self.verify = verify
        self.request_log_level = request_log_level
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self.direct_endpoint = direct_endpoint

    def __repr__(self) -> str:
        return (
            f"ClientSettings(api_endpoint={safe_url(self.api_endpoint)!r}, "
            f"username={self.username!r}, login_method={self.login_method!r}, "
            f"timeout={self.timeout!r}, deadline={self.deadline!r})"
        )

    @classmethod
    def load(
        cls,
        api_endpoint: str | None = None,
        username: str | None = None,
        password: str | None = None,
        login_method: str | None = None,
        request_log_level: str | int | None = None,
        *,
        timeout: Timeout | float | tuple[float, float] | None = None,
        retry: Retry | int | None = None,
        verify: bool | str | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
        direct_endpoint: str | None = None,
        source: Config | None = None,
    ) -> ClientSettings:
        """The settings: each argument given wins; the rest come from ``source``.

        :raises ValueError: for a bad argument.
        :raises ConfigError: for a missing or bad configuration value (naming key and file).
        """
        found = _Source(config if source is None else source)
        method = _login_method(login_method, found)
        needs_credentials = method != "none"
        timeout_policy = (
            Timeout.coerce(timeout)
            if timeout is not None
            else Timeout(
                connect=found.seconds("connect_timeout", Timeout.connect),
                read=found.seconds("read_timeout", Timeout.read),
            )
        )
        return cls(
            api_endpoint=api_endpoint or found.source["api_endpoint"],
            username=username or _credential(found, "username", needs_credentials),
            password=password or _credential(found, "password", needs_credentials),
            login_method=method,
            timeout=timeout_policy,
            retry=Retry.coerce(retry)
            if retry is not None
            else Retry(total=found.whole_number("max_retries", 3, "0 turns retries off")),
            verify=verify if verify is not None else _verify(found),
            request_log_level=_log_level(request_log_level, found),
            deadline=_deadline(deadline, found, timeout_policy),
            max_response_bytes=_max_response_bytes(max_response_bytes, found),
            direct_endpoint=direct_endpoint or found.get("direct_endpoint") or None,
        )

    @property
    def sends_credentials(self) -> bool:
        """Whether requests carry a password (or a session made from one)."""
        return self.login_method != "none" and bool(self.password)


def derive_direct_endpoint(api_endpoint: str) -> str:
    """The direct host the docs name for an API endpoint: ``direct.`` before its host.

    ``https://zrh.cloudsigma.com/api/2.0/`` gives ``https://direct.zrh.cloudsigma.com/api/2.0/``.
    An address, ``localhost`` or a host already called ``direct.`` has no such sibling: the
    endpoint itself serves every role (as a local emulator does).
    """
    parts = urllib.parse.urlsplit(api_endpoint)
    host = parts.hostname or ""
    if not host or "." not in host or host.startswith("direct.") or _is_address(host):
        return api_endpoint
    netloc = parts.netloc.replace(host, f"direct.{host}", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _credential(found: _Source, key: str, required: bool) -> str | None:
    return found.source[key] if required else found.source.get(key)


def _login_method(login_method: str | None, found: _Source) -> str:
    if login_method is not None:
        if login_method not in LOGIN_METHODS:
            raise ValueError(
                f"login_method {login_method!r} is not one of {', '.join(LOGIN_METHODS)}"
            )
        return login_method
    configured = found.get("login_method") or "basic"
    if configured not in LOGIN_METHODS:
        raise found.error(
            "login_method", f"is {configured!r}; use one of {', '.join(LOGIN_METHODS)}"
        )
    return str(configured)


def _verify(found: _Source) -> bool | str:
    if found.flag("verify_tls") is False:
        return False
    bundle = found.get("ca_bundle")
    if bundle:
        path = os.path.expanduser(str(bundle))
        if not os.path.isfile(path):
            source_path = getattr(found.source, "path", "the configuration")
            raise ConfigError(
                f"ca_bundle {path} (from {source_path}) does not exist; "
                "point it at a PEM file of CA certificates"
            )
        return path
    return True


def _log_level(request_log_level: str | int | None, found: _Source) -> str | int | None:
    if request_log_level:
        if log_level_number(request_log_level) is None:
            raise ValueError(
                f"request_log_level {request_log_level!r} is not a logging level such as DEBUG"
            )
        level: str | int = request_log_level
    else:
        configured = found.get("request_log_level")
        if configured is None:
            return None
        if log_level_number(configured) is None:
            raise found.error(
                "request_log_level", f"is {configured!r}, not a logging level such as DEBUG"
            )
        level = configured
    return level.strip().upper() if isinstance(level, str) else level


def _deadline(deadline: float | None, found: _Source, timeout: Timeout) -> float:
    if deadline is not None:
        return positive_seconds("deadline", deadline)
    configured = found.seconds("deadline", 0.0)
    if configured:
        return configured
    # never shorter than one full attempt, so that a long timeout asked for is honoured once
    return max(DEFAULT_DEADLINE, timeout.connect + timeout.read)


def _max_response_bytes(value: int | None, found: _Source) -> int:
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"max_response_bytes must be a whole number >= 1, not {value!r}")
        return value
    configured = found.whole_number(
        "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES, "the largest answer accepted"
    )
    if configured < 1:
        raise found.error("max_response_bytes", "must be at least 1")
    return configured


# --- the configured client class --------------------------------------------------------------

_client_class_allowed = False


def allow_client_class(allowed: bool = True) -> None:
    """Let config ``client = module:Class`` choose the client class of this process.

    Importing a module named in a configuration file runs its code, so the key is used
    only after this call (or with ``CLOUDSIGMA_ALLOW_CLIENT_CLASS=1`` in the environment).
    """
    global _client_class_allowed
    _client_class_allowed = allowed


def client_class_spec(source: Config | None = None) -> str | None:
    """The ``module:Class`` of config ``client``, or None when the key is not set.

    :raises ConfigError: when it is set but the program did not opt in
        (see :func:`allow_client_class`), or when it is not ``module:Class``.
    """
    found = _Source(config if source is None else source)
    spec = found.get("client")
    if spec is None:
        return None
    allowed_by_env = os.environ.get(ALLOW_CLIENT_CLASS_ENV, "").strip().lower() in _TRUE
    if not (_client_class_allowed or allowed_by_env):
        raise found.error(
            "client",
            f"names {spec!r}; a client class named by the configuration runs code from it, "
            f"so it is used only when the program opts in: call "
            f"cloudsigma.conf.allow_client_class() or set {ALLOW_CLIENT_CLASS_ENV}=1 "
            "(or remove the key to use GenericClient)",
        )
    module_name, sep, class_name = str(spec).partition(":")
    if not sep or not module_name.strip() or not class_name.strip():
        raise found.error("client", f"is {spec!r}; use 'module:Class'")
    return f"{module_name.strip()}:{class_name.strip()}"


# --- warnings about settings that expose credentials ------------------------------------------

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_if_exposed(settings: ClientSettings) -> None:
    """Log, once per endpoint, credentials sent without TLS or TLS without verification.

    Credentials over plain http to a loopback endpoint (a local emulator) are not warned
    about: nothing sent there leaves the machine.
    """
    try:
        parts = urllib.parse.urlsplit(settings.api_endpoint)
        host = parts.hostname or ""
    except ValueError:
        return
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    if parts.scheme == "http" and settings.sends_credentials and not _is_loopback(host):
        _warn_once(
            origin,
            "http",
            "%s is plain http: the password (or the session made from it) travels "
            "unencrypted and anyone on the way can read it; use https",
        )
    if parts.scheme == "https" and settings.verify is False:
        _warn_once(
            origin,
            "verify",
            "TLS verification is off for %s (verify_tls = false or verify=False): anyone on "
            "the way can pose as the API and read the credentials; set ca_bundle to the CA "
            "that signed its certificate instead",
        )


def _warn_once(origin: str, reason: str, message: str) -> None:
    with _warned_lock:
        if (origin, reason) in _warned:
            return
        _warned.add((origin, reason))
    LOG.warning(message, origin)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

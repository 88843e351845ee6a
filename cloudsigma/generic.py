"""The HTTP layer of the SDK: one session per client over shared pools, auth, retries and errors.

This is the only module that talks HTTP to the API and the only place that
turns an HTTP answer into a return value (plain dicts and lists decoded from
JSON) or an exception from :mod:`cloudsigma.errors`.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cloudsigma import conf, errors
from cloudsigma._redact import redact_body, redact_headers, redact_text
from cloudsigma.errors import WebsocketClosedError, WebsocketTimeoutError
from cloudsigma.policies import Retry, Timeout, never_reached_server, parse_retry_after
from cloudsigma.version import __version__

if TYPE_CHECKING:
    # requests, urllib3 and simplejson load on first use (a client, a request), so that
    # importing the SDK stays fast.
    import requests

    from cloudsigma._transport import Environment

__all__ = [
    "GenericClient",
    "Retry",
    "Timeout",
    "WebsocketClient",
    "WebsocketClosedError",
    "WebsocketTimeoutError",
    "get_client",
    "get_parse_qsl",
    "get_unquote",
    "get_urljoin",
    "get_urlparse",
    "get_urlunparse",
    "wrap_with_log_hook",
]

LOG = logging.getLogger(__name__)

USER_AGENT = f"cloudsigma-python/{__version__}"

#: Marks "send no body at all", as opposed to the JSON ``null`` that ``None`` is sent as.
NO_BODY: Any = object()

ResponseHook = Callable[..., Any]


def _sleep(seconds: float) -> None:
    """Sleep between retries (a separate function so tests can replace it)."""
    time.sleep(seconds)


# --- request logging --------------------------------------------------------------------------


def _no_hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    return None


def _safe_url(url: str) -> str:
    """The URL without any ``user:password@`` part."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def describe_exchange(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """A readable, credential-free account of one request and its answer."""
    secrets = tuple(secrets)
    request = response.request

    def headers_text(headers: Any) -> str:
        return "\r\n".join(f"{k}: {v}" for k, v in redact_headers(headers).items())

    url = redact_text(_safe_url(request.url or ""), secrets)
    return (
        f"-----REQUEST:\n{request.method} {url}\r\n{headers_text(request.headers)}\r\n\r\n"
        f"{redact_body(request.body, secrets)}\n-----REQUEST-END\n\n"
        f"-----RESPONSE:\nHTTP {response.status_code} {response.reason}\r\n"
        f"{headers_text(response.headers)}\r\n\r\n"
        f"{redact_body(response.content, secrets)}\n-----RESPONSE-END"
    )


@functools.lru_cache(maxsize=1024)  # a client asks for the same few URLs again and again
def _full_url(api_endpoint: str, url: str) -> str:
    """The absolute URL of ``url`` (a path under the endpoint's path), ending in ``/``."""
    endpoint = urllib.parse.urlparse(api_endpoint)
    if url and endpoint.path and url.startswith(endpoint.path):
        full_url = urllib.parse.urlunparse(endpoint._replace(path=url))
    else:
        base = api_endpoint if api_endpoint.endswith("/") else api_endpoint + "/"
        full_url = urllib.parse.urljoin(base, url[1:] if url.startswith("/") else url)
    parts = urllib.parse.urlsplit(full_url)
    if not parts.path.endswith("/"):
        full_url = urllib.parse.urlunsplit(parts._replace(path=parts.path + "/"))
    return full_url


def _log_level_number(log_level: str | int) -> int | None:
    if isinstance(log_level, int):
        return log_level
    level = logging.getLevelName(str(log_level).upper())
    return level if isinstance(level, int) else None


def wrap_with_log_hook(
    log_level: str | int | None,
    next_hook: ResponseHook | None = None,
    *,
    secrets: Iterable[str] = (),
) -> ResponseHook:
    """A ``requests`` response hook: log each exchange at ``log_level``, then call ``next_hook``.

    Credentials never reach the log: the Authorization, Cookie, Set-Cookie and
    X-CSRFToken headers, every ``password`` field of a JSON body, the
    ``csrftoken``/``sessionid``/``async_auth`` values and every string in
    ``secrets`` are replaced by ``<redacted>``.

    :param log_level: a ``logging`` level name (``"DEBUG"``) or number; falsy turns logging off.
    :param next_hook: called with the response after logging.
    :param secrets: literal values to hide wherever they appear.
    """
    hook = next_hook or _no_hook
    if not log_level:
        return hook
    level = _log_level_number(log_level)
    if level is None:
        LOG.error("unknown request_log_level %r; requests are not logged", log_level)
        return hook
    secret_values = tuple(secrets)

    def log_hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if LOG.isEnabledFor(level):
            LOG.log(level, "%s", describe_exchange(response, secret_values))
        hook(response, *args, **kwargs)

    return log_hook


# --- configuration helpers --------------------------------------------------------------------


def _config_path() -> str:
    return str(getattr(conf.config, "path", "the configuration"))


def _config_number(key: str, default: float) -> float:
    raw = conf.config.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise errors.ConfigError(
            f"configuration key {key!r} in {_config_path()} must be a number of seconds, "
            f"not {raw!r}"
        )
    if value <= 0:
        raise errors.ConfigError(f"configuration key {key!r} in {_config_path()} must be > 0")
    return value


def _config_retry() -> Retry:
    raw = conf.config.get("max_retries")
    if raw is None or str(raw).strip() == "":
        return Retry()
    try:
        total = int(str(raw).strip())
    except ValueError:
        total = -1
    if total < 0:
        raise errors.ConfigError(
            f"configuration key 'max_retries' in {_config_path()} must be a whole number >= 0 "
            f"(0 turns retries off), not {raw!r}"
        )
    return Retry(total=total)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _config_verify() -> bool | str:
    raw = conf.config.get("verify_tls")
    if raw is not None and str(raw).strip() != "":
        text = str(raw).strip().lower()
        if text not in _TRUE | _FALSE:
            raise errors.ConfigError(
                f"configuration key 'verify_tls' in {_config_path()} must be true or false, "
                f"not {raw!r}"
            )
        if text in _FALSE:
            return False
    bundle = conf.config.get("ca_bundle")
    if bundle:
        path = os.path.expanduser(str(bundle))
        if not os.path.isfile(path):
            raise errors.ConfigError(
                f"ca_bundle {path} (from {_config_path()}) does not exist; "
                "point it at a PEM file of CA certificates"
            )
        return path
    return True


# --- the client -------------------------------------------------------------------------------


class GenericClient:
    """Low-level client for the CloudSigma API: HTTP, authentication, parsing and errors.

    Arguments left out come from the configuration (``~/.cloudsigma.conf``,
    ``$CLOUDSIGMA_CONFIG`` and the ``CLOUDSIGMA_*`` environment variables);
    explicit arguments always win.

    :param api_endpoint: e.g. ``https://zrh.cloudsigma.com/api/2.0/``.
    :param username: the account email.
    :param password: the account password.
    :param login_method: ``basic`` (HTTP basic auth), ``session`` (log in once, then use the
        session cookie and CSRF token) or ``none``. Left out, config ``login_method`` or basic.
    :param request_log_level: log every exchange (redacted) at this level, e.g. ``"DEBUG"``.
    :param ws_endpoint: the websocket URL, e.g. ``wss://direct.zrh.cloudsigma.com/websocket``.
    :param timeout: a :class:`Timeout`, a ``(connect, read)`` pair or a number for both.
    :param retry: a :class:`Retry` or a number of retries (0 turns retrying off).
    :param verify: TLS verification: True, False or the path of a CA bundle.
    """

    LOGIN_METHOD_BASIC = "basic"
    LOGIN_METHOD_SESSION = "session"
    LOGIN_METHOD_NONE = "none"
    LOGIN_METHODS = (LOGIN_METHOD_BASIC, LOGIN_METHOD_SESSION, LOGIN_METHOD_NONE)

    def __init__(
        self,
        api_endpoint: str | None = None,
        username: str | None = None,
        password: str | None = None,
        login_method: str | None = None,
        request_log_level: str | int | None = None,
        *,
        ws_endpoint: str | None = None,
        timeout: Timeout | float | tuple[float, float] | None = None,
        retry: Retry | int | None = None,
        verify: bool | str | None = None,
    ) -> None:
        self.api_endpoint: str = api_endpoint or conf.config["api_endpoint"]
        self.login_method = self._choose_login_method(login_method)
        needs_credentials = self.login_method != self.LOGIN_METHOD_NONE
        self.username = username or self._config_credential("username", needs_credentials)
        self.password = password or self._config_credential("password", needs_credentials)
        self._ws_endpoint = ws_endpoint
        self.timeout = Timeout.coerce(timeout) if timeout is not None else self._config_timeout()
        self.retry = Retry.coerce(retry) if retry is not None else _config_retry()
        self.verify: bool | str = verify if verify is not None else _config_verify()
        self.request_log_level = self._choose_log_level(request_log_level)
        self.resp: requests.Response | None = None
        self.response_hook: ResponseHook | None = None
        self._csrf_token: str | None = None
        self._login_lock = threading.Lock()
        import requests

        from cloudsigma._transport import Environment, SharedTransport

        self._http = requests.Session()
        self._http.headers["User-Agent"] = USER_AGENT
        # Cookies, credentials and hooks stay in this Session; the connections under it are
        # shared with the other clients of the process.
        transport = SharedTransport()
        self._http.mount("https://", transport)
        self._http.mount("http://", transport)
        self._environment: Environment = Environment()

    @classmethod
    def _choose_login_method(cls, login_method: str | None) -> str:
        if login_method is not None:
            if login_method not in cls.LOGIN_METHODS:
                raise ValueError(
                    f"login_method {login_method!r} is not one of {', '.join(cls.LOGIN_METHODS)}"
                )
            return login_method
        configured = conf.config.get("login_method") or cls.LOGIN_METHOD_BASIC
        if configured not in cls.LOGIN_METHODS:
            raise errors.ConfigError(
                f"configuration key 'login_method' in {_config_path()} is {configured!r}; "
                f"use one of {', '.join(cls.LOGIN_METHODS)}"
            )
        return str(configured)

    @staticmethod
    def _config_credential(key: str, required: bool) -> str | None:
        return conf.config[key] if required else conf.config.get(key)

    @staticmethod
    def _config_timeout() -> Timeout:
        return Timeout(
            connect=_config_number("connect_timeout", Timeout.connect),
            read=_config_number("read_timeout", Timeout.read),
        )

    @staticmethod
    def _choose_log_level(request_log_level: str | int | None) -> str | int | None:
        level = request_log_level or conf.config.get("request_log_level") or None
        if level is None:
            return None
        if _log_level_number(level) is None:
            raise ValueError(f"request_log_level {level!r} is not a logging level such as DEBUG")
        return level.upper() if isinstance(level, str) else level

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_endpoint={_safe_url(self.api_endpoint)!r}, "
            f"username={self.username!r}, login_method={self.login_method!r})"
        )

    @property
    def http(self) -> requests.Session:
        """The ``requests.Session`` this client sends everything through.

        Its cookies, headers and auth are this client's own; its ``http://`` and
        ``https://`` adapter takes connections from pools shared by every client of the
        process (mounting another adapter replaces it, as with any Session).
        """
        return self._http

    @property
    def ws_endpoint(self) -> str:
        """The websocket URL: the constructor argument, else config ``ws_endpoint``."""
        return self._ws_endpoint or conf.config["ws_endpoint"]

    def close(self) -> None:
        """Close this client's connections: those of the shared pools no other live client uses."""
        self._http.close()

    def __enter__(self) -> GenericClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # --- URLs and request arguments -----------------------------------------------------------

    def _get_full_url(self, url: str) -> str:
        """The absolute URL of ``url`` (a path under the endpoint's path), ending in ``/``."""
        return _full_url(self.api_endpoint, url)

    def _secrets(self) -> list[str]:
        """Values that must never be logged: the password and the session credentials."""
        values = [self.password or "", self._csrf_token or ""]
        values.extend(cookie.value or "" for cookie in self._http.cookies)
        return values

    def _get_req_args(
        self,
        body: Any = None,
        query_params: dict[str, Any] | None = None,
        *,
        authenticate: bool = True,
    ) -> dict[str, Any]:
        """The ``requests`` arguments for a call: auth, headers, query parameters and hooks."""
        kwargs: dict[str, Any] = {
            "headers": {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        }
        if authenticate and self.login_method == self.LOGIN_METHOD_BASIC:
            kwargs["auth"] = (self.username or "", self.password or "")
        if authenticate and self.login_method == self.LOGIN_METHOD_SESSION and self._csrf_token:
            kwargs["headers"]["X-CSRFToken"] = self._csrf_token
            kwargs["headers"]["Referer"] = self._get_full_url("/")
        if query_params:
            kwargs["params"] = dict(query_params)
        response_hook = self.response_hook or _no_hook
        if self.request_log_level:  # collecting the secrets to redact is for logging only
            response_hook = wrap_with_log_hook(
                self.request_log_level, self.response_hook, secrets=self._secrets()
            )
        kwargs["hooks"] = {"response": response_hook}
        return kwargs

    # --- sending ------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        data: Any = None,
        files: Any = None,
        query_params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        authenticate: bool = True,
        timeout: Timeout | float | None = None,
    ) -> requests.Response:
        """Send one request (with retries and session login) and return the raw response.

        The status is not checked here; :meth:`_process_response` does that.

        :param data: the body as bytes or str (or a form dict, with ``files`` for multipart).
        :param authenticate: False sends no credentials, no session cookies or CSRF token.
        :raises TransportError: when no answer arrived (``RequestTimeoutError`` on a timeout).
        """
        method = method.upper()
        full_url = self._get_full_url(url)
        logged_in_now = False
        if authenticate and self.login_method == self.LOGIN_METHOD_SESSION:
            with self._login_lock:  # threads sharing a client log in once
                if not self._csrf_token:
                    self._login_session()
                    logged_in_now = True
        send_args = (method, full_url, data, files, query_params, headers, authenticate, timeout)
        response = self._send_with_retries(*send_args)
        if (
            response.status_code == 401
            and authenticate
            and self.login_method == self.LOGIN_METHOD_SESSION
            and not logged_in_now
        ):
            LOG.info("session expired; logging in again to %s", _safe_url(self.api_endpoint))
            self._login_session()
            response = self._send_with_retries(*send_args)
        self.resp = response
        return response

    def _prepare(
        self,
        method: str,
        full_url: str,
        data: Any,
        files: Any,
        query_params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        authenticate: bool,
    ) -> tuple[requests.PreparedRequest, ResponseHook]:
        """The prepared request, and the response hook to call once its body is read."""
        import requests
        from requests.structures import CaseInsensitiveDict

        req_args = self._get_req_args(data, query_params, authenticate=authenticate)
        merged = CaseInsensitiveDict(req_args["headers"])
        if files is not None:
            del merged["Content-Type"]
        merged.update(headers or {})
        request = requests.Request(
            method,
            full_url,
            data=data,
            files=files,
            headers=merged,
            params=req_args.get("params"),
            auth=req_args.get("auth"),
        )
        try:
            prepared = self._http.prepare_request(request) if authenticate else request.prepare()
        except (requests.exceptions.InvalidURL, ValueError) as exc:
            raise errors.TransportError(
                f"cannot send {method} {_safe_url(full_url)}: {exc}; check api_endpoint"
            ) from exc
        return prepared, req_args["hooks"]["response"]

    def _send_with_retries(
        self,
        method: str,
        full_url: str,
        data: Any,
        files: Any,
        query_params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        authenticate: bool,
        timeout: Timeout | float | None,
    ) -> requests.Response:
        import requests

        prepared, hook = self._prepare(
            method, full_url, data, files, query_params, headers, authenticate
        )
        policy = Timeout.coerce(timeout) if timeout is not None else self.timeout
        # proxies and CA bundle from the environment, read once per host rather than per request
        settings = self._environment.send_settings(
            prepared.url or full_url, self.verify, self._http
        )
        settings["stream"] = True  # the body is read by _send_once, which sees it cut off
        retries_done = 0
        maybe_processed = False  # an earlier attempt may have reached the server
        while True:
            try:
                response = self._send_once(prepared, policy, settings)
            except requests.RequestException as exc:
                if not self.retry.allows_error(method, exc, retries_done):
                    raise self._transport_error(method, full_url, exc, policy) from exc
                maybe_processed = maybe_processed or not never_reached_server(exc)
                delay = self.retry.backoff(retries_done)
                reason = _root_reason(exc)
            else:
                hook(response)
                if not self.retry.allows_status(method, response.status_code, retries_done):
                    response.deleted_by_earlier_attempt = (  # type: ignore[attr-defined]
                        maybe_processed and method == "DELETE" and response.status_code == 404
                    )
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.backoff(retries_done, retry_after)
                reason = f"status {response.status_code}"
            retries_done += 1
            LOG.warning(
                "%s %s failed (%s); retry %d of %d in %.2f s",
                method,
                _safe_url(full_url),
                redact_text(reason, self._secrets()),
                retries_done,
                self.retry.total,
                delay,
            )
            _sleep(delay)

    def _send_once(
        self, prepared: requests.PreparedRequest, policy: Timeout, settings: dict[str, Any]
    ) -> requests.Response:
        """Send once and read the whole body; a body cut short raises :class:`_CutOffBody`."""
        import requests
        import urllib3.exceptions

        response = self._http.send(
            prepared, timeout=policy.as_requests(), allow_redirects=True, **settings
        )
        raw = response.raw
        if hasattr(raw, "enforce_content_length"):
            raw.enforce_content_length = False  # checked below, keeping the bytes that arrived
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_content(64 * 1024):
                chunks.append(chunk)
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            response.close()
            raise _cut_off_body(exc, response, b"".join(chunks)) from exc
        except requests.ConnectionError as exc:
            response.close()
            if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):
                raise requests.ReadTimeout(
                    exc.args[0]
                ) from exc  # requests calls it a ConnectionError
            raise
        response._content = b"".join(chunks)
        missing = _missing_bytes(prepared, response)
        if missing:
            response.close()
            cause = urllib3.exceptions.IncompleteRead(missing[0], missing[1])
            raise _cut_off_body(cause, response, response._content)
        return response

    def _transport_error(
        self, method: str, full_url: str, exc: requests.RequestException, policy: Timeout
    ) -> errors.ApiClientError:
        import requests

        what = f"{method} {_safe_url(full_url)}"
        reason = redact_text(_root_reason(exc), self._secrets())
        if isinstance(exc, _CutOffBody):
            return self._cut_off_error(what, exc, reason)
        if isinstance(exc, requests.ConnectTimeout):
            return errors.RequestTimeoutError(
                f"{what}: no connection within {policy.connect:g} s; check api_endpoint and "
                "your network, or raise connect_timeout"
            )
        if isinstance(exc, requests.ReadTimeout) or "Read timed out" in reason:
            return errors.RequestTimeoutError(
                f"{what}: no answer within {policy.read:g} s; the API may still have processed "
                "it, so check before sending it again, or raise read_timeout"
            )
        if isinstance(exc, requests.exceptions.SSLError):
            return errors.TransportError(
                f"{what}: TLS verification failed ({reason}); set ca_bundle to the CA file that "
                "signed the server's certificate"
            )
        if never_reached_server(exc):
            return errors.TransportError(
                f"{what}: cannot connect ({reason}); check api_endpoint and your network"
            )
        return errors.TransportError(
            f"{what}: the connection failed ({reason}); the API may have processed the request, "
            "so check before sending it again"
        )

    def _cut_off_error(self, what: str, exc: _CutOffBody, reason: str) -> errors.ApiClientError:
        response = exc.answer
        preview = redact_text(exc.partial[:200].decode("utf-8", "replace"), self._secrets())
        return errors.InvalidResponseError(
            f"{what} answered {response.status_code} with a body cut off after "
            f"{len(exc.partial)} bytes ({reason}); it starts with {preview!r}; the API may have "
            "processed the request, so check before sending it again",
            status_code=response.status_code,
            request_id=response.headers.get("X-REQUEST-ID"),
        )

    def _login_session(self) -> None:
        """Log in with username and password and keep the CSRF token for later requests."""
        import simplejson

        self._csrf_token = None
        body = simplejson.dumps({"username": self.username, "password": self.password})
        response = self._send_with_retries(
            "POST",
            self._get_full_url("/accounts/action/"),
            body,
            None,
            {"do": "login"},
            None,
            False,
            None,
        )
        self.resp = response
        self._process_response(response)
        token = response.cookies.get("csrftoken") or self._http.cookies.get("csrftoken")
        if not token:
            raise errors.InvalidResponseError(
                f"login to {_safe_url(self.api_endpoint)} answered {response.status_code} without "
                "a csrftoken cookie; use login_method 'basic' with this endpoint",
                status_code=response.status_code,
                request_id=response.headers.get("X-REQUEST-ID"),
            )
        self._csrf_token = token

    # --- answers ------------------------------------------------------------------------------

    def _process_response(self, resp: requests.Response, return_list: bool = False) -> Any:
        """The decoded body of a 200/201/202 (``objects`` unwrapped), None for other successes.

        :raises ApiClientError: the subclass for the status, for a 4xx or 5xx answer.
        :raises InvalidResponseError: for a success whose body is not JSON.
        """
        status = resp.status_code
        if status in (200, 201, 202):
            return _unwrap_objects(self._decode(resp), return_list)
        if status >= 400:
            raise self._api_error(resp)
        return None

    def _decode(self, resp: requests.Response) -> Any:
        import simplejson

        content = resp.content
        if not content.strip():
            return None
        try:
            return simplejson.loads(content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            preview = redact_text(content[:200].decode("utf-8", "replace"), self._secrets())
            raise errors.InvalidResponseError(
                f"{resp.request.method} {_safe_url(resp.url)} answered {resp.status_code} with a "
                f"body that is not JSON ({exc}); it starts with {preview!r}",
                status_code=resp.status_code,
                request_id=resp.headers.get("X-REQUEST-ID"),
            ) from exc

    def _api_error(self, resp: requests.Response) -> errors.ApiClientError:
        error_class = errors.error_class_for_status(resp.status_code)
        return error_class(
            redact_text(resp.text, self._secrets()),
            status_code=resp.status_code,
            request_id=resp.headers.get("X-REQUEST-ID"),
            errors=self._redact_errors(_parse_error_list(resp.content)),
        )

    def _redact_errors(self, api_errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        secrets = self._secrets()
        return [
            {k: redact_text(v, secrets) if isinstance(v, str) else v for k, v in item.items()}
            for item in api_errors
        ]

    # --- the calls ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        data: Any = NO_BODY,
        query_params: dict[str, Any] | None = None,
        *,
        return_list: bool = False,
        unwrap: bool = True,
        authenticate: bool = True,
    ) -> Any:
        """Send ``data`` as JSON (unless it is NO_BODY) and return the processed answer."""
        import simplejson

        body = None if data is NO_BODY else simplejson.dumps(data)
        response = self._send(
            method, url, data=body, query_params=query_params, authenticate=authenticate
        )
        if getattr(response, "deleted_by_earlier_attempt", False):
            # The first DELETE was lost on its way back; the retry finds the object gone,
            # which is what was asked for.
            LOG.info("DELETE %s: gone after a retried attempt", _safe_url(response.url))
            return None
        if unwrap:
            return self._process_response(response, return_list)
        if response.status_code >= 400:
            raise self._api_error(response)
        return self._decode(response) if response.status_code in (200, 201, 202) else None

    def get(
        self, url: str, query_params: dict[str, Any] | None = None, return_list: bool = False
    ) -> Any:
        """GET ``url``; a body with ``objects`` comes back unwrapped."""
        return self._request("GET", url, query_params=query_params, return_list=return_list)

    def get_raw(self, url: str, query_params: dict[str, Any] | None = None) -> Any:
        """GET ``url`` and return the whole decoded body, ``meta`` included (no unwrapping)."""
        return self._request("GET", url, query_params=query_params, unwrap=False)

    def put(
        self,
        url: str,
        data: Any,
        query_params: dict[str, Any] | None = None,
        return_list: bool = False,
    ) -> Any:
        """PUT ``data`` as JSON to ``url``."""
        return self._request("PUT", url, data, query_params, return_list=return_list)

    def post(
        self,
        url: str,
        data: Any,
        query_params: dict[str, Any] | None = None,
        return_list: bool = False,
    ) -> Any:
        """POST ``data`` as JSON to ``url``."""
        return self._request("POST", url, data, query_params, return_list=return_list)

    def delete(
        self, url: str, query_params: dict[str, Any] | None = None, *, data: Any = NO_BODY
    ) -> Any:
        """DELETE ``url`` (with ``data`` as a JSON body for bulk deletes)."""
        return self._request("DELETE", url, data, query_params)


class _CutOffBody:
    """The answer's status arrived but its body was cut short (see :func:`_cut_off_body`)."""

    answer: requests.Response
    partial: bytes


@functools.cache
def _cut_off_body_class() -> type[requests.exceptions.ChunkedEncodingError]:
    """The exception class for a cut-off body, made on first use (requests loads lazily)."""
    import requests

    class CutOffBody(_CutOffBody, requests.exceptions.ChunkedEncodingError):
        """The answer's status arrived but its body was cut short."""

    return CutOffBody


def _cut_off_body(
    cause: Exception, response: requests.Response, partial: bytes
) -> requests.exceptions.ChunkedEncodingError:
    """A ``ChunkedEncodingError`` (so retries treat it as one) keeping the answer and its bytes."""
    error = _cut_off_body_class()(cause, response=response)
    error.answer = response  # type: ignore[attr-defined]
    error.partial = partial  # type: ignore[attr-defined]
    return error


def _missing_bytes(
    prepared: requests.PreparedRequest, response: requests.Response
) -> tuple[int, int] | None:
    """``(received, expected)`` when fewer bytes arrived than Content-Length announced."""
    expected = response.headers.get("Content-Length", "")
    if prepared.method == "HEAD" or response.status_code in (204, 304) or not expected.isdigit():
        return None
    received = response.raw.tell() if hasattr(response.raw, "tell") else None
    if received is None or received >= int(expected):
        return None
    return received, int(expected)


def _root_reason(exc: BaseException) -> str:
    """The innermost, most telling reason of a ``requests`` failure."""
    reason: Any = exc
    for _ in range(4):
        inner = getattr(reason, "reason", None)
        if inner is None and getattr(reason, "args", None):
            inner = reason.args[0] if isinstance(reason.args[0], BaseException) else None
        if inner is None:
            break
        reason = inner
    return str(reason) or type(reason).__name__


def _unwrap_objects(body: Any, return_list: bool) -> Any:
    if isinstance(body, dict) and "objects" in body:
        objects = body["objects"]
        if isinstance(objects, list) and len(objects) == 1 and not return_list:
            return objects[0]
        return objects
    return body


def _parse_error_list(content: bytes) -> list[dict[str, Any]]:
    """The API's ``[{error_type, error_point, error_message}, ...]``, or [] for anything else."""
    import simplejson

    try:
        parsed = simplejson.loads(content.decode("utf-8")) if content.strip() else None
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(parsed, dict) and "error_message" in parsed:
        parsed = [parsed]
    if not isinstance(parsed, list):
        return []
    return [item for item in parsed if isinstance(item, dict)]


# --- websocket --------------------------------------------------------------------------------


class WebsocketClient:
    """A websocket connection to the API's event stream, authenticated by an ``async_auth`` cookie.

    :param cookie: the ``async_auth`` cookie from ``accounts/action/?do=authenticate_asynchronous``.
    :param timeout: seconds for connecting and, by default, for each :meth:`recv`.
    :param ws_endpoint: the websocket URL; config ``ws_endpoint`` when left out.
    :param verify: TLS verification for ``wss://``: True, False or a CA bundle path.
    """

    def __init__(
        self,
        cookie: str,
        timeout: float = 10,
        *,
        ws_endpoint: str | None = None,
        verify: bool | str = True,
    ) -> None:
        self.ws_endpoint = ws_endpoint or conf.config["ws_endpoint"]
        self.timeout = timeout
        self.verify = verify
        self.conn = self._connect(cookie)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ws_endpoint={self.ws_endpoint!r}, timeout={self.timeout!r})"

    def _sslopt(self) -> dict[str, Any]:
        import ssl

        if self.verify is False:
            return {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        if isinstance(self.verify, str):
            return {"ca_certs": self.verify}
        return {}

    def _connect(self, cookie: str) -> Any:
        import websocket

        endpoint = _safe_url(self.ws_endpoint)
        try:
            return websocket.create_connection(
                self.ws_endpoint,
                timeout=self.timeout,
                header=[f"Cookie: async_auth={cookie}"],
                sslopt=self._sslopt(),
            )
        except (TimeoutError, websocket.WebSocketTimeoutException) as exc:
            raise WebsocketTimeoutError(
                f"opening the websocket {endpoint} took longer than {self.timeout} s; "
                "check ws_endpoint and your network"
            ) from exc
        except websocket.WebSocketBadStatusException as exc:
            status = exc.status_code
            raise errors.error_class_for_status(status)(
                f"the websocket {endpoint} refused the connection with status {status}; the "
                "async_auth cookie is valid for 2 minutes, so authenticate again",
                status_code=status,
            ) from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise WebsocketClosedError(
                f"cannot open the websocket {endpoint} ({type(exc).__name__}: {exc}); "
                "check ws_endpoint and your network"
            ) from exc

    def recv(self, timeout: float | None = None, return_raw: bool = False) -> Any:
        """The next event: decoded JSON, or the raw text with ``return_raw``.

        :param timeout: seconds to wait for it (default: the connection's timeout).
        :raises WebsocketTimeoutError: when nothing arrived in time.
        :raises WebsocketClosedError: when the connection was closed or dropped.
        """
        import simplejson
        import websocket

        old_timeout = self.conn.gettimeout()
        if timeout is not None:
            self.conn.settimeout(max(timeout, 0.001))
        try:
            frame = self.conn.recv()
        except (TimeoutError, websocket.WebSocketTimeoutException) as exc:
            raise WebsocketTimeoutError(
                f"no websocket event from {_safe_url(self.ws_endpoint)} within "
                f"{timeout if timeout is not None else old_timeout} s"
            ) from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise WebsocketClosedError(
                f"the websocket {_safe_url(self.ws_endpoint)} was closed ({exc}); reconnect"
            ) from exc
        finally:
            if timeout is not None and self.conn.connected:
                self.conn.settimeout(old_timeout)
        if frame in ("", b""):
            raise WebsocketClosedError(
                f"the websocket {_safe_url(self.ws_endpoint)} was closed by the server; reconnect"
            )
        if return_raw:
            return frame
        try:
            return simplejson.loads(frame)
        except ValueError as exc:
            raise errors.InvalidResponseError(
                f"the websocket sent a frame that is not JSON: {str(frame)[:200]!r}"
            ) from exc

    def reconnect(self, cookie: str) -> None:
        """Close the connection and open a new one with a fresh ``async_auth`` cookie."""
        self.close()
        self.conn = self._connect(cookie)

    def close(self) -> None:
        """Close the connection (closing twice is harmless)."""
        import websocket

        try:
            self.conn.close(timeout=1)  # do not wait long for a dead server's close answer
        except (websocket.WebSocketException, OSError) as exc:  # a dead socket is gone anyway
            LOG.debug("closing the websocket failed: %s", exc)

    def __enter__(self) -> WebsocketClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


# --- helpers kept from pycloudsigma -----------------------------------------------------------


def get_client() -> type[GenericClient]:
    """The client class: config ``client = module:Class`` if set, else :class:`GenericClient`."""
    spec = conf.config.get("client")
    if not spec:
        return GenericClient
    module_name, sep, class_name = str(spec).partition(":")
    if not sep or not module_name.strip() or not class_name.strip():
        raise errors.ConfigError(
            f"configuration key 'client' in {_config_path()} is {spec!r}; use 'module:Class'"
        )
    try:
        module = importlib.import_module(module_name.strip())
        return getattr(module, class_name.strip())  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise errors.ConfigError(
            f"configuration key 'client' in {_config_path()} names {spec!r}, which cannot be "
            f"loaded: {exc}"
        ) from exc


def get_urlparse() -> Callable[..., Any]:
    """``urllib.parse.urlparse`` (kept for pycloudsigma scripts)."""
    return urllib.parse.urlparse


def get_urljoin() -> Callable[..., Any]:
    """``urllib.parse.urljoin`` (kept for pycloudsigma scripts)."""
    return urllib.parse.urljoin


def get_urlunparse() -> Callable[..., Any]:
    """``urllib.parse.urlunparse`` (kept for pycloudsigma scripts)."""
    return urllib.parse.urlunparse


def get_unquote() -> Callable[..., Any]:
    """``urllib.parse.unquote`` (kept for pycloudsigma scripts)."""
    return urllib.parse.unquote


def get_parse_qsl() -> Callable[..., Any]:
    """``urllib.parse.parse_qsl`` (kept for pycloudsigma scripts)."""
    return urllib.parse.parse_qsl

"""The client of the API: one session per client, auth, retries within a deadline, and errors.

:class:`GenericClient` is the one place that turns an HTTP answer into a return value
(plain dicts and lists decoded from JSON) or an exception from :mod:`cloudsigma.errors`.
Its :meth:`~GenericClient.request` is the seam everything above goes through: resources,
the websocket's login, uploads and downloads. The HTTP library itself stays behind
:mod:`cloudsigma._transport`.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping

from cloudsigma import conf, errors
from cloudsigma._redact import basic_token, redact_body, redact_headers, redact_text, safe_url
from cloudsigma.errors import WebsocketClosedError, WebsocketTimeoutError
from cloudsigma.policies import (
    CONNECT_TIMEOUT,
    CUT_OFF,
    DEADLINE,
    FOREIGN,
    IDEMPOTENT_METHODS,
    READ_TIMEOUT,
    REFUSED,
    TLS,
    TOO_LARGE,
    UNSENDABLE,
    UNSENT_KINDS,
    Retry,
    Timeout,
    parse_retry_after,
)
from cloudsigma.version import __version__

# typing.TYPE_CHECKING without importing typing: importing the SDK stays fast.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # requests, urllib3, simplejson and the websocket load on first use (a client, a
    # request, a connection), so that importing the SDK stays fast.
    from typing import Any, TypeVar

    from cloudsigma._attempts import Attempts
    from cloudsigma._transport import Environment, Failure, PreparedRequest, Response, Session
    from cloudsigma.websocket.connection import WebsocketClient

    ResponseHook = Callable[..., Any]
    _Consumed = TypeVar("_Consumed")

__all__ = [
    "NO_BODY",
    "Answer",
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
    "unwrap_objects",
    "wrap_with_log_hook",
]

LOG = logging.getLogger(__name__)

USER_AGENT = f"cloudsigma-python/{__version__}"

#: Marks "send no body at all", as opposed to the JSON ``null`` that ``None`` is sent as.
NO_BODY: Any = object()

#: Longest API error text kept in an exception message, in characters.
MAX_ERROR_TEXT = 64 * 1024


def _sleep(seconds: float) -> None:
    """Sleep between retries (a separate function so tests can replace it)."""
    time.sleep(seconds)


# --- request logging --------------------------------------------------------------------------


def _no_hook(response: Response, *args: Any, **kwargs: Any) -> None:
    return None


def describe_exchange(response: Response, secrets: Iterable[str] = ()) -> str:
    """A readable, credential-free account of one request and its answer."""
    secrets = tuple(secrets)
    request = response.request

    def headers_text(headers: Any) -> str:
        return "\r\n".join(f"{k}: {v}" for k, v in redact_headers(headers, secrets).items())

    url = redact_text(safe_url(request.url or ""), secrets)
    reason = redact_text(str(response.reason or ""), secrets)
    return (
        f"-----REQUEST:\n{request.method} {url}\r\n{headers_text(request.headers)}\r\n\r\n"
        f"{redact_body(request.body, secrets)}\n-----REQUEST-END\n\n"
        f"-----RESPONSE:\nHTTP {response.status_code} {reason}\r\n"
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


def wrap_with_log_hook(
    log_level: str | int | None,
    next_hook: ResponseHook | None = None,
    *,
    secrets: Iterable[str] | Callable[[], Iterable[str]] = (),
) -> ResponseHook:
    """A ``requests`` response hook: log each exchange at ``log_level``, then call ``next_hook``.

    Credentials never reach the log: the Authorization, Cookie, Set-Cookie and
    X-CSRFToken headers, every ``password`` field of a JSON body, the
    ``csrftoken``/``sessionid``/``async_auth`` values and every string in
    ``secrets`` (wherever it appears, headers of any name included) are replaced
    by ``<redacted>``.

    :param log_level: a ``logging`` level name (``"DEBUG"``) or number; falsy turns logging off.
    :param next_hook: called with the response after logging.
    :param secrets: literal values to hide wherever they appear, or a function that
        returns them when an exchange is logged.
    """
    hook = next_hook or _no_hook
    if not log_level:
        return hook
    level = conf.log_level_number(log_level)
    if level is None:
        LOG.error("unknown request_log_level %r; requests are not logged", log_level)
        return hook
    secret_values = () if callable(secrets) else tuple(secrets)

    def log_hook(response: Response, *args: Any, **kwargs: Any) -> None:
        if LOG.isEnabledFor(level):
            shown = tuple(secrets()) if callable(secrets) else secret_values
            LOG.log(level, "%s", describe_exchange(response, shown))
        hook(response, *args, **kwargs)

    return log_hook


# --- answers ----------------------------------------------------------------------------------


class Answer:
    """One answer of the API, as :meth:`GenericClient.request` returns it.

    :ivar status_code: the HTTP status.
    :ivar headers: the answer's headers (case-insensitive).
    :ivar data: the decoded JSON of a 200, 201 or 202 answer; None for other statuses
        and empty bodies.
    :ivar response: the HTTP library's response object, for what is not here.
    """

    __slots__ = ("data", "response")

    def __init__(self, response: Response, data: Any) -> None:
        self.response = response
        self.data = data

    def __repr__(self) -> str:
        return f"Answer(status_code={self.status_code}, request_id={self.request_id!r})"

    @property
    def status_code(self) -> int:
        return int(self.response.status_code)

    @property
    def headers(self) -> Mapping[str, str]:
        return self.response.headers  # type: ignore[no-any-return]

    @property
    def request_id(self) -> str | None:
        """The ``X-REQUEST-ID`` header, which API support asks for."""
        return self.response.headers.get("X-REQUEST-ID")

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies the answer set, by name."""
        return {name: value or "" for name, value in self.response.cookies.items()}

    @property
    def content(self) -> bytes:
        return self.response.content  # type: ignore[no-any-return]

    @property
    def location(self) -> str | None:
        """The ``Location`` of the answer as an absolute URL (a 201's is the new object's)."""
        value = self.response.headers.get("Location")
        return urllib.parse.urljoin(self.response.url or "", value) if value else None

    def objects(self, return_list: bool = False) -> Any:
        """:attr:`data` with ``objects`` unwrapped, as pycloudsigma returned it."""
        return unwrap_objects(self.data, return_list)


def unwrap_objects(body: Any, return_list: bool = False) -> Any:
    """``body["objects"]`` when the body has one (its only item, unless ``return_list``)."""
    if isinstance(body, dict) and "objects" in body:
        objects = body["objects"]
        if isinstance(objects, list) and len(objects) == 1 and not return_list:
            return objects[0]
        return objects
    return body


def _endpoint_key(endpoint: str) -> tuple[tuple[str, str, int | None], str]:
    """What makes two endpoints the same: origin and path, trailing ``/`` aside."""
    return _origin(endpoint), urllib.parse.urlsplit(endpoint).path.rstrip("/")


def _redirect_target(response: Response) -> str | None:
    """Where a redirect points (absolute), '' for a redirect without Location, else None."""
    status = response.status_code
    if not 300 <= status < 400 or status == 304:
        return None
    location = response.headers.get("Location") or ""
    if not location:
        return ""
    try:
        return urllib.parse.urljoin(response.url or "", location)
    except ValueError:
        return location


# --- the client -------------------------------------------------------------------------------


class GenericClient:
    """Low-level client for the CloudSigma API: HTTP, authentication, parsing and errors.

    Arguments left out come from the configuration (``~/.cloudsigma.conf``,
    ``$CLOUDSIGMA_CONFIG`` and the ``CLOUDSIGMA_*`` environment variables);
    explicit arguments always win (see :class:`cloudsigma.conf.ClientSettings`).

    :param api_endpoint: e.g. ``https://zrh.cloudsigma.com/api/2.0/``.
    :param username: the account email.
    :param password: the account password.
    :param login_method: ``basic`` (HTTP basic auth), ``session`` (log in once, then use the
        session cookie and CSRF token), ``digest`` (HTTP Digest, MD5 with ``qop=auth``) or
        ``none``. Left out, config ``login_method`` or basic.
    :param request_log_level: log every exchange (redacted) at this level, e.g. ``"DEBUG"``.
    :param ws_endpoint: the websocket URL, e.g. ``wss://direct.zrh.cloudsigma.com/websocket``.
    :param direct_endpoint: the direct host that takes raw image uploads, e.g.
        ``https://direct.zrh.cloudsigma.com/api/2.0/`` (config ``direct_endpoint``,
        ``CLOUDSIGMA_DIRECT_ENDPOINT``); left out, the location's ``upload_url`` (see
        :attr:`direct_endpoint`).
    :param timeout: a :class:`Timeout`, a ``(connect, read)`` pair or a number for both.
    :param retry: a :class:`Retry` or a number of retries (0 turns retrying off).
    :param verify: TLS verification: True, False or the path of a CA bundle.
    :param deadline: seconds one call may take in all: connecting, every read, every retry
        and the sleeps between them (config ``deadline``; by default 300 s, and never less
        than one attempt's connect + read timeout).
    :param max_response_bytes: the largest JSON answer accepted, counted after
        decompression (config ``max_response_bytes``; by default 64 MiB).
    :param timeout_option: how the program calling the SDK lets its user raise the
        timeout (a command line's ``--timeout SECONDS``), named in timeout errors.
    """

    LOGIN_METHOD_BASIC = "basic"
    LOGIN_METHOD_SESSION = "session"
    LOGIN_METHOD_DIGEST = "digest"
    LOGIN_METHOD_NONE = "none"
    LOGIN_METHODS = conf.LOGIN_METHODS

    def __init__(
        self,
        api_endpoint: str | None = None,
        username: str | None = None,
        password: str | None = None,
        login_method: str | None = None,
        request_log_level: str | int | None = None,
        *,
        ws_endpoint: str | None = None,
        direct_endpoint: str | None = None,
        timeout: Timeout | float | tuple[float, float] | None = None,
        retry: Retry | int | None = None,
        verify: bool | str | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
        timeout_option: str | None = None,
    ) -> None:
        settings = conf.ClientSettings.load(
            api_endpoint,
            username,
            password,
            login_method,
            request_log_level,
            timeout=timeout,
            retry=retry,
            verify=verify,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            direct_endpoint=direct_endpoint,
        )
        conf.warn_if_exposed(settings)
        self.settings = settings
        self.api_endpoint: str = settings.api_endpoint
        self.login_method = settings.login_method
        self.username = settings.username
        self.password = settings.password
        self._ws_endpoint = ws_endpoint
        self._direct_endpoint = settings.direct_endpoint
        self.timeout = settings.timeout
        self.retry = settings.retry
        self.verify: bool | str = settings.verify
        self.request_log_level = settings.request_log_level
        self.deadline = settings.deadline
        self.max_response_bytes = settings.max_response_bytes
        self.timeout_option = timeout_option
        self.resp: Response | None = None
        self.response_hook: ResponseHook | None = None
        self._csrf_token: str | None = None
        self._login_lock = threading.Lock()
        # Loaded with the first client, not with the module: importing the SDK stays fast.
        from cloudsigma import _isolation
        from cloudsigma._transport import DigestAuth, Environment, new_session

        # Cookies, credentials and hooks stay in this Session; the connections under it are
        # shared with the other clients of the process.
        self._http: Session = new_session(USER_AGENT)
        # One Digest state per client: the server's nonce is reused by later calls.
        self._digest = (
            DigestAuth(self.username or "", self.password or "")
            if self.login_method == self.LOGIN_METHOD_DIGEST
            else None
        )
        self._environment: Environment = Environment()
        self._origin = _isolation.origin(self.api_endpoint)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_endpoint={safe_url(self.api_endpoint)!r}, "
            f"username={self.username!r}, login_method={self.login_method!r})"
        )

    @property
    def http(self) -> Session:
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

    @property
    def direct_endpoint(self) -> str:
        """Where raw image uploads go: the location's direct host, ending in ``/``.

        The constructor argument or config ``direct_endpoint`` if given; else the
        ``upload_url`` of the location whose ``api_endpoint`` is this client's (asked of
        ``/locations/`` once); else ``api_endpoint`` with ``direct.`` before its host, as
        the docs name it.
        """
        if self._direct_endpoint is None:
            self._direct_endpoint = self._located_direct_endpoint()
        return self._direct_endpoint.rstrip("/") + "/"

    def _located_direct_endpoint(self) -> str:
        try:
            locations = self.get("/locations/", query_params={"limit": 0}, return_list=True)
        except errors.ApiClientError as exc:
            LOG.info("cannot read /locations/ (%s); deriving the direct host", exc)
            locations = []
        wanted = _endpoint_key(self.api_endpoint)
        for location in locations if isinstance(locations, list) else []:
            if not isinstance(location, dict) or not isinstance(location.get("upload_url"), str):
                continue
            if _endpoint_key(str(location.get("api_endpoint") or "")) == wanted:
                return str(location["upload_url"])
        return conf.derive_direct_endpoint(self.api_endpoint)

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
        """Values that must never be shown: the password, its Basic token, session credentials."""
        values = [self.password or "", self._csrf_token or ""]
        if self.password:
            values.append(basic_token(self.username, self.password))
            values.append(f"{self.username or ''}:{self.password}")
        values.extend(_cookie_values(self._http))
        if self._digest is not None:
            values.extend(self._digest.sent_values())
        return values

    def redact(self, text: str) -> str:
        """``text`` without this client's credentials, by name and by value, for a message."""
        return redact_text(text, self._secrets())

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
        if authenticate and self._digest is not None:
            kwargs["auth"] = self._digest
        if authenticate and self.login_method == self.LOGIN_METHOD_SESSION and self._csrf_token:
            kwargs["headers"]["X-CSRFToken"] = self._csrf_token
            kwargs["headers"]["Referer"] = self._get_full_url("/")
        if query_params:
            kwargs["params"] = dict(query_params)
        response_hook = self.response_hook or _no_hook
        if self.request_log_level:  # collecting the secrets to redact is for logging only
            # the secrets as they are once the answer is in: cookies set by a login, the
            # Digest header built for a challenge
            response_hook = wrap_with_log_hook(
                self.request_log_level, self.response_hook, secrets=self._secrets
            )
        kwargs["hooks"] = {"response": response_hook}
        return kwargs

    # --- the seam -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        data: Any = NO_BODY,
        *,
        query_params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | memoryview | None = None,
        authenticate: bool = True,
        check: bool = True,
        retry: Retry | None = None,
    ) -> Answer:
        """Send one call (with its retries, a session login if needed) and return its answer.

        :param url: a path under the endpoint (``/drives/``) or an absolute URL.
        :param data: sent as JSON unless it is :data:`NO_BODY`.
        :param body: raw bytes to send instead of JSON (an upload chunk).
        :param authenticate: False sends no credentials, no session cookies or CSRF token.
        :param check: raise the API's error for a 4xx or 5xx answer (else return it).
        :param retry: a retry policy for this call instead of the client's.
        :raises ApiClientError: the subclass for the status (with ``check``).
        :raises RedirectError: for any redirect: API calls do not follow them.
        :raises TransportError: when no usable answer arrived within the deadline.
        :raises InvalidResponseError: for a success whose body is not JSON, or is too large.
        """
        response = self._send(
            method,
            url,
            data=self._encode(data) if body is None else body,
            query_params=dict(query_params) if query_params else None,
            headers=dict(headers) if headers else None,
            authenticate=authenticate,
            retry=retry,
        )
        # A DELETE whose first answer was lost finds the object gone: what was asked for.
        gone = getattr(response, "deleted_by_earlier_attempt", False)
        if check and response.status_code >= 400 and not gone:
            raise self._api_error(response)
        decoded = self._decode(response) if response.status_code in (200, 201, 202) else None
        return Answer(response, decoded)

    def stream(
        self,
        method: str,
        url: str,
        consume: Callable[[Response], _Consumed],
        *,
        headers: Mapping[str, str] | None = None,
        retry: Retry | None = None,
        redirects: int = 1,
    ) -> _Consumed:
        """Send a call whose answer ``consume`` reads as it arrives (a download).

        ``consume`` gets the answer, status and headers read, body not; what it returns is
        returned. Up to ``redirects`` redirects are followed (to a signed link, say); one to
        another scheme, host or port is followed without any credential.

        :raises RedirectError: for more redirects than allowed.
        :raises TransportError: when the connection fails before or while ``consume`` reads.
        """
        full_url = self._get_full_url(url)
        authenticate = True
        for _hop in range(redirects + 1):
            response, consumed = self._send_streamed(
                method, full_url, consume, dict(headers or {}), authenticate, retry
            )
            target = _redirect_target(response)
            if target is None:
                return consumed
            if _hop == redirects or not target:
                raise self._redirect_error(method, full_url, response, target, redirects)
            full_url = target
            authenticate = authenticate and _origin(target) == self._origin
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    def _encode(data: Any) -> str | None:
        if data is NO_BODY:
            return None
        import simplejson

        try:
            return str(simplejson.dumps(data))
        except RecursionError as exc:
            raise errors.InvalidArgumentError(
                "the data to send is nested too deeply to be encoded as JSON", "data"
            ) from exc

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
        retry: Retry | None = None,
    ) -> Response:
        """Send one request (with retries and session login) and return the raw response.

        The status is not checked here, except that a redirect is an error.

        :param data: the body as bytes or str (or a form dict, with ``files`` for multipart).
        :param authenticate: False sends no credentials, no session cookies or CSRF token.
        :raises TransportError: when no answer arrived (``RequestTimeoutError`` on a timeout).
        """
        method = method.upper()
        full_url = self._get_full_url(url)
        if authenticate:
            self._check_origin(method, full_url)
        logged_in_now = False
        if authenticate and self.login_method == self.LOGIN_METHOD_SESSION:
            with self._login_lock:  # threads sharing a client log in once
                if not self._csrf_token:
                    self._login_session()
                    logged_in_now = True
        send_args = (method, full_url, data, files, query_params, headers, authenticate, timeout)
        response = self._send_with_retries(*send_args, retry=retry)
        if (
            response.status_code == 401
            and authenticate
            and self.login_method == self.LOGIN_METHOD_SESSION
            and not logged_in_now
        ):
            LOG.info("session expired; logging in again to %s", safe_url(self.api_endpoint))
            self._login_session()
            response = self._send_with_retries(*send_args, retry=retry)
        self.resp = response
        target = _redirect_target(response)
        if target is not None:
            raise self._redirect_error(method, full_url, response, target, 0)
        return response

    def _check_origin(self, method: str, full_url: str) -> None:
        """Credentials go to the configured scheme, host and port only."""
        if _origin(full_url) != self._origin:
            raise errors.ForeignOriginError(
                f"{method} {safe_url(full_url)} was not sent: it is not under api_endpoint "
                f"{safe_url(self.api_endpoint)}, and credentials go nowhere else; fetch such "
                "a URL without credentials, or use a client for that endpoint"
            )

    def _prepare(
        self,
        method: str,
        full_url: str,
        data: Any,
        files: Any,
        query_params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        authenticate: bool,
    ) -> tuple[PreparedRequest, ResponseHook]:
        """The prepared request, and the response hook to call once its body is read."""
        from cloudsigma._transport import CaseInsensitiveDict, Failure, build_request

        req_args = self._get_req_args(data, query_params, authenticate=authenticate)
        merged = CaseInsensitiveDict(req_args["headers"])
        if files is not None:
            del merged["Content-Type"]
        merged.update(headers or {})
        prepared = build_request(
            self._http,
            method,
            full_url,
            data=data,
            files=files,
            headers=merged,
            params=req_args.get("params"),
            auth=req_args.get("auth"),
            with_session=authenticate,
        )
        if isinstance(prepared, Failure):
            raise errors.TransportError(
                f"cannot send {method} {safe_url(full_url)}: {self.redact(prepared.reason)}; "
                "check api_endpoint"
            ) from prepared.cause
        return prepared, req_args["hooks"]["response"]

    def _attempts(self, retry: Retry | None) -> Attempts:
        from cloudsigma._attempts import Attempts

        return Attempts(retry or self.retry, self.deadline, sleep=_sleep)

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
        *,
        retry: Retry | None = None,
    ) -> Response:
        from cloudsigma._transport import Failure, send_once

        prepared, hook = self._prepare(
            method, full_url, data, files, query_params, headers, authenticate
        )
        policy = Timeout.coerce(timeout) if timeout is not None else self.timeout
        # proxies and CA bundle from the environment, read once per host rather than per request
        settings = self._environment.send_settings(
            prepared.url or full_url, self.verify, self._http
        )
        attempts = self._attempts(retry)
        maybe_processed = False  # an earlier attempt may have reached the server
        while True:
            outcome = send_once(
                self._http,
                prepared,
                timeout=policy.within(attempts.remaining()),
                settings=settings,
                deadline_at=attempts.deadline_at,
                max_bytes=self.max_response_bytes,
            )
            if isinstance(outcome, Failure):
                delay = self._retry_failure(method, outcome, attempts)
                if delay is None:
                    raise self._transport_error(method, full_url, outcome, policy, attempts)
                maybe_processed = maybe_processed or outcome.kind not in UNSENT_KINDS
                reason = outcome.reason
            else:
                hook(outcome)
                delay = self._retry_status(method, outcome, attempts)
                if delay is None:
                    outcome.deleted_by_earlier_attempt = (  # type: ignore[attr-defined]
                        maybe_processed and method == "DELETE" and outcome.status_code == 404
                    )
                    return outcome
                reason = f"status {outcome.status_code}"
            self._log_retry(method, full_url, reason, attempts, delay)
            attempts.sleep(delay)

    def _send_streamed(
        self,
        method: str,
        full_url: str,
        consume: Callable[[Response], _Consumed],
        headers: dict[str, str],
        authenticate: bool,
        retry: Retry | None,
    ) -> tuple[Response, _Consumed]:
        """Like :meth:`_send_with_retries`, with ``consume`` reading each answer's body."""
        from cloudsigma._transport import Failure, stream_once

        if authenticate and self.login_method == self.LOGIN_METHOD_SESSION:
            with self._login_lock:
                if not self._csrf_token:
                    self._login_session()
        prepared, hook = self._prepare(method, full_url, None, None, None, headers, authenticate)
        settings = self._environment.send_settings(
            prepared.url or full_url, self.verify, self._http
        )
        attempts = self._attempts(retry)
        while True:
            outcome = stream_once(
                self._http,
                prepared,
                consume,
                timeout=self.timeout.within(attempts.remaining()),
                settings=settings,
                deadline_at=attempts.deadline_at,
            )
            if not isinstance(outcome, Failure):
                hook(outcome[0])
                return outcome
            delay = self._retry_failure(method, outcome, attempts)
            if delay is None:
                raise self._transport_error(method, full_url, outcome, self.timeout, attempts)
            self._log_retry(method, full_url, outcome.reason, attempts, delay)
            attempts.sleep(delay)

    def _retry_failure(self, method: str, failure: Failure, attempts: Attempts) -> float | None:
        """Seconds to sleep before retrying after ``failure``, or None for no retry."""
        if failure.kind in (READ_TIMEOUT, CONNECT_TIMEOUT) and attempts.expired():
            failure.kind = DEADLINE  # the timeout was cut short by the deadline
        if not attempts.policy.allows_failure(method, failure.kind, attempts.retries_done):
            return None
        return attempts.next_delay()

    def _retry_status(self, method: str, response: Response, attempts: Attempts) -> float | None:
        """Seconds to sleep before retrying after this answer, or None to keep it."""
        status = response.status_code
        if not attempts.policy.allows_status(method, status, attempts.retries_done):
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        delay = attempts.next_delay(retry_after)
        if delay is None and attempts.gave_up:
            LOG.warning(
                "%s %s answered %d; not retried: %s (waited %s)",
                method,
                safe_url(response.url or ""),
                status,
                attempts.gave_up,
                _seconds(attempts.elapsed()),
            )
            response.gave_up = attempts.gave_up  # type: ignore[attr-defined]
        return delay

    def _log_retry(
        self, method: str, full_url: str, reason: str, attempts: Attempts, delay: float
    ) -> None:
        LOG.warning(
            "%s %s failed (%s); retry %d of %d in %.2f s",
            method,
            safe_url(full_url),
            self.redact(reason),
            attempts.retries_done + 1,
            attempts.policy.total,
            delay,
        )

    # --- turning failures into errors ---------------------------------------------------------

    def _hint(self, key: str) -> str:
        """How to raise the setting ``key``: the caller's own option if it named one."""
        if self.timeout_option and key in ("connect_timeout", "read_timeout"):
            return f"raise it with {self.timeout_option}"
        argument = "timeout=" if key.endswith("_timeout") else f"{key}="
        return f"raise {key} (in {conf.config.path} or as {argument})"

    def _transport_error(
        self,
        method: str,
        full_url: str,
        failure: Failure,
        policy: Timeout,
        attempts: Attempts,
    ) -> errors.ApiClientError:
        what = f"{method} {safe_url(full_url)}"
        reason = self.redact(failure.reason)
        error = self._failure_error(what, method, failure, reason, policy, attempts)
        error.__cause__ = failure.cause
        return error

    def _failure_error(
        self,
        what: str,
        method: str,
        failure: Failure,
        reason: str,
        policy: Timeout,
        attempts: Attempts,
    ) -> errors.ApiClientError:
        kind = failure.kind
        each = "" if attempts.count == 1 else f" on each of {attempts.count} attempts"
        spent = f"waited {_seconds(attempts.elapsed())} in all"
        unsafe = method not in IDEMPOTENT_METHODS
        again = (
            "the API may still have processed it, so check before sending it again"
            if unsafe
            else "sending it again is safe"
        )
        if kind == CUT_OFF:
            return self._cut_off_error(what, failure, reason)
        if kind == CONNECT_TIMEOUT:
            return self._transient(
                errors.RequestTimeoutError,
                f"{what}: no connection within {policy.connect:g} s{each} ({spent}); check "
                f"api_endpoint and your network, or {self._hint('connect_timeout')}",
            )
        if kind == READ_TIMEOUT:
            return self._transient(
                errors.RequestTimeoutError,
                f"{what}: no answer within {policy.read:g} s{each} ({spent}); {again}, "
                f"or {self._hint('read_timeout')}",
            )
        if kind == DEADLINE:
            return errors.DeadlineExceededError(
                f"{what}: no complete answer within the {_seconds(self.deadline)} "
                f"deadline of the call ({attempts.summary()}, retries and sleeps included); "
                f"{again}, or {self._hint('deadline')}"
            )
        if kind == TLS:
            return errors.TransportError(
                f"{what}: TLS verification failed ({reason}); set ca_bundle to the CA file that "
                "signed the server's certificate"
            )
        if kind == TOO_LARGE:
            response = failure.response
            return errors.ResponseTooLargeError(
                f"{what} answered {getattr(response, 'status_code', '')}: {reason}; raise "
                "max_response_bytes if such an answer is expected",
                status_code=getattr(response, "status_code", None),
                request_id=response.headers.get("X-REQUEST-ID") if response is not None else None,
            )
        if kind == FOREIGN:
            return errors.IsolationError(f"{what} was not sent: {reason}")
        if kind == UNSENDABLE:
            return errors.TransportError(f"cannot send {what}: {reason}; check api_endpoint")
        if kind == REFUSED:
            return self._transient(
                errors.TransportError,
                f"{what}: cannot connect ({reason}){each}; check api_endpoint and your network",
            )
        return self._transient(
            errors.TransportError,
            f"{what}: the connection failed ({reason}){each}; "
            + (again if unsafe else "the API may have processed the request, so check first"),
        )

    @staticmethod
    def _transient(error_class: type[errors.ApiClientError], message: str) -> errors.ApiClientError:
        error = error_class(message)
        error.transient = True
        return error

    def _cut_off_error(self, what: str, failure: Failure, reason: str) -> errors.ApiClientError:
        response = failure.response
        preview = self.redact(failure.partial[:200].decode("utf-8", "replace"))
        error = errors.InvalidResponseError(
            f"{what} answered {getattr(response, 'status_code', '')} with a body cut off after "
            f"{len(failure.partial)} bytes ({reason}); it starts with {preview!r}; the API may "
            "have processed the request, so check before sending it again",
            status_code=getattr(response, "status_code", None),
            request_id=response.headers.get("X-REQUEST-ID") if response is not None else None,
        )
        error.transient = True
        return error

    def _redirect_error(
        self, method: str, full_url: str, response: Response, target: str, allowed: int
    ) -> errors.RedirectError:
        shown = self.redact(safe_url(target))
        found = f"to {shown}" if target else "without a Location"
        why = (
            "API calls do not follow redirects, so that no credential goes anywhere but "
            "api_endpoint; check that api_endpoint is the API's own URL (https, right host "
            "and path)"
            if not allowed
            else f"only {allowed} redirect is followed"
        )
        return errors.RedirectError(
            f"{method} {safe_url(full_url)} answered {response.status_code} redirecting "
            f"{found}; {why}",
            status_code=response.status_code,
            request_id=response.headers.get("X-REQUEST-ID"),
            location=shown or None,
        )

    def _login_session(self) -> None:
        """Log in with username and password and keep the CSRF token for later requests."""
        self._csrf_token = None
        full_url = self._get_full_url("/accounts/action/")
        body = self._encode({"username": self.username, "password": self.password})
        response = self._send_with_retries(
            "POST", full_url, body, None, {"do": "login"}, None, False, None
        )
        self.resp = response
        target = _redirect_target(response)
        if target is not None:
            raise self._redirect_error("POST", full_url, response, target, 0)
        self._process_response(response)
        token = response.cookies.get("csrftoken") or self._http.cookies.get("csrftoken")
        if not token:
            raise errors.InvalidResponseError(
                f"login to {safe_url(self.api_endpoint)} answered {response.status_code} without "
                "a csrftoken cookie; use login_method 'basic' with this endpoint",
                status_code=response.status_code,
                request_id=response.headers.get("X-REQUEST-ID"),
            )
        self._csrf_token = token

    # --- answers ------------------------------------------------------------------------------

    def _process_response(self, resp: Response, return_list: bool = False) -> Any:
        """The decoded body of a 200/201/202 (``objects`` unwrapped), None for other successes.

        :raises ApiClientError: the subclass for the status, for a 4xx or 5xx answer.
        :raises InvalidResponseError: for a success whose body is not JSON.
        """
        status = resp.status_code
        if status in (200, 201, 202):
            return unwrap_objects(self._decode(resp), return_list)
        if status >= 400:
            raise self._api_error(resp)
        return None

    def _decode(self, resp: Response) -> Any:
        import simplejson

        content = resp.content
        if not content.strip():
            return None
        try:
            return simplejson.loads(content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            problem = (
                "nested deeper than the SDK decodes"
                if isinstance(exc, RecursionError)
                else f"that is not JSON ({exc})"
            )
            preview = self.redact(content[:200].decode("utf-8", "replace"))
            raise errors.InvalidResponseError(
                f"{resp.request.method} {safe_url(resp.url)} answered {resp.status_code} with a "
                f"body {problem}; it starts with {preview!r}",
                status_code=resp.status_code,
                request_id=resp.headers.get("X-REQUEST-ID"),
            ) from exc

    def _api_error(self, resp: Response) -> errors.ApiClientError:
        error_class = errors.error_class_for_status(resp.status_code)
        secrets = self._secrets()
        error = error_class(
            _bounded_redaction(resp.text, secrets),
            status_code=resp.status_code,
            request_id=resp.headers.get("X-REQUEST-ID"),
            errors=_redact_errors(_parse_error_list(resp.content), secrets),
        )
        gave_up = getattr(resp, "gave_up", None)
        if gave_up:
            errors.add_note(error, f"not retried: {gave_up}")
        return error

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
        answer = self.request(
            method, url, data, query_params=query_params, authenticate=authenticate
        )
        if getattr(answer.response, "deleted_by_earlier_attempt", False):
            # The first DELETE was lost on its way back; the retry finds the object gone,
            # which is what was asked for.
            LOG.info("DELETE %s: gone after a retried attempt", safe_url(answer.response.url))
            return None
        return answer.objects(return_list) if unwrap else answer.data

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

    def options(self, url: str) -> list[str]:
        """The HTTP methods the API allows on ``url``, from its ``OPTIONS`` answer.

        :raises ApiClientError: the subclass for the status, for a 4xx or 5xx answer.
        """
        response = self._send("OPTIONS", url)
        if response.status_code >= 400:
            raise self._api_error(response)
        listed = response.headers.get("Allow") or response.text or ""
        return [method.strip().upper() for method in listed.split(",") if method.strip()]


def _origin(url: str) -> tuple[str, str, int | None]:
    from cloudsigma._isolation import origin

    return origin(url)


def _seconds(seconds: float) -> str:
    from cloudsigma._attempts import format_seconds

    return format_seconds(seconds)


def _cookie_values(session: Session) -> list[str]:
    return [cookie.value or "" for cookie in session.cookies]


def _bounded_redaction(text: str, secrets: list[str]) -> str:
    """``text`` without secrets, cut to :data:`MAX_ERROR_TEXT` characters.

    The cut comes after the redaction of a slightly longer piece, so that no secret
    straddling the cut survives in part.
    """
    if len(text) <= MAX_ERROR_TEXT:
        return redact_text(text, secrets)
    margin = 4 * max((len(s) for s in secrets), default=0) + 64
    shown = redact_text(text[: MAX_ERROR_TEXT + margin], secrets)[:MAX_ERROR_TEXT]
    return f"{shown}... ({len(text)} characters)"


def _redact_errors(api_errors: list[dict[str, Any]], secrets: list[str]) -> list[dict[str, Any]]:
    return [
        {k: redact_text(v, secrets) if isinstance(v, str) else v for k, v in item.items()}
        for item in api_errors
    ]


def _parse_error_list(content: bytes) -> list[dict[str, Any]]:
    """The API's ``[{error_type, error_point, error_message}, ...]``, or [] for anything else."""
    import simplejson

    try:
        parsed = simplejson.loads(content.decode("utf-8")) if content.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    if isinstance(parsed, dict) and "error_message" in parsed:
        parsed = [parsed]
    if not isinstance(parsed, list):
        return []
    return [item for item in parsed if isinstance(item, dict)]


# --- helpers kept from pycloudsigma -----------------------------------------------------------


def get_client() -> type[GenericClient]:
    """The client class: config ``client = module:Class`` if set and allowed, else GenericClient.

    A configured class is used only when the program opted in
    (:func:`cloudsigma.conf.allow_client_class`, or ``CLOUDSIGMA_ALLOW_CLIENT_CLASS=1``),
    and only if it is a :class:`GenericClient` subclass.

    :raises ConfigError: when the key is set without the opt-in, names nothing loadable,
        or names something that is not a GenericClient subclass.
    """
    spec = conf.client_class_spec()
    if spec is None:
        return GenericClient
    module_name, _, class_name = spec.partition(":")
    path = conf.config.path
    try:
        module = importlib.import_module(module_name)
        found = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise errors.ConfigError(
            f"configuration key 'client' in {path} names {spec!r}, which cannot be loaded: {exc}"
        ) from exc
    if not (isinstance(found, type) and issubclass(found, GenericClient)):
        raise errors.ConfigError(
            f"configuration key 'client' in {path} names {spec!r}, which is not a "
            "subclass of cloudsigma.generic.GenericClient"
        )
    return found


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


def __getattr__(name: str) -> Any:
    # pycloudsigma's generic.WebsocketClient, loaded on first use: most scripts never open
    # the event stream.
    if name == "WebsocketClient":
        from cloudsigma.websocket.connection import WebsocketClient

        return WebsocketClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

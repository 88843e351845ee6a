"""The API's event stream: :class:`WebsocketClient` (one connection, authenticated by an
``async_auth`` cookie) and :class:`Websocket` (waits for changes to objects).

Both are re-exported where pycloudsigma had them: ``cloudsigma.generic.WebsocketClient``
and ``cloudsigma.resource.Websocket``. websocket-client is imported on first use.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

from cloudsigma import _isolation, conf, errors
from cloudsigma._redact import safe_url
from cloudsigma.resource import Accounts, ResourceBase

__all__ = ["MessageFilter", "Websocket", "WebsocketClient"]

LOG = logging.getLogger(__name__)


def _monotonic() -> float:
    return time.monotonic()


# --- the connection ----------------------------------------------------------------------------


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

        endpoint = safe_url(self.ws_endpoint)
        refusal = _isolation.check(self.ws_endpoint, endpoint)
        if refusal:
            raise errors.IsolationError(f"the websocket {endpoint} was not opened: {refusal}")
        try:
            return websocket.create_connection(
                self.ws_endpoint,
                timeout=self.timeout,
                header=[f"Cookie: async_auth={cookie}"],
                sslopt=self._sslopt(),
            )
        except (TimeoutError, websocket.WebSocketTimeoutException) as exc:
            raise errors.WebsocketTimeoutError(
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
            raise errors.WebsocketClosedError(
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
            raise errors.WebsocketTimeoutError(
                f"no websocket event from {safe_url(self.ws_endpoint)} within "
                f"{timeout if timeout is not None else old_timeout} s"
            ) from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise errors.WebsocketClosedError(
                f"the websocket {safe_url(self.ws_endpoint)} was closed ({exc}); reconnect"
            ) from exc
        finally:
            if timeout is not None and self.conn.connected:
                self.conn.settimeout(old_timeout)
        if frame in ("", b""):
            raise errors.WebsocketClosedError(
                f"the websocket {safe_url(self.ws_endpoint)} was closed by the server; reconnect"
            )
        if return_raw:
            return frame
        try:
            return simplejson.loads(frame)
        except ValueError as exc:
            raise errors.InvalidResponseError(
                f"the websocket sent a frame that is not JSON: {str(frame)[:200]!r}"
            ) from exc
        except RecursionError as exc:
            raise errors.InvalidResponseError(
                f"the websocket sent a frame nested deeper than the SDK decodes: "
                f"{str(frame)[:200]!r}"
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


# --- the event waiter --------------------------------------------------------------------------

MessageFilter = dict[str, Any]


class Websocket:
    """The API's event stream: waits for changes to objects.

    It authenticates with the credentials of its own client (built from
    ``client_kwargs``, or config) and connects to that client's ``ws_endpoint``.

    :param timeout: default seconds to wait for events.
    :param reconnect: reconnect once (with a fresh cookie) when the connection drops.
    :param client_kwargs: arguments for the client, as for any resource.
    """

    def __init__(self, timeout: float = 10, *, reconnect: bool = False, **client_kwargs: Any):
        self.timeout = timeout
        self.reconnect = reconnect
        self.accounts = Accounts(**client_kwargs)
        self.ws = WebsocketClient(
            self._authenticate(),
            self.timeout,
            ws_endpoint=self.accounts.c.ws_endpoint,
            verify=self.accounts.c.verify,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.ws.ws_endpoint!r}, timeout={self.timeout!r})"

    def _authenticate(self) -> str:
        return self.accounts.asynchronous_cookie()

    def close(self) -> None:
        """Close the websocket and the client's connections."""
        self.ws.close()
        self.accounts.c.close()

    def __enter__(self) -> Websocket:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _recv(self, timeout: float, reconnected: list[bool]) -> Any:
        try:
            return self.ws.recv(timeout)
        except errors.WebsocketClosedError:
            if not self.reconnect or reconnected[0]:
                raise
            LOG.warning("the websocket connection dropped; reconnecting")
            reconnected[0] = True
            self.ws.reconnect(self._authenticate())
            return self.ws.recv(timeout)

    def wait(
        self, message_filter: MessageFilter | None = None, timeout: float | None = None
    ) -> builtins.list[Any]:
        """Read events until one matches ``message_filter``; returns every event read.

        ``message_filter`` maps a frame key to a value or a list of values, e.g.
        ``{"resource_type": "drives"}``; a frame matches when any key has any value.

        :raises WebsocketTimeoutError: when no matching event arrived within ``timeout``.
        """
        wanted = _normalise_filter(message_filter)
        deadline = _monotonic() + (self.timeout if timeout is None else timeout)
        events: builtins.list[Any] = []
        reconnected = [False]
        while (remaining := deadline - _monotonic()) > 0:
            try:
                frame = self._recv(remaining, reconnected)
            except errors.WebsocketTimeoutError:
                break
            events.append(frame)
            if self.filter_frame(wanted, frame):
                return events
        raise errors.WebsocketTimeoutError(
            f"no websocket event matching {message_filter!r} within "
            f"{self.timeout if timeout is None else timeout} s ({len(events)} other events)"
        )

    def filter_frame(self, message_filter: MessageFilter | None, frame: Any) -> bool:
        """Whether ``frame`` matches: any filter key with any of its values (no filter: all)."""
        if not message_filter:
            return True
        if not isinstance(frame, dict):
            return False
        for key, values in _normalise_filter(message_filter).items():
            if key in frame and frame[key] in values:
                return True
        return False

    def _resource(self, cls: Any) -> Any:
        if isinstance(cls, type) and issubclass(cls, ResourceBase):
            return cls.from_client(self.accounts.c)
        return cls()

    def wait_obj_type(self, resource_type: str, cls: Any, timeout: float | None = None) -> Any:
        """Wait for an event about any ``resource_type`` object, then GET that object."""
        frame = self.wait({"resource_type": resource_type}, timeout=timeout)[-1]
        return self._resource(cls).get_from_url(frame["resource_uri"])

    def wait_obj_uri(self, resource_uri: str, cls: Any, timeout: float | None = None) -> Any:
        """Wait for an event about ``resource_uri``, then GET that object."""
        self.wait({"resource_uri": resource_uri}, timeout=timeout)
        return self._resource(cls).get_from_url(resource_uri)

    def wait_obj_wrapper(
        self,
        waiter: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
        timeout: float | None = None,
        extra_filter: Callable[[Any], bool] = lambda x: True,
    ) -> Any:
        """Call ``waiter(*args, timeout=remaining, **kwargs)`` until ``extra_filter`` accepts it."""
        total = self.timeout if timeout is None else timeout
        deadline = _monotonic() + total
        kwargs = dict(kwargs or {})
        while (remaining := deadline - _monotonic()) > 0:
            kwargs["timeout"] = remaining
            result = waiter(*args, **kwargs)
            if extra_filter(result):
                return result
        raise errors.WebsocketTimeoutError(f"no accepted event within {total} s")

    def wait_for_status(self, uri: str, resource: Any, status: str, timeout: float = 30) -> Any:
        """Wait for events about ``uri`` until the object (GET after each) has ``status``.

        :raises WebsocketTimeoutError: naming the URI, the wanted and the last seen status.
        """
        seen: builtins.list[Any] = [None]

        def has_status(obj: Any) -> bool:
            seen[0] = obj.get("status") if isinstance(obj, dict) else None
            return bool(seen[0] == status)

        try:
            return self.wait_obj_wrapper(
                self.wait_obj_uri, (uri, resource), timeout=timeout, extra_filter=has_status
            )
        except errors.WebsocketTimeoutError as exc:
            raise errors.WebsocketTimeoutError(
                f"{uri} did not reach status {status} within {timeout} s; "
                f"last seen status: {seen[0]}"
            ) from exc


def _normalise_filter(message_filter: MessageFilter | None) -> dict[str, builtins.list[Any]]:
    """A filter whose values are all lists (a lone string becomes a one-item list)."""
    if not message_filter:
        return {}
    return {
        key: [value]
        if isinstance(value, (str, bytes)) or not isinstance(value, Collection)
        else builtins.list(value)
        for key, value in message_filter.items()
    }

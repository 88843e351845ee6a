"""The event waiter: :class:`Websocket` authenticates with a client of its own, opens a
:class:`~cloudsigma.websocket.connection.WebsocketClient` and waits for changes to objects.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

from cloudsigma import errors
from cloudsigma.generic import GenericClient, get_client
from cloudsigma.websocket.connection import WebsocketClient

__all__ = ["MessageFilter", "Websocket", "asynchronous_cookie"]

LOG = logging.getLogger(__name__)


def _monotonic() -> float:
    return time.monotonic()


def asynchronous_cookie(client: GenericClient) -> str:
    """A fresh ``async_auth`` cookie for the websocket (valid for about 2 minutes).

    :raises InvalidResponseError: when the answer sets no such cookie.
    """
    answer = client.request(
        "POST", "/accounts/action/", {}, query_params={"do": "authenticate_asynchronous"}
    )
    cookie = answer.cookies.get("async_auth")
    if not cookie:
        raise errors.InvalidResponseError(
            "accounts/action/?do=authenticate_asynchronous answered without an async_auth "
            "cookie, so the websocket cannot be opened",
            status_code=answer.status_code,
            request_id=answer.request_id,
        )
    return cookie


class _Accounts:
    """The part of ``/accounts/`` the event stream uses: its client and the async login."""

    def __init__(self, client: GenericClient) -> None:
        self.c = client

    def asynchronous_cookie(self) -> str:
        return asynchronous_cookie(self.c)


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
        #: The client the waiter logs in with (``self.accounts.c``).
        self.accounts = _Accounts(get_client()(**client_kwargs))
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
        """``cls`` over this waiter's client when it is a resource class (has ``from_client``)."""
        if isinstance(cls, type) and hasattr(cls, "from_client"):
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

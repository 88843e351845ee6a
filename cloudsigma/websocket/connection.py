"""One websocket connection to the API's event stream, authenticated by an ``async_auth``
cookie. websocket-client is imported on first use.
"""

from __future__ import annotations

import logging
from typing import Any

from cloudsigma import _isolation, conf, errors
from cloudsigma._redact import redact_text, safe_url

__all__ = ["WebsocketClient"]

LOG = logging.getLogger(__name__)


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
                f"the websocket sent a frame that is not JSON: {redact_text(repr(frame))[:200]}"
            ) from exc
        except RecursionError as exc:
            raise errors.InvalidResponseError(
                f"the websocket sent a frame nested deeper than the SDK decodes: "
                f"{redact_text(repr(frame))[:200]}"
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
        # After the server closed first, websocket-client's close() does nothing: the
        # socket itself still has to go.
        self.conn.shutdown()

    def __enter__(self) -> WebsocketClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

"""The API's event stream: :class:`WebsocketClient` (one connection, authenticated by an
``async_auth`` cookie; :mod:`.connection`) and :class:`Websocket` (waits for changes to
objects; :mod:`.events`).

Both are also found where pycloudsigma had them: ``cloudsigma.generic.WebsocketClient``
and ``cloudsigma.resource.Websocket``. The connection sits below the client
(:mod:`cloudsigma.generic`), the waiter above it, so neither import goes back up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudsigma.websocket.connection import WebsocketClient

if TYPE_CHECKING:
    from cloudsigma.websocket.events import MessageFilter, Websocket

__all__ = ["MessageFilter", "Websocket", "WebsocketClient"]


def __getattr__(name: str) -> Any:
    # The waiter builds on cloudsigma.generic, which itself imports the connection from
    # here: it is loaded on first use, not while generic is being imported.
    if name in ("Websocket", "MessageFilter"):
        from cloudsigma.websocket import events

        return getattr(events, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Who may steer the emulator: the control routes under ``/_emulator/`` answer only requests
that no web page can make (a loopback ``Host``, no foreign ``Origin``, JSON bodies) and that
carry the emulator's control token, which is written into its configuration file (mode 600)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from ..backend import same_secret
from ..models.errors import ApiError

CONTROL_PREFIX = "/_emulator"
#: The request header that carries the control token.
TOKEN_HEADER = "X-Emulator-Token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_name(netloc: str) -> str:
    """The host of a ``Host`` header or an origin's ``host:port``, lower case, no brackets."""
    try:
        return (urlsplit("//" + netloc).hostname or "").lower()
    except ValueError:  # an unclosed "[" and the like
        return ""


class ControlGuard:
    """Refuses control requests that a browser could send on behalf of a web page (a foreign
    ``Host`` after DNS rebinding, a cross-site form or ``text/plain`` POST) or that lack the
    control token.

    :param token: the control token.
    :param public_host: the emulator's own host name, accepted besides the loopback names.
    """

    def __init__(self, token: str, public_host: Callable[[], str]) -> None:
        self.token = token
        self.public_host = public_host

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            self.check(request)
        return await handler(request)

    def check(self, request: web.Request) -> None:
        """Refuse a control request that a web page or another host could have sent.

        :raises ApiError: 403 for a foreign ``Host`` or ``Origin``, 415 for a body that is
            not JSON, 401 without the control token.
        """
        allowed = LOOPBACK_NAMES | {self.public_host().lower()}
        host = host_name(request.host)
        if host not in allowed:
            raise ApiError(
                403, "permission", f"control requests need a loopback Host, not {host!r}"
            )
        origin = request.headers.get("Origin")
        if origin is not None and host_name(urlsplit(origin).netloc) not in allowed:
            raise ApiError(403, "permission", f"control requests from {origin!r} are refused")
        if request.method not in SAFE_METHODS and request.content_type != "application/json":
            raise ApiError(
                415, "validation", "control requests send their body as application/json"
            )
        if not same_secret(request.headers.get(TOKEN_HEADER, ""), self.token):
            raise ApiError(
                401,
                "permission",
                f"control requests need the {TOKEN_HEADER} header; its value is the "
                "emulator_token of the emulator's configuration file",
            )

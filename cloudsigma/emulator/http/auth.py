"""Who makes a request: Basic or Digest authentication, sessions with their CSRF token, and
the short-lived ``async_auth`` tokens that open the websocket."""

from __future__ import annotations

import base64
import secrets
import time

from aiohttp import web

from ..backend import Backend, same_secret
from ..models.errors import permission
from ..models.kernel import Account
from .digest import REALM, DigestNonces, DigestRefused, expected_response, parse_digest
from .responses import unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Seconds an ``async_auth`` token opens the websocket.
ASYNC_AUTH_LIFETIME = 120


def carries_credentials(request: web.Request) -> bool:
    """Whether the request says who makes it (an ``Authorization`` header or a session)."""
    return "Authorization" in request.headers or "sessionid" in request.cookies


class Unauthorized(Exception):
    """No valid credentials; answered with a 401 and the challenges.

    :param stale: only the Digest nonce had expired (the client may retry at once).
    :param digest: whether Digest is offered (the raw upload offers Basic only).
    """

    def __init__(self, message: str, *, stale: bool = False, digest: bool = True) -> None:
        super().__init__(message)
        self.stale = stale
        self.digest = digest


class Auth:
    """The credentials the emulator knows besides passwords: sessions and async tokens."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: session id -> (account uuid, CSRF token)
        self.sessions: dict[str, tuple[str, str]] = {}
        #: async_auth token -> (account uuid, monotonic expiry)
        self.async_tokens: dict[str, tuple[str, float]] = {}
        self._basic_cache: dict[str, tuple[str, str]] = {}
        self.digest = DigestNonces()

    def authenticate(self, request: web.Request, *, basic_only: bool = False) -> Account:
        """The account making the request (Basic, Digest, or a session with its CSRF token).

        :param basic_only: accept Basic authentication only (the raw upload does).
        :raises Unauthorized: without valid credentials.
        :raises ApiError: 403 for a session request that lacks its CSRF token.
        """
        header = request.headers.get("Authorization")
        if basic_only and not (header or "").lower().startswith("basic "):
            raise Unauthorized("This endpoint accepts HTTP Basic authentication only", digest=False)
        if header:
            if header.partition(" ")[0].lower() == "digest":
                return self.digest_account(request, header)
            return self.basic_account(header)
        account = self.session_account(request)
        if account is None:
            raise Unauthorized("Authentication credentials were not provided")
        return account

    def unauthorized(self, problem: Unauthorized | str) -> web.Response:
        """A 401 with the Digest challenge (a fresh nonce) and the Basic one."""
        if isinstance(problem, str):
            problem = Unauthorized(problem)
        basic = f'Basic realm="{REALM}"'
        if not problem.digest:
            return unauthorized(str(problem), (basic,))
        return unauthorized(str(problem), (self.digest.challenge(problem.stale), basic))

    def digest_account(self, request: web.Request, header: str) -> Account:
        """The account of a Digest ``Authorization`` header.

        :raises Unauthorized: for a malformed or wrong answer, or a stale nonce.
        """
        try:
            params = parse_digest(header)
            email = self.digest.check(params, request.method, request.raw_path)
        except DigestRefused as refused:
            raise Unauthorized(str(refused), stale=refused.stale) from None
        account = self.backend.by_email.get(email.lower())
        if account is None or not same_secret(
            params["response"], expected_response(params, request.method, account.password)
        ):
            raise Unauthorized("Invalid username or password")
        return account

    def session_account(self, request: web.Request) -> Account | None:
        """The account of the request's session cookie, checking CSRF on unsafe methods."""
        session = self.sessions.get(request.cookies.get("sessionid", ""))
        account = self.backend.accounts.get(session[0]) if session else None
        if session is None or account is None:
            return None
        if request.method not in SAFE_METHODS and not same_secret(
            request.headers.get("X-CSRFToken", ""), session[1]
        ):
            raise permission(
                "CSRF verification failed: send the csrftoken cookie value "
                "in the X-CSRFToken header"
            )
        return account

    def basic_account(self, header: str) -> Account:
        """The account of a Basic ``Authorization`` header (decoded answers are cached).

        :raises Unauthorized: for another scheme, a malformed header or a wrong password.
        """
        cached = self._basic_cache.get(header)
        if cached is not None:
            account = self.backend.accounts.get(cached[0])
            if account is not None and account.password == cached[1]:
                return account
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise Unauthorized("Use HTTP Basic or Digest authentication")
        try:
            email, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            raise Unauthorized("Malformed Basic authentication header")
        account = self.backend.authenticate(email, password)
        if account is None:
            raise Unauthorized("Invalid username or password")
        if len(self._basic_cache) > 1000:
            self._basic_cache.clear()
        self.digest.clear()
        self._basic_cache[header] = (account.uuid, account.password)
        return account

    def open_session(self, account: Account) -> tuple[str, str]:
        """A new session for ``account``: ``(session id, CSRF token)``."""
        session_id, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.sessions[session_id] = (account.uuid, csrf)
        return session_id, csrf

    def close_session(self, session_id: str | None) -> None:
        self.sessions.pop(session_id or "", None)

    def grant_async(self, account: Account) -> str:
        """A new ``async_auth`` token for ``account``, valid :data:`ASYNC_AUTH_LIFETIME` s."""
        token = secrets.token_urlsafe(24)
        self.async_tokens[token] = (account.uuid, time.monotonic() + ASYNC_AUTH_LIFETIME)
        return token

    def async_account(self, token: str) -> Account | None:
        """The account of an ``async_auth`` token that has not expired."""
        account_uuid, expiry = self.async_tokens.get(token, ("", 0.0))
        account = self.backend.accounts.get(account_uuid)
        return account if account is not None and expiry >= time.monotonic() else None

    def clear(self) -> None:
        """Forget every session, token and cached header (on reset)."""
        self.sessions.clear()
        self.async_tokens.clear()
        self._basic_cache.clear()
        self.digest.clear()

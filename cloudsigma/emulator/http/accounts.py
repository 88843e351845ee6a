"""``POST /accounts/action/?do=...``: sign up, log in and out, check a login, and get the
``async_auth`` cookie that opens the websocket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..backend import Backend
from ..models import fields
from ..models.errors import validation
from ..models.kernel import Account
from .auth import ASYNC_AUTH_LIFETIME, Auth
from .parsing import BodyReader
from .responses import json_response

#: The csrftoken cookie lives a year, as the API sets it.
CSRF_COOKIE_AGE = 31449600

AccountAction = Callable[[web.Request, Any, dict], web.Response]


class AccountActions:
    """The account actions; ``create`` and ``login`` need no credentials."""

    def __init__(self, backend: Backend, auth: Auth, bodies: BodyReader) -> None:
        self.backend = backend
        self.auth = auth
        self.bodies = bodies
        self.actions: dict[str, AccountAction] = {
            "create": self.create,
            "login": self.login,
            "logout": self.logout,
            "check_login": self.check_login,
            "check_login_with_return_uuid": self.check_login,
            "authenticate_asynchronous": self.authenticate_asynchronous,
        }

    def handlers(self) -> dict[str, Callable[..., Awaitable[web.StreamResponse]]]:
        return {"account_action": self.on_account_action}

    async def on_account_action(
        self, request: web.Request, account: Account | None, **_: Any
    ) -> web.StreamResponse:
        name = request.query.get("do", "")
        body = await self.bodies.json_object(request, {})
        action = self.actions.get(name)
        if action is None:
            raise validation(f"accounts have no action {name!r}", "do")
        return action(request, account, body)

    def create(self, request: web.Request, account: Account | None, body: dict) -> web.Response:
        email = fields.text(body, "email")
        created = self.backend.create_account(email, fields.text(body, "password", None))
        return json_response(200, {"success": True, "uuid": created.uuid})

    def login(self, request: web.Request, account: Account | None, body: dict) -> web.Response:
        email, password = body.get("username"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise validation("login needs a username and a password", "username")
        found = self.backend.authenticate(email, password)
        if found is None:
            return self.auth.unauthorized("Invalid username or password")
        session_id, csrf = self.auth.open_session(found)
        response = json_response(200, {"uuid": found.uuid})
        response.set_cookie("csrftoken", csrf, max_age=CSRF_COOKIE_AGE, path="/")
        response.set_cookie("sessionid", session_id, httponly=True, path="/")
        return response

    def logout(self, request: web.Request, account: Account, body: dict) -> web.Response:
        self.auth.close_session(request.cookies.get("sessionid"))
        response = json_response(200, {})
        response.del_cookie("sessionid", path="/")
        return response

    def check_login(self, request: web.Request, account: Account, body: dict) -> web.Response:
        if request.query.get("do") == "check_login_with_return_uuid":
            return json_response(200, {"uuid": account.uuid})
        return web.Response(status=200)

    def authenticate_asynchronous(
        self, request: web.Request, account: Account, body: dict
    ) -> web.Response:
        token = self.auth.grant_async(account)
        response = json_response(200, {})
        response.set_cookie("async_auth", token, max_age=ASYNC_AUTH_LIFETIME, path="/")
        return response

"""The control endpoints under ``/_emulator/`` (reset, status transitions, journal,
accounts) that tests use to steer the emulator; the table is :data:`.routes.CONTROL`."""

from __future__ import annotations

import collections
from collections.abc import Callable

from aiohttp import web

from ..backend import Backend
from ..models import fields
from ..models.errors import ApiError, validation
from .parsing import BodyReader
from .responses import json_response
from .routes import CONTROL
from .strict import RequestChecks


class Journal:
    """The request journal served at ``/_emulator/journal``: method, path, status and the
    warnings about what the API would have ignored (no secrets)."""

    def __init__(self, size: int = 10_000) -> None:
        self.entries: collections.deque = collections.deque(maxlen=size)

    def record(
        self, method: str, path: str, status: int, warnings: list[str] | None = None
    ) -> None:
        entry: dict = {"method": method, "path": path, "status": status}
        if warnings:
            entry["warnings"] = list(warnings)
        self.entries.append(entry)


class Control:
    """Answers ``/_emulator/<name>/``.

    :param reset: forgets all state of the server (accounts, sessions, journal...).
    """

    def __init__(
        self,
        backend: Backend,
        journal: Journal,
        bodies: BodyReader,
        reset: Callable[[], None],
        checks: RequestChecks,
    ) -> None:
        self.backend = backend
        self.journal = journal
        self.bodies = bodies
        self.checks = checks
        self.handlers: dict[str, Callable[[dict], web.Response]] = {
            "reset": self.reset,
            "transitions": self.transitions,
            "set_transitions": self.set_transitions,
            "journal": self.journal_entries,
            "list_accounts": self.list_accounts,
            "create_account": self.create_account,
            "strict": self.strictness,
            "set_strict": self.set_strictness,
            "add_vmware_server": self.add_vmware_server,
            "clock": self.clock,
            "set_clock": self.set_clock,
        }
        self._reset = reset

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        handler = CONTROL.get((request.method, name))
        if handler is None:
            raise ApiError(
                404, "notexist", f"no control endpoint {request.method} /_emulator/{name}/"
            )
        if request.method != "POST":
            return self.handlers[handler]({})
        body = await self.bodies.json_object(request, {})
        try:
            return self.handlers[handler](body)
        finally:
            self.backend.usage_may_have_changed()  # a control request may change objects

    def reset(self, body: dict) -> web.Response:
        self._reset()
        return json_response(200, {"reset": True})

    def transitions(self, body: dict) -> web.Response:
        transitions = self.backend.transitions
        timing = transitions.profile.name if transitions.profile is not None else "uniform"
        return json_response(
            200, {"delay": transitions.delay, "pending": transitions.pending, "timing": timing}
        )

    def set_transitions(self, body: dict) -> web.Response:
        """Set the ``delay`` of status changes and/or ``advance`` pending ones."""
        transitions = self.backend.transitions
        if "delay" in body:
            delay = body["delay"]
            if delay is not None and (
                isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0
            ):
                raise validation("delay must be a number of seconds >= 0, or null", "delay")
            transitions.delay = delay
        applied = 0
        if body.get("advance") is not None and body.get("advance") is not False:
            seconds = None if body["advance"] is True else body["advance"]
            if seconds is not None and not isinstance(seconds, int | float):
                raise validation("advance must be true or a number of seconds", "advance")
            applied = transitions.advance(seconds)
        return json_response(
            200, {"delay": transitions.delay, "pending": transitions.pending, "applied": applied}
        )

    def strictness(self, body: dict) -> web.Response:
        return json_response(200, {"strict": self.checks.strict})

    def set_strictness(self, body: dict) -> web.Response:
        """Turn strict mode on or off: ``{"strict": true}``."""
        self.checks.strict = fields.boolean(body, "strict")
        return json_response(200, {"strict": self.checks.strict})

    def journal_entries(self, body: dict) -> web.Response:
        return json_response(200, {"objects": list(self.journal.entries)})

    def create_account(self, body: dict) -> web.Response:
        email = fields.text(body, "email")
        account = self.backend.create_account(email, fields.text(body, "password", None))
        return json_response(201, {"uuid": account.uuid, "email": account.email})

    def list_accounts(self, body: dict) -> web.Response:
        accounts = [{"uuid": a.uuid, "email": a.email} for a in self.backend.accounts.values()]
        return json_response(200, {"objects": accounts})

    def add_vmware_server(self, body: dict) -> web.Response:
        """Give the account ``email`` (default: the first one) a VMware server."""
        email = fields.text(body, "email", None)
        account = self.backend.by_email.get((email or "").lower()) if email else None
        if account is None and email is None and self.backend.accounts:
            account = next(iter(self.backend.accounts.values()))
        if account is None:
            raise validation(f"no account with email {email!r}", "email")
        values = {k: v for k, v in body.items() if k != "email"}
        return json_response(201, self.backend.vmware_servers.add(account, values))

    def clock_state(self) -> dict:
        clock = self.backend.clock
        return {
            "now": clock.now().isoformat(),
            "frozen": clock.frozen,
            "offset": clock.offset.total_seconds(),
        }

    def clock(self, body: dict) -> web.Response:
        return json_response(200, self.clock_state())

    def set_clock(self, body: dict) -> web.Response:
        """``{"frozen": bool}`` stops or restarts the clock; ``{"advance": SECONDS}`` lets that
        much emulated time pass (status changes due, subscriptions, burst billing)."""
        if "frozen" in body:
            self.backend.clock.freeze(fields.boolean(body, "frozen"))
        applied = 0
        if body.get("advance") is not None:
            seconds = body["advance"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise validation("advance must be a number of seconds >= 0", "advance")
            applied = self.backend.pass_time(seconds)
        return json_response(200, dict(self.clock_state(), applied=applied))

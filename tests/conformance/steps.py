"""Steps of a replay scenario: replay a record, or create what the recorded run already had."""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .replay import Record, Replayer, corpus_uuids

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.02


@cache
def _uuids_by_prefix() -> dict[str, str]:
    """Every corpus uuid by its first 8 characters (prefixes shared by two are left out)."""
    found: dict[str, set[str]] = {}
    for uuid in corpus_uuids():
        found.setdefault(uuid[:8], set()).add(uuid)
    return {prefix: uuids.pop() for prefix, uuids in found.items() if len(uuids) == 1}


def rid(short: str) -> str:
    """A recorded identifier: a uuid given by its first 8 characters, or any other id as is.

    :raises KeyError: when the prefix names no uuid of the corpus, or more than one.
    """
    if re.fullmatch(r"[0-9a-f]{8}", short):
        return _uuids_by_prefix()[short]
    return short


class Step(abc.ABC):
    """One thing a scenario does, in order; ``records`` names the records it replays."""

    records: tuple[str, ...] = ()

    @abc.abstractmethod
    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        """Do the step against the replayer's emulator."""


@dataclass
class Rec(Step):
    """Replay a record. ``account`` selects the credentials (``None``: no credentials);
    serial records need ``server``.

    ``tolerated`` names keys the API gained after the record was made; ``partial`` marks a
    hand-written fragment, whose keys must all be there while other keys are not compared.
    """

    name: str
    account: str | None = "main"
    server: str | None = None
    tolerated: tuple[str, ...] = ()
    partial: bool = False

    @property
    def records(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.name,)

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        record = records[self.name]
        if record.kind == "serial":
            server = ctx.ids.get(rid(self.server)) if self.server else None
            ctx.replay_serial(record, server or "", self.tolerated)
        else:
            ctx.replay(record, self.account, self.tolerated, partial=self.partial)


@dataclass
class Create(Step):
    """POST one object and map the recorded ``rec_id`` to the new object's uuid."""

    collection: str
    rec_id: str
    body: dict
    wait: str | None = None

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        answer = ctx.call("POST", f"{self.collection}/", {"objects": [self.body]})
        objects = (answer or {}).get("objects") if isinstance(answer, dict) else None
        if not objects:
            ctx.problems.append(f"setup: creating {self.collection} for {self.rec_id} failed")
            return
        ctx.ids.bind(rid(self.rec_id), objects[0]["uuid"])
        if self.wait:
            wait_for(ctx, self.collection, self.rec_id, (self.wait,))


@dataclass
class Put(Step):
    """PUT a (mapped) body on a recorded object."""

    collection: str
    rec_id: str
    body: dict

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        ctx.call("PUT", f"{self.collection}/{rid(self.rec_id)}/", self.body)


@dataclass
class Act(Step):
    """POST an action on a recorded object, then optionally wait for a status."""

    collection: str
    rec_id: str
    do: str
    body: dict = field(default_factory=dict)
    wait: str | None = None
    bind: dict[str, str] = field(default_factory=dict)

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        path = f"{self.collection}/{rid(self.rec_id)}/action/?do={self.do}"
        answer = ctx.call("POST", path, self.body)
        for short, where in self.bind.items():
            value = dig(answer, where)
            if value is not None:
                ctx.ids.bind(rid(short), value)
            else:
                ctx.problems.append(f"setup: {self.do} answer has no {where}")
        if self.wait:
            wait_for(ctx, self.collection, self.rec_id, (self.wait,))


@dataclass
class Wait(Step):
    """Poll a recorded object until its status is one of ``statuses``."""

    collection: str
    rec_id: str
    statuses: tuple[str, ...]

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        wait_for(ctx, self.collection, self.rec_id, self.statuses)


@dataclass
class Alias(Step):
    """Map ``rec_id`` to whatever ``same_as`` maps to (the records come from separate runs)."""

    rec_id: str
    same_as: str

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        target = ctx.ids.get(rid(self.same_as))
        if target is None:
            ctx.problems.append(f"setup: {self.same_as} was never mapped")
            return
        ctx.ids.bind(rid(self.rec_id), target)


@dataclass
class FromAnswer(Step):
    """Map ``rec_id`` to a value of the emulator's answer to an earlier record."""

    rec_id: str
    record: str
    where: str

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        value = dig(ctx.answers.get(self.record), self.where)
        if value is None:
            ctx.problems.append(f"setup: the answer to {self.record} has no {self.where}")
            return
        ctx.ids.bind(rid(self.rec_id), value)


@dataclass
class Do(Step):
    """Custom setup code: ``action(ctx)``."""

    description: str
    action: Callable[[Replayer], None]

    def run(self, ctx: Replayer, records: dict[str, Record]) -> None:
        try:
            self.action(ctx)
        except Exception as exc:  # noted on later records instead of aborting the scenario
            ctx.problems.append(f"setup: {self.description} failed: {exc}")


def dig(value: Any, where: str) -> Any:
    """The value at a dotted path (``objects.0.jobs.0.uuid``), or ``None``."""
    for part in where.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def wait_for(ctx: Replayer, collection: str, rec_id: str, statuses: Iterable[str]) -> None:
    """Poll ``GET /collection/uuid/`` until the status is one of ``statuses``."""
    wanted = tuple(statuses)
    uuid = ctx.ids.get(rid(rec_id)) or rid(rec_id)
    deadline = time.monotonic() + WAIT_SECONDS
    status = None
    while time.monotonic() < deadline:
        answer = ctx.request("GET", f"{collection}/{uuid}/")
        if answer.status_code == 200:
            status = answer.json().get("status")
            if status in wanted:
                return
        time.sleep(POLL_SECONDS)
    ctx.problems.append(f"setup: {collection} {rec_id} stayed {status!r}, not {'/'.join(wanted)}")


def first_free(ctx: Replayer, collection: str) -> str | None:
    """The uuid of an object in a listing that no recorded identifier is mapped to yet."""
    answer = ctx.request("GET", f"{collection}/", query={"limit": "0"})
    if answer.status_code != 200:
        ctx.problems.append(f"setup: GET {collection}/ answered {answer.status_code}")
        return None
    taken = set(ctx.ids.mapping.values())
    for obj in answer.json().get("objects", []):
        if obj.get("uuid") not in taken:
            return obj["uuid"]
    return None


def seeded(collection: str, *rec_ids: str) -> Do:
    """Map recorded IPs or VLANs to objects the emulator seeds in the account."""

    def bind(ctx: Replayer) -> None:
        for short in rec_ids:
            uuid = first_free(ctx, collection)
            if uuid is None:
                raise LookupError(f"the account has no free object in {collection}")
            ctx.ids.bind(rid(short), uuid)

    return Do(f"use seeded {collection} for {', '.join(rec_ids)}", bind)

"""Replay engine: send recorded API exchanges to an emulator and compare the answers' shapes.

A record agrees when the emulator answers with the recorded status code and the same set of
key paths (dict keys at every depth; list items merged) as the recorded response body.
Recorded uuids, IPs, MACs and ids are mapped to the emulator's own as the replay goes.
"""

from __future__ import annotations

import json
import os
import re
import select
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import requests

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_FILES = ("exchanges.jsonl", "exchanges_historical.jsonl")
API_PREFIX = "/api/2.0/"

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IP_RE = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])")
MAC_RE = re.compile(r"(?<![0-9a-f:])(?:[0-9a-f]{2}:){5}[0-9a-f]{2}(?![0-9a-f:])")
TOKEN_RES = (UUID_RE, IP_RE, MAC_RE)

#: Keys whose values identify an object; learned in parallel walks of two answers.
IDENTITY_KEYS = ("uuid", "mac")


@dataclass(frozen=True)
class Record:
    """One recorded exchange (HTTP or serial), with repaired bodies preferred."""

    name: str
    kind: str
    method: str | None
    path: str | None
    query: dict
    request_body: Any
    status: int | None
    response_body: Any
    source: str

    @classmethod
    def from_json(cls, raw: dict, source: str) -> Record:
        return cls(
            name=raw["name"],
            kind=raw["kind"],
            method=raw["method"],
            path=raw["path"],
            query=dict(raw.get("query") or {}),
            request_body=raw.get("request_body_repaired", raw.get("request_body")),
            status=raw["status"],
            response_body=raw.get("response_body_repaired", raw.get("response_body")),
            source=source,
        )


def load_records() -> dict[str, Record]:
    """Every record of the corpus files, by name (the historical file included)."""
    records: dict[str, Record] = {}
    for filename in CORPUS_FILES:
        with open(DATA_DIR / filename, encoding="utf-8") as corpus:
            for line in corpus:
                if line.strip():
                    record = Record.from_json(json.loads(line), filename)
                    records[record.name] = record
    return records


@cache
def corpus_uuids() -> frozenset[str]:
    """Every uuid written anywhere in the corpus files."""
    found: set[str] = set()
    for filename in CORPUS_FILES:
        found.update(UUID_RE.findall((DATA_DIR / filename).read_text(encoding="utf-8")))
    return frozenset(found)


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """All key paths of ``value``: ``a``, ``a.b``, ``a[].c`` (list items merged).

    A ``resource_uri`` holding a dict is taken as a leaf: a few dumps nest a ref there by
    mistake (guide section 10), and its inner keys are not part of the API's shape.
    """
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            if key != "resource_uri":
                paths |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, prefix + "[]")
    return paths


class IdMap:
    """Recorded identifiers (uuids, IPs, MACs, ids, emails) mapped to the emulator's."""

    def __init__(self) -> None:
        self.mapping: dict[str, str] = {}

    def bind(self, recorded: str, actual: str) -> None:
        """Map ``recorded`` to ``actual``, replacing any earlier mapping."""
        self.mapping[str(recorded)] = str(actual)

    def get(self, recorded: str) -> str | None:
        return self.mapping.get(recorded)

    def learn(self, recorded: Any, actual: Any) -> None:
        """Walk a recorded and an emulator answer side by side and map identity values.

        Known mappings are never replaced, and a value the emulator uses for one recorded
        identifier is not given to another one.
        """
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for key, child in recorded.items():
                if key not in actual:
                    continue
                if key in IDENTITY_KEYS and isinstance(child, str):
                    self._learn_one(child, actual[key])
                else:
                    self.learn(child, actual[key])
        elif (
            isinstance(recorded, list) and isinstance(actual, list) and len(recorded) == len(actual)
        ):
            for rec_item, act_item in zip(recorded, actual, strict=True):
                self.learn(rec_item, act_item)

    def _learn_one(self, recorded: str, actual: Any) -> None:
        if not isinstance(actual, str) or recorded in self.mapping:
            return
        if actual in self.mapping.values():
            return
        self.mapping[recorded] = actual

    def substitute(self, value: Any) -> Any:
        """``value`` with every mapped identifier replaced, at any depth and inside strings."""
        if isinstance(value, dict):
            return {self.substitute_text(k): self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(item) for item in value]
        if isinstance(value, str):
            return self.substitute_text(value)
        return value

    def substitute_text(self, text: str) -> str:
        if text in self.mapping:
            return self.mapping[text]
        for pattern in TOKEN_RES:
            text = pattern.sub(lambda m: self.mapping.get(m.group(0), m.group(0)), text)
        return text

    def substitute_path(self, path: str) -> str:
        """A URL path with each segment mapped (segments may be short ids such as ``7272``)."""
        return "/".join(self.substitute_text(segment) for segment in path.split("/"))


@dataclass
class Outcome:
    """The result of replaying one record."""

    name: str
    scenario: str
    expected_status: int | None
    got_status: int | None = None
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    got_body: Any = None

    @property
    def agrees(self) -> bool:
        return (
            self.error is None
            and self.got_status == self.expected_status
            and not self.missing
            and not self.extra
        )

    def describe(self) -> str:
        """One line saying how the emulator's answer differs from the record."""
        if self.agrees:
            return "agrees"
        parts = []
        if self.error:
            parts.append(self.error)
        if self.got_status != self.expected_status:
            parts.append(f"status: expected {self.expected_status}, got {self.got_status}")
            if self.got_status is not None and self.got_status >= 400:
                parts.append(f"body {_short(self.got_body)}")
        if self.missing:
            parts.append("missing keys " + ", ".join(self.missing))
        if self.extra:
            parts.append("unexpected keys " + ", ".join(self.extra))
        if self.notes:
            parts.append("after: " + "; ".join(self.notes))
        return " | ".join(parts)


def _short(body: Any, limit: int = 240) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare_shapes(
    expected: Any, got: Any, tolerated: Iterable[str] = ()
) -> tuple[list[str], list[str], list[str]]:
    """Compare key paths of two bodies.

    :param tolerated: key names that may appear as extras (fields the API gained after
        the record was captured); they and their sub-paths are not counted as unexpected.
    :returns: ``(missing, unexpected, tolerated_extras)``, each sorted.
    """
    want, have = key_paths(expected), key_paths(got)
    allowed = set(tolerated)
    extra, tolerated_extra = [], []
    for path in sorted(have - want):
        names = re.split(r"\.|\[\]", path)
        if allowed.intersection(names):
            tolerated_extra.append(path)
        else:
            extra.append(path)
    return sorted(want - have), extra, tolerated_extra


class Account:
    """Credentials for one emulator account."""

    def __init__(self, email: str, password: str) -> None:
        self.email = email
        self.password = password

    def __repr__(self) -> str:
        return f"<Account {self.email}>"


class Replayer:
    """Sends requests to one emulator, maps identifiers, and keeps each record's outcome."""

    def __init__(self, emulator: Any, scenario: str) -> None:
        self.emulator = emulator
        self.scenario = scenario
        self.origin = emulator.api_endpoint.split(API_PREFIX)[0]
        self.accounts = {"main": Account(emulator.username, emulator.password)}
        self.ids = IdMap()
        self.answers: dict[str, Any] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.problems: list[str] = []
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    # raw HTTP -----------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        body: Any = None,
        account: str | None = "main",
    ) -> requests.Response:
        """Send one request; ``path`` is absolute (``/api/2.0/...``) or relative to it.

        :param account: whose credentials to send; ``None`` sends none.
        """
        if not path.startswith("/"):
            path = API_PREFIX + path
        creds = self.accounts[account] if account is not None else None
        auth = (creds.email, creds.password) if creds is not None else None
        kwargs: dict[str, Any] = {"params": query or None, "timeout": 30}
        if body is not None:
            if isinstance(body, str):
                kwargs["data"] = body.encode("utf-8")
                kwargs["headers"] = {"Content-Type": "application/json"}
            else:
                kwargs["json"] = body
        return self.session.request(method, self.origin + path, auth=auth, **kwargs)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """A setup request: mapped path and body; the parsed answer, or a problem noted."""
        mapped_body = self.ids.substitute(body) if body is not None else None
        answer = self.request(method, self.ids.substitute_path(path), body=mapped_body, **kwargs)
        if answer.status_code >= 300:
            self.problems.append(
                f"setup {method} {path} answered {answer.status_code} {_short(answer.text)}"
            )
            return None
        return parse_body(answer)

    # records ------------------------------------------------------------
    def replay(
        self,
        record: Record,
        account: str | None = "main",
        tolerated: Iterable[str] = (),
        partial: bool = False,
        shape: bool = True,
    ) -> None:
        """Send ``record`` with mapped identifiers and store its outcome.

        :param partial: the recorded body is a fragment; extra keys are not disagreements.
        :param shape: compare the answer's key paths (``False``: only the status, for answers
            whose body was not recorded).
        """
        outcome = Outcome(record.name, self.scenario, record.status, notes=list(self.problems))
        self.outcomes[record.name] = outcome
        path = self.ids.substitute_path(record.path)
        query = {k: self.ids.substitute_text(v) for k, v in record.query.items()}
        body = self.ids.substitute(record.request_body)
        stale = self.unmapped_uuids([path, query, body])
        if stale:
            outcome.error = "scenario error: no setup maps the recorded " + ", ".join(stale)
            return
        try:
            answer = self.request(record.method, path, query=query, body=body, account=account)
        except requests.RequestException as exc:
            outcome.error = f"no answer: {exc.__class__.__name__}: {exc}"
            return
        outcome.got_status = answer.status_code
        if not shape:
            return
        try:
            body = parse_body(answer)
        except ValueError:
            outcome.error = f"answer is not JSON: {_short(answer.text)}"
            return
        outcome.got_body = body
        self.answers[record.name] = body
        if 200 <= answer.status_code < 300:
            missing, extra, allowed = compare_shapes(record.response_body, body, tolerated)
            if partial:
                extra, allowed = [], allowed + extra
            outcome.missing, outcome.extra, outcome.tolerated = missing, extra, allowed
            if record.method != "GET" or not _is_listing(record.response_body):
                self.ids.learn(record.response_body, body)

    def unmapped_uuids(self, request: Any) -> list[str]:
        """Recorded uuids still in a request after substitution (a scenario lacks a setup)."""
        sent = set(UUID_RE.findall(json.dumps(request)))
        mapped = set(self.ids.mapping.values())
        return sorted(uuid for uuid in sent & corpus_uuids() if uuid not in mapped)

    def replay_serial(
        self, record: Record, server_uuid: str, tolerated: Iterable[str] = ()
    ) -> None:
        """Send a serial record to the server's context device and compare the answer."""
        outcome = Outcome(record.name, self.scenario, record.status, notes=list(self.problems))
        self.outcomes[record.name] = outcome
        try:
            device = self.emulator.serial_device(server_uuid)
            raw = read_serial(device, record.request_body)
        except Exception as exc:  # the device is the emulator's; report any failure
            outcome.error = f"serial context failed: {exc.__class__.__name__}: {exc}"
            return
        payload = raw.strip("\x04\n")
        outcome.got_body = payload
        if isinstance(record.response_body, dict | list):
            try:
                got = json.loads(payload)
            except ValueError:
                outcome.error = f"serial answer is not JSON: {_short(payload)}"
                return
            missing, extra, allowed = compare_shapes(record.response_body, got, tolerated)
            outcome.missing, outcome.extra, outcome.tolerated = missing, extra, allowed
        elif not payload:
            outcome.error = "serial answer is empty; the record has a value"


def _is_listing(body: Any) -> bool:
    return isinstance(body, dict) and "meta" in body and "objects" in body


def parse_body(answer: requests.Response) -> Any:
    """The JSON body, or ``None`` when empty.

    :raises ValueError: when a non-empty body is not JSON.
    """
    if not answer.content.strip():
        return None
    return answer.json()


def read_serial(device: str, request: str, timeout: float = 5.0) -> str:
    """Write ``request`` to a context serial device and read one answer (up to EOT)."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, request.encode("ascii"))
        received = bytearray()
        deadline = time.monotonic() + timeout
        while b"\x04" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer within {timeout} s; got {bytes(received)!r}")
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                received += os.read(fd, 65536)
        return received.decode("ascii", errors="replace")
    finally:
        os.close(fd)

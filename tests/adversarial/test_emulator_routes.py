"""Every route of the emulator's route table, with every method, fed generated requests.

Bodies follow the resource schemas (``/work/shared/api/schemas.json``, shipped with the emulator)
with wrong types, deep nesting and garbage mixed in; headers carry non-ASCII credentials, CSRF
tokens, forged Digest headers and ``Accept`` values (XML included); queries use real field names
and odd values; bodies come plain, gzip, broken gzip, deflate or in other charsets. Every answer
must be 2xx or the API's error list (never a 5xx but the documented 503 ``concurrency``), and a
rejected request must change nothing.
The route table is imported, so new routes are fuzzed as soon as they exist.
"""

from __future__ import annotations

import base64
import gzip
import json
import string
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from adversarial_support import examples, seeded
from emulator_world import GIB, OTHER, World
from hypothesis import given
from hypothesis import strategies as st

from cloudsigma.emulator.http import CONTROL, ROUTES

METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from cloudsigma.emulator import Emulator

    with Emulator(host="127.0.0.1", port=0, transition_delay=None) as emu:
        fuzzed = Fuzzed(emu)
        yield fuzzed
        fuzzed.close()


class Fuzzed(World):
    """The world with a few objects per account, rebuilt when a request removed one of them."""

    def __init__(self, emu: Any) -> None:
        super().__init__(emu, "emulator route fuzzer")
        self.schemas = emu.backend.schemas
        self.collections = sorted(emu.backend.collections)
        self.actions = sorted({a for c in emu.backend.collections.values() for a in c.actions})
        self.uuids: list[str] = []
        self.rebuild()

    def rebuild(self) -> None:
        self.reset()
        made: list[str] = []
        for actor in (0, 1):
            made += self.populate(actor)
        grant = {
            "grantees": [self.account_uuids[1]],
            "tags": [made[3]],
            "rules": [{"permission": "LIST"}],
        }
        made.append(self.made(0, "acls/", grant))
        self.emu.advance()
        library = self.send(0, "GET", "libdrives/", params={"limit": 3}).json()["objects"]
        self.uuids = made + [d["uuid"] for d in library] + self.seeded_uuids()
        self.figures["worlds built"] += 1

    def populate(self, actor: int) -> list[str]:
        drive = self.made(actor, "drives/", {"name": "d", "size": GIB, "media": "disk"})
        attached = [{"device": "virtio", "dev_channel": "0:0", "drive": drive}]
        server = self.made(
            actor,
            "servers/",
            {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "v", "drives": attached},
        )
        self.emu.advance()
        snapshot = self.made(actor, "snapshots/", {"drive": drive})
        tag = self.made(actor, "tags/", {"name": "t", "resources": [drive, server]})
        upload = self.made(actor, "initupload/", {"name": "u", "size": 4096, "media": "disk"})
        policy = self.made(actor, "fwpolicies/", {"name": "f", "rules": []})
        return [drive, server, snapshot, tag, upload, policy]

    def made(self, actor: int, path: str, body: dict) -> str:
        response = self.send(actor, "POST", path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()["objects"][0]["uuid"]

    def seeded_uuids(self) -> list[str]:
        def read() -> list[str]:
            return [
                key
                for account in self.emu.backend.accounts.values()
                for name in ("ips", "vlans", "subscriptions")
                for key in account.objects[name]
            ]

        return self.emu.call(read)

    def intact(self) -> bool:
        """Whether the objects this world made still exist (and there are not too many)."""

        def count() -> tuple[set[str], int]:
            present = {
                uuid
                for account in self.emu.backend.accounts.values()
                for store in account.objects.values()
                for uuid in store
            }
            return present, sum(
                len(s) for a in self.emu.backend.accounts.values() for s in a.objects.values()
            )

        present, total = self.emu.call(count)
        mine = [uuid for uuid in self.uuids if "-" in uuid][:13]
        return (
            all(uuid in present for uuid in mine)
            and total < 600
            and len(self.emu.backend.accounts) < 20
        )


# strategies ----------------------------------------------------------------------------
TEXT = st.text(max_size=12) | st.sampled_from(
    ["", "\x00", "é", "\u2603", "\ud7ff", "x" * 300, "../x"]
)
WEIRD_SEGMENTS = st.sampled_from(
    ["", "..", ".", "%00", "%2F", "null", "-1", "00000000-0000-0000-0000-000000000000", "é", "a b"]
) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#%"),
    min_size=1,
    max_size=16,
)
NUMBERS = st.integers() | st.sampled_from([0, -1, 2**63, 10**30, 1.5, -0.0, 1e308])
LEAVES = st.none() | st.booleans() | NUMBERS | TEXT
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
DATES = st.sampled_from(
    [
        "2030-01-01T12:00:00",
        "9999-12-31T23:59:59",
        "0001-01-01",
        "2024-02-30",
        "now",
        "10000 years",
        "1 month",
        "99999999 days",
    ]
)


class Deep:
    """JSON text nested ``depth`` levels (dicts and lists), spliced in as it is."""

    def __init__(self, depth: int) -> None:
        self.text = '{"k": [' * (depth // 2) + "1" + "]}" * (depth // 2)


DEEP = st.sampled_from([40, 120, 900, 3000]).map(Deep)


def dumps(value: Any) -> str:
    """JSON text of ``value``, with :class:`Deep` parts written out."""
    spliced: list[str] = []

    def mark(part: Any) -> str:
        if not isinstance(part, Deep):
            raise TypeError(type(part).__name__)
        spliced.append(part.text)
        return f"@@deep{len(spliced) - 1}@@"

    text = json.dumps(value, default=mark)
    for index, part in enumerate(spliced):
        text = text.replace(f'"@@deep{index}@@"', part)
    return text


def field_values(entry: dict, world: Fuzzed) -> st.SearchStrategy:
    """Values for one schema field: mostly of its type, sometimes anything."""
    kind = entry.get("type")
    typed = {
        "string": TEXT,
        "integer": st.integers(-5, 10**13) | st.sampled_from([2**70, "12", "-3", "1e3"]),
        "boolean": st.booleans(),
        "decimal": st.sampled_from(["0.5", "1e999", "-1", "NaN", 3]),
        "datetime": DATES,
        "dict": st.dictionaries(TEXT, JSON, max_size=4) | DEEP,
        "object": st.dictionaries(TEXT, JSON, max_size=4),
        "list": st.lists(JSON, max_size=3),
        "related": st.sampled_from(world.uuids)
        | st.sampled_from(world.uuids).map(lambda u: {"uuid": u})
        | st.lists(
            st.sampled_from(world.uuids) | st.builds(dict, uuid=st.sampled_from(world.uuids)),
            max_size=3,
        ),
    }.get(kind, JSON)
    return st.one_of(typed, typed, typed, JSON)


@st.composite
def schema_object(draw: Any, world: Fuzzed, resource: str) -> Any:
    schema = world.schemas.get(resource, {})
    fields = schema.get("schema", schema).get("fields", {})
    names = sorted(fields)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=8)) if names else []
    body = {name: draw(field_values(fields[name], world)) for name in chosen}
    body.update(
        draw(
            st.dictionaries(
                TEXT
                | st.sampled_from(
                    ["size", "amount", "period", "resource", "end_time", "meta", "drives", "tags"]
                ),
                JSON | DATES | DEEP,
                max_size=2,
            )
        )
    )
    return body


@st.composite
def bodies(draw: Any, world: Fuzzed, resource: str) -> bytes:
    shape = draw(st.sampled_from(["object", "objects", "list", "json", "deep", "raw", "empty"]))
    if shape in ("object", "objects", "list"):
        items = draw(st.lists(schema_object(world, resource), min_size=1, max_size=2))
        value: Any = {"object": items[0], "objects": {"objects": items}, "list": items}[shape]
    elif shape == "json":
        value = draw(JSON)
    elif shape == "deep":
        value = draw(DEEP)
    elif shape == "raw":
        return draw(
            st.binary(max_size=64)
            | st.sampled_from(
                [
                    b"{",
                    b"[" * 5000,
                    b'{"a": NaN}',
                    b"\xff\xfe",
                    b'"\\ud800"',
                    b"1e999999",
                    b"{}" * 3,
                ]
            )
        )
    else:
        return b""
    return dumps(value).encode()


def encode(draw: Any, body: bytes, headers: dict) -> bytes:
    """Apply a drawn content encoding or charset to ``body``."""
    choice = draw(
        st.sampled_from(
            [
                "plain",
                "plain",
                "gzip",
                "broken-gzip",
                "deflate",
                "unknown",
                "utf-16",
                "latin-1",
                "bom",
            ]
        )
    )
    if choice == "gzip":
        headers["Content-Encoding"] = "gzip"
        return gzip.compress(body)
    if choice == "broken-gzip":
        headers["Content-Encoding"] = "gzip"
        return gzip.compress(body)[:-6] + b"\x00garbage"
    if choice == "deflate":
        headers["Content-Encoding"] = "deflate"
        return zlib.compress(body)
    if choice == "unknown":
        headers["Content-Encoding"] = "br, x-nonsense"
        return body
    if choice in ("utf-16", "latin-1"):
        headers["Content-Type"] = f"application/json; charset={choice}"
        return body.decode("utf-8", "replace").encode(choice, "replace")
    if choice == "bom":
        return b"\xef\xbb\xbf" + body
    return body


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def digests(owner: str) -> list[bytes]:
    """Digest headers a server must refuse cleanly: stale or forged nonces, odd fields."""
    fields = f'realm="x", nonce="abc", uri="/api/2.0/", response="{"0" * 32}"'
    return [
        f'Digest username="{owner}", {fields}'.encode(),
        f'Digest username="{owner}", {fields}, qop=auth, nc=zz, cnonce="c"'.encode(),
        f'Digest username="{owner}", {fields}, algorithm=SHA-999'.encode(),
        f'Digest username="é☃", {fields}'.encode(),
        b'Digest username="' + b"x" * 5000,
        b"Digest username=, nonce=, =, ,,",
        b"Digest \xff\xfe",
        b"Digest",
    ]


@st.composite
def credentials(draw: Any, world: Fuzzed) -> tuple[int, dict]:
    """Who sends the request: ``(actor, extra headers)``."""
    owner, password = world.credentials[0]
    choice = draw(st.sampled_from(["owner", "owner", "owner", "other", "none", "wrong"]))
    if choice in ("owner", "other"):
        return (0 if choice == "owner" else 1), {}
    if choice == "none":
        return -1, {}
    header = draw(
        st.sampled_from(
            [
                basic(owner, "é"),
                basic(owner, password + "\u2603"),
                basic(OTHER[0], "x"),
                basic("\u00e9\u2603@example.com", "p"),
                b"Basic \xff\xfe",
                b"Basic not-base64!!",
                b"Bearer t",
                b"Basic",
                basic(owner, ""),
                "Basic é".encode(),
                *digests(owner),
            ]
        )
    )
    return -1, {"Authorization": header}


HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Accept": st.sampled_from(
            [
                "application/json",
                "application/xml",
                "text/xml",
                "application/xml;q=0.9, application/json;q=0.1",
                "*/*",
                "text/html",
                "é",
                "",
            ]
        ),
        "X-CSRFToken": st.sampled_from(["é".encode(), b"\xff", b"token"]),
        "Cookie": st.sampled_from([b"sessionid=\xc3\xa9; csrftoken=x", b"sessionid=abc", b"=;;"]),
        "Origin": st.sampled_from(["https://evil.example", "null", "http://127.0.0.1"]),
        # Printable only, without leading white space: requests refuses to send anything else
        # (and control characters would be refused by the HTTP parser, before the emulator).
        "X-Anything": st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8).map(
            lambda t: t.lstrip(" \t\n\r\f\v").encode("utf-8")
        ),
    },
)


@st.composite
def queries(draw: Any, world: Fuzzed, resource: str, action: bool) -> dict:
    schema = world.schemas.get(resource, {})
    names = sorted(schema.get("schema", schema).get("fields", {})) or ["name"]
    keys = st.sampled_from(
        [
            "limit",
            "offset",
            "fields",
            "order_by",
            "format",
            "recurse",
            "name",
            "name__contains",
            "tag",
            "uuid",
            "status",
            "resumableChunkNumber",
            "resumableChunkSize",
            "resumableTotalSize",
            "poll_time_gt",
            *names,
        ]
    )
    values = st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1",
            "99999999999999999999",
            "a,b",
            "\\,",
            "é",
            "x" * 300,
            "json",
            "xml",
            *names,
            *(f"-{n}" for n in names),
            *world.uuids[:4],
        ]
    )
    query = draw(st.dictionaries(keys, values | st.text(max_size=6), max_size=3))
    if action:
        query["do"] = draw(
            st.sampled_from(world.actions) | st.sampled_from(["", "x", "login"]) | TEXT
        )
    return query


#: Well-formed ranges (a malformed one asks for the whole image).
RANGES = st.sampled_from(["bytes=0-1023", "bytes=-100", "bytes=5-2", "bytes=99999999999999-"])


def fill(draw: Any, world: Fuzzed, pattern: str) -> tuple[str, str]:
    """A path for ``pattern`` and the resource it names."""
    parts = []
    for part in pattern.split("/"):
        if part in ("{res}", "{kind}"):
            part = draw(st.sampled_from(world.collections) | WEIRD_SEGMENTS)
        elif part == "{uuid}":
            part = draw(st.sampled_from(world.uuids) | WEIRD_SEGMENTS)
        elif part.startswith("{"):
            part = "/".join(draw(st.lists(WEIRD_SEGMENTS, min_size=1, max_size=2)))
        parts.append(part)
    quoted = "/".join(_quote(p) for p in parts)
    return quoted + ("/" if draw(st.integers(0, 9)) else ""), parts[0]


def _quote(segment: str) -> str:
    safe = string.ascii_letters + string.digits + "-_.~/"
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in segment)


@st.composite
def api_requests(draw: Any, world: Fuzzed, route: tuple[str, str, str], method: str) -> dict:
    path, resource = fill(draw, world, route[1])
    actor, headers = draw(credentials(world))
    headers = dict(draw(HEADERS), **headers)
    headers.setdefault(
        "Content-Type",
        draw(
            st.sampled_from(
                [
                    "application/json",
                    "text/plain",
                    "application/octet-stream",
                    "multipart/form-data",
                    "",
                ]
            )
        ),
    )
    body = encode(draw, draw(bodies(world, resource)), headers)
    if "download" in route[1]:  # ranges only: a whole 1 GiB image is not worth streaming
        headers["Range"] = draw(RANGES)
    return {
        "actor": actor,
        "method": method,
        "path": path,
        "params": draw(queries(world, resource, "action" in route[1])),
        "headers": headers,
        "data": body,
    }


def fire(world: Fuzzed, request: dict) -> None:
    if not world.intact():
        world.rebuild()
    world.send(
        request["actor"],
        request["method"],
        request["path"],
        params=request["params"],
        headers=request["headers"],
        data=request["data"],
    )
    world.emu.transition_delay = None


ROUTE_IDS = [f"{method} {pattern}" for method, pattern, _handler in ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@examples(45)
@seeded
@given(data=st.data())
def test_every_route_answers_generated_requests_by_the_rules(
    world: Fuzzed, route: tuple, data: Any
) -> None:
    fire(world, data.draw(api_requests(world, route, route[0])))


OTHER_METHODS = [(route, m) for route in ROUTES for m in METHODS if m != route[0]]


@pytest.mark.parametrize(
    ("route", "method"), OTHER_METHODS, ids=[f"{m} {r[1]}" for r, m in OTHER_METHODS]
)
@examples(3)
@seeded
@given(data=st.data())
def test_every_route_answers_every_other_method_by_the_rules(
    world: Fuzzed, route: tuple, method: str, data: Any
) -> None:
    fire(world, data.draw(api_requests(world, route, method)))


CONTROL_ROUTES = sorted(CONTROL)
CONTROL_BODIES = [
    b"{}",
    b'{"email": "x@example.com", "password": "p"}',
    b'{"delay": 5}',
    b'{"advance": true}',
    b"[]",
    b"{",
]


@pytest.mark.parametrize(
    "control", CONTROL_ROUTES, ids=[f"{m} /_emulator/{n}/" for m, n in CONTROL_ROUTES]
)
@examples(25)
@seeded
@given(data=st.data())
def test_every_control_route_answers_generated_requests_by_the_rules(
    world: Fuzzed, control: tuple[str, str], data: Any
) -> None:
    method = data.draw(st.sampled_from([control[0]] * 4 + list(METHODS)))
    headers = dict(data.draw(HEADERS))
    headers["Content-Type"] = data.draw(st.sampled_from(["application/json", "text/plain", ""]))
    host = data.draw(st.sampled_from([*LOOPBACK_HOSTS, "evil.example", "127.0.0.1.evil.example"]))
    headers["Host"] = f"{host}:{world.emu.port}"
    token = data.draw(st.sampled_from([world.emu.control_token] * 3 + ["", "wrong", "é"]))
    headers["X-Emulator-Token"] = token.encode()
    body = data.draw(st.sampled_from(CONTROL_BODIES))
    before = world.fingerprint()
    url = f"{world.emu.base_url}/_emulator/{control[1]}/"
    response = world.send(-1, method, url, headers=headers, data=body)
    origin = headers.get("Origin")
    refused = (
        host not in LOOPBACK_HOSTS
        or (origin is not None and origin != "http://127.0.0.1")
        or (
            method not in ("GET", "HEAD", "OPTIONS")
            and headers["Content-Type"] != "application/json"
        )
        or token != world.emu.control_token
    )
    if refused:
        assert response.status_code >= 400, f"{method} {url} {headers} was served"
        assert world.fingerprint() == before
        world.figures["control requests refused"] += 1
    world.emu.transition_delay = None
    if not world.intact():
        world.rebuild()

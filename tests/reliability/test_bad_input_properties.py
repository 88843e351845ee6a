"""Generated bad requests against every route of the emulator's table: never a 500, and a
rejected request (4xx) leaves every account's state exactly as it was.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import EXAMPLES, LONG, state_snapshot

from cloudsigma.emulator.http.routes import ROUTES

GIB = 1024**3
OTHER = ("other@example.com", "other-password-1")
#: How many generated requests each test sent (printed in the long run).
SENT: Counter = Counter()

FIELD_NAMES = [
    "name",
    "size",
    "media",
    "cpu",
    "mem",
    "smp",
    "vnc_password",
    "meta",
    "tags",
    "drives",
    "nics",
    "resources",
    "grantees",
    "rules",
    "amount",
    "period",
    "resource",
    "email",
    "password",
    "username",
    "objects",
    "uuid",
    "storage_type",
    "chunk_number",
    "status",
    "owner",
    "resource_uri",
    "runtime",
    "ip_v4_conf",
    "vlan",
    "public_key",
    "auto_renew",
]
TRICKY_NUMBERS = st.sampled_from(
    [0, -1, -(2**63), 2**63, 2**64 + 1, 10**100, -(10**100), 1e308, -1e-308, 0.5, 2**31]
)
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | TRICKY_NUMBERS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=12), JSON_VALUES, max_size=6
)
OBJECT_BODIES = FIELDS | FIELDS.map(lambda values: {"objects": [values]})
RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"{",
            b"[",
            b"{]",
            b'{"objects": [',
            b"NaN",
            b'{"a": Infinity}',
            b"\xff\xfe",
            b'"\\ud800"',
            b"null",
            b"[]",
            b"{}",
            b'{"objects": null}',
            b"1e999999",
        ]
    ),
    st.text(max_size=80).map(lambda text: text.encode("utf-8")),
)
BODIES = st.one_of(
    OBJECT_BODIES.map(lambda body: json.dumps(body).encode()),
    JSON_VALUES.map(lambda body: json.dumps(body).encode()),
    RAW_BODIES,
    st.just(b""),
)
QUERY_VALUES = st.one_of(
    st.sampled_from(["", "-1", "0", "1", "99999999999999999999", "a,b", "\\,", "x" * 300, "None"]),
    st.text(max_size=20),
)
QUERY = st.dictionaries(
    st.sampled_from(
        [
            "do",
            "limit",
            "offset",
            "fields",
            "name",
            "order_by",
            "format",
            "recurse",
            "status",
            "uuid",
            "resumableChunkNumber",
            "resumableTotalSize",
        ]
    )
    | st.text(min_size=1, max_size=8),
    QUERY_VALUES,
    max_size=3,
)
ACTIONS = ["start", "stop", "clone", "resize", "create", "login", "logout", "extend", "x", ""]
WEIRD_SEGMENTS = st.one_of(
    st.sampled_from(
        ["", "..", ".", "%00", "%2F", "null", "-1", "00000000-0000-0000-0000-000000000000"]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#%"),
        min_size=1,
        max_size=20,
    ),
)


@pytest.fixture(scope="module")
def world(faulty_emulator: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Two accounts, each with a few objects; status changes only when advanced."""
    emu = faulty_emulator
    emu.set_faults(None)
    emu.reset()
    emu.transition_delay = None
    # The billing clock stands still: a request bills the cycles that ended before it, which
    # would look like a change made by a rejected request whenever a run crosses a cycle's end.
    emu.call(emu.clock.freeze)
    emu.create_account(*OTHER)
    uuids: list[str] = []
    for user in ((emu.username, emu.password), OTHER):
        with requests.Session() as http:
            http.auth = user
            for resource, values in (
                ("drives", {"name": "d", "size": GIB, "media": "disk"}),
                ("servers", {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "v"}),
                ("tags", {"name": "t"}),
                ("fwpolicies", {"name": "f", "rules": []}),
            ):
                answer = http.post(f"{emu.api_endpoint}{resource}/", json=values, timeout=10)
                assert answer.status_code in (200, 201), answer.text
                uuids.append(answer.json()["objects"][0]["uuid"])
    emu.advance()
    collections = sorted(emu.backend.collections)
    yield {"emu": emu, "uuids": uuids, "collections": collections}
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if LONG and capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\ngenerated requests sent: {sum(SENT.values())} {dict(SENT)}")
    emu.reset()
    emu.transition_delay = 0


def fill(pattern: str, draw: Any, world: dict[str, Any]) -> str:
    """A concrete path for a route pattern; parameters are real names/uuids or weird text."""
    parts = []
    for part in pattern.split("/"):
        if part in ("{res}", "{kind}"):
            part = draw(st.sampled_from(world["collections"]) | WEIRD_SEGMENTS)
        elif part == "{uuid}":
            part = draw(st.sampled_from(world["uuids"]) | WEIRD_SEGMENTS)
        elif part.startswith("{"):
            part = draw(WEIRD_SEGMENTS)
        parts.append(requests.utils.quote(part, safe=""))
    return "/".join(parts) + "/"


@st.composite
def api_requests(draw: Any, world: dict[str, Any]) -> dict[str, Any]:
    method, pattern, handler = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]))
    query = draw(QUERY)
    if "action" in pattern:
        query["do"] = draw(st.sampled_from(ACTIONS) | st.text(max_size=10))
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", ""]))}
    return {
        "method": method,
        "path": fill(pattern, draw, world),
        "params": query,
        "data": draw(BODIES),
        "headers": headers,
    }


AUTH_HEADERS = st.sampled_from(
    [
        None,
        "Basic " + base64.b64encode(b"test@example.com:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody@example.com:x").decode(),
        "Basic not-base64!!",
        "Basic " + base64.b64encode("\u00e9\u2603:\u00fc".encode()).decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
        "Bearer abc",
        "Basic",
        "",
    ]
)


def send(world: dict[str, Any], request: dict[str, Any], auth: Any, name: str) -> None:
    """Send one request and check the answer and the state against the rules."""
    emu = world["emu"]
    before = state_snapshot(emu)
    headers = dict(request["headers"])
    if isinstance(auth, str):
        headers["Authorization"] = auth
    with requests.Session() as http:
        if isinstance(auth, tuple):
            http.auth = auth
        response = http.request(
            request["method"],
            emu.api_endpoint + request["path"],
            params=request["params"],
            data=request["data"],
            headers=headers,
            timeout=30,
        )
    SENT[name] += 1
    where = (request["method"], request["path"], request["params"], request["data"][:200])
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    if response.status_code >= 400 and request["method"] != "HEAD":  # HEAD answers carry no body
        errors = response.json()
        assert isinstance(errors, list) and errors, (where, response.text[:300])
        assert set(errors[0]) == {"error_point", "error_type", "error_message"}, where
    if response.status_code >= 400:
        assert state_snapshot(emu) == before, (where, response.status_code, response.text[:300])


@EXAMPLES
@given(data=st.data())
def test_generated_requests_by_the_owner_never_fail_the_server_or_half_apply(
    world: dict[str, Any], data: Any
) -> None:
    request = data.draw(api_requests(world))
    emu = world["emu"]
    send(world, request, (emu.username, emu.password), "owner")


@EXAMPLES
@given(data=st.data())
def test_generated_requests_by_another_account_never_fail_the_server_or_half_apply(
    world: dict[str, Any], data: Any
) -> None:
    request = data.draw(api_requests(world))
    emu = world["emu"]
    before = state_snapshot(emu)[emu.username]
    send(world, request, OTHER, "other account")
    if any(uuid in request["path"] for uuid in world["uuids"][:4]):  # the owner's objects
        assert state_snapshot(emu)[emu.username] == before, request


@EXAMPLES
@given(data=st.data(), auth=AUTH_HEADERS)
def test_generated_requests_without_valid_credentials_change_nothing(
    world: dict[str, Any], data: Any, auth: str | None
) -> None:
    request = data.draw(api_requests(world))
    emu = world["emu"]
    before = state_snapshot(emu)
    send(world, request, auth, "no valid credentials")
    public = re.match(r"drives/[^/]+/upload/[^/]+/$", request["path"]) or request[
        "path"
    ].startswith("accounts/action/")
    if not public:
        assert state_snapshot(emu) == before


@EXAMPLES
@given(
    resource=st.sampled_from(["drives", "servers", "tags", "fwpolicies", "ips", "vlans", "acls"]),
    fields=OBJECT_BODIES,
    method=st.sampled_from(["POST", "PUT"]),
    pick=st.integers(0, 7),
)
def test_generated_bodies_for_real_objects_never_fail_the_server_or_half_apply(
    world: dict[str, Any], resource: str, fields: dict, method: str, pick: int
) -> None:
    uuid = world["uuids"][pick]
    path = f"{resource}/" if method == "POST" else f"{resource}/{uuid}/"
    request = {
        "method": method,
        "path": path,
        "params": {},
        "data": json.dumps(fields).encode(),
        "headers": {"Content-Type": "application/json"},
    }
    emu = world["emu"]
    send(world, request, (emu.username, emu.password), "bodies")

"""Random bad input on every collection: always a 2xx or the API's 4xx error list, never a 500."""

from __future__ import annotations

import random

import pytest
from emulator_support import GIB

VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**70,
    "",
    "x",
    "\u0000",
    [],
    [1],
    [None],
    {},
    {"uuid": 5},
    {"uuid": "x"},
    [{}],
    [{"uuid": None}],
    {"a": {"b": []}},
    "1 month",
    "2030-01-01",
    ["x"],
]
KEYS = [
    "name",
    "size",
    "media",
    "drive",
    "drives",
    "nics",
    "cpu",
    "mem",
    "smp",
    "vnc_password",
    "meta",
    "tags",
    "resources",
    "grantees",
    "rules",
    "resource",
    "amount",
    "period",
    "start_time",
    "end_time",
    "public_key",
    "algorithm_type",
    "ip_v4_conf",
    "vlan",
    "email",
    "contact",
    "type",
    "value",
    "objects",
    "chunk_number",
    "chunk_size",
    "storage_type",
    "licenses",
    "location",
    "configuration",
    "backup_policy_uuid",
    "allocation_method",
    "random_vnc_password",
    "first_name",
    "clone_naming",
    "pubkeys",
    "gpus",
    "epcs",
    "affinities",
    "iops",
    "allow_multimount",
    "phone",
    "uuid",
    "username",
    "auto_renew",
]
ACTIONS = [
    "clone",
    "start",
    "stop",
    "resize",
    "upload_chunk",
    "extend",
    "auto_renew",
    "enable_nat",
    "get_log",
    "shutdown",
    "restart",
    "open_vnc",
    "set_scheduler",
]


def random_request(rng, collections, uuids):
    resource = rng.choice(collections)
    body = {key: rng.choice(VALUES) for key in rng.sample(KEYS, rng.randint(0, 6))}
    if rng.random() < 0.2:
        body = rng.choice(VALUES)
    uuid = rng.choice(uuids)
    kind = rng.randrange(6)
    if kind == 0:
        return "POST", f"{resource}/", {"json": body}
    if kind == 1:
        return "PUT", f"{resource}/{uuid}/", {"json": body}
    if kind == 2:
        return (
            "POST",
            f"{resource}/{uuid}/action/",
            {"params": {"do": rng.choice(ACTIONS)}, "json": body},
        )
    if kind == 3:
        return "PUT", f"{resource}/", {"json": body}
    if kind == 4:
        key = rng.choice([*KEYS, "limit", "offset", "fields"])
        return "GET", f"{resource}/", {"params": {key: rng.choice(["", "a,b", "\\,", "-1"])}}
    return "DELETE", f"{resource}/", {"json": body}


@pytest.mark.parametrize("seed", range(3))
def test_random_bad_requests_never_cause_a_server_error(emu, api, seed):
    emu.transition_delay = 0
    drive = api.create("drives", name="d", size=GIB, media="disk")
    server = api.create("servers", name="s", cpu=1000, mem=GIB, vnc_password="x")
    uuids = [drive["uuid"], server["uuid"], "nope", "1001"]
    collections = sorted(emu.backend.collections)
    rng = random.Random(seed)
    for _ in range(300):
        method, path, kwargs = random_request(rng, collections, uuids)
        response = api.request(method, path, **kwargs)
        assert response.status_code < 500, (method, path, kwargs, response.text)
        assert response.headers["X-REQUEST-ID"]
        if response.status_code >= 400:
            errors = response.json()
            assert isinstance(errors, list), (method, path, response.text)
            assert set(errors[0]) == {"error_point", "error_type", "error_message"}

"""Any answer at all (status, headers, bytes) fed to the SDK ends in a value or the library's
own error, never a raw requests, urllib3, json or Python exception; and the config parser on
any text gives a configuration or a ConfigError naming the line.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from hypothesis import example, given
from hypothesis import strategies as st
from reliability_support import EXAMPLES

from cloudsigma import errors
from cloudsigma.conf import Config, parse_config_text
from cloudsigma.generic import GenericClient
from cloudsigma.resource import Drive, Server

API = "http://127.0.0.1:9/api/2.0/"
PASSWORD = "answer-fuzz-password"

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
API_SHAPES = st.one_of(
    st.builds(lambda objects, meta: {"objects": objects, "meta": meta}, JSON_VALUES, JSON_VALUES),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "error_type": JSON_VALUES,
                "error_point": JSON_VALUES,
                "error_message": JSON_VALUES,
            },
        ),
        max_size=3,
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "uuid": JSON_VALUES,
            "name": JSON_VALUES,
            "status": JSON_VALUES,
            "objects": JSON_VALUES,
        },
    ),
)
BODIES = st.one_of(
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    API_SHAPES.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),
    st.sampled_from([b"", b"{", b"NaN", b"\xff", b"<html>502 Bad Gateway</html>", b"1e99999"]),
)
STATUSES = st.sampled_from(
    [200, 201, 202, 204, 301, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504]
) | st.integers(200, 599)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/html", "", "application/json; charset=latin-1"]
)


class CannedAdapter(requests.adapters.HTTPAdapter):
    """Answers every request with one canned answer, possibly lying about its length."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__()
        self.answer = (status, body, headers)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        status, body, headers = self.answer
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers=headers,
            status=status,
            preload_content=False,
            decode_content=True,
            enforce_content_length=True,
        )
        return self.build_response(request, raw)


def client_answering(status: int, body: bytes, headers: dict[str, str]) -> GenericClient:
    client = GenericClient(API, "fuzz@example.com", PASSWORD, retry=0)
    client.http.mount("http://", CannedAdapter(status, body, headers))
    return client


CALLS = [
    lambda c: c.get("/drives/"),
    lambda c: c.get_raw("/drives/"),
    lambda c: c.post("/drives/", {"objects": [{"name": "x"}]}),
    lambda c: c.put("/drives/abc/", {"name": "x"}),
    lambda c: c.delete("/drives/abc/"),
    lambda c: Drive.from_client(c).list(),
    lambda c: Drive.from_client(c).list_detail(),
    lambda c: Drive.from_client(c).get("abc"),
    lambda c: Drive.from_client(c).create({"name": "x"}),
    lambda c: list(Drive.from_client(c).iter_all()),
    lambda c: Server.from_client(c).start("abc"),
]


ITER_ALL = 9  # index of iter_all in CALLS


@EXAMPLES
@example(200, b'{"objects": true}', "application/json", "exact", "", ITER_ALL)
@example(200, b"1", "application/json", "exact", "", ITER_ALL)
@example(200, b'{"objects": [{}], "meta": [1]}', "application/json", "exact", "r1", ITER_ALL)
@given(
    status=STATUSES,
    body=BODIES,
    content_type=CONTENT_TYPES,
    length=st.sampled_from(["exact", "more", "less", "none", "junk"]),
    request_id=st.sampled_from(["", "abc123"]),
    call=st.sampled_from(range(len(CALLS))),
)
def test_any_answer_ends_in_a_value_or_a_library_error(
    status: int, body: bytes, content_type: str, length: str, request_id: str, call: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if request_id:
        headers["X-REQUEST-ID"] = request_id
    promised = {"exact": len(body), "more": len(body) + 7, "less": max(len(body) - 1, 0)}
    if length in promised:
        headers["Content-Length"] = str(promised[length])
    elif length == "junk":
        headers["Content-Length"] = "12x"
    with client_answering(status, body, headers) as client:
        try:
            CALLS[call](client)
        except errors.ApiClientError as exc:
            assert PASSWORD not in str(exc)
            if exc.status_code is not None and request_id:
                assert exc.request_id == request_id
            if status >= 400 and exc.status_code is not None:
                assert exc.status_code == status
        else:
            assert status < 400


SECRET_LINE = "password = s3cret-config-pass"
CONFIG_TEXT = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "api_endpoint = https://x/api/2.0/",
                "username = a@b.c",
                SECRET_LINE,
                "# comment",
                "   ",
                "key =",
                "= value",
                "a b = c",
                "k = 'quoted' # c",
                'k = "open',
                "password s3cret-config-pass",
                "\ufeffkey = v",
            ]
        ),
    ),
    max_size=8,
).map("\n".join)


@EXAMPLES
@given(text=CONFIG_TEXT)
def test_config_text_parses_or_names_the_bad_line(text: str) -> None:
    try:
        values = parse_config_text(text, "/etc/x.conf")
    except errors.ConfigError as exc:
        found = re.match(r"/etc/x\.conf, line (\d+): ", str(exc))
        assert found, str(exc)
        line = text.splitlines()[int(found.group(1)) - 1]
        assert (
            "=" not in line.strip()
            or line.strip().partition("=")[0].strip() == ""
            or any(ch.isspace() for ch in line.strip().partition("=")[0].strip())
        )
        assert "s3cret-config-pass" not in str(exc)
    else:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
        assert all(k and not any(ch.isspace() for ch in k) for k in values)


@EXAMPLES
@given(data=st.binary(max_size=200))
def test_config_file_of_any_bytes_loads_or_names_the_line(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path: Path = tmp_path_factory.mktemp("conf") / "cloudsigma.conf"
    path.write_bytes(data)
    path.chmod(0o600)
    try:
        loaded = Config(str(path))
        keys = list(loaded)
    except errors.ConfigError as exc:
        assert re.search(r", line \d+", str(exc)), str(exc)
    else:
        assert all(isinstance(key, str) for key in keys)

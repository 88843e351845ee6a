"""The server context served on a pseudo-terminal: requests, answers and live state."""

from __future__ import annotations

import json
import os
import pathlib
import select
import time
from typing import Any

import pytest

from cloudsigma.emulator.serial_context import (
    SerialContextServer,
    encode_answer,
    parse_requests,
    resolve_path,
)

EXCHANGES = pathlib.Path(__file__).resolve().parents[1] / "conformance" / "data" / "exchanges.jsonl"
# Generous: a read that has not finished by then is a failure, not a slow machine.
DEADLINE = 10.0

CONTEXT: dict[str, Any] = {
    "name": "web-1",
    "cpu": 1000,
    "mem_perf_threshold": 0.0,
    "is_grey": False,
    "vlan": None,
    "meta": {"ssh_public_key": "ssh-ed25519 AAAA user@host", "note": "a\nb", "city": "Zürich"},
    "nics": [{"mac": "22:81:c9:73:91:e4", "vlan": None}, {"mac": "22:00:00:00:00:02"}],
    "global_context": {"region": "zrh"},
}


def serial_records() -> list[dict[str, Any]]:
    with EXCHANGES.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    return [record for record in records if record["kind"] == "serial"]


def exchange(device: str, request: bytes) -> bytes:
    """Send ``request`` on ``device`` with plain os calls and return the answer up to EOT."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, request)
        return read_answer(fd)
    finally:
        os.close(fd)


def read_answer(fd: int) -> bytes:
    answer = b""
    deadline = time.monotonic() + DEADLINE
    while not answer.endswith(b"\x04"):
        remaining = deadline - time.monotonic()
        readable, _, _ = select.select([fd], [], [], max(remaining, 0))
        assert readable, f"no complete answer; got {answer!r}"
        answer += os.read(fd, 65536)
    return answer


def decode_like_cloud_init(answer: bytes) -> Any:
    """What cloud-init's Cepko makes of an answer: strip, decode ASCII, JSON or raw text."""
    text = answer.strip(b"\x04\n").decode("ascii")
    try:
        return json.loads(text)
    except ValueError:
        return text


@pytest.fixture
def server() -> Any:
    with SerialContextServer(lambda: CONTEXT) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", CONTEXT),
        ("/", CONTEXT),
        ("name", "web-1"),
        ("/name", "web-1"),
        ("name/", "web-1"),
        ("/meta/", CONTEXT["meta"]),
        ("/meta/ssh_public_key", "ssh-ed25519 AAAA user@host"),
        ("nics/0", CONTEXT["nics"][0]),
        ("/nics/1/mac", "22:00:00:00:00:02"),
        ("vlan", None),
    ],
)
def test_resolve_path_finds_keys_and_list_indexes(path: str, expected: Any) -> None:
    assert resolve_path(CONTEXT, path) == expected


@pytest.mark.parametrize(
    "path", ["missing", "nics/2", "nics/-1", "nics/first", "name/x", "meta//note", "//name"]
)
def test_resolve_path_raises_lookup_error_for_paths_the_context_lacks(path: str) -> None:
    with pytest.raises(LookupError):
        resolve_path(CONTEXT, path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, None], "b": "é"}, b'{"a":[1,null],"b":"\\u00e9"}\n\x04'),
        ([], b"[]\n\x04"),
        (None, b"\n\x04"),
        ("", b"\n\x04"),
        ("plain text", b"plain text\n\x04"),
        ("a\nb\rc\td\\e", b"a\\nb\\rc\\td\\\\e\n\x04"),
        ("stop\x04here", b"stop\\u0004here\n\x04"),
        ("caf\u00e9 \U0001f600", b"caf\\u00e9 \\ud83d\\ude00\n\x04"),
        (True, b"true\n\x04"),
        (False, b"false\n\x04"),
        (1000, b"1000\n\x04"),
        (0.5, b"0.5\n\x04"),
    ],
)
def test_encode_answer_sends_json_for_containers_and_bare_escaped_leaves(
    value: Any, expected: bytes
) -> None:
    assert encode_answer(value) == expected


@pytest.mark.parametrize(
    ("chunks", "paths", "left"),
    [
        ([b"<\n\n>"], [""], b""),
        ([b"<\r\nname\r\n>"], ["name"], b""),
        ([b"<\n/meta/key\r\n>"], ["/meta/key"], b""),
        ([b"noise\x04\n<\nname\n>"], ["name"], b""),
        ([b"<\nna", b"me\n", b">"], ["name"], b""),
        ([b"<\nname\n><\n/nics/0\n><\nme"], ["name", "/nics/0"], b"<\nme"),
        ([b"<\n\xffname\n>"], ["\ufffdname"], b""),
        ([b"no request here"], [], b""),
    ],
)
def test_parse_requests_takes_complete_requests_and_keeps_a_partial_one(
    chunks: list[bytes], paths: list[str], left: bytes
) -> None:
    buffer = bytearray()
    found = []
    for chunk in chunks:
        buffer += chunk
        found += parse_requests(buffer)
    assert found == paths
    assert bytes(buffer) == left


def test_start_returns_the_guest_side_path_of_a_raw_pty(server: SerialContextServer) -> None:
    assert server.path is not None and server.path.startswith("/dev/")
    assert os.path.exists(server.path)
    assert exchange(server.path, b"<\nname\n>") == b"web-1\n\x04"


@pytest.mark.parametrize(
    "request_bytes",
    [b"<\n\n>", b"<\r\n\r\n>", b"<\n/\n>"],
)
def test_whole_context_is_compact_ascii_json(
    server: SerialContextServer, request_bytes: bytes
) -> None:
    answer = exchange(server.path, request_bytes)
    assert answer.endswith(b"\n\x04") and answer.count(b"\n") == 1
    assert answer.isascii() and b'"Z\\u00fcrich"' in answer
    assert b'", "' not in answer and b'": ' not in answer
    assert json.loads(answer[:-2]) == CONTEXT


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (b"<\nnics/0\n>", b'{"mac":"22:81:c9:73:91:e4","vlan":null}\n\x04'),
        (b"<\n/nics/1/mac\n>", b"22:00:00:00:00:02\n\x04"),
        (b"<\n/meta/note\n>", b"a\\nb\n\x04"),
        (b"<\ncpu\n>", b"1000\n\x04"),
        (b"<\nvlan\n>", b"\n\x04"),
        (b"<\n/no/such/key\n>", b"\n\x04"),
    ],
)
def test_paths_are_answered_on_the_pty(
    server: SerialContextServer, request_bytes: bytes, expected: bytes
) -> None:
    assert exchange(server.path, request_bytes) == expected


def test_silent_mode_sends_nothing_for_an_unknown_path() -> None:
    with SerialContextServer(lambda: CONTEXT, unknown_path="silent") as server:
        # Had the unknown path been answered, its empty answer would come first.
        answer = exchange(server.path, b"<\n/no/such/key\n><\nname\n>")
    assert answer == b"web-1\n\x04"


def test_every_request_reads_the_current_state() -> None:
    state = {"name": "before", "meta": {}}
    with SerialContextServer(lambda: state) as server:
        assert exchange(server.path, b"<\nname\n>") == b"before\n\x04"
        state["name"] = "after"
        state["meta"]["added"] = "yes"
        assert exchange(server.path, b"<\nname\n>") == b"after\n\x04"
        assert exchange(server.path, b"<\n/meta/added\n>") == b"yes\n\x04"


def test_global_context_callback_replaces_the_context_key() -> None:
    account = {"new_global_key": "new_global_val"}
    with SerialContextServer(lambda: CONTEXT, global_context=lambda: account) as server:
        whole = json.loads(exchange(server.path, b"<\n\n>")[:-2])
        assert whole["global_context"] == account
        account["second"] = "2"
        answer = exchange(server.path, b"<\n/global_context/second\n>")
    assert answer == b"2\n\x04"
    assert CONTEXT["global_context"] == {"region": "zrh"}


def test_a_failing_callback_answers_nothing_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = []

    def flaky() -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("state unavailable")
        return CONTEXT

    with SerialContextServer(flaky) as server:
        answer = exchange(server.path, b"<\nname\n><\nname\n>")
    assert answer == b"web-1\n\x04"
    assert "state unavailable" in caplog.text


def test_inject_writes_raw_bytes_to_the_guest_side(server: SerialContextServer) -> None:
    fd = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
    try:
        server.inject(b"junk\n\x04")
        assert read_answer(fd) == b"junk\n\x04"
    finally:
        os.close(fd)


def test_stop_closes_the_pty_and_can_be_called_twice() -> None:
    server = SerialContextServer(lambda: CONTEXT)
    path = server.start()
    assert repr(server) == f"<SerialContextServer serving on {path}, unknown_path='empty'>"
    server.stop()
    server.stop()
    assert server.path is None
    assert "stopped" in repr(server)
    with pytest.raises(RuntimeError, match="not running"):
        server.inject(b"x")


def test_start_twice_raises(server: SerialContextServer) -> None:
    with pytest.raises(RuntimeError, match="already serves"):
        server.start()


def test_unknown_path_mode_must_be_empty_or_silent() -> None:
    with pytest.raises(ValueError, match="unknown_path must be one of empty, silent"):
        SerialContextServer(lambda: CONTEXT, unknown_path="error")


# Which recorded whole context each recorded single-value read was taken from.
LEAF_RECORD_SOURCES = {
    "context_single_value": "context_all",
    "context_single_value_ssh_key": "context_all",
    "context_single_value_dynamic": "context_all_dynamic",
    "context_single_value_another_key_dynamic": "context_all_dynamic",
    "global_context_single_value": "global_context_all",
}


def recorded_context(record: dict[str, Any]) -> dict[str, Any]:
    """The context a record was read from: its own answer, or the whole context it came from."""
    if record["request_body"] == "<\n\n>":
        return record["response_body"]
    source = LEAF_RECORD_SOURCES[record["name"]]
    (whole,) = [other for other in serial_records() if other["name"] == source]
    return whole["response_body"]


def test_the_recorded_serial_exchanges_are_all_here() -> None:
    names = {record["name"] for record in serial_records()}
    assert len(names) == 11
    assert set(LEAF_RECORD_SOURCES) | set(LEAF_RECORD_SOURCES.values()) <= names


@pytest.mark.parametrize("record", serial_records(), ids=lambda record: record["name"])
def test_recorded_exchanges_decode_as_cloud_init_reads_them(record: dict[str, Any]) -> None:
    context = recorded_context(record)
    with SerialContextServer(lambda: context) as server:
        answer = exchange(server.path, record["request_body"].encode("ascii"))
    assert decode_like_cloud_init(answer) == record["response_body"]

"""The serial context under hostile input: bounded memory, no answer handed to the next reader."""

from __future__ import annotations

import fcntl
import os
import random
import select
import struct
import termios
import threading
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsigma.emulator.serial_context import MAX_PATH, SerialContextServer, parse_requests

CONTEXT: dict[str, Any] = {"name": "web-1", "meta": {"key": "value"}, "nics": []}
#: What the old cap promised; a flood must never make the pending buffer grow beyond it.
OLD_CAP = 64 * 1024
DEADLINE = 10.0


def flood(blocks: list[bytes]) -> int:
    """Feed ``blocks`` to the parser as successive reads; return the largest pending buffer."""
    buffer = bytearray()
    largest = 0
    for block in blocks:
        buffer += block
        parse_requests(buffer)
        largest = max(largest, len(buffer))
    return largest


def test_a_flood_of_random_bytes_keeps_the_pending_buffer_bounded() -> None:
    rng = random.Random(13)
    assert flood([rng.randbytes(65536) for _ in range(64)]) <= OLD_CAP + 65536
    buffer = bytearray(rng.randbytes(65536))
    parse_requests(buffer)
    assert len(buffer) <= MAX_PATH + 5


def test_a_flood_of_opening_brackets_keeps_the_pending_buffer_bounded() -> None:
    assert flood([b"<" * 65536 for _ in range(64)]) <= OLD_CAP + 65536
    buffer = bytearray(b"<" * 65536)
    parse_requests(buffer)
    assert bytes(buffer) == b"<"


def test_a_request_after_a_flood_is_still_found() -> None:
    buffer = bytearray(b"<" * 100_000 + b"<\n" + b"x" * (MAX_PATH + 10))
    assert parse_requests(buffer) == []
    buffer += b"\n><\nname\n>"
    assert parse_requests(buffer) == ["name"]
    assert buffer == b""


def test_a_path_up_to_the_limit_is_kept_across_reads() -> None:
    path = b"m" * MAX_PATH
    buffer = bytearray(b"<\n" + path)
    assert parse_requests(buffer) == []
    buffer += b"\n>"
    assert parse_requests(buffer) == [path.decode()]


STREAM_BYTES = st.lists(
    st.sampled_from(
        [b"<", b"\n", b"\r", b">", b"<\n", b"\r\n", b"a", b"/", b"\xff", b"<\nname\n>"]
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(stream=STREAM_BYTES, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_reading_in_pieces_finds_what_reading_at_once_finds(stream: bytes, cuts: list[int]) -> None:
    at_once = parse_requests(bytearray(stream))
    buffer, found, start = bytearray(), [], 0
    for cut in sorted({min(c, len(stream)) for c in cuts}) + [len(stream)]:
        buffer += stream[start:cut]
        start = cut
        found += parse_requests(buffer)
        assert len(buffer) <= MAX_PATH + 5
    assert found == at_once


def pending_bytes(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def read_answer(fd: int) -> bytes:
    answer = b""
    deadline = time.monotonic() + DEADLINE
    while not answer.endswith(b"\x04"):
        readable, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert readable, f"no complete answer; got {answer!r}"
        answer += os.read(fd, 65536)
    return answer


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def test_an_unread_answer_is_discarded_when_the_next_request_comes() -> None:
    with SerialContextServer(lambda: CONTEXT) as server:
        assert server.path is not None
        whole = len(b'{"name":"web-1","meta":{"key":"value"},"nics":[]}\n\x04')
        gone = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        os.write(gone, b"<\n\n>")
        wait_until(lambda: pending_bytes(gone) == whole, "the first answer never came")
        os.close(gone)  # gave up without reading it
        reader = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(reader, b"<\n/meta/key\n>")
            wait_until(lambda: pending_bytes(reader) != whole, "the request was not answered")
            assert read_answer(reader) == b"value\n\x04"
        finally:
            os.close(reader)


def test_an_answer_overtaken_by_a_newer_request_is_never_sent() -> None:
    entered, released = threading.Event(), threading.Event()

    def slow_context() -> dict[str, Any]:
        if not entered.is_set():
            entered.set()
            assert released.wait(DEADLINE)
        return CONTEXT

    with SerialContextServer(slow_context) as server:
        assert server.path is not None and server._fds is not None
        gone = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        os.write(gone, b"<\n\n>")
        assert entered.wait(DEADLINE)
        os.close(gone)  # timed out while the answer was being made
        reader = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(reader, b"<\n/meta/key\n>")
            # The second request has reached the server's side before the first answer is done.
            assert select.select([server._fds.master], [], [], DEADLINE)[0]
            released.set()
            assert read_answer(reader) == b"value\n\x04"
        finally:
            os.close(reader)


def test_requests_sent_together_are_all_answered_in_order() -> None:
    with SerialContextServer(lambda: CONTEXT) as server:
        assert server.path is not None
        reader = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(reader, b"<\nname\n><\n/meta/key\n>")
            answers = read_answer(reader)
            while answers.count(b"\x04") < 2:
                answers += read_answer(reader)
            assert answers == b"web-1\n\x04value\n\x04"
        finally:
            os.close(reader)

"""GetServerMetadata reading a server context served on a real pseudo-terminal."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pathlib
import pickle
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import serial

from cloudsigma import metadata
from cloudsigma.emulator.serial_context import SerialContextServer, encode_answer
from cloudsigma.errors import ApiClientError
from cloudsigma.metadata import (
    GetServerMetadata,
    MetadataArgumentError,
    MetadataError,
    MetadataResponseError,
)

EXCHANGES = pathlib.Path(__file__).resolve().parents[1] / "conformance" / "data" / "exchanges.jsonl"
# Generous, so that a slow machine never fails a test; the checks are on results only.
TIMEOUT = 10.0
# Small, for the reads that are meant to time out.
SHORT = 0.2


def load_serial_records() -> dict[str, dict[str, Any]]:
    with EXCHANGES.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    return {record["name"]: record for record in records if record["kind"] == "serial"}


RECORDS = load_serial_records()
CONTEXT_ALL = RECORDS["context_all"]["response_body"]


def make_context() -> dict[str, Any]:
    context = json.loads(json.dumps(CONTEXT_ALL))
    context["meta"].update(
        {
            "escaped": "line 1\nline 2\r\n\ttab \\ backslash",
            "unicode": "Zürich \U0001f600",
            "empty": "",
            "unset": None,
            "bracketed": "[draft] not JSON",
            "json_text": '{"a": 1}',
        }
    )
    return context


@pytest.fixture
def context() -> dict[str, Any]:
    return make_context()


@pytest.fixture
def server(context: dict[str, Any]) -> Iterator[SerialContextServer]:
    with SerialContextServer(lambda: context) as running:
        yield running


@pytest.fixture
def reader(server: SerialContextServer) -> GetServerMetadata:
    return GetServerMetadata(device=server.path, timeout=TIMEOUT)


def wait_for_pending(device: str, count: int) -> None:
    """Block until ``count`` bytes wait in the guest side's input queue (without reading them)."""
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    try:
        deadline = time.monotonic() + TIMEOUT
        while pending_bytes(fd) < count:
            assert time.monotonic() < deadline, f"only {pending_bytes(fd)} of {count} bytes came"
            time.sleep(0.001)
    finally:
        os.close(fd)


def pending_bytes(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


# --- reading -----------------------------------------------------------------------------


def test_get_without_path_returns_the_whole_context(
    reader: GetServerMetadata, context: dict[str, Any]
) -> None:
    assert reader.get() == context
    assert reader.result == context


def test_original_usage_reads_the_device_named_by_the_environment(
    server: SerialContextServer, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDSIGMA_SERIAL_DEVICE", server.path)
    assert GetServerMetadata().get() == context
    assert GetServerMetadata().result["uuid"] == context["uuid"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("name", "test_srv_test_guest_context"),
        ("/name", "test_srv_test_guest_context"),
        ("/meta/ssh_public_key", CONTEXT_ALL["meta"]["ssh_public_key"]),
        ("nics/0", CONTEXT_ALL["nics"][0]),
        ("/nics/0/ip_v4_conf/ip/nameservers", ["8.8.8.8"]),
        ("/drives/0/drive/uuid", "ca360a3f-55e4-4b5f-92ba-ada83fca2940"),
        ("/nics/0/ip_v4_conf/ip/netmask", 24),
        ("mem", 1073741824),
        ("mem_perf_threshold", 0.0),
        ("is_grey", False),
        ("cpu_model", None),
        ("/meta/escaped", "line 1\nline 2\r\n\ttab \\ backslash"),
        ("/meta/unicode", "Zürich \U0001f600"),
        ("/meta/empty", None),
        ("/meta/unset", None),
        ("/meta/bracketed", "[draft] not JSON"),
        ("/meta/no_such_key", None),
        ("nics/5", None),
    ],
)
def test_get_reads_one_path(reader: GetServerMetadata, path: str, expected: Any) -> None:
    value = reader.get(path)
    assert value == expected
    assert type(value) is type(expected)


def test_get_meta_with_trailing_slash_returns_the_meta_dict(
    reader: GetServerMetadata, context: dict[str, Any]
) -> None:
    assert reader.get("/meta/") == context["meta"]


def test_global_context_is_read_as_a_dict() -> None:
    account = {"new_global_key": "new_global_val"}
    with SerialContextServer(lambda: CONTEXT_ALL, global_context=lambda: account) as server:
        reader = GetServerMetadata(device=server.path, timeout=TIMEOUT)
        assert reader.get_global_context() == account
        assert reader.get("/global_context/") == account
        assert reader.get("/global_context/new_global_key") == "new_global_val"


def test_a_change_in_the_state_shows_up_on_the_next_read(context: dict[str, Any]) -> None:
    with SerialContextServer(lambda: context) as server:
        reader = GetServerMetadata(device=server.path, timeout=TIMEOUT)
        assert reader.get("name") == "test_srv_test_guest_context"
        context["name"] = "renamed"
        context["meta"]["another_key"] = "a value or something"
        assert reader.get("name") == "renamed"
        assert reader.get()["meta"]["another_key"] == "a value or something"
        assert reader.result["name"] == "renamed"


@pytest.mark.parametrize("reset_on_open", [True, False], ids=["port-reset", "no-port-reset"])
def test_stale_bytes_from_an_interrupted_reader_are_drained(
    server: SerialContextServer, monkeypatch: pytest.MonkeyPatch, reset_on_open: bool
) -> None:
    if not reset_on_open:
        # Some drivers keep pending input when the port opens; the drain must cope alone.
        monkeypatch.setattr(serial.Serial, "_reset_input_buffer", lambda self: None)
    interrupted = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
    os.write(interrupted, b"<\nname\n>")
    os.close(interrupted)  # gave up before the answer came
    stale_answer = encode_answer("test_srv_test_guest_context")
    wait_for_pending(server.path, len(stale_answer))
    junk = b"line noise \xff\xfe\n\x04" + b'{"uuid": "old"}\n\x04'
    server.inject(junk)
    wait_for_pending(server.path, len(stale_answer) + len(junk))
    reader = GetServerMetadata(device=server.path, timeout=TIMEOUT)
    assert reader.get("/meta/ssh_public_key") == CONTEXT_ALL["meta"]["ssh_public_key"]
    assert reader.get()["uuid"] == CONTEXT_ALL["uuid"]


class ScriptedPort:
    """A stand-in for serial.Serial that hands out chunks, for the EOT handling."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.timeout: float | None = None

    @property
    def in_waiting(self) -> int:
        return len(self.chunks[0]) if self.chunks else 0

    def read(self, size: int = 1) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


@pytest.mark.parametrize(
    ("chunks", "payload"),
    [
        ([b"\x04", b"name\n\x04"], b"name\n"),
        ([b"\x04\x04na", b"me\n", b"\x04"], b"name\n"),
        ([b"\n\x04"], b"\n"),
        ([b"first\n\x04second\n\x04"], b"first\n"),
    ],
)
def test_answer_ends_at_the_first_eot_after_any_leading_eot(
    chunks: list[bytes], payload: bytes
) -> None:
    port = ScriptedPort(chunks)
    deadline = time.monotonic() + TIMEOUT
    assert metadata._read_until_eot(port, deadline)[0] == payload  # type: ignore[arg-type]


def test_concurrent_readers_in_threads_each_get_their_own_answer(
    reader: GetServerMetadata, context: dict[str, Any]
) -> None:
    paths = ["name", "/meta/ssh_public_key", "nics/0", "", "/drives/0/dev_channel", "mem"]
    results: dict[tuple[str, int], Any] = {}

    def read_many(path: str) -> None:
        own = GetServerMetadata(device=reader.device, timeout=TIMEOUT)
        for attempt in range(5):
            results[(path, attempt)] = own.get(path)

    threads = [threading.Thread(target=read_many, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server_side = metadata.GetServerMetadata(device=reader.device, timeout=TIMEOUT)
    expected = {path: server_side.get(path) for path in paths}
    assert expected[""] == context
    assert results == {(path, attempt): expected[path] for path in paths for attempt in range(5)}


READ_IN_CHILD = """
import json, sys
from cloudsigma.metadata import GetServerMetadata
reader = GetServerMetadata(device=sys.argv[1], timeout=float(sys.argv[3]))
print(json.dumps([reader.get(sys.argv[2]) for _ in range(5)]))
"""


def test_concurrent_reader_processes_each_get_their_own_answer(
    server: SerialContextServer,
) -> None:
    paths = ["name", "/meta/ssh_public_key", "nics/0", ""]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", READ_IN_CHILD, server.path, path, str(TIMEOUT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for path in paths
    ]
    got = {}
    for path, child in zip(paths, children, strict=True):
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()
        got[path] = json.loads(out)
    assert got["name"] == ["test_srv_test_guest_context"] * 5
    assert got["/meta/ssh_public_key"] == [CONTEXT_ALL["meta"]["ssh_public_key"]] * 5
    assert got["nics/0"] == [CONTEXT_ALL["nics"][0]] * 5
    assert all(whole["uuid"] == CONTEXT_ALL["uuid"] for whole in got[""])


# --- recorded exchanges -------------------------------------------------------------------

# Which recorded whole context each recorded single-value read was taken from.
LEAF_RECORD_SOURCES = {
    "context_single_value": "context_all",
    "context_single_value_ssh_key": "context_all",
    "context_single_value_dynamic": "context_all_dynamic",
    "context_single_value_another_key_dynamic": "context_all_dynamic",
    "global_context_single_value": "global_context_all",
}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_client_reads_back_what_each_recorded_exchange_says(name: str) -> None:
    record = RECORDS[name]
    whole = record["request_body"] == "<\n\n>"
    context = (
        record["response_body"] if whole else RECORDS[LEAF_RECORD_SOURCES[name]]["response_body"]
    )
    path = record["request_body"][2:-2]
    assert record["request_body"] == f"<\n{path}\n>"
    seen: list[str] = []
    with SerialContextServer(lambda: context) as server:
        answer = server.answer
        server.answer = lambda asked: seen.append(asked) or answer(asked)  # type: ignore[method-assign]
        got = GetServerMetadata(device=server.path, timeout=TIMEOUT).get(path or None)
    assert got == record["response_body"]
    assert seen == [path]


def test_all_eleven_serial_records_are_covered() -> None:
    assert len(RECORDS) == 11
    leaves = {name for name, record in RECORDS.items() if record["request_body"] != "<\n\n>"}
    assert leaves == set(LEAF_RECORD_SOURCES)


# --- errors -------------------------------------------------------------------------------


def test_missing_device_raises_not_found_naming_the_device(tmp_path: pathlib.Path) -> None:
    device = str(tmp_path / "ttyS1")
    with pytest.raises(metadata.MetadataDeviceNotFoundError) as caught:
        GetServerMetadata(device=device, timeout=TIMEOUT).get()
    error = caught.value
    assert device in str(error) and "CLOUDSIGMA_SERIAL_DEVICE" in str(error)
    assert (error.device, error.path, error.errno) == (device, "", errno.ENOENT)
    assert isinstance(error, (MetadataError, ApiClientError, serial.SerialException))


def test_permission_error_from_the_opener_becomes_a_permission_error_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(device: str) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", device)

    monkeypatch.setattr(metadata, "_open_device_fd", forbidden)
    with pytest.raises(serial.SerialException) as caught:
        GetServerMetadata(device="/dev/ttyS1", timeout=TIMEOUT).get("name")
    error = caught.value
    assert isinstance(error, metadata.MetadataPermissionError)
    assert "/dev/ttyS1" in str(error) and "dialout" in str(error)
    assert "sudo usermod -aG dialout $USER" in str(error)
    assert error.path == "name" and error.errno == errno.EACCES


def outcome_of_reading(device: str) -> str:
    """Read ``device`` in a forked child that is an ordinary user, and say what happened.

    Root ignores file modes, so as root the child first drops to user and group 65534.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            try:
                GetServerMetadata(device=device, timeout=TIMEOUT).get()
                outcome = "no error"
            except metadata.MetadataPermissionError as exc:
                outcome = f"permission {exc}"
            except BaseException as exc:
                outcome = f"other {type(exc).__name__}: {exc}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


def test_unreadable_device_raises_permission_error_for_an_ordinary_user() -> None:
    directory = tempfile.mkdtemp(prefix="cloudsigma-perm-")
    device = os.path.join(directory, "ttyS1")
    try:
        os.chmod(directory, 0o755)
        with open(device, "w"):
            pass
        os.chmod(device, 0o000)
        outcome = outcome_of_reading(device)
    finally:
        os.unlink(device)
        os.rmdir(directory)
    assert outcome.startswith("permission "), outcome
    assert device in outcome and "dialout" in outcome


def test_silent_server_times_out_naming_the_deadline_and_the_path() -> None:
    with SerialContextServer(lambda: CONTEXT_ALL, unknown_path="silent") as server:
        with pytest.raises(metadata.MetadataTimeoutError) as caught:
            GetServerMetadata(device=server.path, timeout=SHORT).get("/meta/missing")
        device = server.path
    error = caught.value
    assert isinstance(error, TimeoutError) and isinstance(error, serial.SerialException)
    assert device in str(error) and "0.2 s" in str(error) and "'/meta/missing'" in str(error)
    assert "nothing came" in str(error)


def test_reader_waits_for_the_lock_and_times_out_if_it_is_never_released(
    server: SerialContextServer,
) -> None:
    holder = os.open(server.path, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(metadata.MetadataTimeoutError, match="another reader held the device"):
            GetServerMetadata(device=server.path, timeout=SHORT).get("name")
    finally:
        os.close(holder)
    assert GetServerMetadata(device=server.path, timeout=TIMEOUT).get("name") == (
        "test_srv_test_guest_context"
    )


@pytest.mark.parametrize(
    ("path", "answer", "message"),
    [
        ("", b"\xff\xfe{}\n\x04", "not UTF-8"),
        ("", b'{"uuid": "cut off\n\x04', "invalid JSON"),
        ("", b"[1, 2]\n\x04", "JSON list, not an object"),
        ("", b"\n\x04", "an empty answer"),
        ("/global_context/", b"not json\n\x04", "invalid JSON"),
        ("name", b"caf\xe9\n\x04", "not UTF-8"),
        ("", b"[" * 5000 + b"\n\x04", "nested too deeply"),
        ("/global_context/", b'{"a":' * 5000 + b"\n\x04", "nested too deeply"),
    ],
)
def test_garbled_answer_raises_response_error(path: str, answer: bytes, message: str) -> None:
    with SerialContextServer(lambda: CONTEXT_ALL) as server:
        server.answer = lambda asked: answer  # type: ignore[method-assign]
        with pytest.raises(MetadataResponseError, match=message) as caught:
            GetServerMetadata(device=server.path, timeout=TIMEOUT).get(path)
        assert server.path in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_meta_value_of_thousands_of_brackets_is_that_text() -> None:
    with SerialContextServer(lambda: CONTEXT_ALL) as server:
        server.answer = lambda asked: b"[" * 5000 + b"\n\x04"  # type: ignore[method-assign]
        assert GetServerMetadata(device=server.path, timeout=TIMEOUT).get("meta/k") == "[" * 5000


def test_stopped_server_leaves_a_device_error_not_a_hang() -> None:
    server = SerialContextServer(lambda: CONTEXT_ALL)
    device = server.start()
    server.stop()
    with pytest.raises(metadata.MetadataDeviceError) as caught:
        GetServerMetadata(device=device, timeout=TIMEOUT).get()
    assert device in str(caught.value)


@pytest.mark.parametrize("path", ["name\n", "a\rb", 5, b"name"])
def test_a_path_that_cannot_be_sent_is_refused(path: Any, reader: GetServerMetadata) -> None:
    with pytest.raises(MetadataArgumentError, match="path"):
        reader.get(path)


@pytest.mark.parametrize("timeout", [0, -1, "5", True, None])
def test_timeout_must_be_a_positive_number(timeout: Any) -> None:
    with pytest.raises(MetadataArgumentError, match="timeout must be a positive number"):
        GetServerMetadata(device="/dev/ttyS1", timeout=timeout)


# --- defaults and error objects -----------------------------------------------------------


def test_default_device_is_ttys1_unless_the_environment_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLOUDSIGMA_SERIAL_DEVICE", raising=False)
    assert GetServerMetadata().device == "/dev/ttyS1"
    monkeypatch.setenv("CLOUDSIGMA_SERIAL_DEVICE", "/dev/ttyS9")
    assert GetServerMetadata().device == "/dev/ttyS9"
    assert GetServerMetadata(device="/dev/ttyUSB0").device == "/dev/ttyUSB0"


def test_errors_pickle_with_their_class_device_and_path() -> None:
    error = metadata.MetadataTimeoutError("no answer", device="/dev/ttyS1", path="name")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is metadata.MetadataTimeoutError
    assert (str(copy), copy.device, copy.path) == ("no answer", "/dev/ttyS1", "name")
    assert repr(copy) == "MetadataTimeoutError('no answer', device='/dev/ttyS1', path='name')"


def test_device_errors_are_built_without_importing_serial_at_module_import() -> None:
    code = (
        "import sys, cloudsigma.metadata as m; "
        "print('serial' in sys.modules); "
        "print(issubclass(m.MetadataPermissionError, m.MetadataError)); "
        "print('serial' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True", "True"], done.stderr

"""The SDK against a misbehaving server: generated misbehaviours x SDK calls x login methods.

Every case starts the servers of :mod:`sdk_servers` on loopback, points a client at one of
them (Basic, session or Digest login, every exchange logged at DEBUG) and makes one SDK
call: get, list, create, an action, a session login or a download. Whatever the server
does, the call ends in a value or a ``cloudsigma.errors`` exception, within a bound derived
from the configured deadline; no credential reaches an origin other than the configured
one; no secret (by value) shows in the exception, its causes, a repr or a log line; and
the memory the call allocates stays far below the bodies it is sent.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from adversarial_support import FIGURES, examples, seeded
from hypothesis import example, given
from hypothesis import strategies as st
from sdk_servers import (
    DRIVE_IMAGE,
    DRIVE_UUID,
    KINDS,
    MAX_RESPONSE_BYTES,
    PASSWORD,
    REDIRECT_TARGETS,
    SERVER_UUID,
    USERNAME,
    Misbehaviour,
    Stage,
    every_text_of,
)

from cloudsigma import errors
from cloudsigma.download import Download
from cloudsigma.generic import GenericClient, Retry
from cloudsigma.resource import Accounts, Drive, Server

#: The client's limits in every case: short, so that a stalled call costs about a second.
CONNECT_TIMEOUT = 0.2
READ_TIMEOUT = 0.3
DEADLINE = 0.6
RETRY = Retry(total=2, backoff_factor=0.05, jitter=False)
#: How long a call may take at most: its deadline, a session login's (or a download's drive
#: lookup) before it, and ample slack for a loaded machine: a generous bound, not a timing
#: measurement. Without the deadline a drip-fed answer takes 40 minutes, a Retry-After days.
BOUND = 4 * DEADLINE + 5.0
#: The most a call may allocate, far below the 48 MiB bodies the server sends.
MEMORY_BOUND = 16 * 1024**2

STATUSES = {
    "drip": (200, 400),
    "drip_status": (200, 503),
    "half_body": (200, 201, 400, 502),
    "html": (200, 201, 202, 404, 502),
    "echo": (200, 400, 401, 403, 500),
    "echo_headers": (200, 201, 202, 400),
    "redirect": (301, 302, 303, 307, 308),
    "deep_json": (200, 202, 400, 500),
    "huge": (200, 201, 400),
    "gzip_bomb": (200, 400),
    "retry_after": (429, 503),
}
RETRY_AFTER = ("100000", "Fri, 31 Dec 9999 23:59:59 GMT", "-1", "nan", "1e400", "3")


@st.composite
def misbehaviours(draw: st.DrawFn) -> Misbehaviour:
    kind = draw(st.sampled_from(KINDS))
    return Misbehaviour(
        kind=kind,
        status=draw(st.sampled_from(STATUSES.get(kind, (200,)))),
        target=draw(st.sampled_from(REDIRECT_TARGETS)),
        at=draw(st.integers(0, 2)),
        variant=draw(st.booleans()),
        retry_after=draw(st.sampled_from(RETRY_AFTER)),
    )


def _client(stage: Stage, login_method: str) -> GenericClient:
    return GenericClient(
        stage.api_endpoint,
        USERNAME,
        PASSWORD,
        login_method=login_method,
        request_log_level="DEBUG",
        timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
        retry=RETRY,
        deadline=DEADLINE,
        max_response_bytes=MAX_RESPONSE_BYTES,
    )


def _download(client: GenericClient) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        download = Download(
            DRIVE_UUID,
            os.path.join(folder, "drive.img"),
            n_threads=1,
            generic_client_kwargs={
                "api_endpoint": client.api_endpoint,
                "username": USERNAME,
                "password": PASSWORD,
                "login_method": client.login_method,
                "request_log_level": "DEBUG",
                "timeout": (CONNECT_TIMEOUT, READ_TIMEOUT),
                "retry": RETRY,
                "deadline": DEADLINE,
                "max_response_bytes": MAX_RESPONSE_BYTES,
            },
        )
        path = download.run()
        with open(path, "rb") as image:
            assert image.read() == DRIVE_IMAGE
        return path


CALLS: dict[str, Callable[[GenericClient], Any]] = {
    "get": lambda c: Drive.from_client(c).get(DRIVE_UUID),
    "list": lambda c: Drive.from_client(c).list(),
    "create": lambda c: Drive.from_client(c).create({"name": "d", "size": 4096, "media": "disk"}),
    "action": lambda c: Server.from_client(c).start(SERVER_UUID),
    "login": lambda c: Accounts.from_client(c).check_login_with_return_uuid(),
    "download": _download,
}
LOGIN_METHODS = ("basic", "session", "digest")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@contextmanager
def every_log_line() -> Iterator[list[str]]:
    """Every record of every logger at DEBUG, formatted as a handler would write it."""
    handler = _Lines()
    root = logging.getLogger()
    names = ("cloudsigma", "urllib3", "requests")
    levels = [root.level] + [logging.getLogger(name).level for name in names]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        for name, level in zip(names, levels[1:], strict=True):
            logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module", autouse=True)
def empty_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No configuration file or CLOUDSIGMA_* variable decides anything here."""
    path = tmp_path_factory.mktemp("conf") / "cloudsigma.conf"
    path.write_text("", encoding="utf-8")
    path.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("CLOUDSIGMA_")]:
            patch.delenv(name)
        patch.setenv("CLOUDSIGMA_CONFIG", str(path))
        yield


def run_case(misbehaviour: Misbehaviour, call: str, login_method: str, bounce: bool) -> None:
    """One call against one misbehaving stage, with every assertion of the layer."""
    counts = FIGURES["sdk adversarial"]
    with Stage(misbehaviour, login_method, foreign_redirects_back=bounce) as stage:
        client = _client(stage, login_method)
        raised: BaseException | None = None
        with every_log_line() as lines, client:
            tracemalloc.start()
            started = time.monotonic()
            try:
                CALLS[call](client)
            except Exception as exc:  # every exception is checked below
                raised = exc
            finally:
                elapsed = time.monotonic() - started
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            shown = [repr(client), repr(Drive.from_client(client)), *lines]
        counts["cases"] += 1
        counts["raised" if raised else "returned"] += 1
        case = f"{misbehaviour} {call} {login_method} bounce={bounce}"
        if raised is not None:
            assert isinstance(raised, errors.ApiClientError), (
                f"{case}: {type(raised).__module__}.{type(raised).__name__} is not a library "
                f"error: {raised!r}"
            )
            shown += list(every_text_of(raised))
        assert elapsed < BOUND, f"{case}: took {elapsed:.1f} s, bound {BOUND} s"
        assert peak < MEMORY_BOUND, f"{case}: allocated {peak} bytes at the peak"
        assert stage.leaks() == [], f"{case}: credentials sent elsewhere"
        for text in shown:
            leaked = stage.secrets.found_in(text)
            assert not leaked, f"{case}: {leaked} in {text[:2000]!r}"
        counts["log lines checked"] += len(lines)
        counts["foreign requests"] += len(stage.foreign_requests())


@seeded
@examples(90)
@example(Misbehaviour("echo", 400), "get", "session", False)
@example(Misbehaviour("echo_headers", 400, at=1), "get", "digest", False)
@example(Misbehaviour("redirect", 307, "foreign_host", at=1), "login", "session", False)
@example(Misbehaviour("redirect", 302, "other_port", at=1), "download", "session", True)
@example(Misbehaviour("redirect", 302, "localhost", at=1), "download", "basic", False)
@example(Misbehaviour("gzip_bomb", 200), "list", "basic", False)
@example(Misbehaviour("huge", 200, variant=True), "get", "basic", False)
@example(Misbehaviour("drip", 200, at=1), "download", "basic", False)
@given(
    misbehaviour=misbehaviours(),
    call=st.sampled_from(sorted(CALLS)),
    login_method=st.sampled_from(LOGIN_METHODS),
    bounce=st.booleans(),
)
def test_any_misbehaviour_ends_in_a_library_error_in_time_without_leaking(
    misbehaviour: Misbehaviour, call: str, login_method: str, bounce: bool
) -> None:
    run_case(misbehaviour, call, login_method, bounce)


#: What a well-behaved server answers each call, as the call returns it.
EXPECTED: dict[str, Callable[[Any], bool]] = {
    "get": lambda drive: drive["uuid"] == DRIVE_UUID,
    "list": lambda drives: [d["uuid"] for d in drives] == [DRIVE_UUID],
    "create": lambda drive: drive["uuid"] == DRIVE_UUID,
    "action": lambda answer: answer["result"] == "success",
    "login": lambda uuid: uuid == SERVER_UUID,
    "download": lambda path: path.endswith("drive.img"),
}


@seeded
@examples(25)
@example([(Misbehaviour("half_body", 200), "get", True), (None, "get", False)], "basic")
@example([(Misbehaviour("drip", 200), "list", True), (None, "list", False)], "session")
@given(
    steps=st.lists(
        st.tuples(st.none() | misbehaviours(), st.sampled_from(sorted(CALLS)), st.booleans()).map(
            lambda step: (step[0], step[1], step[2] and step[0] is not None)
        ),
        min_size=2,
        max_size=4,
    ),
    login_method=st.sampled_from(LOGIN_METHODS),
)
def test_one_client_answers_right_again_once_the_server_behaves(
    steps: list[tuple[Misbehaviour | None, str, bool]], login_method: str
) -> None:
    """Calls through one client while the server misbehaves or not: after a broken
    answer, a cut connection or a refused login, the next well-answered call is right."""
    counts = FIGURES["sdk adversarial, one client"]
    with (
        Stage(Misbehaviour("silent"), login_method) as stage,
        _client(stage, login_method) as client,
    ):
        for misbehaviour, call, bad in steps:
            stage.misbehaviour = replace(misbehaviour or Misbehaviour("silent"), at=0)
            stage.behaving = not bad
            counts["calls"] += 1
            try:
                value = CALLS[call](client)
            except errors.ApiClientError as exc:
                assert bad, (
                    f"{steps} {login_method}: {call} failed on a well-behaved server: {exc!r}"
                )
                continue
            if not bad:
                assert EXPECTED[call](value), f"{steps} {login_method}: {call} gave {value!r}"
        assert stage.leaks() == []

"""Fleet operations without a server: outcomes, the rate-limit gate, the wait's bookkeeping."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsigma import errors, fleet
from cloudsigma.fleet import Batch, Fleet, Outcome, _Gate, _Watch
from cloudsigma.generic import Answer
from cloudsigma.policies import Retry

UUIDS = [f"0000000{n}-0000-0000-0000-000000000000" for n in range(8)]


class FakeResponse:
    def __init__(self, status_code: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.headers = headers or {}


class StubClient:
    """What a fleet uses of a client: ``request``, ``retry`` and ``response_hook``."""

    def __init__(self, answer: Any = None) -> None:
        self.retry = Retry()
        self.response_hook: Any = None
        self.answer = answer
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def request(self, method: str, url: str, data: Any = None, **kwargs: Any) -> Any:
        with self._lock:
            self.sent.append((method, url))
        return self.answer(method, url, data) if callable(self.answer) else self.answer


def answered(body: Any) -> Answer:
    return Answer(FakeResponse(200), body)  # type: ignore[arg-type]


# --- outcomes -----------------------------------------------------------------------------------


def test_outcome_uuid_comes_from_the_result_then_the_subject():
    assert Outcome("s", {"uuid": "r"}).uuid == "r"
    assert Outcome({"uuid": "s"}, None).uuid == "s"
    assert Outcome("s", {"action": "start"}).uuid == "s"
    assert Outcome({"name": "x"}).uuid is None


def test_a_batch_lists_results_uuids_and_failures_in_order():
    failure = errors.ClientError("bad", status_code=400)
    batch = Batch(
        "start", [Outcome("a", {"uuid": "a"}), Outcome("b", error=failure), Outcome("c", {})]
    )

    assert not batch.ok and len(batch) == 3
    assert batch.results == [{"uuid": "a"}, {}]
    assert batch.uuids == ["a", "c"]
    assert batch.failed == [batch[1]]
    assert repr(batch) == "<Batch start: 2 ok, 1 failed>"


def test_raise_for_errors_names_the_first_failures_and_keeps_them_all():
    outcomes = [Outcome(f"u{n}", error=errors.ClientError(f"no {n}")) for n in range(7)]
    batch = Batch("stop", [Outcome("ok", {}), *outcomes])

    with pytest.raises(errors.FleetError) as raised:
        batch.raise_for_errors()

    message = str(raised.value)
    assert message.startswith("stop: 7 of 8 failed: u0: no 0; u1: no 1;")
    assert message.endswith("; and 2 more")
    assert raised.value.failures == outcomes
    assert Batch("stop", [Outcome("ok", {})]).raise_for_errors().ok


# --- the gate -----------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for the gate: sleeping moves it on."""
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(fleet, "_monotonic", lambda: now[0])
    monkeypatch.setattr(fleet, "_sleep", sleep)
    return slept


@pytest.mark.parametrize(
    ("status", "headers", "pause"),
    [(429, {"Retry-After": "2"}, 2.0), (503, {}, 0.25), (200, {"Retry-After": "9"}, None)],
)
def test_the_gate_holds_for_retry_after_or_its_own_pause(clock, status, headers, pause):
    gate = _Gate(pause=0.25)
    gate.observe(FakeResponse(status, headers))  # type: ignore[arg-type]
    gate.wait()
    assert clock == ([] if pause is None else [pause])


def test_a_fleet_holds_back_after_a_429_and_gives_the_hook_back(clock):
    seen: list[int] = []
    client = StubClient(answered({"result": "success"}))
    client.response_hook = lambda response, *a, **k: seen.append(response.status_code)
    with Fleet(client, workers=1) as opened:  # type: ignore[arg-type]
        client.response_hook(FakeResponse(429, {"Retry-After": "3"}))
        opened.start(UUIDS[:2])
    assert clock == [3.0]  # the first start waited; the second found the pause over
    assert seen == [429]
    assert client.response_hook is not None and client.response_hook.__name__ == "<lambda>"


# --- running many -------------------------------------------------------------------------------


def test_a_bug_in_one_object_is_raised_once_all_the_others_are_done():
    def answer(method: str, url: str, data: Any) -> Any:
        if UUIDS[1] in url:
            raise RuntimeError("a bug")
        return answered({"uuid": url.split("/")[2]})

    client = StubClient(answer)
    with Fleet(client, workers=3) as opened, pytest.raises(RuntimeError, match="a bug"):  # type: ignore[arg-type]
        opened.stop(UUIDS)
    assert len(client.sent) == len(UUIDS)


def test_library_errors_become_outcomes_of_their_object():
    def answer(method: str, url: str, data: Any) -> Any:
        if UUIDS[2] in url:
            raise errors.PermissionError("not stopped", status_code=403)
        return answered({"uuid": url.split("/")[2], "result": "success"})

    with Fleet(StubClient(answer), workers=2) as opened:  # type: ignore[arg-type]
        batch = opened.start(UUIDS[:4])
    assert [outcome.ok for outcome in batch] == [True, True, False, True]
    assert batch[2].error.status_code == 403


@pytest.mark.parametrize(
    ("argument", "value"), [("workers", 0), ("workers", True), ("batch_size", 501)]
)
def test_bad_fleet_settings_are_refused(argument, value):
    with pytest.raises(errors.InvalidArgumentError, match=argument):
        Fleet(StubClient(), **{argument: value})  # type: ignore[arg-type]


def test_a_bulk_answer_that_does_not_match_what_was_sent_is_an_error_for_each():
    with Fleet(StubClient(answered({"objects": [{"uuid": "x"}]}))) as opened:  # type: ignore[arg-type]
        batch = opened.create("drives", [{"name": "a"}, {"name": "b"}])
    assert all(isinstance(o.error, errors.InvalidResponseError) for o in batch)
    assert "answered 1 objects for 2 sent" in str(batch[0].error)


# --- the wait's bookkeeping ---------------------------------------------------------------------


def test_frames_about_other_objects_are_ignored_and_unwanted_statuses_are_only_noted():
    watch = _Watch("servers", UUIDS[:2], frozenset({"running"}))
    changed: dict[str, float] = {}
    uri = f"/api/2.0/servers/{UUIDS[0]}/"
    watch.note({"resource_uri": f"/api/2.0/drives/{UUIDS[0]}/"}, changed)
    watch.note({"resource_uri": "/api/2.0/servers/other/"}, changed)
    watch.note({"resource_uri": uri, "object": {"status": "starting"}}, changed)
    assert changed == {} and watch.pending[UUIDS[0]] == "starting"
    watch.note({"resource_uri": uri, "object": {"status": "running"}}, changed)
    watch.note({"resource_uri": f"/api/2.0/servers/{UUIDS[1]}/"}, changed)
    assert set(changed) == set(UUIDS[:2])


@settings(derandomize=True, max_examples=80)
@given(
    listings=st.lists(
        st.dictionaries(
            st.sampled_from(UUIDS),
            st.one_of(st.none(), st.sampled_from(["creating", "unmounted", "mounted"])),
        ),
        max_size=6,
    )
)
def test_every_object_of_a_wait_is_pending_arrived_or_gone_and_never_two(listings):
    watch = _Watch("drives", UUIDS, frozenset({"unmounted"}))
    for listing in listings:
        asked = list(listing)
        found = {u: {"uuid": u, "status": s} for u, s in listing.items() if s is not None}
        watch.update(found, asked)
        groups = [set(watch.pending), set(watch.arrived), watch.gone]
        assert set().union(*groups) == set(UUIDS)
        assert sum(len(group) for group in groups) == len(UUIDS)
        assert all(watch.arrived[u]["status"] == "unmounted" for u in watch.arrived)

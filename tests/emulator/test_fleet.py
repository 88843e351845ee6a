"""Fleet operations against the emulator: bulk creates, concurrent actions, joint waits.

Status changes happen only when a test advances them; a helper thread does so once the
wait under test is listening (seen in the emulator's journal), so nothing depends on time.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable

import pytest
from emulator_support import GIB, server_body
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cloudsigma import errors
from cloudsigma.fleet import Fleet
from cloudsigma.policies import Retry, WaitPolicy
from cloudsigma.testing import allow_endpoint

LIBRARY_DISK = "d446038b-784d-4ae4-9a4d-46c7b51b403d"
#: Polls soon and often; over a websocket, the periodic check comes only after 5 s.
QUICK = WaitPolicy(timeout=30.0, interval=0.01, max_interval=5.0, factor=2.0)


def open_fleet(emu, client_options=None, **options) -> Fleet:
    """A fleet of the emulator, with a client of its own that it closes."""
    options.setdefault("wait_policy", QUICK)
    retry = Retry(total=6, backoff_factor=0.001, retry_after_max=0.001)
    client_options = {"retry": retry, "ws_endpoint": emu.ws_endpoint, **(client_options or {})}
    return Fleet(
        api_endpoint=emu.api_endpoint,
        username=emu.username,
        password=emu.password,
        **client_options,
        **options,
    )


@pytest.fixture
def fleet(emu):
    with open_fleet(emu, workers=4) as opened:
        yield opened
    emu.set_faults(None)


def journal(emu, method=None, prefix="/api/2.0/"):
    return [
        entry
        for entry in emu.journal
        if entry["path"].startswith(prefix) and (method is None or entry["method"] == method)
    ]


def drives_of(emu) -> dict[str, dict]:
    return emu.call(lambda: dict(emu.account().objects["drives"]))


def servers_of(emu) -> dict[str, dict]:
    return emu.call(lambda: dict(emu.account().objects["servers"]))


def when(condition: Callable[[], bool], then: Callable[[], object]) -> threading.Thread:
    """Run ``then`` in a thread as soon as ``condition`` holds (checked every few ms)."""
    stop = threading.Event()

    def run() -> None:
        while not condition() and not stop.wait(0.005):
            pass
        then()

    thread = threading.Thread(target=run, daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


def listings_after(emu, count: int) -> Callable[[], bool]:
    """True once ``count`` batched listings more than now were answered."""
    start = len([e for e in emu.journal if "/detail/" in e["path"]])
    return lambda: len([e for e in emu.journal if "/detail/" in e["path"]]) >= start + count


# --- creating -----------------------------------------------------------------------------------


def test_create_sends_one_request_per_batch_and_keeps_the_order(emu, fleet):
    fleet.batch_size = 3
    names = [f"d{n}" for n in range(7)]
    batch = fleet.create("drives", [{"name": name, "size": GIB, "media": "disk"} for name in names])

    assert batch.ok and [drive["name"] for drive in batch.results] == names
    assert len(journal(emu, "POST")) == 3
    assert sorted(d["name"] for d in drives_of(emu).values()) == names


def test_one_bad_definition_fails_alone_and_the_others_are_created(emu, fleet):
    definitions = [{"name": f"d{n}", "size": GIB, "media": "disk"} for n in range(6)]
    definitions[4]["media"] = "floppy"
    batch = fleet.create("drives", definitions)

    assert [outcome.ok for outcome in batch] == [True, True, True, True, False, True]
    error = batch[4].error
    assert isinstance(error, errors.ClientError) and error.status_code == 400
    assert sorted(d["name"] for d in drives_of(emu).values()) == ["d0", "d1", "d2", "d3", "d5"]
    with pytest.raises(errors.FleetError, match="create drives: 1 of 6 failed: 'd4'") as raised:
        batch.raise_for_errors()
    assert raised.value.failures == [batch[4]]


def test_subjects_without_a_uuid_fail_alone_and_nothing_is_sent_for_them(emu, fleet):
    batch = fleet.start(["", "a/b", 7, {"name": "no uuid"}])

    assert all(isinstance(outcome.error, errors.InvalidIdError) for outcome in batch)
    assert journal(emu) == []


# --- actions under faults -----------------------------------------------------------------------

FAULT_SPECS = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**16),
        "503": st.sampled_from([0, 0.1, 0.3]),
        "429": st.sampled_from([0, 0.1, 0.3]),
        "reset_before": st.sampled_from([0, 0.1]),
        "reset_after": st.sampled_from([0, 0.1]),
    }
)


@settings(
    derandomize=True,
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    faults=FAULT_SPECS,
    count=st.integers(1, 9),
    batch_size=st.integers(1, 4),
    workers=st.integers(1, 4),
)
def test_every_object_gets_one_outcome_under_faults_and_nothing_is_doubled(
    emu, faults, count, batch_size, workers
):
    emu.reset()
    emu.transition_delay = None
    note(f"faults: {faults}")
    names = [f"s{n}" for n in range(count)]
    with open_fleet(emu, workers=workers, batch_size=batch_size) as fleet:
        emu.set_faults({**faults, "retry_after": 0})
        created = fleet.create("servers", [server_body(name) for name in names])
        started = fleet.start(created.uuids)
        emu.set_faults(None)
        stored = servers_of(emu)

    assert len(created) == count and len(started) == len(created.uuids)
    assert all(outcome.ok != (outcome.error is not None) for outcome in [*created, *started])
    stored_names = [server["name"] for server in stored.values()]
    assert len(stored_names) == len(set(stored_names)) <= count  # never created twice
    for outcome in created:
        if outcome.ok:
            assert stored[outcome.uuid]["name"] == outcome.subject["name"]
        else:  # only a request the API may have processed leaves doubt
            assert outcome.subject["name"] not in stored_names or outcome.error.transient
    for outcome in started:
        if outcome.ok:
            assert stored[outcome.uuid]["status"] == "starting"
    emu.set_faults(None)


def test_a_rate_limit_holds_every_worker_back_and_each_object_is_retried(emu):
    patient = Retry(total=30, backoff_factor=0.001, retry_after_max=0.001)
    with open_fleet(emu, {"retry": patient}, workers=4) as fleet:
        servers = fleet.create("servers", [server_body(f"s{n}") for n in range(6)])
        emu.set_faults({"seed": 3, "429": 0.5, "retry_after": 0})
        started = fleet.start(servers.uuids)
        counts = emu.api.faults.report()["counts"]
        emu.set_faults(None)

    assert started.ok and counts["429"] > 0
    assert all(s["status"] == "starting" for s in servers_of(emu).values())


# --- waiting ------------------------------------------------------------------------------------


def new_drives(fleet, count: int) -> list[str]:
    return fleet.create(
        "drives", [{"name": f"d{n}", "size": GIB, "media": "disk"} for n in range(count)]
    ).uuids


def test_a_wait_learns_the_changes_from_websocket_frames(emu, fleet):
    uuids = new_drives(fleet, 5)
    listed = listings_after(emu, 1)  # the listing that follows the subscription
    helper = when(listed, emu.advance)
    ready = fleet.wait_for_status("drives", uuids, "unmounted")
    helper.join(10)

    assert ready.ok and ready.via == "websocket"
    assert [drive["status"] for drive in ready.results] == ["unmounted"] * 5
    listings = [e for e in journal(emu, "GET") if "/detail/" in e["path"]]
    assert len(listings) == 2  # at the start, and once to confirm what the frames said


def test_a_wait_confirms_frames_that_carry_no_object(emu, fleet):
    uuids = new_drives(fleet, 3)
    publish = emu.api.websockets.hub.publish
    listeners = emu.backend.listeners
    index = listeners.index(publish)
    # the API "may" add the object to a frame; this one never does
    listeners[index] = lambda account, frame: publish(
        account, {key: value for key, value in frame.items() if key != "object"}
    )
    try:
        helper = when(listings_after(emu, 1), emu.advance)
        ready = fleet.wait_for_status("drives", uuids, "unmounted")
        helper.join(10)
    finally:
        listeners[index] = publish

    assert ready.ok and ready.via == "websocket"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("refused", ["nothing listens", "wrong path"])
def test_a_wait_polls_when_the_websocket_is_refused(emu, refused):
    endpoint = (
        f"ws://127.0.0.1:{free_port()}/websocket"
        if refused == "nothing listens"
        else emu.ws_endpoint.replace("/websocket", "/no-websocket")
    )
    allow_endpoint(endpoint)  # the fixture keeps the SDK on the emulator's own port
    with open_fleet(emu, {"ws_endpoint": endpoint}) as fleet:
        uuids = new_drives(fleet, 3)
        helper = when(listings_after(emu, 2), emu.advance)
        ready = fleet.wait_for_status("drives", uuids, "unmounted")
        helper.join(10)

    assert ready.ok and ready.via == "polling"
    assert len([e for e in journal(emu, "GET") if "/detail/" in e["path"]]) >= 3


def test_a_wait_polls_on_when_the_websocket_drops(emu, fleet):
    uuids = new_drives(fleet, 2)

    def drop_then_advance() -> None:
        emu.call(lambda: asyncio.ensure_future(emu.api.websockets.close_all(None)))
        when(listings_after(emu, 1), emu.advance)

    helper = when(listings_after(emu, 1), drop_then_advance)
    ready = fleet.wait_for_status("drives", uuids, "unmounted")
    helper.join(10)

    assert ready.ok and ready.via == "websocket, then polling"


def test_the_deadline_report_names_what_did_not_arrive_and_what_is_gone(emu, fleet):
    uuids = new_drives(fleet, 3)
    emu.step()  # only the first drive is ready
    emu.call(lambda: emu.backend.drives.remove(emu.account(), drives_of(emu)[uuids[2]]))
    report = fleet.wait_for_status("drives", uuids, "unmounted", timeout=0.2)

    assert [outcome.ok for outcome in report] == [True, False, False]
    assert isinstance(report[1].error, errors.WaitTimeoutError)
    assert f"drives {uuids[1]} did not reach status unmounted" in str(report[1].error)
    assert "last seen status: creating" in str(report[1].error)
    assert report[2].error.status_code == 404 and "does not exist" in str(report[2].error)


def test_polling_alone_resolves_a_wait_too(emu):
    with open_fleet(emu, websocket=False) as fleet:
        uuids = new_drives(fleet, 4)
        helper = when(listings_after(emu, 2), emu.advance)
        ready = fleet.wait_for_status("drives", uuids, "unmounted")
        helper.join(10)

    assert ready.ok and ready.via == "polling"
    assert not journal(emu, "POST", "/api/2.0/accounts/")  # no websocket was asked for


def test_wait_deleted_follows_deletes(emu, fleet):
    uuids = new_drives(fleet, 3)
    emu.advance()
    deleted = fleet.delete("drives", uuids)
    gone = fleet.wait_deleted("drives", uuids, timeout=5)

    assert deleted.ok and gone.ok and [outcome.result for outcome in gone] == [None] * 3
    assert len(journal(emu, "DELETE")) == 1  # drives go in one bulk request


# --- composites ---------------------------------------------------------------------------------


def test_launch_and_destroy_servers_end_to_end(emu, fleet):
    emu.transition_delay = 0
    definitions = [server_body(f"web-{n}") for n in range(3)]
    launched = fleet.launch_servers(definitions, boot_drive=LIBRARY_DISK)

    assert launched.ok, launched.failed
    assert [server["status"] for server in launched.results] == ["running"] * 3
    assert all(server["drives"][0]["boot_order"] == 1 for server in launched.results)
    assert sorted(d["name"] for d in drives_of(emu).values()) == [
        "web-0-boot",
        "web-1-boot",
        "web-2-boot",
    ]
    destroyed = fleet.destroy_servers(launched.uuids)
    assert destroyed.ok, destroyed.failed
    assert servers_of(emu) == {} and drives_of(emu) == {}


def test_a_server_that_cannot_be_created_reports_the_drive_cloned_for_it(emu, fleet):
    emu.transition_delay = 0
    definitions = [server_body("good"), server_body("bad", cpu=1)]
    launched = fleet.launch_servers(definitions, boot_drive=LIBRARY_DISK)

    assert [outcome.ok for outcome in launched] == [True, False]
    bad = launched[1]
    assert bad.error.status_code == 400 and len(bad.leftovers) == 1
    left = bad.leftovers[0].rstrip("/").rsplit("/", 1)[1]
    assert drives_of(emu)[left]["name"] == "bad-boot"


def test_listings_that_fail_are_reported_not_raised(emu):
    with open_fleet(emu, {"retry": Retry(total=0)}) as fleet:
        uuids = new_drives(fleet, 2)
        emu.set_faults({"503": 1.0, "methods": ["GET"], "paths": ["drives/detail"]})
        report = fleet.wait_for_status("drives", uuids, "unmounted", timeout=0.2)
        fetched = fleet.get("drives", [*uuids, "not/a/uuid"])
        emu.set_faults(None)

    assert [type(outcome.error) for outcome in report] == [errors.WaitTimeoutError] * 2
    assert "the last listing that failed" in str(report[0].error)
    assert [outcome.error.status_code for outcome in fetched[:2]] == [503, 503]
    assert isinstance(fetched[2].error, errors.InvalidIdError)


def test_a_wait_for_nothing_sends_nothing(emu, fleet):
    assert len(fleet.wait_for_status("servers", [], "running")) == 0
    assert journal(emu) == []


def test_the_emulator_lists_only_the_uuids_asked_for(emu, fleet, api):
    uuids = new_drives(fleet, 4)
    listed = api.ok("GET", "drives/detail/", params={"uuid": ",".join(uuids[1:3]), "limit": 0})
    assert sorted(drive["uuid"] for drive in listed["objects"]) == sorted(uuids[1:3])


def test_destroy_deletes_stopped_servers_at_once_and_reports_unknown_ones(emu, fleet):
    emu.transition_delay = 0
    stopped, running = fleet.create("servers", [server_body("a"), server_body("b")]).uuids
    fleet.wait_for_status("servers", fleet.start([running]).uuids, "running").raise_for_errors()
    unknown = "00000000-0000-4000-8000-000000000000"
    destroyed = fleet.destroy_servers([stopped, running, unknown])

    assert [outcome.ok for outcome in destroyed] == [True, True, False]
    assert destroyed[2].error.status_code == 404
    assert servers_of(emu) == {}
    actions = [e for e in journal(emu, "POST", "/api/2.0/servers/") if "action" in e["path"]]
    assert len(actions) == 2  # one start, one stop: the stopped server was not stopped again

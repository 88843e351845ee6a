"""The emulator's timing profiles (a duration per kind of change) and its added latency.

Nothing here measures time: durations are checked as data, and through ``advance(SECONDS)``
with profiles whose figures leave minutes of margin; the latency through a held wait.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
import requests
from emulator_support import GIB
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsigma.emulator import Emulator
from cloudsigma.emulator.__main__ import parse_args
from cloudsigma.emulator.http import app as app_module
from cloudsigma.emulator.models.statemachine import (
    PROFILES,
    REALISTIC,
    Phase,
    TimingProfile,
    timing_profile,
)

LIBRARY_DISK = "d446038b-784d-4ae4-9a4d-46c7b51b403d"  # Ubuntu 12.04 Server, 10 GiB


@pytest.fixture
def timed():
    """A manual emulator (changes only on advance) with a profile set per test."""
    with Emulator(transition_delay=None) as emulator:
        yield emulator


def session_for(emulator: Emulator) -> requests.Session:
    session = requests.Session()
    session.auth = (emulator.username, emulator.password)
    return session


def post(session, emulator, path, body=None, **params):
    answer = session.post(emulator.api_endpoint + path, json=body or {}, params=params)
    assert answer.status_code < 300, answer.text
    return answer.json()


def status(session, emulator, resource, uuid):
    return session.get(f"{emulator.api_endpoint}{resource}/{uuid}/").json()["status"]


# --- the profile as data ------------------------------------------------------------------------


@settings(derandomize=True, max_examples=60)
@given(
    small=st.integers(min_value=0, max_value=2**40),
    extra=st.integers(min_value=1, max_value=2**40),
)
def test_a_bigger_drive_clones_for_longer_and_nothing_takes_negative_time(small, extra):
    phases = ("drives.cloning_dst",)
    shorter = REALISTIC.duration(phases, small, factor=1.5)
    longer = REALISTIC.duration(phases, small + extra, factor=1.5)
    assert 0 < shorter < longer


def test_the_realistic_figures_are_those_documented():
    def seconds(phase, size=None, factor=1.0):
        return REALISTIC.duration((phase,), size, factor)

    assert seconds("servers.starting") == 1.0
    assert seconds("servers.stopping") == 2.0
    assert seconds("servers.stopping", factor=2.0) == 4.0  # an ACPI shutdown
    assert seconds("servers.stopping>running", factor=6.0) == 60.0  # the guest ignored it
    assert seconds("drives.cloning_dst", 10 * GIB, factor=1.5) == pytest.approx(6.0)
    assert seconds("remotesnapshots.transferring", 50 * GIB) == pytest.approx(10.6)


def test_the_most_precise_phase_wins_and_unnamed_changes_take_the_default():
    profile = TimingProfile("t", {"a.x": Phase(1.0), "a.x>y": Phase(7.0)}, default=Phase(3.0))
    assert profile.duration(("a.x>y", "a.x"), None) == 7.0
    assert profile.duration(("a.x>z", "a.x"), None) == 1.0
    assert profile.duration(("b.x",), None) == 3.0


def test_profiles_are_found_by_name_and_unknown_names_are_refused():
    assert timing_profile("realistic") is REALISTIC
    assert timing_profile("uniform") is None
    assert set(PROFILES) == {"uniform", "realistic"}
    with pytest.raises(ValueError, match="unknown timing profile 'fast'"):
        timing_profile("fast")


# --- the profile in the emulator ----------------------------------------------------------------


def test_a_start_happens_when_its_profile_duration_is_due(timed):
    timed.timing = TimingProfile("t", {"servers.starting": Phase(100.0)})
    session = session_for(timed)
    server = post(session, timed, "servers/", {"name": "s", "cpu": 1000, "mem": GIB,
                                               "vnc_password": "x"})["objects"][0]  # fmt: skip
    post(session, timed, f"servers/{server['uuid']}/action/", do="start")

    assert timed.advance(50) == 0
    assert status(session, timed, "servers", server["uuid"]) == "starting"
    assert timed.advance(200) == 1
    assert status(session, timed, "servers", server["uuid"]) == "running"


def test_a_clone_and_its_job_take_longer_for_a_bigger_drive(timed):
    per_gib = Phase(0.0, per_gib=100.0, at_factor=1.5)
    timed.timing = TimingProfile("t", {"drives.cloning_dst": per_gib, "jobs.started": per_gib})
    session = session_for(timed)
    small = post(session, timed, "drives/", {"name": "a", "size": GIB, "media": "disk"})
    big = post(session, timed, "drives/", {"name": "b", "size": 3 * GIB, "media": "disk"})
    timed.advance()  # both created (the default phase)
    small_clone = post(session, timed, f"drives/{small['objects'][0]['uuid']}/action/", do="clone")
    big_clone = post(session, timed, f"drives/{big['objects'][0]['uuid']}/action/", do="clone")

    timed.advance(200)  # 1 GiB: 100 s, 3 GiB: 300 s
    assert status(session, timed, "drives", small_clone["objects"][0]["uuid"]) == "unmounted"
    assert status(session, timed, "drives", big_clone["objects"][0]["uuid"]) == "cloning_dst"
    jobs = {job["uuid"]: job["state"] for job in session.get(
        timed.api_endpoint + "jobs/", params={"limit": 0}).json()["objects"]}  # fmt: skip
    assert sorted(jobs.values()) == ["started", "success"]
    timed.advance(400)
    assert status(session, timed, "drives", big_clone["objects"][0]["uuid"]) == "unmounted"


def test_a_library_clone_takes_the_realistic_time_of_its_size(timed):
    timed.timing = "realistic"
    session = session_for(timed)
    clone = post(session, timed, f"drives/{LIBRARY_DISK}/action/", do="clone")["objects"][0]
    assert timed.advance(2) == 0  # 10 GiB: 6 s
    assert timed.advance(60) == 2  # the drive and its job
    assert status(session, timed, "drives", clone["uuid"]) == "unmounted"


def test_an_ignored_acpi_shutdown_gives_up_after_a_minute(timed):
    timed.timing = "realistic"
    timed.backend.guests_answer_acpi = False
    session = session_for(timed)
    server = post(session, timed, "servers/", {"name": "s", "cpu": 1000, "mem": GIB,
                                               "vnc_password": "x"})["objects"][0]  # fmt: skip
    post(session, timed, f"servers/{server['uuid']}/action/", do="start")
    timed.advance(10)
    post(session, timed, f"servers/{server['uuid']}/action/", do="shutdown")

    timed.advance(30)
    assert status(session, timed, "servers", server["uuid"]) == "stopping"
    timed.advance(90)
    assert status(session, timed, "servers", server["uuid"]) == "running"


def test_the_control_endpoint_names_the_profile(timed):
    url, token = timed.base_url + "/_emulator/transitions/", timed.control_headers
    assert requests.get(url, headers=token).json()["timing"] == "uniform"
    timed.timing = "realistic"
    assert requests.get(url, headers=token).json()["timing"] == "realistic"


def test_an_unknown_profile_name_is_refused_before_starting():
    with pytest.raises(ValueError, match="unknown timing profile"):
        Emulator(timing="slow")


# --- latency ------------------------------------------------------------------------------------


@pytest.fixture
def held_waits(monkeypatch):
    """Replace the latency wait by one that records its seconds and may be held open."""
    waits: list[float] = []
    entered = threading.Event()
    release: list[asyncio.Event] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        if release:
            entered.set()
            await release[0].wait()

    monkeypatch.setattr(app_module, "round_trip_wait", wait)
    return waits, entered, release


def test_latency_delays_api_requests_half_before_and_half_after(held_waits):
    waits, _entered, _release = held_waits
    with Emulator(latency=0.03) as emulator:
        session = session_for(emulator)
        assert session.get(emulator.api_endpoint + "drives/").status_code == 200
        assert waits == [0.015, 0.015]
        requests.get(emulator.base_url + "/_emulator/journal/", headers=emulator.control_headers)
        assert waits == [0.015, 0.015]  # control endpoints are not delayed
        emulator.latency = 0
        session.get(emulator.api_endpoint + "drives/")
        assert waits == [0.015, 0.015]


def test_a_delayed_request_does_not_hold_up_the_others(held_waits):
    waits, entered, release = held_waits
    with Emulator(latency=10.0) as emulator:
        release.append(emulator.call(asyncio.Event))
        session = session_for(emulator)
        answers: list[int] = []
        slow = threading.Thread(
            target=lambda: answers.append(
                session.get(emulator.api_endpoint + "drives/").status_code
            )
        )
        slow.start()
        assert entered.wait(30)
        journal = requests.get(
            emulator.base_url + "/_emulator/journal/", headers=emulator.control_headers, timeout=30
        ).json()
        assert slow.is_alive() and answers == []
        assert journal["objects"] == []  # held before it was handled
        emulator.call(release[0].set)
        slow.join(30)
    assert answers == [200]
    assert waits[0] == 5.0


def test_latency_delays_the_websocket_handshake(held_waits):
    waits, _entered, _release = held_waits
    import websocket

    with Emulator(latency=0.02) as emulator:
        session = session_for(emulator)
        answer = session.post(
            emulator.api_endpoint + "accounts/action/",
            params={"do": "authenticate_asynchronous"},
            json={},
        )
        cookie = answer.cookies["async_auth"]
        connection = websocket.create_connection(
            emulator.ws_endpoint, header=[f"Cookie: async_auth={cookie}"], timeout=10
        )
        connection.close()
    assert waits[:3] == [0.01, 0.01, 0.01]  # the cookie's way there and back, the handshake's


@pytest.mark.parametrize("latency", [-1, float("nan"), float("inf"), True, "5"])
def test_a_bad_latency_is_refused(latency):
    with Emulator() as emulator, pytest.raises(ValueError, match="latency must be"):
        emulator.latency = latency


def test_the_command_line_takes_timing_and_latency_in_milliseconds():
    args = parse_args(["--timing", "realistic", "--latency", "30"])
    assert (args.timing, args.latency) == ("realistic", 30.0)
    assert parse_args([]).timing == "uniform"


@pytest.mark.parametrize("argv", [["--timing", "slow"], ["--latency", "-5"], ["--latency", "nan"]])
def test_the_command_line_refuses_bad_timing_options(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert argv[0] in capsys.readouterr().err

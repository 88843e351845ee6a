"""The emulator's fault injector: each kind, its limits, replay by seed, and its control route."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import requests

from cloudsigma import errors
from cloudsigma.emulator.faults import FaultError, parse_faults
from cloudsigma.generic import GenericClient
from cloudsigma.policies import Retry

GIB = 1024**3
DRIVE = {"objects": [{"name": "d", "size": GIB, "media": "disk"}]}


def session(emu: Any) -> requests.Session:
    http = requests.Session()
    http.auth = (emu.username, emu.password)
    return http


def post_drive(emu: Any) -> requests.Response:
    with session(emu) as http:
        return http.post(emu.api_endpoint + "drives/", json=DRIVE, timeout=10)


def stored_drives(emu: Any) -> int:
    return emu.call(lambda: len(emu.account().objects["drives"]))


def sdk(emu: Any, retries: int = 0) -> GenericClient:
    retry = Retry(total=retries, backoff_factor=0, jitter=False)
    return GenericClient(emu.api_endpoint, emu.username, emu.password, retry=retry)


@pytest.mark.parametrize(
    ("kind", "status", "error_type"),
    [("503", 503, "concurrency"), ("429", 429, "ratelimit")],
)
def test_error_faults_answer_the_api_error_format_without_processing(
    emu: Any, kind: str, status: int, error_type: str
) -> None:
    emu.set_faults(f"{kind}=1,retry_after=3")
    response = post_drive(emu)
    assert response.status_code == status
    assert response.json() == [
        {
            "error_point": None,
            "error_type": error_type,
            "error_message": response.json()[0]["error_message"],
        }
    ]
    assert response.headers["X-REQUEST-ID"]
    assert response.headers.get("Retry-After") == ("3" if kind == "429" else None)
    assert stored_drives(emu) == 0


def test_reset_before_drops_the_connection_and_changes_nothing(emu: Any) -> None:
    emu.set_faults("reset_before=1")
    with pytest.raises(requests.ConnectionError):
        post_drive(emu)
    assert stored_drives(emu) == 0
    assert emu.set_faults(None)["counts"]["reset_before"] == 0  # configure zeroes the counters


def test_reset_after_processes_the_request_then_drops_the_answer(emu: Any) -> None:
    emu.set_faults("reset_after=1")
    with pytest.raises(requests.ConnectionError):
        post_drive(emu)
    assert stored_drives(emu) == 1


def test_truncate_promises_more_bytes_than_it_sends(emu: Any) -> None:
    emu.set_faults("truncate=1")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        post_drive(emu)
    assert stored_drives(emu) == 1


def test_latency_delays_but_answers(emu: Any) -> None:
    emu.set_faults("latency=1:0.01")
    assert post_drive(emu).status_code == 201
    report = requests.get(
        emu.base_url + "/_emulator/faults", headers=emu.control_headers, timeout=10
    ).json()
    assert report["counts"]["latency"] == 1


def test_faults_are_limited_to_methods_and_paths(emu: Any) -> None:
    emu.set_faults("503=1,methods=POST,paths=servers|ips")
    with session(emu) as http:
        assert http.get(emu.api_endpoint + "servers/", timeout=10).status_code == 200
        assert http.post(emu.api_endpoint + "drives/", json=DRIVE, timeout=10).status_code == 201
        server = {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "x"}
        assert http.post(emu.api_endpoint + "servers/", json=server, timeout=10).status_code == 503


def test_control_routes_never_get_faults(emu: Any) -> None:
    emu.set_faults("503=0.5,reset_before=0.5")
    for _ in range(20):
        assert (
            requests.get(
                emu.base_url + "/_emulator/journal", headers=emu.control_headers, timeout=10
            ).status_code
            == 200
        )
    report = requests.get(
        emu.base_url + "/_emulator/faults", headers=emu.control_headers, timeout=10
    ).json()
    assert report["requests"] == 0
    assert sum(report["counts"].values()) == 0


def faults_seen(emu: Any, spec: str, requests_count: int = 60) -> list[int | str]:
    emu.set_faults(spec)
    seen: list[int | str] = []
    with session(emu) as http:
        for _ in range(requests_count):
            try:
                seen.append(http.get(emu.api_endpoint + "drives/", timeout=10).status_code)
            except requests.ConnectionError:
                seen.append("reset")
    return seen


def test_the_same_seed_replays_the_same_faults(emu: Any) -> None:
    spec = "503=0.2,429=0.2,reset_before=0.2"
    first = faults_seen(emu, "seed=7," + spec)
    assert first == faults_seen(emu, "seed=7," + spec)
    assert first != faults_seen(emu, "seed=8," + spec)
    assert {200, 503, 429, "reset"} <= set(first)


def test_control_endpoint_shows_and_sets_the_configuration(emu: Any) -> None:
    url, headers = emu.base_url + "/_emulator/faults", emu.control_headers
    body = {"spec": "seed=3,503=0.25,methods=GET"}
    answer = requests.post(url, json=body, headers=headers, timeout=10).json()
    assert answer["config"]["503"] == 0.25
    assert answer["config"]["methods"] == ["GET"]
    assert answer["spec"] == "seed=3,503=0.25,methods=GET"
    body = {"seed": 4, "429": 0.5, "latency": [0.1, 0.2]}
    answer = requests.post(url, json=body, headers=headers, timeout=10)
    assert answer.json()["config"]["latency"] == [0.1, 0.2]
    report = requests.get(url, headers=headers, timeout=10).json()
    assert report["spec"] == "seed=4,429=0.5,latency=0.1:0.2"


@pytest.mark.parametrize(
    "body",
    [{"503": 2}, {"503": 0.6, "429": 0.6}, {"typo": 1}, {"latency": "x"}, {"seed": "x"}, [1]],
)
def test_control_endpoint_refuses_a_bad_configuration_and_keeps_the_old_one(
    emu: Any, body: Any
) -> None:
    emu.set_faults("seed=1,503=0.1")
    url = emu.base_url + "/_emulator/faults"
    response = requests.post(url, json=body, headers=emu.control_headers, timeout=10)
    assert response.status_code == 400
    assert response.json()[0]["error_type"] == "validation"
    assert emu.api.faults.config.spec() == "seed=1,503=0.1"


def test_faults_are_not_served_under_the_api(emu: Any) -> None:
    with session(emu) as http:
        response = http.get(emu.api_endpoint + "_emulator/faults/", timeout=10)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("503", "key=value"),
        ("503=-0.1", "between 0 and 1"),
        ("503=nan", "between 0 and 1"),
        ("latency=0.5", "PROBABILITY:MAX_SECONDS"),
        ("reset=0.1", "unknown fault setting 'reset'"),
        ("seed=1.5", "whole number"),
    ],
)
def test_parse_faults_names_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultError, match=message):
        parse_faults(spec)


def test_parse_faults_round_trips_its_spec() -> None:
    spec = (
        "seed=7,503=0.02,429=0.02,reset_before=0.02,reset_after=0.02,truncate=0.01,"
        "latency=0.05:0.2,retry_after=2,methods=GET|PUT,paths=drives|servers"
    )
    assert parse_faults(spec).spec() == spec
    assert parse_faults("") == parse_faults("off") == parse_faults(None)


def test_command_line_refuses_a_bad_fault_spec() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cloudsigma.emulator", "--faults", "503=7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--faults: 503 must be between 0 and 1" in done.stderr


def test_command_line_faults_apply_to_the_api_only(tmp_path: Any) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloudsigma.emulator",
            "--port",
            "0",
            "--faults",
            "seed=3,503=1",
            "--write-config",
            str(tmp_path / "emulator.conf"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("api_endpoint = "), first
        endpoint = first.partition(" = ")[2].strip()
        lines = dict(process.stdout.readline().partition(" = ")[::2] for _ in range(5))
        token = {"X-Emulator-Token": lines["emulator_token"].strip()}
        base = endpoint.rsplit("/api/2.0/", 1)[0]
        assert requests.get(endpoint + "drives/", timeout=10).status_code == 503
        report = requests.get(base + "/_emulator/faults/", headers=token, timeout=10).json()
        assert report["spec"] == "seed=3,503=1"
        assert report["counts"]["503"] == 1
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_emulator_takes_faults_in_its_constructor() -> None:
    from cloudsigma.emulator import Emulator

    emulator = Emulator(faults="seed=9,truncate=0.5")
    assert emulator.api.faults.report()["config"]["truncate"] == 0.5


# --- the SDK facing each fault --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["503", "429", "reset_before", "reset_after", "truncate"])
def test_sdk_retries_idempotent_calls_through_every_fault(emu: Any, kind: str) -> None:
    emu.set_faults(f"seed=2,{kind}=0.5,retry_after=0")
    with sdk(emu, retries=12) as client:
        for _ in range(10):
            assert client.get("/drives/") == []
    assert emu.api.faults.report()["counts"][kind] > 0


@pytest.mark.parametrize("kind", ["503", "429"])
def test_sdk_retries_a_post_that_was_not_processed(emu: Any, kind: str) -> None:
    emu.set_faults(f"seed=1,{kind}=0.5,methods=POST,retry_after=0")
    with sdk(emu, retries=12) as client:
        for number in range(6):
            client.post(
                "/drives/", {"objects": [{"name": f"d{number}", "size": GIB, "media": "disk"}]}
            )
    assert stored_drives(emu) == 6


@pytest.mark.parametrize(
    ("kind", "error_class", "with_request_id"),
    [
        ("reset_after", errors.TransportError, False),
        ("truncate", errors.InvalidResponseError, True),
    ],
)
def test_sdk_never_repeats_a_post_that_may_have_been_processed(
    emu: Any, kind: str, error_class: type, with_request_id: bool
) -> None:
    emu.set_faults(f"{kind}=1,methods=POST")
    with sdk(emu, retries=5) as client, pytest.raises(error_class) as caught:
        client.post("/drives/", DRIVE)
    assert "check before sending it again" in str(caught.value)
    assert bool(caught.value.request_id) is with_request_id
    assert stored_drives(emu) == 1


def test_sdk_surfaces_a_server_error_with_request_id_once_retries_run_out(emu: Any) -> None:
    emu.set_faults("503=1")
    with sdk(emu, retries=2) as client, pytest.raises(errors.ServerError) as caught:
        client.get("/drives/")
    assert caught.value.status_code == 503
    assert caught.value.error_type == "concurrency"
    assert caught.value.request_id
    assert emu.api.faults.report()["counts"]["503"] == 3

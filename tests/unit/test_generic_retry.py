"""Retries: what is sent again, when, and after how long (sleeps are recorded, never slept)."""

from __future__ import annotations

import email.utils
import socket
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import errors
from cloudsigma._transport import never_reached_server
from cloudsigma.generic import GenericClient, Retry
from cloudsigma.policies import parse_retry_after

DRIVES = API + "drives/"


def refused() -> requests.ConnectionError:
    """What requests raises when the server's port is closed."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, DRIVES, reason))  # type: ignore[arg-type]


def reset_after_sending() -> requests.ConnectionError:
    """What requests raises when the connection drops after the request went out."""
    return requests.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    )


def answers(*outcomes: Any) -> list[Any]:
    """Register the outcomes (a status, or an exception) for every method on DRIVES, in order."""
    for outcome in outcomes:
        for method in ("GET", "PUT", "POST", "DELETE"):
            if isinstance(outcome, Exception):
                responses.add(method, DRIVES, body=outcome)
            else:
                responses.add(method, DRIVES, json={"objects": [{"uuid": "a"}]}, status=outcome)
    return list(outcomes)


def call(client: GenericClient, method: str) -> Any:
    if method in ("PUT", "POST"):
        return getattr(client, method.lower())("/drives/", {})
    return getattr(client, method.lower())("/drives/")


@responses.activate
def test_get_retried_on_503_honours_retry_after_seconds(
    client: GenericClient, sleeps: list[float]
) -> None:
    responses.get(DRIVES, status=503, headers={"Retry-After": "7"})
    responses.get(DRIVES, json={"objects": [{"uuid": "a"}]})
    assert client.get("/drives/") == {"uuid": "a"}
    assert sleeps == [7.0]
    assert len(responses.calls) == 2


@responses.activate
def test_an_infinite_retry_after_is_ignored_like_any_malformed_one(
    client: GenericClient, sleeps: list[float]
) -> None:
    responses.get(DRIVES, status=503, headers={"Retry-After": "1e400"})
    responses.get(DRIVES, json={"objects": [{"uuid": "a"}]})
    assert client.get("/drives/") == {"uuid": "a"}
    assert sleeps == [0.5]  # the backoff's own first sleep


@responses.activate
def test_retry_after_http_date_is_honoured(client: GenericClient, sleeps: list[float]) -> None:
    import time

    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    responses.get(DRIVES, status=429, headers={"Retry-After": later})
    responses.get(DRIVES, json={})
    client.get("/drives/")
    assert len(sleeps) == 1 and 100 < sleeps[0] <= 121


@responses.activate
def test_backoff_grows_exponentially_then_gives_up(
    client: GenericClient, sleeps: list[float]
) -> None:
    for _ in range(4):
        responses.get(DRIVES, status=502)
    with pytest.raises(errors.ServerError) as caught:
        client.get("/drives/")
    assert caught.value.status_code == 502
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(responses.calls) == 4


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "failure",
    [504, 503, refused(), reset_after_sending(), requests.ReadTimeout("read timed out")],
    ids=["504", "503", "refused", "reset", "read-timeout"],
)
@responses.activate
def test_idempotent_methods_are_retried(
    client: GenericClient, sleeps: list[float], method: str, failure: Any
) -> None:
    answers(failure, 200)
    call(client, method)
    assert len(sleeps) == 1
    assert [c.request.method for c in responses.calls] == [method, method]


@pytest.mark.parametrize(
    "failure",
    [refused(), requests.ConnectTimeout("connect timed out"), 429, 503],
    ids=["refused", "connect-timeout", "429", "503"],
)
@responses.activate
def test_post_retried_when_it_never_reached_the_server(
    client: GenericClient, sleeps: list[float], failure: Any
) -> None:
    answers(failure, 201)
    assert client.post("/drives/", {"objects": [{}]}) == {"uuid": "a"}
    assert len(sleeps) == 1
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (502, errors.ServerError),
        (504, errors.ServerError),
        (requests.ReadTimeout("read timed out"), errors.RequestTimeoutError),
        (reset_after_sending(), errors.TransportError),
    ],
    ids=["502", "504", "read-timeout", "reset"],
)
@responses.activate
def test_post_not_repeated_after_it_may_have_been_processed(
    client: GenericClient, sleeps: list[float], failure: Any, error_class: type[Exception]
) -> None:
    answers(failure, 201)
    with pytest.raises(error_class):
        client.post("/drives/", {})
    assert sleeps == []
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [reset_after_sending(), requests.ReadTimeout("read timed out")],
    ids=["reset", "read-timeout"],
)
@responses.activate
def test_delete_whose_lost_answer_is_followed_by_404_counts_as_deleted(
    client: GenericClient, sleeps: list[float], failure: Exception
) -> None:
    responses.add("DELETE", DRIVES, body=failure)
    responses.add("DELETE", DRIVES, json=[{"error_type": "notexist"}], status=404)
    assert client.delete("/drives/") is None
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    "earlier",
    [None, refused(), requests.ConnectTimeout("connect timed out"), 503],
    ids=["first-attempt", "refused", "connect-timeout", "503"],
)
@responses.activate
def test_delete_404_is_an_error_when_no_earlier_attempt_can_have_deleted(
    client: GenericClient, sleeps: list[float], earlier: Any
) -> None:
    if isinstance(earlier, Exception):
        responses.add("DELETE", DRIVES, body=earlier)
    elif earlier is not None:
        responses.add("DELETE", DRIVES, status=earlier)
    responses.add("DELETE", DRIVES, json=[{"error_type": "notexist"}], status=404)
    with pytest.raises(errors.ClientError) as caught:
        client.delete("/drives/")
    assert caught.value.status_code == 404


@pytest.mark.parametrize("retry", [0, Retry(total=0)])
@responses.activate
def test_zero_retries_turns_retrying_off(sleeps: list[float], retry: Any) -> None:
    client = GenericClient(API, USERNAME, PASSWORD, retry=retry)
    answers(503, 200)
    with pytest.raises(errors.ServerError):
        client.get("/drives/")
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_config_max_retries_zero_turns_retrying_off(write_config: Any, sleeps: list[float]) -> None:
    write_config(f"api_endpoint = {API}\nusername = {USERNAME}\npassword = x\nmax_retries = 0\n")
    client = GenericClient()
    assert client.retry.total == 0
    answers(503, 200)
    with pytest.raises(errors.ServerError):
        client.get("/drives/")
    assert len(responses.calls) == 1


def test_post_to_a_closed_port_is_retried_then_fails_with_transport_error(
    sleeps: list[float],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/api/2.0/"
    client = GenericClient(endpoint, USERNAME, PASSWORD, retry=Retry(total=2, jitter=False))
    with pytest.raises(errors.TransportError) as caught:
        client.post("/drives/", {"objects": [{"name": "x"}]})
    assert len(sleeps) == 2
    message = str(caught.value)
    assert f"POST http://127.0.0.1:{port}/api/2.0/drives/" in message
    assert "cannot connect" in message and "check api_endpoint" in message
    assert PASSWORD not in message
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert not isinstance(caught.value, errors.RequestTimeoutError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (refused(), True),
        (requests.ConnectTimeout(), True),
        (requests.ReadTimeout(), False),
        (reset_after_sending(), False),
        (ValueError("x"), False),
    ],
)
def test_never_reached_server(exc: Exception, expected: bool) -> None:
    assert never_reached_server(exc) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("nan", None),
        ("1e400", None),
        ("-inf", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after(value, now=now) == expected


def test_full_jitter_stays_under_the_capped_backoff() -> None:
    policy = Retry(total=10, backoff_factor=1.0, backoff_max=4.0)
    delays = [policy.backoff(5) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 1


def test_retry_after_is_capped() -> None:
    assert Retry(retry_after_max=60).backoff(0, retry_after=3600) == 60


@pytest.mark.parametrize("kwargs", [{"total": -1}, {"total": 1.5}, {"backoff_factor": -1}])
def test_invalid_retry_policy_is_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Retry(**kwargs)


def test_retry_policy_is_immutable() -> None:
    policy = Retry()
    with pytest.raises(AttributeError):
        policy.total = 5  # type: ignore[misc]

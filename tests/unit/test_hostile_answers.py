"""Answers meant to hurt the client: redirects elsewhere, deep JSON, huge and gzip-bomb
bodies, a drip-fed body and long Retry-After; each ends in the library's own error, in
time, without sending credentials anywhere but the configured endpoint."""

from __future__ import annotations

import gzip
import logging
import socket
import time
from collections.abc import Iterator

import pytest
import responses
from unit_support import API, PASSWORD, USERNAME, RawServer

from cloudsigma import errors
from cloudsigma.generic import GenericClient, Retry
from cloudsigma.resource import Accounts, Drive

DRIVES = API + "drives/"
ELSEWHERE = "https://elsewhere.test/api/2.0/drives/"
DEEP = "[" * 100_000 + "]" * 100_000
CAP = 64 * 1024


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@responses.activate
def test_an_api_call_does_not_follow_a_redirect_and_names_its_target(
    client: GenericClient, status: int
) -> None:
    responses.get(DRIVES, status=status, headers={"Location": ELSEWHERE})
    responses.get(ELSEWHERE, json={"objects": []})

    with pytest.raises(errors.RedirectError) as refused:
        client.get("/drives/")

    assert refused.value.location == ELSEWHERE
    assert refused.value.status_code == status
    assert "do not follow redirects" in str(refused.value)
    assert [call.request.url for call in responses.calls] == [DRIVES]


@responses.activate
def test_a_session_login_redirected_elsewhere_sends_the_password_nowhere_else() -> None:
    login = API + "accounts/action/?do=login"
    responses.post(login, status=307, headers={"Location": ELSEWHERE})
    responses.post(ELSEWHERE, json={})
    client = GenericClient(API, USERNAME, PASSWORD, login_method="session", retry=0)

    with client, pytest.raises(errors.RedirectError, match="elsewhere.test"):
        Drive.from_client(client).list()

    assert [call.request.url for call in responses.calls] == [login]


@responses.activate
def test_credentials_are_not_sent_to_a_url_outside_the_endpoint(client: GenericClient) -> None:
    responses.get(ELSEWHERE, json={})

    with pytest.raises(errors.ForeignOriginError, match="credentials go nowhere else"):
        client.get(ELSEWHERE)

    assert len(responses.calls) == 0


# --- echoes ------------------------------------------------------------------------------------

CSRF = "csrf-echo-token-0123"
SESSION_ID = "sess-echo-id-4567"


def echoed(*values: str) -> str:
    """The values as an echoing server or proxy may send them back: raw, escaped, encoded."""
    import json
    import urllib.parse

    forms = [f"{v} {json.dumps(v)} {urllib.parse.quote(v, safe='')}" for v in values]
    return " | ".join(forms)


@responses.activate
def test_a_basic_token_echoed_in_a_header_and_the_body_is_hidden_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import base64

    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    responses.get(
        DRIVES,
        status=400,
        body=f"you sent Authorization: Basic {token} and {echoed(PASSWORD)}",
        headers={"X-Echo-Authorization": f"Basic {token}", "X-Echo-Password": PASSWORD},
    )
    caplog.set_level(logging.DEBUG)
    client = GenericClient(API, USERNAME, PASSWORD, retry=0, request_log_level="DEBUG")

    with client, pytest.raises(errors.ClientError) as refused:
        client.get("/drives/")

    shown = [str(refused.value), repr(refused.value), caplog.text, repr(client)]
    for secret in (token, PASSWORD):
        assert all(secret not in text for text in shown), secret
    assert "X-Echo-Authorization: Basic <redacted>" in caplog.text


@responses.activate
def test_a_login_check_answered_with_an_echo_of_the_request_hides_the_credentials() -> None:
    # Found by the long adversarial run: a 200 echoing the request (its Authorization header)
    # where an object with a uuid belongs was quoted whole in the error.
    import base64

    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    echo = [{"error_type": "echo", "error_message": f"Authorization: Basic {token}\r\n{PASSWORD}"}]
    responses.post(API + "accounts/action/?do=check_login_with_return_uuid", json=echo)
    accounts = Accounts(API, USERNAME, PASSWORD, retry=0)

    with pytest.raises(errors.InvalidResponseError, match="not an object with a uuid") as bad:
        accounts.check_login_with_return_uuid()

    for secret in (token, PASSWORD):
        assert secret not in str(bad.value) and secret not in repr(bad.value), secret
    assert "<redacted>" in str(bad.value)


@responses.activate
def test_a_session_cookie_and_csrf_token_echoed_back_are_hidden_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.post(
        API + "accounts/action/?do=login",
        json={},
        headers=[
            ("Set-Cookie", f"csrftoken={CSRF}; Path=/"),
            ("Set-Cookie", f"sessionid={SESSION_ID}; Path=/"),
        ],
    )
    responses.get(DRIVES, status=500, body=f"request had {echoed(CSRF, SESSION_ID)}")
    caplog.set_level(logging.DEBUG)
    client = GenericClient(
        API, USERNAME, PASSWORD, login_method="session", retry=0, request_log_level="DEBUG"
    )

    with client, pytest.raises(errors.ServerError) as refused:
        client.get("/drives/")

    shown = [str(refused.value), repr(refused.value), caplog.text]
    for secret in (CSRF, SESSION_ID, PASSWORD):
        assert all(secret not in text for text in shown), secret
    assert "request had <redacted>" in str(refused.value)


# --- deep JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 202])
@responses.activate
def test_json_nested_100000_deep_in_a_success_is_an_invalid_response(
    client: GenericClient, status: int
) -> None:
    responses.get(DRIVES, body=DEEP, status=status, content_type="application/json")

    with pytest.raises(errors.InvalidResponseError, match="nested deeper than the SDK decodes"):
        client.get("/drives/")


@responses.activate
def test_json_nested_100000_deep_in_an_error_is_the_error_of_its_status(
    client: GenericClient,
) -> None:
    responses.get(DRIVES, body=DEEP, status=400, content_type="application/json")

    with pytest.raises(errors.ClientError) as refused:
        client.get("/drives/")

    assert refused.value.status_code == 400
    assert refused.value.errors == []


def test_data_nested_too_deeply_to_send_is_an_argument_error(client: GenericClient) -> None:
    data: list[object] = []
    for _ in range(100_000):
        data = [data]
    with pytest.raises(errors.InvalidArgumentError, match="nested too deeply"):
        Drive.from_client(client).create({"name": "d", "meta": data})


# --- the size of answers ------------------------------------------------------------------------


def capped_client() -> GenericClient:
    return GenericClient(API, USERNAME, PASSWORD, retry=0, max_response_bytes=CAP)


@responses.activate
def test_an_answer_announcing_more_than_the_cap_is_refused() -> None:
    responses.get(DRIVES, body=b"[" + b"1," * CAP + b"1]", content_type="application/json")

    with capped_client() as client, pytest.raises(errors.ResponseTooLargeError) as refused:
        client.get("/drives/")

    assert f"more than the {CAP} bytes accepted" in str(refused.value)
    assert "max_response_bytes" in str(refused.value)


@responses.activate
def test_a_gzip_body_is_capped_as_it_inflates() -> None:
    bomb = gzip.compress(b" " * (64 * 1024**2))  # 64 KiB that inflate to 64 MiB
    responses.get(DRIVES, body=bomb, headers={"Content-Encoding": "gzip"})

    with capped_client() as client, pytest.raises(errors.ResponseTooLargeError, match="went past"):
        client.get("/drives/")


def test_the_default_cap_is_64_mib() -> None:
    assert GenericClient(API, USERNAME, PASSWORD).max_response_bytes == 64 * 1024**2


# --- time ---------------------------------------------------------------------------------------


class DripServer(RawServer):
    """Answers every request with headers, then one body byte every 50 ms, never ending."""

    def serve(self, connection: socket.socket) -> None:
        try:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not self.stop.wait(0.05):
                connection.sendall(b" ")
        except OSError:
            return


@pytest.fixture
def drip_server() -> Iterator[DripServer]:
    server = DripServer()
    yield server
    server.close()


def test_a_drip_fed_answer_ends_at_the_deadline_of_the_call(drip_server: DripServer) -> None:
    client = GenericClient(
        drip_server.endpoint, USERNAME, PASSWORD, timeout=(1.0, 1.0), deadline=1.5, retry=2
    )
    started = time.monotonic()

    with client, pytest.raises(errors.DeadlineExceededError) as late:
        client.get("/drives/")

    # every byte came within the 1 s read timeout: only the deadline ends the call (the
    # bound is generous, for a loaded machine: without a deadline it never ends)
    assert time.monotonic() - started < 30
    assert "within the 1.5 s deadline of the call" in str(late.value)
    assert "1 attempt in" in str(late.value)
    assert isinstance(late.value, errors.RequestTimeoutError)


@responses.activate
def test_a_long_retry_after_is_not_slept_past_the_deadline(sleeps: list[float]) -> None:
    responses.get(DRIVES, status=503, headers={"Retry-After": "100000"})
    client = GenericClient(API, USERNAME, PASSWORD, retry=Retry(total=3), deadline=60)

    with client, pytest.raises(errors.ServerError) as refused:
        client.get("/drives/")

    assert sleeps == []
    assert len(responses.calls) == 1
    note = " ".join(getattr(refused.value, "__notes__", []))
    assert "past the 60 s deadline of the call" in note and "Retry-After: 100000" not in note


@responses.activate
def test_a_retry_after_within_the_deadline_is_capped(sleeps: list[float]) -> None:
    responses.get(DRIVES, status=503, headers={"Retry-After": "100000"})
    responses.get(DRIVES, json={"objects": []})
    client = GenericClient(
        API, USERNAME, PASSWORD, retry=Retry(total=1, retry_after_max=2.5), deadline=60
    )

    with client:
        assert client.get("/drives/") == []

    assert sleeps == [2.5]


@responses.activate
def test_a_timeout_message_counts_every_attempt_and_gives_no_post_advice_on_a_get(
    sleeps: list[float],
) -> None:
    from requests.exceptions import ReadTimeout

    for _ in range(3):
        responses.get(DRIVES, body=ReadTimeout("Read timed out."))
    client = GenericClient(API, USERNAME, PASSWORD, retry=Retry(total=2, jitter=False))

    with client, pytest.raises(errors.RequestTimeoutError) as late:
        client.get("/drives/")

    message = str(late.value)
    assert "on each of 3 attempts" in message and "in all" in message
    assert "sending it again is safe" in message
    assert "may still have processed" not in message


@responses.activate
def test_the_callers_own_option_is_named_in_a_timeout(sleeps: list[float]) -> None:
    from requests.exceptions import ReadTimeout

    responses.post(API + "accounts/action/?do=check_login", body=ReadTimeout("Read timed out."))
    client = GenericClient(API, USERNAME, PASSWORD, retry=0, timeout_option="--timeout SECONDS")

    with client, pytest.raises(errors.RequestTimeoutError) as late:
        Accounts.from_client(client).check_login()

    assert "raise it with --timeout SECONDS" in str(late.value)
    assert "may still have processed it" in str(late.value)  # a POST


def test_add_note_keeps_notes_where_python_keeps_them() -> None:
    error = errors.ServerError("busy", 503)
    errors.add_note(error, "not retried: first")
    errors.add_note(error, "second")
    assert error.__notes__ == ["not retried: first", "second"]

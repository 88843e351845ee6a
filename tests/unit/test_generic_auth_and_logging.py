"""Session login, and that the request log never shows a credential."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import responses
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import errors, resource
from cloudsigma.generic import GenericClient, wrap_with_log_hook

LOGIN = API + "accounts/action/?do=login"
CSRF = "csrf-token-1234567890"
SESSION_ID = "session-id-abcdefghij"
ASYNC_AUTH = "async-auth-zyxwvutsrq"


def login_answer(csrf: str = CSRF, session_id: str = SESSION_ID) -> dict[str, Any]:
    return {
        "json": {},
        "headers": [
            ("Set-Cookie", f"csrftoken={csrf}; Path=/"),
            ("Set-Cookie", f"sessionid={session_id}; Path=/; HttpOnly"),
        ],
    }


def session_client() -> GenericClient:
    return GenericClient(API, USERNAME, PASSWORD, login_method="session", retry=0)


@responses.activate
def test_session_login_then_csrf_header_and_cookies_on_put() -> None:
    responses.post(LOGIN, **login_answer())
    responses.put(API + "servers/s1/", json={"uuid": "s1"})
    assert session_client().put("/servers/s1/", {"name": "x"}) == {"uuid": "s1"}
    login, put = (call.request for call in responses.calls)
    assert json.loads(login.body) == {"username": USERNAME, "password": PASSWORD}
    assert "Authorization" not in login.headers
    assert put.headers["X-CSRFToken"] == CSRF
    assert put.headers["Referer"] == API
    assert f"sessionid={SESSION_ID}" in put.headers["Cookie"]
    assert "Authorization" not in put.headers


@responses.activate
def test_session_logs_in_again_once_on_401() -> None:
    responses.post(LOGIN, **login_answer())
    responses.post(LOGIN, **login_answer(csrf="second-token-000"))
    responses.get(API + "drives/", status=401)
    responses.get(API + "drives/", json={"objects": []})
    client = session_client()
    client._login_session()
    assert client.get("/drives/") == []
    methods = [
        (c.request.method, c.request.url.split("?")[1] if "?" in c.request.url else "")
        for c in responses.calls
    ]
    assert methods == [("POST", "do=login"), ("GET", ""), ("POST", "do=login"), ("GET", "")]
    assert responses.calls[3].request.headers["X-CSRFToken"] == "second-token-000"


@responses.activate
def test_threads_sharing_a_session_client_log_in_once() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    logins: list[int] = []
    first_login, second_login, release = threading.Event(), threading.Event(), threading.Event()

    def login(request: Any) -> tuple[int, dict[str, str], str]:
        logins.append(1)
        (second_login if len(logins) > 1 else first_login).set()
        release.wait(timeout=5)
        return 200, {"Set-Cookie": f"csrftoken={CSRF}; Path=/"}, "{}"

    responses.add_callback("POST", LOGIN, callback=login)
    responses.get(API + "drives/", json={"objects": []})
    client = session_client()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(client.get, "/drives/")
        assert first_login.wait(timeout=5)
        second = pool.submit(client.get, "/drives/")
        second_login.wait(timeout=0.3)  # only set if the second thread logs in too
        release.set()
        assert first.result() == [] and second.result() == []
    assert len(logins) == 1


@responses.activate
def test_session_401_after_a_fresh_login_is_an_auth_error() -> None:
    responses.post(LOGIN, **login_answer())
    responses.get(API + "drives/", status=401, body="no")
    with pytest.raises(errors.AuthError):
        session_client().get("/drives/")
    assert len(responses.calls) == 2


@responses.activate
def test_wrong_password_at_login_is_an_auth_error_without_the_password() -> None:
    responses.post(
        LOGIN,
        status=401,
        json=[
            {"error_type": "permission", "error_point": None, "error_message": "bad credentials"}
        ],
    )
    with pytest.raises(errors.AuthError) as caught:
        session_client().get("/drives/")
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)


@responses.activate
def test_login_without_csrf_cookie_is_an_invalid_response() -> None:
    responses.post(LOGIN, json={})
    with pytest.raises(errors.InvalidResponseError, match="csrftoken"):
        session_client().get("/drives/")


@pytest.mark.parametrize(
    ("argument", "configured", "expected"),
    [
        (None, None, "basic"),
        (None, "session", "session"),
        ("basic", "session", "basic"),
        ("none", "session", "none"),
    ],
)
def test_explicit_login_method_wins_over_config(
    write_config: Any, argument: str | None, configured: str | None, expected: str
) -> None:
    line = f"login_method = {configured}\n" if configured else ""
    write_config(f"api_endpoint = {API}\nusername = u@x\npassword = p\n{line}")
    assert GenericClient(login_method=argument).login_method == expected


def test_bad_configured_login_method_is_a_config_error(write_config: Any) -> None:
    path = write_config(f"api_endpoint = {API}\nusername = u\npassword = p\nlogin_method = x\n")
    with pytest.raises(errors.ConfigError, match=str(path)):
        GenericClient()


@responses.activate
def test_account_create_is_sent_without_credentials() -> None:
    responses.post(API + "accounts/action/?do=create", json={"success": True, "uuid": "u1"})
    accounts = resource.Accounts(API, USERNAME, PASSWORD)
    assert accounts.create("new@example.com") == {"success": True, "uuid": "u1"}
    request = responses.calls[0].request
    assert "Authorization" not in request.headers
    assert json.loads(request.body) == {"email": "new@example.com", "promo": None}
    assert accounts.c.login_method == "basic"


# --- logging ---------------------------------------------------------------------------------


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="cloudsigma")
    return caplog


@responses.activate
def test_debug_log_shows_the_exchange_but_no_credential(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    responses.post(LOGIN, **login_answer())
    responses.post(
        API + "accounts/action/?do=authenticate_asynchronous",
        json={"note": f"async_auth={ASYNC_AUTH}"},
        headers={"Set-Cookie": f"async_auth={ASYNC_AUTH}; Max-Age=120"},
    )
    responses.put(API + "profile/", json={"email": USERNAME, "password": PASSWORD})
    client = GenericClient(
        API, USERNAME, PASSWORD, login_method="session", request_log_level="debug", retry=0
    )
    client.post("/accounts/action/", {}, query_params={"do": "authenticate_asynchronous"})
    client.put("/profile/", {"meta": {"nested": [{"ssh_password": "inner-secret-1"}]}})
    log = debug_log.text
    assert "PUT https://api.test/api/2.0/profile/" in log
    assert "HTTP 200" in log and "authenticate_asynchronous" in log
    assert "<redacted>" in log
    for secret in (PASSWORD, CSRF, SESSION_ID, ASYNC_AUTH, "inner-secret-1"):
        assert secret not in log, secret
    for header in ("X-CSRFToken", "Cookie", "Set-Cookie"):
        assert f"{header}: <redacted>" in log


@responses.activate
def test_basic_auth_header_is_redacted(debug_log: pytest.LogCaptureFixture) -> None:
    responses.get(API + "drives/", json={"objects": []})
    GenericClient(API, USERNAME, PASSWORD, request_log_level="DEBUG").get("/drives/")
    assert "Authorization: <redacted>" in debug_log.text
    assert "Basic " not in debug_log.text


@responses.activate
def test_config_request_log_level_turns_logging_on(
    write_config: Any, debug_log: pytest.LogCaptureFixture
) -> None:
    write_config(f"api_endpoint = {API}\nusername = u\npassword = p\nrequest_log_level = info\n")
    responses.get(API + "drives/", json={"objects": []})
    GenericClient().get("/drives/")
    assert [r.levelno for r in debug_log.records if "REQUEST" in r.getMessage()] == [logging.INFO]


@responses.activate
def test_no_log_level_means_no_request_log(debug_log: pytest.LogCaptureFixture) -> None:
    responses.get(API + "drives/", json={"objects": []})
    GenericClient(API, USERNAME, PASSWORD).get("/drives/")
    assert "REQUEST" not in debug_log.text


@responses.activate
def test_log_hook_calls_the_next_hook_and_redacts_given_secrets(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    import requests

    seen: list[int] = []
    hook = wrap_with_log_hook(
        "DEBUG", lambda r, *a, **k: seen.append(r.status_code), secrets=["plain-secret"]
    )
    responses.post(API + "x/", body="echo plain-secret and password=hunter22")
    requests.post(API + "x/", data="form password=hunter22", hooks={"response": hook})
    assert seen == [200]
    assert "plain-secret" not in debug_log.text and "hunter22" not in debug_log.text


def test_unknown_log_level_in_the_hook_logs_an_error_and_keeps_the_next_hook(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def nxt(response: Any, *args: Any, **kwargs: Any) -> None:
        return None

    assert wrap_with_log_hook("NOISY", nxt) is nxt
    assert "unknown request_log_level" in caplog.text


@pytest.mark.parametrize(
    ("body", "hidden", "shown"),
    [
        (b'{"objects": [{"password": "pw-1", "name": "n"}]}', "pw-1", '"name": "n"'),
        ('{"a": {"b": [{"vnc_password": "pw-2"}]}}', "pw-2", '"vnc_password": "<redacted>"'),
        (b'{"sessionid": "sid-3", "csrftoken": "tok-3"}', "tok-3", '"csrftoken": "<redacted>"'),
        ("username=u&password=pw-4&x=1", "pw-4", "password=<redacted>&x=1"),
        ('{"password": "pw-5", "cut', "pw-5", '"password": "<redacted>'),
        (b"\xff\xfe\x00rawdata", "rawdata", "<10 bytes of binary data>"),
        ("", "nothing", ""),
    ],
)
def test_redact_body(body: Any, hidden: str, shown: str) -> None:
    from cloudsigma._redact import redact_body

    text = redact_body(body)
    assert hidden not in text and shown in text


def test_long_bodies_are_shortened_in_the_log() -> None:
    from cloudsigma._redact import MAX_LOGGED_BODY, redact_body

    text = redact_body("x" * (MAX_LOGGED_BODY * 2))
    assert len(text) < MAX_LOGGED_BODY + 100 and text.endswith(
        f"({MAX_LOGGED_BODY * 2} characters)"
    )


@pytest.mark.parametrize(
    "name", ["Authorization", "authorization", "Cookie", "Set-Cookie", "X-CSRFToken", "x-csrftoken"]
)
def test_redact_headers_is_case_insensitive(name: str) -> None:
    from cloudsigma._redact import redact_headers

    assert redact_headers({name: "secret", "Accept": "json"}) == {
        name: "<redacted>",
        "Accept": "json",
    }

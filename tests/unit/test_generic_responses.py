"""How GenericClient builds URLs and turns answers into values or errors."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import requests
import responses
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import errors
from cloudsigma.generic import GenericClient

DRIVES = API + "drives/"
DRIVE_A = {"uuid": "aaaa", "name": "a"}
DRIVE_B = {"uuid": "bbbb", "name": "b"}
API_ERRORS = [
    {"error_type": "permission", "error_point": None, "error_message": "Cannot start guest"},
    {"error_type": "validation", "error_point": "cpu", "error_message": "too small"},
]


@pytest.mark.parametrize(
    ("status", "body", "return_list", "expected"),
    [
        (200, {"objects": [DRIVE_A]}, False, DRIVE_A),
        (200, {"objects": [DRIVE_A]}, True, [DRIVE_A]),
        (200, {"objects": [DRIVE_A, DRIVE_B]}, False, [DRIVE_A, DRIVE_B]),
        (200, {"objects": []}, False, []),
        (200, {"meta": {"total_count": 1}, "objects": [DRIVE_A]}, False, DRIVE_A),
        (201, {"objects": [DRIVE_A]}, False, DRIVE_A),
        (202, {"objects": [DRIVE_A, DRIVE_B]}, True, [DRIVE_A, DRIVE_B]),
        (200, DRIVE_A, False, DRIVE_A),
        (200, DRIVE_A, True, DRIVE_A),
        (
            202,
            {"action": "start", "result": "success"},
            False,
            {"action": "start", "result": "success"},
        ),
        (200, [["a", "b"]], False, [["a", "b"]]),
    ],
)
@responses.activate
def test_success_bodies_are_unwrapped_like_pycloudsigma(
    client: GenericClient, status: int, body: Any, return_list: bool, expected: Any
) -> None:
    responses.get(DRIVES, json=body, status=status)
    assert client.get("/drives/", return_list=return_list) == expected


@responses.activate
def test_204_returns_none(client: GenericClient) -> None:
    responses.delete(DRIVES + "aaaa/", status=204, body="", content_type="text/html")
    assert client.delete("/drives/aaaa") is None
    assert client.resp is not None and client.resp.status_code == 204


@responses.activate
def test_empty_200_body_returns_none(client: GenericClient) -> None:
    responses.post(API + "accounts/action/", status=200, body="")
    assert client.post("/accounts/action/", {}, query_params={"do": "check_login"}) is None


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, errors.ClientError),
        (401, errors.AuthError),
        (402, errors.ClientError),
        (403, errors.PermissionError),
        (404, errors.ClientError),
        (416, errors.ClientError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
@responses.activate
def test_error_status_raises_its_class_with_message_status_request_id_and_errors(
    status: int, error_class: type[errors.ApiClientError]
) -> None:
    client = GenericClient(API, USERNAME, PASSWORD, retry=0)
    responses.get(DRIVES, json=API_ERRORS, status=status, headers={"X-REQUEST-ID": "req-42"})
    with pytest.raises(error_class) as caught:
        client.get("/drives/")
    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, errors.ApiClientError)
    assert error.status_code == status
    assert error.request_id == "req-42"
    assert error.message == client.resp.text  # type: ignore[union-attr]
    assert error.errors == API_ERRORS
    assert error.error_type == "permission"
    assert f"status {status}" in str(error) and "req-42" in str(error)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error_type": "notexist", "error_point": null, "error_message": "gone"}',
            [{"error_type": "notexist", "error_point": None, "error_message": "gone"}],
        ),
        (b"<html>Bad gateway</html>", []),
        (b"", []),
        (b'{"detail": "no"}', []),
    ],
)
@responses.activate
def test_error_list_tolerates_other_bodies(body: bytes, expected: list[Any]) -> None:
    client = GenericClient(API, USERNAME, PASSWORD, retry=0)
    responses.get(DRIVES, body=body, status=404)
    with pytest.raises(errors.ClientError) as caught:
        client.get("/drives/")
    assert caught.value.errors == expected
    assert caught.value.message == body.decode()
    assert caught.value.request_id is None


def test_errors_pickle_with_their_fields() -> None:
    error = errors.PermissionError("msg", 403, "rid", API_ERRORS)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.message, copy.status_code, copy.request_id, copy.errors) == (
        errors.PermissionError,
        "msg",
        403,
        "rid",
        API_ERRORS,
    )
    assert copy.args == ("msg", 403, "rid")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, errors.AuthError),
        (403, errors.PermissionError),
        (409, errors.ClientError),
        (502, errors.ServerError),
        (302, errors.ApiClientError),
    ],
)
def test_error_class_for_status(status: int, expected: type) -> None:
    assert errors.error_class_for_status(status) is expected


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b'{"objects": [{"uuid": "a"', b"\xff\xfe not utf-8"],
    ids=["html", "truncated", "binary"],
)
@responses.activate
def test_success_with_a_bad_body_raises_invalid_response(
    client: GenericClient, body: bytes
) -> None:
    responses.get(DRIVES, body=body, status=200, headers={"X-REQUEST-ID": "r1"})
    with pytest.raises(errors.InvalidResponseError) as caught:
        client.get("/drives/")
    message = str(caught.value)
    assert caught.value.status_code == 200
    assert caught.value.request_id == "r1"
    assert "answered 200" in message and "GET https://api.test/api/2.0/drives/" in message
    assert repr(body[:5].decode("utf-8", "replace"))[1:-1] in message
    assert not isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("endpoint", "url", "expected"),
    [
        (API, "/drives/", API + "drives/"),
        (API, "drives", API + "drives/"),
        (API, "/drives/abc", API + "drives/abc/"),
        (API, "/api/2.0/drives/abc/", API + "drives/abc/"),
        ("https://api.test/api/2.0", "/drives/", API + "drives/"),
        (API, "/drives/upload/?x=1", API + "drives/upload/?x=1"),
        (API, "https://direct.api.test/x", "https://direct.api.test/x/"),
        (
            "http://127.0.0.1:8080/api/2.0/",
            "/api/2.0/drives/",
            "http://127.0.0.1:8080/api/2.0/drives/",
        ),
    ],
)
def test_full_url_is_under_the_endpoint_path_with_a_trailing_slash(
    endpoint: str, url: str, expected: str
) -> None:
    assert GenericClient(endpoint, USERNAME, PASSWORD)._get_full_url(url) == expected


@responses.activate
def test_put_and_post_send_json_with_query_params(client: GenericClient) -> None:
    responses.put(DRIVES + "aaaa/", json=DRIVE_A)
    responses.post(DRIVES, json={"objects": [DRIVE_A]}, status=201)
    client.put("/drives/aaaa/", {"name": "a"})
    client.post("/drives/", {"objects": [{"name": "a"}]}, query_params={"avoid": "x,y"})
    put, post = (call.request for call in responses.calls)
    assert put.method == "PUT" and put.body == '{"name": "a"}'
    assert put.headers["Content-Type"] == "application/json"
    assert post.url == DRIVES + "?avoid=x%2Cy"
    assert put.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_get_raw_keeps_meta_and_objects(client: GenericClient) -> None:
    body = {"meta": {"total_count": 1, "limit": 1, "offset": 0}, "objects": [DRIVE_A]}
    responses.get(DRIVES, json=body)
    assert client.get_raw("/drives/", {"limit": 1}) == body


@responses.activate
def test_get_raw_raises_for_errors(client: GenericClient) -> None:
    responses.get(DRIVES, json=API_ERRORS, status=403)
    with pytest.raises(errors.PermissionError):
        client.get_raw("/drives/")


@responses.activate
def test_response_hook_sees_every_response(client: GenericClient) -> None:
    seen: list[int] = []
    client.response_hook = lambda response, *args, **kwargs: seen.append(response.status_code)
    responses.get(DRIVES, json={"objects": []})
    client.get("/drives/")
    assert seen == [200]


def test_repr_shows_no_password() -> None:
    client = GenericClient("https://u:pw@api.test/api/2.0/", USERNAME, PASSWORD)
    text = repr(client)
    assert PASSWORD not in text and ":pw@" not in text
    assert USERNAME in text and "api.test" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"login_method": "kerberos"}, "login_method 'kerberos'"),
        ({"request_log_level": "LOUD"}, "request_log_level 'LOUD'"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GenericClient(API, USERNAME, PASSWORD, **kwargs)


@responses.activate
def test_login_method_none_sends_no_credentials() -> None:
    client = GenericClient(API, login_method="none")
    responses.get(API + "locations/", json={"objects": []})
    client.get("/locations/")
    assert "Authorization" not in responses.calls[0].request.headers


@responses.activate
def test_invalid_endpoint_is_a_transport_error() -> None:
    client = GenericClient("not a url", USERNAME, PASSWORD, retry=0)
    with pytest.raises(errors.TransportError, match="check api_endpoint"):
        client.get("/drives/")


def test_session_is_kept_and_closed() -> None:
    client = GenericClient(API, USERNAME, PASSWORD)
    assert isinstance(client.http, requests.Session)
    with client as same:
        assert same is client


@responses.activate
def test_error_text_echoing_the_password_is_redacted() -> None:
    client = GenericClient(API, USERNAME, PASSWORD, retry=0)
    echo = [{"error_type": "validation", "error_point": "password", "error_message": PASSWORD}]
    responses.put(API + "profile/", json=echo, status=400)
    with pytest.raises(errors.ClientError) as caught:
        client.put("/profile/", {"password": PASSWORD})
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)
    assert "<redacted>" in caught.value.message
    assert caught.value.errors[0]["error_message"] == "<redacted>"
    assert caught.value.error_point == "password"

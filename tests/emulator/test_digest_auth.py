"""HTTP Digest authentication (MD5, qop=auth): the challenge, the hash check, nonce rules."""

from __future__ import annotations

import hashlib
import re

import pytest
import requests
from emulator_support import assert_api_error
from requests.auth import HTTPDigestAuth


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def challenge_of(response: requests.Response) -> dict[str, str]:
    """The parameters of the Digest challenge of a 401."""
    digest = next(
        value
        for value in response.raw.headers.getlist("WWW-Authenticate")
        if value.startswith("Digest ")
    )
    return dict(re.findall(r'(\w+)="?([^",]*)"?', digest[len("Digest ") :]))


def digest_header(
    username: str, password: str, method: str, uri: str, challenge: dict, count: int = 1, **over
) -> str:
    """An Authorization header computed as RFC 7616 says (independently of requests)."""
    params = {
        "username": username,
        "realm": challenge["realm"],
        "nonce": challenge["nonce"],
        "uri": uri,
        "qop": "auth",
        "nc": f"{count:08x}",
        "cnonce": "0a4f113b",
        "opaque": challenge.get("opaque", ""),
        "algorithm": "MD5",
        **over,
    }
    ha1 = md5(f"{username}:{params['realm']}:{password}")
    ha2 = md5(f"{method}:{params['uri']}")
    params.setdefault(
        "response",
        md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}"),
    )
    quoted = {"username", "realm", "nonce", "uri", "cnonce", "opaque", "response"}
    return "Digest " + ", ".join(
        f'{key}="{value}"' if key in quoted else f"{key}={value}" for key, value in params.items()
    )


@pytest.fixture
def challenge(anonymous) -> dict[str, str]:
    return challenge_of(anonymous.get("drives/"))


def test_requests_digest_auth_reads_and_writes(emu, anonymous):
    auth = HTTPDigestAuth(emu.username, emu.password)
    created = anonymous.post(
        "drives/", json={"name": "d", "size": 1024**3, "media": "disk"}, auth=auth
    )
    assert created.status_code == 201, created.text
    listed = anonymous.get("drives/", params={"name": "d"}, auth=auth)
    assert listed.status_code == 200
    assert [d["uuid"] for d in listed.json()["objects"]] == [created.json()["objects"][0]["uuid"]]


def test_challenge_offers_md5_with_qop_auth(challenge):
    assert challenge["realm"] == "CloudSigma"
    assert challenge["qop"] == "auth"
    assert challenge["algorithm"] == "MD5"
    assert len(challenge["nonce"]) >= 16


def test_a_correct_response_hash_authenticates(emu, anonymous, challenge):
    header = digest_header(emu.username, emu.password, "GET", "/api/2.0/profile/", challenge)
    response = anonymous.get("profile/", headers={"Authorization": header})
    assert response.status_code == 200
    assert response.json()["email"] == emu.username


def test_a_wrong_password_is_refused_without_echoing_it(emu, anonymous, challenge):
    header = digest_header(emu.username, "not-the-password", "GET", "/api/2.0/profile/", challenge)
    response = anonymous.get("profile/", headers={"Authorization": header})
    assert_api_error(response, 401, "permission", "Invalid username or password")
    assert "not-the-password" not in response.text


def test_the_hash_covers_the_method(emu, anonymous, challenge):
    header = digest_header(emu.username, emu.password, "GET", "/api/2.0/drives/", challenge)
    response = anonymous.post("drives/", json={}, headers={"Authorization": header})
    assert_api_error(response, 401, "permission", "Invalid username or password")


def test_a_uri_other_than_the_request_path_is_refused(emu, anonymous, challenge):
    header = digest_header(emu.username, emu.password, "GET", "/api/2.0/profile/", challenge)
    response = anonymous.get("drives/", headers={"Authorization": header})
    assert_api_error(response, 401, "permission", "uri")


def test_the_uri_includes_the_query_string(emu, anonymous, challenge):
    uri = "/api/2.0/drives/?limit=1"
    header = digest_header(emu.username, emu.password, "GET", uri, challenge)
    response = anonymous.get("drives/", params={"limit": 1}, headers={"Authorization": header})
    assert response.status_code == 200


def test_a_replayed_nonce_count_is_refused(emu, anonymous, challenge):
    header = digest_header(emu.username, emu.password, "GET", "/api/2.0/profile/", challenge)
    assert anonymous.get("profile/", headers={"Authorization": header}).status_code == 200
    replay = anonymous.get("profile/", headers={"Authorization": header})
    assert_api_error(replay, 401, "permission", "already used")
    following = digest_header(
        emu.username, emu.password, "GET", "/api/2.0/profile/", challenge, count=2
    )
    assert anonymous.get("profile/", headers={"Authorization": following}).status_code == 200


def test_an_unknown_nonce_is_answered_stale_with_a_new_one(emu, anonymous, challenge):
    forged = {**challenge, "nonce": "f" * 32}
    header = digest_header(emu.username, emu.password, "GET", "/api/2.0/profile/", forged)
    response = anonymous.get("profile/", headers={"Authorization": header})
    assert_api_error(response, 401, "permission", "nonce")
    fresh = challenge_of(response)
    assert fresh["stale"] == "true"
    assert fresh["nonce"] != challenge["nonce"]


def test_an_expired_nonce_is_answered_stale(emu, anonymous, challenge, monkeypatch):
    from cloudsigma.emulator.http import digest

    header = digest_header(emu.username, emu.password, "GET", "/api/2.0/profile/", challenge)
    real = digest.time.monotonic
    monkeypatch.setattr(digest.time, "monotonic", lambda: real() + digest.NONCE_LIFETIME + 1)
    response = anonymous.get("profile/", headers={"Authorization": header})
    assert_api_error(response, 401, "permission", "expired")
    assert challenge_of(response)["stale"] == "true"


@pytest.mark.parametrize(
    "override, message",
    [
        ({"algorithm": "SHA-256"}, "MD5"),
        ({"qop": "auth-int"}, "qop=auth"),
        ({"realm": "elsewhere"}, "realm"),
        ({"nc": "zz"}, "hexadecimal"),
    ],
)
def test_other_digest_variants_are_refused(emu, anonymous, challenge, override, message):
    header = digest_header(
        emu.username, emu.password, "GET", "/api/2.0/profile/", challenge, **override
    )
    response = anonymous.get("profile/", headers={"Authorization": header})
    assert_api_error(response, 401, "permission", message)


@pytest.mark.parametrize(
    "header",
    [
        'Digest username="x"',
        "Digest ",
        "Digest nonsense",
        'Digest a="1", b',
        'Digest username="x", nonce=',  # a key with nothing after its '='
        "Digest username=, nonce=, =, ,,",
    ],
)
def test_malformed_digest_headers_get_401_not_500(anonymous, header):
    response = anonymous.get("profile/", headers={"Authorization": header})
    assert_api_error(response, 401, "permission")


def test_the_raw_upload_accepts_basic_only(emu, anonymous):
    auth = HTTPDigestAuth(emu.username, emu.password)
    response = anonymous.post(
        "drives/upload/",
        data=b"x" * 1024,
        auth=auth,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_api_error(response, 401, "permission", "Basic authentication only")
    assert response.raw.headers.getlist("WWW-Authenticate") == ['Basic realm="CloudSigma"']

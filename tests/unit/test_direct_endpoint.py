"""The ``direct_endpoint`` setting: argument, environment, file, the location, the docs' name."""

from __future__ import annotations

import pytest
import responses
from unit_support import API, PASSWORD, USERNAME

from cloudsigma.conf import derive_direct_endpoint
from cloudsigma.generic import GenericClient

LOCATIONS = "https://api.test/api/2.0/locations/"


@pytest.mark.parametrize(
    "api_endpoint, direct",
    [
        ("https://zrh.cloudsigma.com/api/2.0/", "https://direct.zrh.cloudsigma.com/api/2.0/"),
        ("https://ec.servecentric.com/api/2.0/", "https://direct.ec.servecentric.com/api/2.0/"),
        (
            "https://zrh.cloudsigma.com:8443/api/2.0",
            "https://direct.zrh.cloudsigma.com:8443/api/2.0",
        ),
        (
            "https://direct.zrh.cloudsigma.com/api/2.0/",
            "https://direct.zrh.cloudsigma.com/api/2.0/",
        ),
        ("http://127.0.0.1:8080/api/2.0/", "http://127.0.0.1:8080/api/2.0/"),
        ("http://[::1]:8080/api/2.0/", "http://[::1]:8080/api/2.0/"),
        ("http://localhost:8080/api/2.0/", "http://localhost:8080/api/2.0/"),
    ],
)
def test_the_docs_name_the_direct_host_after_the_api_host(api_endpoint, direct):
    assert derive_direct_endpoint(api_endpoint) == direct


def client(**kwargs) -> GenericClient:
    return GenericClient(API, USERNAME, PASSWORD, retry=0, **kwargs)


def locations(*entries: dict) -> None:
    responses.add(responses.GET, LOCATIONS, json={"objects": list(entries)}, status=200)


@responses.activate
def test_the_argument_is_used_without_asking_the_api():
    with client(direct_endpoint="https://upload.test/api/2.0") as c:
        assert c.direct_endpoint == "https://upload.test/api/2.0/"
    assert len(responses.calls) == 0


@responses.activate
def test_the_environment_comes_before_the_file(write_config, monkeypatch):
    write_config(f"api_endpoint = {API}\ndirect_endpoint = https://file.test/api/2.0/\n")
    with client() as c:
        assert c.direct_endpoint == "https://file.test/api/2.0/"
    monkeypatch.setenv("CLOUDSIGMA_DIRECT_ENDPOINT", "https://env.test/api/2.0/")
    with client() as c:
        assert c.direct_endpoint == "https://env.test/api/2.0/"
    assert len(responses.calls) == 0


@responses.activate
def test_unset_it_is_the_upload_url_of_this_location_asked_once():
    locations(
        {"api_endpoint": "https://other.test/api/2.0/", "upload_url": "https://wrong.test/"},
        {"api_endpoint": "https://api.test/api/2.0", "upload_url": "https://up.test/api/2.0/"},
    )
    with client() as c:
        assert c.direct_endpoint == "https://up.test/api/2.0/"
        assert c.direct_endpoint == "https://up.test/api/2.0/"
    assert len(responses.calls) == 1
    assert responses.calls[0].request.url == LOCATIONS + "?limit=0"


@responses.activate
def test_without_a_matching_location_it_is_derived_from_the_api_endpoint():
    locations({"api_endpoint": "https://other.test/api/2.0/", "upload_url": "https://x.test/"})
    with client() as c:
        assert c.direct_endpoint == "https://direct.api.test/api/2.0/"


@responses.activate
def test_when_locations_cannot_be_read_it_is_derived():
    responses.add(responses.GET, LOCATIONS, json=[{"error_message": "no"}], status=403)
    with client() as c:
        assert c.direct_endpoint == "https://direct.api.test/api/2.0/"

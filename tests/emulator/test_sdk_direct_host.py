"""The SDK and the direct host: the raw upload, where it goes, and downloads that the API
host redirects to a signed link."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from cloudsigma import errors, resource
from cloudsigma.download import download_drive
from cloudsigma.emulator import Emulator
from cloudsigma.generic import GenericClient

MIB = 1024**2


@pytest.fixture
def image(tmp_path) -> Any:
    path = tmp_path / "image.raw"
    path.write_bytes(os.urandom(3 * MIB + 123))
    return path


@pytest.fixture(scope="module")
def split_server() -> Iterator[Emulator]:
    with Emulator(transition_delay=0, direct_port=0) as emulator:
        yield emulator


@pytest.fixture
def split(split_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """An emulator with a direct host of its own, in strict mode: hosts cannot be mixed up."""
    split_server.reset()
    monkeypatch.setattr(split_server, "strict", True)
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", split_server.config_path)
    for name in ("API_ENDPOINT", "DIRECT_ENDPOINT", "USERNAME", "PASSWORD", "WS_ENDPOINT"):
        monkeypatch.delenv(f"CLOUDSIGMA_{name}", raising=False)
    return split_server


def drives_of(emu: Emulator, **kwargs: Any) -> resource.Drive:
    return resource.Drive(emu.api_endpoint, emu.username, emu.password, **kwargs)


def stored_bytes(emu: Emulator, uuid: str, length: int) -> bytes:
    return emu.call(lambda: emu.backend.images[uuid].read(0, length))


def test_upload_image_streams_the_file_into_a_new_drive(cloudsigma_emulator, image):
    emu = cloudsigma_emulator
    drives = drives_of(emu)
    seen: list[tuple[int, int]] = []

    drive = drives.upload_image(image, progress=lambda sent, total: seen.append((sent, total)))

    assert drive["status"] == "unmounted"
    assert drive["name"] == "image.raw"
    assert drive["size"] >= image.stat().st_size
    assert stored_bytes(emu, drive["uuid"], image.stat().st_size) == image.read_bytes()
    assert seen[-1] == (image.stat().st_size, image.stat().st_size)
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)
    drives.c.close()


def test_upload_image_takes_a_name(cloudsigma_emulator, image):
    drives = drives_of(cloudsigma_emulator)
    assert drives.upload_image(image, name="my image/v1")["name"] == "my image/v1"
    drives.c.close()


def test_an_empty_image_is_refused_before_anything_is_sent(cloudsigma_emulator, tmp_path):
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    before = len(cloudsigma_emulator.journal)
    with pytest.raises(errors.UploadError, match="empty"):
        drives_of(cloudsigma_emulator).upload_image(empty)
    assert len(cloudsigma_emulator.journal) == before


def test_a_refused_upload_names_the_answer_without_the_password(cloudsigma_emulator, image):
    emu = cloudsigma_emulator
    drives = resource.Drive(emu.api_endpoint, emu.username, "wrong-password-123", retry=0)
    drives.c._direct_endpoint = emu.api_endpoint  # no /locations/ lookup with bad credentials
    with pytest.raises(errors.UploadError) as refused:
        drives.upload_image(image)
    assert refused.value.status_code == 401
    assert "wrong-password-123" not in str(refused.value)


def test_the_direct_host_comes_from_the_location(split):
    with GenericClient() as client:
        assert client.direct_endpoint == split.direct_endpoint
        assert client.api_endpoint == split.api_endpoint


def test_upload_goes_to_the_direct_host_of_the_location(split, image):
    drives = resource.Drive()
    drive = drives.upload_image(image)
    assert drive["status"] == "unmounted"
    assert stored_bytes(split, drive["uuid"], 1024) == image.read_bytes()[:1024]
    drives.c.close()


def test_a_configured_direct_endpoint_wins(split, image, monkeypatch):
    monkeypatch.setenv("CLOUDSIGMA_DIRECT_ENDPOINT", split.api_endpoint)
    drives = resource.Drive()
    assert drives.c.direct_endpoint == split.api_endpoint
    # the API host refuses raw uploads in strict mode, naming the direct host
    with pytest.raises(errors.UploadError) as refused:
        drives.upload_image(image)
    assert refused.value.status_code == 400
    assert split.direct_endpoint in str(refused.value)
    drives.c.close()


def test_the_argument_wins_over_configuration(split, monkeypatch):
    monkeypatch.setenv("CLOUDSIGMA_DIRECT_ENDPOINT", "https://elsewhere.example/api/2.0/")
    with GenericClient(direct_endpoint=split.direct_endpoint) as client:
        assert client.direct_endpoint == split.direct_endpoint


def test_download_from_the_api_host_follows_the_redirect_to_the_direct_host(split, image, tmp_path):
    drives = resource.Drive()
    drive = drives.upload_image(image)
    drives.c.close()
    copy = tmp_path / "copy.raw"

    download_drive(drive["uuid"], copy, chunk_size=64 * MIB, n_threads=2)

    data = copy.read_bytes()
    assert len(data) == drive["size"]
    assert data[: image.stat().st_size] == image.read_bytes()
    assert data[image.stat().st_size :].count(0) == len(data) - image.stat().st_size


def test_location_of_a_created_object(cloudsigma_emulator):
    emu = cloudsigma_emulator
    with GenericClient(emu.api_endpoint, emu.username, emu.password) as client:
        answer = client.request(
            "POST", "/drives/", {"objects": [{"name": "d", "size": 1024**3, "media": "disk"}]}
        )
        uuid = answer.objects()["uuid"]
        assert answer.status_code == 201
        assert answer.location == f"{emu.base_url}/api/2.0/drives/{uuid}/"
        assert client.request("GET", "/drives/").location is None

"""The documented raw upload: one POST of the image to the direct host, then a download of
the new drive through the API host (which may redirect to the direct host)."""

from __future__ import annotations

import os

import pytest
from integration_support import unique_name

from cloudsigma.download import download_drive

pytestmark = pytest.mark.live

MIB = 1024**2


@pytest.fixture
def small_minimum(api):
    """Offline, a smallest drive of 1 MiB: the image is not grown to 512 MiB (reset undoes it)."""
    if not api.live:
        sizes = api.emulator.backend.capabilities["drives"]["dssd"]
        api.emulator.call(lambda: sizes["size"].update(min=MIB))


def test_raw_upload_creates_a_drive_holding_the_image(
    api, tracker, tmp_path, small_minimum, wait_timeout
):
    image = tmp_path / "image.raw"
    image.write_bytes(os.urandom(3 * MIB + 4099))
    name = unique_name("raw")
    progress: list[int] = []

    drive = api.drives.upload_image(
        image, name=name, progress=lambda sent, _: progress.append(sent)
    )
    tracker.track("drives", drive)

    assert drive["status"] == "unmounted"
    assert drive["name"] == name
    assert drive["size"] >= image.stat().st_size
    assert progress[-1] == image.stat().st_size
    assert drive["uuid"] in {d["uuid"] for d in api.drives.list()}

    copy = tmp_path / "copy.raw"
    download_drive(drive["uuid"], copy, chunk_size=4 * MIB, n_threads=2)
    data = copy.read_bytes()
    assert len(data) == drive["size"]
    assert data[: image.stat().st_size] == image.read_bytes()


def test_a_raw_upload_is_sent_to_the_location_upload_url(api):
    location = next(
        loc
        for loc in api.locations.list()
        if loc["api_endpoint"].rstrip("/") == api.drives.c.api_endpoint.rstrip("/")
    )
    assert api.drives.c.direct_endpoint.rstrip("/") == location["upload_url"].rstrip("/")

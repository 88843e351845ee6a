"""Images: upload a raw image to a new drive, download it again, get the same bytes."""

from __future__ import annotations

import hashlib
import os

import pytest
from integration_support import unique_name

from cloudsigma.download import download_drive
from cloudsigma.resumable_upload import Upload

pytestmark = pytest.mark.live

MIB = 1024**2


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_then_download_returns_the_same_image(api, tracker, tmp_path, wait_timeout):
    image = tmp_path / "image.raw"
    # three full chunks and a short last one, so chunk boundaries are exercised
    image.write_bytes(os.urandom(3 * MIB + 4099))
    name = unique_name("upload")

    uploader = Upload(str(image), drive_name=name, chunk_size=MIB, n_threads=2)
    try:
        drive = uploader.upload()
    finally:
        tracker.track("drives", [uploader.drive_uuid] if uploader.drive_uuid else [])
        uploader.c.close()

    assert drive["name"] == name
    assert drive["size"] == image.stat().st_size
    assert drive["status"] == "unmounted"

    copy = tmp_path / "copy.raw"
    download_drive(drive["uuid"], copy, chunk_size=MIB, n_threads=2)

    assert copy.stat().st_size == image.stat().st_size
    assert sha256_of(copy) == sha256_of(image)
    assert not (tmp_path / "copy.raw.part").exists()

"""Chunked uploads through faults on the chunk and check requests store exactly the image."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from cloudsigma.policies import Retry, WaitPolicy
from cloudsigma.resource import Drive
from cloudsigma.resumable_upload import ChunkUploadError, Upload

CHUNK = 16 * 1024


@pytest.mark.parametrize("seed", range(12))
def test_resumed_upload_through_chunk_faults_stores_the_exact_image(
    emu: Any, tmp_path: Path, seed: int
) -> None:
    image = tmp_path / "image.raw"
    image.write_bytes(os.urandom(2 * CHUNK + 123))
    credentials = {"username": emu.username, "password": emu.password}
    drives = Drive(emu.api_endpoint, **credentials)
    drive = drives.c.post(
        "/initupload/", {"name": "img", "size": image.stat().st_size, "media": "disk"}
    )
    # every chunk and every "is it stored?" check may get a 503, a reset, or a cut-off answer
    emu.set_faults(
        f"seed={seed},503=0.3,reset_after=0.3,truncate=0.2,paths=drives/{drive['uuid']}/upload"
    )
    uploader = Upload(
        image,
        drive_uuid=drive["uuid"],
        chunk_size=CHUNK,
        n_threads=1,
        generic_client_kwargs={"api_endpoint": emu.api_endpoint, **credentials},
    )
    uploader.retry_policy = Retry(total=30, backoff_factor=0.0, jitter=False)
    uploader.finish_wait = WaitPolicy(timeout=10, interval=0.01)
    assert uploader.upload()["status"] == "unmounted"
    stored = emu.call(lambda: emu.backend.images[drive["uuid"]].getvalue())
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(image.read_bytes()).hexdigest()
    assert sum(emu.api.faults.report()["counts"].values()) > 0


def test_chunk_that_fails_for_good_names_the_request_id_of_the_last_answer(
    emu: Any, tmp_path: Path
) -> None:
    image = tmp_path / "image.raw"
    image.write_bytes(os.urandom(CHUNK))
    credentials = {"username": emu.username, "password": emu.password}
    drive = Drive(emu.api_endpoint, **credentials).c.post(
        "/initupload/", {"name": "img", "size": CHUNK, "media": "disk"}
    )
    emu.set_faults(f"503=1,paths=drives/{drive['uuid']}/upload")
    uploader = Upload(
        image,
        drive_uuid=drive["uuid"],
        chunk_size=CHUNK,
        n_threads=1,
        generic_client_kwargs={"api_endpoint": emu.api_endpoint, **credentials},
    )
    uploader.retry_policy = Retry(total=1, backoff_factor=0.0, jitter=False)
    with pytest.raises(ChunkUploadError) as caught:
        uploader.upload()
    assert caught.value.status_code == 503
    assert caught.value.request_id
    assert caught.value.request_id in str(caught.value)

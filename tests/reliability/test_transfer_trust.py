"""Transfers never silently do nothing: an image sent to a drive that already holds another
one is an error, while resuming to a drive that holds this very image has nothing to do.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from cloudsigma import errors
from cloudsigma.resource import Drive
from cloudsigma.resumable_upload import Upload
from cloudsigma.upload_client import CSUploader

CHUNK = 64 * 1024
SIZE = 3 * CHUNK + 17


def image(path: Path, seed: int) -> str:
    path.write_bytes(random.Random(seed).randbytes(SIZE))
    return str(path)


def uploaded_drive(emu: Any, path: str) -> str:
    kwargs = {"api_endpoint": emu.api_endpoint, "username": emu.username, "password": emu.password}
    uuid = Upload(path, chunk_size=CHUNK, n_threads=2, generic_client_kwargs=kwargs).upload()[
        "uuid"
    ]
    return str(uuid)


def stored(emu: Any, uuid: str) -> bytes:
    return bytes(emu.call(lambda: emu.backend.images[uuid].getvalue()))


def resume(protocol: str, emu: Any, path: str, uuid: str) -> Any:
    if protocol == "resumable":
        kwargs = {
            "api_endpoint": emu.api_endpoint,
            "username": emu.username,
            "password": emu.password,
        }
        return Upload(
            path, drive_uuid=uuid, chunk_size=CHUNK, generic_client_kwargs=kwargs
        ).upload()
    uploader = CSUploader(emu.api_endpoint, path, CHUNK, emu.username, emu.password, uuid=uuid)
    return uploader.start()


@pytest.mark.parametrize("protocol", ["resumable", "links"])
def test_another_image_sent_to_a_finished_drive_is_an_error_that_says_so(
    emu: Any, tmp_path: Path, protocol: str
) -> None:
    uuid = uploaded_drive(emu, image(tmp_path / "first.raw", seed=1))
    before = stored(emu, uuid)
    other = image(tmp_path / "other.raw", seed=2)

    with pytest.raises(errors.UploadError) as caught:
        resume(protocol, emu, other, uuid)

    message = str(caught.value)
    assert uuid in message and "not 'uploading'" in message and "new drive" in message
    assert stored(emu, uuid) == before  # nothing half-written either


@pytest.mark.parametrize("protocol", ["resumable", "links"])
def test_the_same_image_resumed_to_its_finished_drive_has_nothing_to_do(
    emu: Any, tmp_path: Path, protocol: str
) -> None:
    path = image(tmp_path / "same.raw", seed=3)
    uuid = uploaded_drive(emu, path)

    resume(protocol, emu, path, uuid)

    assert stored(emu, uuid) == Path(path).read_bytes()
    drive = Drive(emu.api_endpoint, emu.username, emu.password).get(uuid)
    assert drive["status"] == "unmounted"

"""Drive images over HTTP: initupload, resumable chunks, chunk links, simple upload, download."""

from __future__ import annotations

import hashlib
import os

import pytest
from emulator_support import GIB, assert_api_error

CHUNK = 64 * 1024


def init_upload(api, size, name="image.raw"):
    body = {"objects": [{"name": name, "size": size, "media": "disk"}]}
    drive = api.ok("POST", "initupload/", 201, json=body)["objects"][0]
    assert drive["status"] == "uploading" and drive["size"] == size
    return drive


def resumable_params(number, total, chunk=CHUNK):
    return {
        "resumableChunkNumber": number,
        "resumableChunkSize": chunk,
        "resumableTotalSize": total,
        "resumableIdentifier": "image.raw",
        "resumableFilename": "image.raw",
    }


def send_resumable(api, drive, number, data, total):
    files = {"file": ("file", data, "application/octet-stream")}
    return api.post(
        f"drives/{drive['uuid']}/upload/", params=resumable_params(number, total), files=files
    )


def test_initupload_keeps_the_exact_size(api):
    drive = init_upload(api, 10 * 1024 * 1024 + 7)
    assert api.ok("GET", f"drives/{drive['uuid']}/")["size"] == 10 * 1024 * 1024 + 7


def test_resumable_chunks_complete_the_drive_synchronously(api, emu):
    payload = os.urandom(3 * CHUNK + 1000)
    drive = init_upload(api, len(payload))
    chunks = [(1, payload[:CHUNK]), (2, payload[CHUNK : 2 * CHUNK]), (3, payload[2 * CHUNK :])]
    for number, _data in chunks:
        check = api.get(
            f"drives/{drive['uuid']}/upload/", params=resumable_params(number, len(payload))
        )
        assert_api_error(check, 404, "notexist")
    for number, data in reversed(chunks):
        assert send_resumable(api, drive, number, data, len(payload)).status_code == 200
    check = api.get(f"drives/{drive['uuid']}/upload/", params=resumable_params(1, len(payload)))
    assert check.status_code == 200
    assert api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "unmounted"
    image = emu.backend.images[drive["uuid"]]
    assert image.sha256() == hashlib.sha256(payload).hexdigest()


def test_drive_stays_uploading_until_every_byte_is_there(api):
    payload = os.urandom(2 * CHUNK + 10)
    drive = init_upload(api, len(payload))
    send_resumable(api, drive, 2, payload[CHUNK:], len(payload))
    assert api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "uploading"


def test_resumable_chunk_with_wrong_total_is_400(api):
    drive = init_upload(api, 2 * CHUNK)
    response = send_resumable(api, drive, 1, b"x" * CHUNK, 3 * CHUNK)
    assert_api_error(response, 400, "validation", "resumableTotalSize")


def test_resumable_post_needs_multipart_with_a_file(api):
    drive = init_upload(api, CHUNK)
    response = api.post(
        f"drives/{drive['uuid']}/upload/", params=resumable_params(1, CHUNK), data=b"raw"
    )
    assert_api_error(response, 400, "validation", "multipart")


def test_upload_to_a_drive_that_is_not_uploading_is_403(api, drive):
    response = send_resumable(api, drive, 1, b"x", GIB)
    assert_api_error(response, 403, "permission", "initupload")


def test_link_upload_needs_no_auth_and_refuses_a_stored_chunk_with_416(api, anonymous, emu):
    payload = os.urandom(2 * CHUNK + 5)
    drive = init_upload(api, len(payload))
    for number in (0, 1):
        link = api.action(
            "drives", drive["uuid"], "upload_chunk", 202, chunk_number=number, chunk_size=CHUNK
        )["link"]
        assert link.startswith("/api/2.0/")
        data = payload[number * CHUNK :] if number == 1 else payload[:CHUNK]
        url = emu.base_url + link.rstrip("/")
        response = anonymous.session.post(
            url, data=data, headers={"Content-Type": "application/octet-stream"}
        )
        assert response.status_code == 200
    assert api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "unmounted"
    assert emu.backend.images[drive["uuid"]].getvalue() == payload


def test_link_for_a_chunk_already_uploaded_is_416(api, anonymous, emu):
    drive = init_upload(api, 3 * CHUNK)
    link = api.action(
        "drives", drive["uuid"], "upload_chunk", 202, chunk_number=0, chunk_size=CHUNK
    )["link"]
    anonymous.session.post(emu.base_url + link, data=b"a" * CHUNK)
    response = api.post(
        f"drives/{drive['uuid']}/action/",
        params={"do": "upload_chunk"},
        json={"chunk_number": 0, "chunk_size": CHUNK},
    )
    error = assert_api_error(response, 416, "validation", "already uploaded")
    assert "0" in error["error_message"]


def test_a_link_works_once(api, anonymous, emu):
    drive = init_upload(api, 3 * CHUNK)
    link = api.action(
        "drives", drive["uuid"], "upload_chunk", 202, chunk_number=1, chunk_size=CHUNK
    )["link"]
    assert anonymous.session.post(emu.base_url + link, data=b"a" * CHUNK).status_code == 200
    again = anonymous.session.post(emu.base_url + link, data=b"a" * CHUNK)
    assert_api_error(again, 404, "notexist")


def test_link_chunk_larger_than_announced_is_400(api, anonymous, emu):
    drive = init_upload(api, 3 * CHUNK)
    link = api.action(
        "drives", drive["uuid"], "upload_chunk", 202, chunk_number=0, chunk_size=CHUNK
    )["link"]
    response = anonymous.session.post(emu.base_url + link, data=b"a" * (CHUNK + 1))
    assert_api_error(response, 400, "validation", "larger")


def test_simple_upload_answers_the_bare_uuid_and_grows_to_the_minimum(api, emu):
    payload = os.urandom(100_000)
    response = api.post(
        "drives/upload/", data=payload, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 200
    uuid = response.text.strip()
    drive = api.ok("GET", f"drives/{uuid}/")
    assert drive["status"] == "unmounted" and drive["size"] == 512 * 1024 * 1024
    assert emu.backend.images[uuid].read(0, len(payload)) == payload


def test_simple_upload_needs_auth(anonymous):
    assert_api_error(anonymous.post("drives/upload/", data=b"x"), 401, "permission")


def upload_small(api, emu, payload):
    drive = init_upload(api, len(payload))
    send_resumable(api, drive, 1, payload, len(payload))
    return drive


def test_download_returns_the_whole_image(api, emu):
    payload = os.urandom(CHUNK)
    drive = upload_small(api, emu, payload)
    response = api.get(f"drives/{drive['uuid']}/download/")
    assert response.status_code == 200 and response.content == payload
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert drive["uuid"] in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, CHUNK),
        ("bytes=-10", CHUNK - 10, CHUNK),
        ("bytes=10-999999999", 10, CHUNK),
    ],
)
def test_download_ranges_answer_206_with_content_range(api, emu, header, start, end):
    payload = os.urandom(CHUNK)
    drive = upload_small(api, emu, payload)
    response = api.get(f"drives/{drive['uuid']}/download/", headers={"Range": header})
    assert response.status_code == 206 and response.content == payload[start:end]
    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{CHUNK}"


def test_unsatisfiable_range_is_416(api, emu):
    drive = upload_small(api, emu, os.urandom(1000))
    response = api.get(f"drives/{drive['uuid']}/download/", headers={"Range": "bytes=5000-"})
    assert_api_error(response, 416, "validation")


def test_never_written_drive_downloads_as_zeros(api, emu, drive):
    response = api.get(f"drives/{drive['uuid']}/download/", headers={"Range": "bytes=0-4095"})
    assert response.status_code == 206 and response.content == bytes(4096)
    assert drive["uuid"] not in emu.backend.images


def test_large_drive_images_are_sparse_files_not_memory(emu, api):
    drive = init_upload(api, GIB)
    image = emu.backend.image(drive["uuid"], GIB)
    image.write(GIB - 4, b"tail")
    assert image._memory is None
    assert os.fstat(image._file.fileno()).st_blocks * 512 < 64 * 1024 * 1024
    assert image.read(GIB - 8, 8) == bytes(4) + b"tail"


def test_clone_copies_the_image_bytes(api, emu):
    payload = os.urandom(1000)
    drive = upload_small(api, emu, payload)
    clone = api.action("drives", drive["uuid"], "clone")["objects"][0]
    emu.advance()
    response = api.get(f"drives/{clone['uuid']}/download/", headers={"Range": "bytes=0-999"})
    assert response.content == payload


def test_clone_of_a_large_sparse_image_keeps_its_bytes(emu):
    image = emu.backend.image("large-source", GIB)
    image.write(GIB // 2, b"middle")
    image.write(GIB - 3, b"end")
    clone = image.copy()
    assert clone.read(GIB // 2, 6) == b"middle" and clone.read(GIB - 3, 3) == b"end"
    assert os.fstat(clone._file.fileno()).st_blocks * 512 < 64 * 1024 * 1024
    clone.close()
    emu.backend.drop_image("large-source")


def test_uploads_above_the_largest_drive_are_400(api):
    body = {"name": "huge", "size": 10**18, "media": "disk"}
    assert_api_error(api.post("initupload/", json=body), 400, "validation", "outside the limits")


def test_a_resumable_chunk_longer_than_its_range_is_clipped(api, emu):
    drive = init_upload(api, 2 * CHUNK)
    send_resumable(api, drive, 2, b"b" * CHUNK, 2 * CHUNK)
    assert send_resumable(api, drive, 1, b"a" * (CHUNK + 100), 2 * CHUNK).status_code == 200
    assert emu.backend.images[drive["uuid"]].getvalue() == b"a" * CHUNK + b"b" * CHUNK

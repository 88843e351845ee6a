"""Chunked uploads (resumable.js and link protocols) against a fake API built on ``responses``."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import re
import threading
import urllib.parse
import weakref
from pathlib import Path

import pytest
import requests
import responses

from cloudsigma import _chunks
from cloudsigma._chunks import ChunkUploadError, UploadError
from cloudsigma.errors import TransferAttemptError
from cloudsigma.policies import Retry, WaitPolicy
from cloudsigma.resumable_upload import SizeMismatchError, Upload
from cloudsigma.upload_client import CSUploader, console_progress

API = "http://api.test:8123/api/2.0/"
DRIVE_UUID = "8d8e7e51-3e0d-4a4a-9b2f-1f2bd6a1b5c1"
NO_WAIT = Retry(total=3, backoff_factor=0.0)
CLIENT_KWARGS = {"api_endpoint": API, "username": "user@example.com", "password": "s3cret"}


@pytest.fixture
def make_image(tmp_path):
    def make(size: int, name: str = "disk image.raw") -> str:
        path = tmp_path / name
        # every byte value, quotes and invalid UTF-8 included: the bytes must travel as they are
        pattern = bytes(range(256)) + b"'\"\r\n\x00\xff\xfe"
        path.write_bytes((pattern * (size // len(pattern) + 1))[:size])
        return str(path)

    return make


def parse_multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }


class FakeDriveApi:
    """initupload, drive GET and the resumable.js chunk endpoints, with injectable faults."""

    def __init__(self, rsps: responses.RequestsMock, drive_size: int | None = None) -> None:
        self.lock = threading.Lock()
        self.drive: dict | None = None
        self.chunks: dict[int, bytes] = {}
        self.post_failures: dict[int, list[int]] = {}
        self.posts: list[int] = []
        self.checks: list[int] = []
        self.created: list[dict] = []
        self.fields: dict[int, dict[str, str]] = {}
        self.never_finish = False
        if drive_size is not None:
            self.drive = {"uuid": DRIVE_UUID, "size": drive_size, "status": "uploading"}
        drive_url = re.compile(re.escape(API) + r"drives/([0-9a-f-]+)/$")
        upload_url = re.compile(re.escape(API) + r"drives/([0-9a-f-]+)/upload/(\?.*)?$")
        rsps.add_callback("POST", API + "initupload/", callback=self.init_upload)
        rsps.add_callback("GET", drive_url, callback=self.get_drive)
        rsps.add_callback("GET", upload_url, callback=self.check_chunk)
        rsps.add_callback("POST", upload_url, callback=self.store_chunk)

    def init_upload(self, request):
        data = json.loads(request.body)["objects"][0]
        self.created.append(data)
        self.drive = {"uuid": DRIVE_UUID, "size": data["size"], "status": "uploading"}
        return 201, {"Content-Type": "application/json"}, json.dumps({"objects": [self.drive]})

    def get_drive(self, request):
        with self.lock:
            stored = sum(len(chunk) for chunk in self.chunks.values())
            if stored == self.drive["size"] and not self.never_finish:
                self.drive["status"] = "unmounted"
            return 200, {"Content-Type": "application/json"}, json.dumps(self.drive)

    def check_chunk(self, request):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
        number = int(query["resumableChunkNumber"])
        with self.lock:
            self.checks.append(number)
            return (200 if number in self.chunks else 404), {}, ""

    def store_chunk(self, request):
        assert request.headers.get("Authorization", "").startswith("Basic ")
        assert request.headers["User-Agent"].startswith("cloudsigma-python/")
        parts = parse_multipart(bytes(request.body), request.headers["Content-Type"])
        number = int(parts["resumableChunkNumber"])
        with self.lock:
            self.posts.append(number)
            failures = self.post_failures.get(number)
            if failures:
                return failures.pop(0), {}, "storage hiccup"
            self.fields[number] = {k: v.decode() for k, v in parts.items() if k != "file"}
            self.chunks[number] = parts["file"]
        return 200, {}, ""

    def stored_bytes(self) -> bytes:
        return b"".join(self.chunks[number] for number in sorted(self.chunks))


def make_upload(path: str, **kwargs) -> Upload:
    upload = Upload(path, generic_client_kwargs=dict(CLIENT_KWARGS), **kwargs)
    upload.retry_policy = NO_WAIT
    upload.progress_report_interval = 0.01
    return upload


@pytest.mark.parametrize(
    ("size", "chunk_size", "expected"),
    [
        (4, 5, [(1, 0, 4)]),
        (5, 5, [(1, 0, 5)]),
        (10, 5, [(1, 0, 5), (2, 5, 5)]),
        (14, 5, [(1, 0, 5), (2, 5, 9)]),
        (16, 5, [(1, 0, 5), (2, 5, 5), (3, 10, 6)]),
    ],
)
def test_file_chunks_put_the_remainder_into_the_last_chunk(make_image, size, chunk_size, expected):
    upload = make_upload(make_image(size), chunk_size=chunk_size)
    uploader = CSUploader(API, make_image(size, "other.raw"), chunk_size, "u@example.com", "pw")

    assert [tuple(chunk) for chunk in upload.file_chunks()] == expected
    assert [tuple(chunk) for chunk in uploader.file_chunks()] == [
        (number - 1, offset, length) for number, offset, length in expected
    ]
    assert sum(length for _, _, length in expected) == size


@responses.activate
def test_upload_creates_a_drive_of_the_exact_size_and_sends_the_raw_bytes(make_image):
    path = make_image(3 * 1000 + 517)
    api = FakeDriveApi(responses.mock)
    upload = make_upload(Path(path), chunk_size=1000, n_threads=3, drive_name="image")

    drive = upload.upload()

    assert api.created == [{"name": "image", "media": "disk", "size": 3517}]
    assert drive["status"] == "unmounted" and drive["size"] == 3517
    assert api.stored_bytes() == Path(path).read_bytes()
    assert sorted(api.chunks) == [1, 2, 3]
    assert len(api.chunks[3]) == 1517
    assert api.fields[2] == {
        "resumableChunkNumber": "2",
        "resumableChunkSize": "1000",
        "resumableTotalSize": "3517",
        "resumableIdentifier": "disk image.raw",
        "resumableFilename": "disk image.raw",
    }


@responses.activate
def test_upload_skips_chunks_the_server_already_has(make_image):
    path = make_image(4000)
    content = Path(path).read_bytes()
    api = FakeDriveApi(responses.mock, drive_size=4000)
    api.chunks = {1: content[:1000], 3: content[2000:3000]}
    upload = make_upload(path, drive_uuid=DRIVE_UUID, chunk_size=1000)

    upload.upload()

    assert sorted(api.posts) == [2, 4]
    assert sorted(api.checks) == [1, 2, 3, 4]
    assert api.stored_bytes() == content
    assert upload.uploaded_size == 4000


@responses.activate
def test_a_failed_chunk_is_sent_again_until_it_is_stored(make_image):
    path = make_image(3000)
    api = FakeDriveApi(responses.mock)
    api.post_failures = {2: [503, 502]}
    upload = make_upload(path, chunk_size=1000, n_threads=2)

    upload.upload()

    assert api.posts.count(2) == 3
    assert api.posts.count(1) == api.posts.count(3) == 1
    assert api.checks == [2, 2]  # a new drive holds nothing: only a failed chunk is asked about
    assert api.stored_bytes() == Path(path).read_bytes()


@responses.activate
def test_a_chunk_failing_every_attempt_raises_an_error_naming_the_chunk(make_image):
    path = make_image(3000)
    api = FakeDriveApi(responses.mock)
    api.post_failures = {2: [503] * 10}
    upload = make_upload(path, chunk_size=1000, n_threads=1)
    upload.retry_policy = Retry(total=2, backoff_factor=0.0)

    with pytest.raises(ChunkUploadError) as caught:
        upload.upload()

    assert caught.value.chunk_number == 2
    assert caught.value.status_code == 503
    assert "chunk 2 (bytes 1000-1999)" in str(caught.value)
    assert f"drive_uuid={DRIVE_UUID!r}" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert api.posts.count(2) == 3


@responses.activate
def test_a_refused_chunk_is_not_retried(make_image):
    path = make_image(2000)
    api = FakeDriveApi(responses.mock)
    api.post_failures = {1: [401] * 5}
    upload = make_upload(path, chunk_size=1000, n_threads=1)

    with pytest.raises(ChunkUploadError) as caught:
        upload.upload()

    assert caught.value.status_code == 401
    assert api.posts == [1]


@responses.activate
def test_resuming_to_a_drive_of_another_size_sends_nothing(make_image):
    path = make_image(2000)
    api = FakeDriveApi(responses.mock, drive_size=2048)
    upload = make_upload(path, drive_uuid=DRIVE_UUID, chunk_size=1000)

    with pytest.raises(SizeMismatchError, match="has 2000 bytes but drive .* has 2048"):
        upload.upload()

    assert isinstance(SizeMismatchError("x"), ValueError)
    assert api.checks == [] and api.posts == []


def test_an_empty_image_is_refused_before_any_request(make_image):
    upload = make_upload(make_image(0), chunk_size=1000)

    with responses.RequestsMock() as rsps, pytest.raises(UploadError, match="is empty"):
        upload.upload()

    assert len(rsps.calls) == 0


@responses.activate
def test_progress_climbs_to_the_file_size(make_image):
    path = make_image(5500)
    FakeDriveApi(responses.mock)
    seen: list[tuple[int, int]] = []
    upload = make_upload(
        path, chunk_size=1000, n_threads=3, progress_callback=lambda u, t: seen.append((u, t))
    )
    upload.upload()

    assert seen[-1] == (5500, 5500)
    assert all(total == 5500 for _, total in seen)
    done = [uploaded for uploaded, _ in seen]
    assert done == sorted(done)


@responses.activate
def test_a_drive_that_never_turns_unmounted_is_reported(make_image):
    path = make_image(1500)
    api = FakeDriveApi(responses.mock)
    api.never_finish = True
    upload = make_upload(path, chunk_size=1000)
    upload.finish_wait = WaitPolicy(timeout=0.2, interval=0.05)

    with pytest.raises(UploadError, match="still 'uploading'"):
        upload.upload()


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.alive = self.peak = self.buffers = self.peak_buffers = 0

    def adopt(self, buffer: bytearray) -> bytearray:
        size = len(buffer)
        with self.lock:
            self.alive += size
            self.buffers += 1
            self.peak = max(self.peak, self.alive)
            self.peak_buffers = max(self.peak_buffers, self.buffers)
        weakref.finalize(buffer, self.release, size)
        return buffer

    def release(self, size: int) -> None:
        with self.lock:
            self.alive -= size
            self.buffers -= 1


class _TrackedBuffer(bytearray):
    """A bytearray that can carry a finalizer (plain bytearrays cannot)."""


class _MemorySession:
    """Stands in for the per-thread session: records chunk bytes, keeps no buffer."""

    def __init__(self, received: dict[int, bytes], barrier: threading.Barrier) -> None:
        self.received, self.barrier = received, barrier

    def get(self, url, params, timeout, **kwargs):
        return _answer(404)

    def post(self, url, data, headers, timeout, **kwargs):
        parts = parse_multipart(bytes(data), headers["Content-Type"])
        self.received[int(parts["resumableChunkNumber"])] = parts["file"]
        try:  # keep every worker holding its chunk at the same time, once
            self.barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        return _answer(200)

    def close(self) -> None:
        pass


def _answer(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b""
    response.raw = io.BytesIO(b"")
    return response


def test_memory_holds_at_most_one_chunk_per_worker(make_image, monkeypatch):
    chunk_size, n_threads = 64 * 1024, 4
    path = make_image(chunk_size * 24 + 100)
    counter, received = _Counter(), {}
    real_read_chunk = _chunks.read_chunk

    def tracked_read_chunk(*args, **kwargs):
        return counter.adopt(_TrackedBuffer(real_read_chunk(*args, **kwargs)))

    monkeypatch.setattr(_chunks, "read_chunk", tracked_read_chunk)
    upload = make_upload(path, chunk_size=chunk_size, n_threads=n_threads)
    barrier = threading.Barrier(n_threads)
    upload._new_session = lambda: _MemorySession(received, barrier)
    for spec in upload.file_chunks():
        upload.queue.put(spec)
    upload.start_threads()
    upload._wait_for_workers()

    assert b"".join(received[n] for n in sorted(received)) == Path(path).read_bytes()
    assert counter.peak_buffers == n_threads  # the barrier made all of them overlap once
    framing = 2048
    assert counter.peak <= n_threads * (chunk_size + 100 + framing)
    assert counter.alive == 0


@responses.activate
def test_link_uploader_posts_raw_bytes_to_each_link_and_skips_stored_chunks(make_image):
    path = make_image(2500)
    content = Path(path).read_bytes()
    drive = {"uuid": DRIVE_UUID, "size": 2500, "status": "uploading"}
    received: dict[int, bytes] = {}
    lock = threading.Lock()

    def link(request):
        number = json.loads(request.body)["chunk_number"]
        if number == 0:
            return 416, {}, json.dumps([{"error_message": "chunk 0 already uploaded"}])
        return 200, {}, json.dumps({"link": f"/api/2.0/upload_link/{number}"})

    def store(request):
        assert request.headers["Content-Type"] == "application/octet-stream"
        with lock:
            received[int(request.url.rstrip("/").rsplit("/", 1)[1])] = bytes(request.body)
            if len(received) == 1:
                drive["status"] = "unmounted"
        return 200, {}, ""

    responses.add(
        "POST",
        API + "initupload/",
        json={"objects": [drive]},
        status=201,
        match=[
            responses.matchers.json_params_matcher(
                {"size": 2500, "media": "disk"}, strict_match=False
            )
        ],
    )
    responses.add_callback(
        "GET", API + f"drives/{DRIVE_UUID}/", lambda r: (200, {}, json.dumps(drive))
    )
    responses.add_callback("POST", API + f"drives/{DRIVE_UUID}/action/", callback=link)
    responses.add_callback(
        "POST", re.compile(r"http://api\.test:8123/api/2\.0/upload_link/\d+"), store
    )
    uploader = CSUploader(API, path, 1000, "user@example.com", "s3cret", n_threads=2)
    uploader.retry_policy = NO_WAIT

    assert uploader.start() == DRIVE_UUID
    assert received == {1: content[1000:2500]}
    assert uploader.uploaded_size == 2500


def test_with_retries_backs_off_exponentially_within_the_policy():
    sleeps: list[float] = []
    attempts = iter([requests.ConnectionError("reset")] * 3 + [None])

    def attempt():
        failure = next(attempts)
        if failure:
            raise failure
        return "stored"

    policy = Retry(total=3, backoff_factor=0.5, backoff_max=10, jitter=False)
    result = _chunks.with_retries(attempt, policy, "chunk 7", "resume", 7, sleep=sleeps.append)

    assert result == "stored"
    assert sleeps == [0.5, 1.0, 2.0]


def test_with_retries_sleeps_as_long_as_a_refusal_asks_within_the_policys_cap():
    sleeps: list[float] = []
    answers = iter(
        [
            TransferAttemptError("busy", 503, retry_after=3.0),
            TransferAttemptError("slow down", 429, retry_after=86400.0),
            TransferAttemptError("busy", 503),  # no Retry-After: the policy's own backoff
            None,
        ]
    )

    def attempt():
        refusal = next(answers)
        if refusal:
            raise refusal
        return "stored"

    policy = Retry(total=3, backoff_factor=0.5, jitter=False, retry_after_max=30.0)
    result = _chunks.with_retries(attempt, policy, "chunk 7", "resume", 7, sleep=sleeps.append)

    assert result == "stored"
    assert sleeps == [3.0, 30.0, 2.0]


def test_read_chunk_frames_exactly_the_requested_bytes(make_image):
    path = make_image(100)
    content = Path(path).read_bytes()

    framed = _chunks.read_chunk(path, 30, 20, b"<head>", b"<tail>")

    assert bytes(framed) == b"<head>" + content[30:50] + b"<tail>"
    with pytest.raises(UploadError, match="ended at byte 100"):
        _chunks.read_chunk(path, 90, 20)


@responses.activate
def test_retry_resumes_the_same_drive_asking_before_sending(make_image):
    path = make_image(3000)
    api = FakeDriveApi(responses.mock)
    api.post_failures = {3: [503] * 2}
    upload = make_upload(path, chunk_size=1000, n_threads=1)
    upload.retry_policy = Retry(total=1, backoff_factor=0.0)
    with pytest.raises(ChunkUploadError):
        upload.upload()
    api.checks.clear()
    api.posts.clear()

    drive = upload.retry()

    assert drive["uuid"] == DRIVE_UUID and len(api.created) == 1
    assert sorted(api.checks) == [1, 2, 3] and api.posts == [3]
    assert api.stored_bytes() == Path(path).read_bytes()
    assert upload.uploaded_size == 3000


class FakeLinkApi:
    """The link protocol: upload_chunk hands out links, links take raw bytes."""

    def __init__(self, rsps: responses.RequestsMock, size: int) -> None:
        self.drive = {"uuid": DRIVE_UUID, "size": size, "status": "uploading"}
        self.lock = threading.Lock()
        self.received: dict[int, bytes] = {}
        self.link_failures: dict[int, list[int]] = {}
        self.post_statuses: dict[int, list[int]] = {}
        self.link_requests: list[int] = []
        rsps.add_callback("GET", API + f"drives/{DRIVE_UUID}/", self.get_drive)
        rsps.add_callback("POST", API + f"drives/{DRIVE_UUID}/action/", self.link)
        rsps.add_callback("POST", re.compile(re.escape(API) + r"upload_link/\d+/?"), self.store)

    def get_drive(self, request):
        with self.lock:
            if sum(map(len, self.received.values())) == self.drive["size"]:
                self.drive["status"] = "unmounted"
            return 200, {}, json.dumps(self.drive)

    def link(self, request):
        number = json.loads(request.body)["chunk_number"]
        with self.lock:
            self.link_requests.append(number)
            failures = self.link_failures.get(number)
            if failures:
                return failures.pop(0), {}, "[]"
        return 200, {}, json.dumps({"link": f"/api/2.0/upload_link/{number}/"})

    def store(self, request):
        assert "Authorization" not in request.headers
        number = int(request.url.rstrip("/").rsplit("/", 1)[1])
        with self.lock:
            statuses = self.post_statuses.get(number)
            if statuses:
                return statuses.pop(0), {}, ""
            self.received[number] = bytes(request.body)
        return 200, {}, ""


@responses.activate
def test_link_uploader_retries_a_failed_link_and_treats_a_416_post_as_stored(make_image):
    path = make_image(3000)
    content = Path(path).read_bytes()
    api = FakeLinkApi(responses.mock, 3000)
    api.link_failures = {1: [503]}
    api.received[2] = content[2000:]
    api.post_statuses = {2: [416]}
    uploader = CSUploader(API, path, 1000, "user@example.com", "s3cret", uuid=DRIVE_UUID)
    uploader.retry_policy = NO_WAIT

    assert uploader.start() == DRIVE_UUID

    assert api.link_requests.count(1) == 2
    assert b"".join(api.received[n] for n in range(3)) == content
    assert uploader.uploaded_size == 3000


@responses.activate
def test_link_uploader_names_the_chunk_that_keeps_failing(make_image):
    path = make_image(2000)
    api = FakeLinkApi(responses.mock, 2000)
    api.link_failures = {1: [500] * 10}
    uploader = CSUploader(API, path, 1000, "user@example.com", "s3cret", uuid=DRIVE_UUID)
    uploader.retry_policy = Retry(total=2, backoff_factor=0.0)

    with pytest.raises(ChunkUploadError, match=r"chunk 1 \(bytes 1000-1999\)") as caught:
        uploader.start()

    assert caught.value.status_code == 500
    assert api.link_requests.count(1) == 3
    assert "s3cret" not in str(caught.value) and "s3cret" not in repr(uploader)


def test_console_progress_redraws_one_line_on_stderr(capsys):
    report = console_progress()

    report(512 * 1024, 2 * 1024**2)
    report(2 * 1024**2, 2 * 1024**2)

    err = capsys.readouterr().err
    assert err.startswith("\r0.5 of 2.0 MB (25%) /")
    assert err.endswith("\r2.0 of 2.0 MB (100%) -")


def test_read_chunk_reuses_a_buffer_that_is_large_enough(make_image):
    path = make_image(100)
    content = Path(path).read_bytes()
    buffer = _chunks.new_chunk_buffer(64)

    first = _chunks.read_chunk(path, 10, 50, buffer=buffer)
    bigger = _chunks.read_chunk(path, 0, 80, buffer=buffer)

    assert first.obj is buffer and bytes(first) == content[10:60]
    assert bigger.obj is not buffer and bytes(bigger) == content[:80]

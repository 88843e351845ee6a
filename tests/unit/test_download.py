"""Ranged, resumable drive downloads against a fake API built on ``responses``."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from pathlib import Path

import pytest
import responses

from cloudsigma.download import Download, DownloadError, RangeDownloadError, download_drive
from cloudsigma.policies import Retry

API = "http://api.test:8123/api/2.0/"
DRIVE_UUID = "0b9d2f3e-5a1c-4d2b-8e7f-6a5b4c3d2e1f"
CLIENT_KWARGS = {"api_endpoint": API, "username": "user@example.com", "password": "s3cret"}
NO_WAIT = Retry(total=3, backoff_factor=0.0)


def image_bytes(size: int) -> bytes:
    pattern = bytes(range(256)) + b"\x00\xff'\r\n"
    return (pattern * (size // len(pattern) + 1))[:size]


class FakeDownloadApi:
    """GET /drives/<uuid>/ and a download endpoint that honours Range (or not), with faults."""

    def __init__(self, rsps: responses.RequestsMock, content: bytes, ranges: bool = True) -> None:
        self.content, self.ranges = content, ranges
        self.lock = threading.Lock()
        self.requested: list[tuple[int, int] | None] = []
        #: Answers to give a range before serving it: a status, or a status and its headers.
        self.failures: dict[int, list[int | tuple[int, dict[str, str]]]] = {}
        self.delay = 0.0
        self.drive = {"uuid": DRIVE_UUID, "size": len(content), "status": "unmounted"}
        rsps.add_callback("GET", API + f"drives/{DRIVE_UUID}/", self.get_drive)
        rsps.add_callback("GET", API + f"drives/{DRIVE_UUID}/download/", self.download)

    def get_drive(self, request):
        return 200, {"Content-Type": "application/json"}, json.dumps(self.drive)

    def download(self, request):
        assert request.headers["Authorization"].startswith("Basic ")
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("Range", ""))
        if not self.ranges or not match:
            with self.lock:
                self.requested.append(None)
            return 200, {"Content-Type": "application/octet-stream"}, self.content
        start, end = int(match.group(1)), int(match.group(2))
        time.sleep(self.delay if start else 0)
        with self.lock:
            self.requested.append((start, end))
            failures = self.failures.get(start)
            if failures:
                failure = failures.pop(0)
                status, headers = failure if isinstance(failure, tuple) else (failure, {})
                return status, headers, "busy"
        headers = {"Content-Range": f"bytes {start}-{end}/{len(self.content)}"}
        return 206, headers, self.content[start : end + 1]

    def starts(self) -> list[int]:
        return sorted(span[0] for span in self.requested if span)


def make_download(path: Path, **kwargs) -> Download:
    download = Download(DRIVE_UUID, path, generic_client_kwargs=dict(CLIENT_KWARGS), **kwargs)
    download.retry_policy = NO_WAIT
    download.progress_report_interval = 0.01
    return download


@pytest.mark.parametrize("size", [700, 1000, 4000, 4321])
@responses.activate
def test_download_writes_a_byte_identical_file_from_parallel_ranges(tmp_path, size):
    content = image_bytes(size)
    api = FakeDownloadApi(responses.mock, content)
    target = tmp_path / "drive.img"

    assert make_download(target, chunk_size=1000, n_threads=3).run() == str(target)

    assert target.read_bytes() == content
    assert api.starts() == list(range(0, size, 1000))
    assert not (tmp_path / "drive.img.part").exists()
    assert not (tmp_path / "drive.img.part.json").exists()


@responses.activate
def test_a_server_without_ranges_is_read_in_one_stream(tmp_path):
    content = image_bytes(3500)
    api = FakeDownloadApi(responses.mock, content, ranges=False)
    target = tmp_path / "drive.img"

    make_download(target, chunk_size=1000, n_threads=4).run()

    assert target.read_bytes() == content
    assert api.requested == [None]


@responses.activate
def test_a_failed_range_is_fetched_again(tmp_path):
    content = image_bytes(3000)
    api = FakeDownloadApi(responses.mock, content)
    api.failures = {1000: [503, 502]}
    target = tmp_path / "drive.img"

    make_download(target, chunk_size=1000, n_threads=2).run()

    assert target.read_bytes() == content
    assert api.starts().count(1000) == 3


@responses.activate
def test_an_interrupted_download_resumes_without_fetching_finished_ranges(tmp_path):
    content = image_bytes(5000)
    api = FakeDownloadApi(responses.mock, content)
    api.failures = {3000: [503] * 10}
    target = tmp_path / "drive.img"
    first = make_download(target, chunk_size=1000, n_threads=1)
    first.retry_policy = Retry(total=1, backoff_factor=0.0)

    with pytest.raises(RangeDownloadError) as caught:
        first.run()

    assert caught.value.chunk_number == 3
    assert "range 3 (bytes 3000-3999)" in str(caught.value)
    assert not target.exists()
    state = json.loads((tmp_path / "drive.img.part.json").read_text())
    assert set(state["done"]) >= {0, 1, 2} and 3 not in state["done"]
    done_before = set(state["done"])
    api.failures.clear()
    api.requested.clear()
    seen: list[tuple[int, int]] = []

    make_download(
        target, chunk_size=1000, n_threads=2, progress_callback=lambda d, t: seen.append((d, t))
    ).run()

    assert target.read_bytes() == content
    assert api.starts() == [n * 1000 for n in range(5) if n not in done_before]
    assert seen[0][0] >= 3000 and seen[-1] == (5000, 5000)


@responses.activate
def test_a_partial_file_of_another_drive_is_not_trusted(tmp_path):
    content = image_bytes(2000)
    api = FakeDownloadApi(responses.mock, content)
    target = tmp_path / "drive.img"
    (tmp_path / "drive.img.part").write_bytes(b"\x01" * 2000)
    state = {"uuid": "another", "size": 2000, "chunk_size": 1000, "done": [0, 1]}
    (tmp_path / "drive.img.part.json").write_text(json.dumps(state))

    make_download(target, chunk_size=1000).run()

    assert target.read_bytes() == content
    assert api.starts() == [0, 1000]


@responses.activate
def test_download_drive_reports_progress_up_to_the_size(tmp_path):
    content = image_bytes(2500)
    FakeDownloadApi(responses.mock, content)
    seen: list[tuple[int, int]] = []

    download_drive(
        DRIVE_UUID,
        tmp_path / "drive.img",
        chunk_size=1000,
        n_threads=2,
        progress_callback=lambda done, total: seen.append((done, total)),
        progress_report_interval=0.01,
        **CLIENT_KWARGS,
    )

    assert seen[-1] == (2500, 2500)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


@responses.activate
def test_a_drive_that_cannot_be_downloaded_is_refused(tmp_path):
    api = FakeDownloadApi(responses.mock, image_bytes(100))
    api.drive["runtime"] = {"is_downloadable": False}

    with pytest.raises(DownloadError, match="cannot be downloaded"):
        make_download(tmp_path / "drive.img").run()

    assert api.requested == []


class Served(io.RawIOBase):
    """A body of ``size`` bytes (starting with ``prefix``) that counts what was read of it."""

    def __init__(self, size: int, prefix: bytes = b"") -> None:
        self.size, self.prefix, self.served = size, prefix, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.served)
        start = self.prefix[self.served : self.served + count]
        buffer[:count] = start + b"x" * (count - len(start))
        self.served += count
        return count


@pytest.mark.parametrize("announced", [True, False])
@responses.activate
def test_a_whole_answer_longer_than_the_drive_is_not_taken_for_its_image(tmp_path, announced):
    FakeDownloadApi(responses.mock, image_bytes(2000))
    body = image_bytes(5000) if announced else io.BufferedReader(Served(5000))
    responses.replace("GET", API + f"drives/{DRIVE_UUID}/download/", body=body, status=200)
    target = tmp_path / "drive.img"

    with pytest.raises(DownloadError, match="has 2000 bytes, but the server ignored the Range"):
        make_download(target, chunk_size=1000).run()

    assert not target.exists()


@responses.activate
def test_a_refusal_of_any_size_is_read_only_as_far_as_its_excerpt(tmp_path):
    FakeDownloadApi(responses.mock, image_bytes(2000))
    refusal = Served(1024**3, b"<html>")
    body = io.BufferedReader(refusal)
    responses.replace("GET", API + f"drives/{DRIVE_UUID}/download/", body=body, status=403)

    with pytest.raises(DownloadError, match="the server answered 403: <html>xxx"):
        make_download(tmp_path / "drive.img", chunk_size=1000).run()

    assert refusal.served < 1024**2  # of the GiB offered, the start


@responses.activate
def test_a_range_and_its_retries_end_within_the_deadline(tmp_path):
    api = FakeDownloadApi(responses.mock, image_bytes(1000))
    api.failures[0] = [503] * 10
    download = Download(
        DRIVE_UUID,
        tmp_path / "drive.img",
        generic_client_kwargs={**CLIENT_KWARGS, "timeout": (0.1, 0.2), "deadline": 0.5},
    )
    download.retry_policy = Retry(total=10, backoff_factor=0.2, jitter=False)

    with pytest.raises(RangeDownloadError, match="failed after 2 attempts") as failed:
        download.run()

    # slept 0.2 s after the first 503; the next sleep (0.4 s) would end past the deadline
    assert api.starts() == [0, 0]
    assert "past the 0.5 s deadline of the call" in " ".join(failed.value.__notes__)


def deadline_download(path: Path, retry: Retry) -> Download:
    download = Download(
        DRIVE_UUID,
        path,
        generic_client_kwargs={**CLIENT_KWARGS, "timeout": (0.5, 1.0), "deadline": 5.0},
    )
    download.retry_policy = retry
    return download


@responses.activate
def test_a_refused_range_waits_as_long_as_its_retry_after_asks(tmp_path):
    content = image_bytes(1000)
    api = FakeDownloadApi(responses.mock, content)
    api.failures[0] = [(503, {"Retry-After": "0.01"})]
    # Its own backoff (100 s) would not fit the 5 s deadline: only the server's wish does.
    slow = Retry(total=3, backoff_factor=100.0, backoff_max=100.0, jitter=False)

    deadline_download(tmp_path / "drive.img", slow).run()

    assert (tmp_path / "drive.img").read_bytes() == content
    assert api.starts() == [0, 0]


@responses.activate
def test_a_retry_after_past_the_deadline_ends_the_range_at_once(tmp_path):
    api = FakeDownloadApi(responses.mock, image_bytes(1000))
    api.failures[0] = [(429, {"Retry-After": "60"})] * 4

    with pytest.raises(RangeDownloadError, match="failed after 1 attempt") as failed:
        deadline_download(tmp_path / "drive.img", NO_WAIT).run()

    assert api.starts() == [0]
    assert "(Retry-After: 60 s), past the 5.0 s deadline" in " ".join(failed.value.__notes__)


@responses.activate
def test_a_wrong_content_range_is_an_error(tmp_path):
    FakeDownloadApi(responses.mock, image_bytes(2000))
    responses.replace(
        "GET",
        API + f"drives/{DRIVE_UUID}/download/",
        body=b"x" * 1000,
        status=206,
        headers={"Content-Range": "bytes 1000-1999/2000"},
    )

    with pytest.raises(DownloadError, match="asked drive .* for bytes 0-999"):
        make_download(tmp_path / "drive.img", chunk_size=1000).run()


@responses.activate
def test_an_interrupt_keeps_the_finished_ranges_for_the_next_run(tmp_path):
    content = image_bytes(8000)
    api = FakeDownloadApi(responses.mock, content)
    api.delay = 0.1
    target = tmp_path / "drive.img"

    def interrupt(done: int, total: int) -> None:
        if done >= 2000:
            raise KeyboardInterrupt

    first = make_download(target, chunk_size=1000, n_threads=2, progress_callback=interrupt)
    with pytest.raises(KeyboardInterrupt):
        first.run()

    assert not first._workers_alive() and first._fd == -1
    state = json.loads((tmp_path / "drive.img.part.json").read_text())
    assert 0 in state["done"] and len(state["done"]) < 8
    api.delay = 0.0
    api.requested.clear()

    make_download(target, chunk_size=1000, n_threads=2).run()

    assert target.read_bytes() == content
    assert not set(api.starts()) & {n * 1000 for n in state["done"]}


@responses.activate
def test_a_resumed_download_fetches_again_a_finished_range_whose_bytes_changed(tmp_path):
    content = image_bytes(5000)
    api = FakeDownloadApi(responses.mock, content)
    api.failures = {4000: [503] * 10}
    target = tmp_path / "drive.img"
    first = make_download(target, chunk_size=1000, n_threads=1)
    first.retry_policy = Retry(total=0)
    with pytest.raises(RangeDownloadError):
        first.run()
    state = json.loads((tmp_path / "drive.img.part.json").read_text())
    assert set(state["done"]) == {0, 1, 2, 3}
    assert set(state["digests"]) == {"0", "1", "2", "3"}
    part = tmp_path / "drive.img.part"
    with part.open("r+b") as partial:  # a disk error, or another program, spoils range 1
        partial.seek(1500)
        partial.write(b"\x00\xff" * 10)
    api.failures.clear()
    api.requested.clear()

    make_download(target, chunk_size=1000, n_threads=2).run()

    assert target.read_bytes() == content
    assert api.starts() == [1000, 4000]


@responses.activate
def test_a_state_file_without_digests_vouches_for_nothing(tmp_path):
    content = image_bytes(2000)
    api = FakeDownloadApi(responses.mock, content)
    target = tmp_path / "drive.img"
    (tmp_path / "drive.img.part").write_bytes(b"\x01" * 2000)
    state = {"uuid": DRIVE_UUID, "size": 2000, "chunk_size": 1000, "done": [0, 1]}
    (tmp_path / "drive.img.part.json").write_text(json.dumps(state))

    make_download(target, chunk_size=1000).run()

    assert target.read_bytes() == content
    assert api.starts() == [0, 1000]

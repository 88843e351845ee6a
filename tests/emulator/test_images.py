"""Drive images that really move: chunked uploads and ranged downloads against the emulator,
with requests made to fail, an upload cut short and resumed, and a download killed and resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from cloudsigma import _chunks
from cloudsigma.download import Download, download_drive
from cloudsigma.policies import Retry
from cloudsigma.resource import Drive
from cloudsigma.resumable_upload import ChunkUploadError, Upload
from cloudsigma.upload_client import CSUploader

CHUNK = 256 * 1024
QUICK_RETRY = Retry(total=4, backoff_factor=0.01, backoff_max=0.05)


def write_image(path: Path, size: int, seed: int) -> str:
    path.write_bytes(random.Random(seed).randbytes(size))
    return str(path)


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def chunk_number_of(request: requests.PreparedRequest) -> int | None:
    """The resumable chunk number of an upload POST (from its multipart fields), else None."""
    if request.method != "POST" or "/upload/" not in request.url:
        return None
    marker = b'name="resumableChunkNumber"\r\n\r\n'
    body = bytes(request.body)
    start = body.index(marker) + len(marker)
    return int(body[start : body.index(b"\r\n", start)])


def range_start_of(request: requests.PreparedRequest) -> int | None:
    header = request.headers.get("Range", "")
    return int(header[len("bytes=") :].split("-")[0]) if header.startswith("bytes=") else None


class FlakyAdapter(HTTPAdapter):
    """Breaks chosen requests: before they leave (nothing reaches the server) or after the
    answer came back (the server did the work, the client never hears of it)."""

    def __init__(self, journal: FaultJournal) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)
        self.journal = journal

    def send(self, request, *args, **kwargs):
        when = self.journal.fault_for(request)
        if when == "before":
            raise requests.ConnectionError("connection reset (injected before sending)")
        response = super().send(request, *args, **kwargs)
        if when == "after":
            response.close()
            raise requests.ConnectionError("connection reset (injected after the answer)")
        return response


class FaultJournal:
    """Which requests to break, and what every worker thread sent."""

    def __init__(self, key, faults: dict[int, list[str]] | None = None) -> None:
        self.key, self.faults = key, faults or {}
        self.lock = threading.Lock()
        self.sent: list[int] = []
        self.broken: list[int] = []

    def fault_for(self, request) -> str | None:
        number = self.key(request)
        if number is None:
            return None
        with self.lock:
            self.sent.append(number)
            plan = self.faults.get(number)
            if plan:
                self.broken.append(number)
                return plan.pop(0) if len(plan) > 1 or plan[0] != "always" else "before"
        return None

    def session_factory(self, auth, verify=True):
        def new_session() -> requests.Session:
            session = requests.Session()
            adapter = FlakyAdapter(self)
            session.mount("http://", adapter)
            session.auth = auth
            session.verify = verify
            return session

        return new_session


def journal_entries(emu) -> list[dict]:
    base = urllib.parse.urlsplit(emu.api_endpoint)
    answer = requests.get(
        f"{base.scheme}://{base.netloc}/_emulator/journal",
        headers=emu.control_headers,
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["objects"]


def flaky_upload(path: str, faults: FaultJournal, **kwargs) -> Upload:
    upload = Upload(path, chunk_size=CHUNK, progress_report_interval=0.05, **kwargs)
    upload.retry_policy = QUICK_RETRY
    upload._new_session = faults.session_factory(_chunks.client_auth(upload.c))
    return upload


def test_parallel_upload_survives_failing_requests_and_downloads_back_identical(
    cloudsigma_emulator, tmp_path
):
    image = write_image(tmp_path / "disk.raw", 3 * 1024 * 1024 + 12345, seed=1)
    faults = FaultJournal(chunk_number_of, {2: ["before"], 5: ["before", "before"], 9: ["after"]})
    seen: list[tuple[int, int]] = []
    upload = flaky_upload(
        image, faults, n_threads=4, progress_callback=lambda done, total: seen.append((done, total))
    )

    drive = upload.upload()

    size = os.path.getsize(image)
    assert drive["status"] == "unmounted" and drive["size"] == size
    assert Drive().get(upload.drive_uuid)["status"] == "unmounted"
    assert sorted(faults.broken) == [2, 5, 5, 9]
    assert faults.sent.count(5) == 3 and faults.sent.count(9) == 1  # 9 was stored, then skipped
    assert seen[-1] == (size, size)
    target = tmp_path / "back.raw"
    download_drive(upload.drive_uuid, target, chunk_size=CHUNK * 3, n_threads=3)
    assert sha256_of(target) == sha256_of(image)


def test_link_uploader_moves_the_real_bytes(cloudsigma_emulator, tmp_path):
    image = write_image(tmp_path / "link.raw", 1024 * 1024 + 777, seed=2)
    emu = cloudsigma_emulator
    uploader = CSUploader(emu.api_endpoint, image, CHUNK, emu.username, emu.password, n_threads=3)
    uploader.retry_policy = QUICK_RETRY

    drive_uuid = uploader.start()

    target = tmp_path / "back.raw"
    download_drive(drive_uuid, target, chunk_size=CHUNK, n_threads=2)
    assert sha256_of(target) == sha256_of(image)


def test_interrupted_upload_resumes_to_an_identical_drive_without_resending(
    cloudsigma_emulator, tmp_path
):
    image = write_image(tmp_path / "resume.raw", 2 * 1024 * 1024 + 999, seed=3)
    first_faults = FaultJournal(chunk_number_of, {6: ["always"]})
    first = flaky_upload(image, first_faults, n_threads=2)
    first.retry_policy = Retry(total=1, backoff_factor=0.0)

    with pytest.raises(ChunkUploadError) as caught:
        first.upload()

    assert caught.value.chunk_number == 6
    drive_uuid = first.drive_uuid
    assert Drive().get(drive_uuid)["status"] == "uploading"
    stored_first = {n for n in first_faults.sent if n != 6}
    second_faults = FaultJournal(chunk_number_of)

    drive = flaky_upload(image, second_faults, drive_uuid=drive_uuid, n_threads=3).upload()

    assert drive["uuid"] == drive_uuid and drive["status"] == "unmounted"
    assert 6 in second_faults.sent
    assert not stored_first & set(second_faults.sent)
    target = tmp_path / "back.raw"
    download_drive(drive_uuid, target, chunk_size=CHUNK, n_threads=4)
    assert sha256_of(target) == sha256_of(image)


KILLABLE_DOWNLOAD = textwrap.dedent(
    """
    import sys, threading
    from cloudsigma.download import Download

    uuid, path, chunk, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fetch_once = Download._fetch_range_once

    def fetch_or_hang(self, chunk_spec, allow_whole_body):
        if chunk_spec.number >= stop_at:
            threading.Event().wait()  # hang here until killed
        return fetch_once(self, chunk_spec, allow_whole_body)

    Download._fetch_range_once = fetch_or_hang
    Download(uuid, path, chunk_size=chunk, n_threads=1).run()
    """
)


def test_killed_download_resumes_to_an_identical_file_without_refetching(
    cloudsigma_emulator, tmp_path
):
    image = write_image(tmp_path / "source.raw", 2 * 1024 * 1024 + 4321, seed=4)
    upload = Upload(image, chunk_size=CHUNK, n_threads=4, progress_report_interval=0.05)
    drive_uuid = upload.upload()["uuid"]
    target = tmp_path / "killed.raw"
    state_path = tmp_path / "killed.raw.part.json"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_DOWNLOAD, drive_uuid, str(target), str(CHUNK), "3"],
        env=dict(os.environ),
    )
    try:
        done = _wait_for_finished_ranges(state_path, {0, 1, 2}, child)
    finally:
        child.kill()
        child.wait(timeout=10)

    assert done == {0, 1, 2}
    assert not target.exists() and (tmp_path / "killed.raw.part").exists()
    faults = FaultJournal(range_start_of)
    download = Download(drive_uuid, target, chunk_size=CHUNK, n_threads=3)
    download._new_session = faults.session_factory(_chunks.client_auth(download.c))

    download.run()

    assert sha256_of(target) == sha256_of(image)
    assert sorted(faults.sent) == [n * CHUNK for n in range(3, 9)]
    assert not state_path.exists() and not (tmp_path / "killed.raw.part").exists()


def _wait_for_finished_ranges(state_path: Path, wanted: set[int], child) -> set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, "the download ended before it could be killed"
        try:
            done = set(json.loads(state_path.read_text())["done"])
        except (OSError, ValueError, KeyError):
            done = set()
        if done >= wanted:
            return done
        time.sleep(0.05)
    raise AssertionError(f"the download did not finish ranges {sorted(wanted)} within 60 s")


def test_a_new_upload_only_posts_and_a_resume_of_a_complete_drive_only_asks(
    cloudsigma_emulator, tmp_path
):
    image = write_image(tmp_path / "count.raw", 5 * CHUNK + 10, seed=5)
    upload = Upload(image, chunk_size=CHUNK, n_threads=2, progress_report_interval=0.05)

    drive_uuid = upload.upload()["uuid"]
    first = upload_requests(cloudsigma_emulator, drive_uuid)
    Upload(image, drive_uuid=drive_uuid, chunk_size=CHUNK).upload()  # everything is there
    second = upload_requests(cloudsigma_emulator, drive_uuid)[len(first) :]

    assert sorted(first) == [("POST", 200)] * 5
    assert sorted(second) == [("GET", 200)] * 5


def upload_requests(emu, drive_uuid: str) -> list[tuple[str, int]]:
    return [
        (entry["method"], entry["status"])
        for entry in journal_entries(emu)
        if entry["path"].rstrip("/").endswith(f"{drive_uuid}/upload")
    ]


def test_upload_client_command_line_prints_the_new_drive(
    cloudsigma_emulator, tmp_path, capsys, caplog
):
    from cloudsigma.upload_client import main

    emu = cloudsigma_emulator
    image = write_image(tmp_path / "cli.raw", 3 * CHUNK + 5, seed=6)
    argv = [image, "-a", emu.api_endpoint, "-u", emu.username, "-p", emu.password]

    assert main([*argv, "-s", str(CHUNK), "-n", "2"]) == 0

    drive_uuid = capsys.readouterr().out.strip().splitlines()[-1]
    drive = Drive().get(drive_uuid)
    assert drive["status"] == "unmounted" and drive["size"] == os.path.getsize(image)
    other = write_image(tmp_path / "other.raw", CHUNK, seed=7)
    assert main([other, drive_uuid, *argv[1:]]) == 1  # not the size of that drive
    assert "has 262144 bytes but drive" in caplog.text

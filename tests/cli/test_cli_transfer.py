"""``drives upload`` and ``drives download``: a round trip keeps every byte."""

from __future__ import annotations

import hashlib
import os

import pytest
from cli_support import UNKNOWN_UUID, api_error, assert_reports_api_error, record_fields

from cloudsigma import resource
from cloudsigma.cli import main

MIB = 1024**2


def image(tmp_path, name: str, size: int):
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_creates_a_drive_resumes_and_refuses_a_wrong_size_drive(cli, tmp_path):
    first = image(tmp_path, "first.img", 3 * MIB + 123)
    shown = cli("drives", "upload", str(first), "--name", "img", "--chunk-size", "1M")
    shown.expect(0)
    fields = record_fields(shown.stdout)
    assert (fields["name"], fields["status"]) == ("img", "unmounted")
    assert shown.stderr == ""  # no progress bar drawn into a pipe or a log

    second = image(tmp_path, "second.img", 2 * MIB + 7)
    uploaded = cli(
        "--json", "drives", "upload", str(second), "--threads", "2", "--chunk-size", "1M"
    )
    drive = uploaded.expect(0).json()
    assert drive["size"] == 2 * MIB + 7
    resumed = cli("--json", "drives", "upload", str(second), "--uuid", drive["uuid"]).expect(0)
    assert resumed.json()["uuid"] == drive["uuid"]

    wrong = cli("drives", "upload", str(first), "--uuid", drive["uuid"]).expect(1)
    assert f"drive {drive['uuid']} has {2 * MIB + 7}" in wrong.stderr
    absent = cli("drives", "upload", str(tmp_path / "absent.img")).expect(1)
    assert "absent.img" in absent.stderr


def test_download_writes_the_uploaded_bytes_and_reports_unknown_drives(cli, tmp_path):
    original = image(tmp_path, "original.img", 2 * MIB + 321)
    drive = cli("--json", "drives", "upload", str(original), "--chunk-size", "1M").expect(0).json()

    copy = tmp_path / "copy.img"
    shown = cli("drives", "download", drive["uuid"], str(copy)).expect(0)
    assert shown.stdout.strip() == f"downloaded drive {drive['uuid']} to {copy}"
    assert sha256(copy) == sha256(original)

    second_copy = tmp_path / "second.img"
    cli("--json", "drives", "download", drive["uuid"], str(second_copy)).expect(0).json()
    assert sha256(second_copy) == sha256(original)

    error = api_error(lambda: resource.Drive().get(UNKNOWN_UUID))
    failed = cli("drives", "download", UNKNOWN_UUID, str(tmp_path / "none.img"))
    assert_reports_api_error(failed, error)
    assert not (tmp_path / "none.img").exists()


@pytest.mark.parametrize("failure", ["transfer error", "ctrl-c"])
@pytest.mark.parametrize("verb", ["upload", "download"])
def test_a_broken_transfer_says_how_to_resume(
    cloudsigma_emulator, tmp_path, monkeypatch, capsys, verb, failure
):
    from cloudsigma import download, resumable_upload

    path = image(tmp_path, "disk.img", 4096)

    def fail(transfer):
        if verb == "upload":
            transfer.drive_uuid = "d-123"  # the drive was made before the failure
        if failure == "ctrl-c":
            raise KeyboardInterrupt
        error = (
            resumable_upload.ChunkUploadError if verb == "upload" else download.RangeDownloadError
        )
        raise error("chunk 3 failed for good", 503, 3)

    if verb == "upload":
        monkeypatch.setattr(resumable_upload.Upload, "upload", fail)
        status = main(["drives", "upload", str(path)])
        resume = f"cloudsigma drives upload {path} --uuid d-123"
    else:
        monkeypatch.setattr(download.Download, "run", fail)
        status = main(["drives", "download", UNKNOWN_UUID, str(path)])
        resume = f"cloudsigma drives download {UNKNOWN_UUID} {path}"
    stderr = capsys.readouterr().err
    assert status == (130 if failure == "ctrl-c" else 1)
    assert f"to resume: {resume}" in stderr
    assert ("interrupted" if failure == "ctrl-c" else "chunk 3 failed for good") in stderr


def test_raw_upload_sends_the_image_in_one_post_and_keeps_every_byte(
    cli, cloudsigma_emulator, tmp_path
):
    original = image(tmp_path, "raw.img", 3 * MIB + 17)
    before = len(cloudsigma_emulator.journal)
    drive = cli("--json", "drives", "upload", str(original), "--raw", "--name", "raw")
    drive = drive.expect(0).json()
    assert (drive["name"], drive["status"]) == ("raw", "unmounted")
    posts = [e for e in cloudsigma_emulator.journal[before:] if e["method"] == "POST"]
    # The documented raw upload (the journal masks the name in its path), not initupload + chunks.
    assert [e["path"] for e in posts] == ["/api/2.0/drives/upload/<link>/"]

    copy = tmp_path / "copy.img"
    cli("drives", "download", drive["uuid"], str(copy)).expect(0)
    assert copy.read_bytes()[: original.stat().st_size] == original.read_bytes()


@pytest.mark.parametrize("option", [["--uuid", UNKNOWN_UUID], ["--media", "cdrom"]])
def test_raw_upload_refuses_options_it_cannot_honour_before_sending(
    cli, cloudsigma_emulator, tmp_path, option
):
    path = image(tmp_path, "raw.img", 4096)
    before = len(cloudsigma_emulator.journal)
    refused = cli("drives", "upload", str(path), "--raw", *option).expect(2)
    assert f"does not take {option[0]}" in refused.stderr
    assert cloudsigma_emulator.journal[before:] == []

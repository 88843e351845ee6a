"""``drives upload`` and ``drives download``: move raw images with a progress display."""

from __future__ import annotations

import argparse
import sys

from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.progress import Progress
from cloudsigma.cli.refs import resolve
from cloudsigma.cli.resources import add_reference
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES, UsageError
from cloudsigma.cli.values import size

DRIVES = RESOURCES["drives"]

__all__ = ["add_transfer_commands"]


def _upload(args: argparse.Namespace, session: Session) -> int:
    if args.raw:
        return _raw_upload(args, session)
    from cloudsigma.resumable_upload import ChunkUploadError, Upload

    drive_uuid = resolve(session, DRIVES, args.uuid) if args.uuid else None
    with Progress(f"upload {args.path}", enabled=session.progress) as progress:
        upload = Upload(
            args.path,
            drive_uuid=drive_uuid,
            chunk_size=args.chunk_size,
            n_threads=args.threads,
            drive_name=args.name,
            drive_media=args.media,
            progress_callback=progress,
            progress_report_interval=0.2,
            generic_client_kwargs=session.client_kwargs(),
        )
        try:
            drive = upload.upload()
        except (KeyboardInterrupt, ChunkUploadError):
            if upload.drive_uuid:
                _hint(f"cloudsigma drives upload {args.path} --uuid {upload.drive_uuid}")
            raise
        progress(upload.file_size, upload.file_size)
    session.show_object(drive, DRIVES)
    return 0


def _raw_upload(args: argparse.Namespace, session: Session) -> int:
    """The documented upload: one streamed POST to the direct host, which cannot resume."""
    if args.uuid or args.media != "disk":
        option = "--uuid" if args.uuid else "--media"
        raise UsageError(f"--raw makes a new disk in one request; it does not take {option}")
    with Progress(f"upload {args.path}", enabled=session.progress) as progress:
        drive = session.api(DRIVES).upload_image(args.path, name=args.name, progress=progress)
    session.show_object(drive, DRIVES)
    return 0


def _hint(resume_command: str) -> None:
    print(f"\nto resume: {resume_command}", file=sys.stderr)


def _download(args: argparse.Namespace, session: Session) -> int:
    from cloudsigma.download import Download, RangeDownloadError

    uuid = resolve(session, DRIVES, args.ref)
    with Progress(f"download {uuid}", enabled=session.progress) as progress:
        download = Download(
            uuid,
            args.path,
            chunk_size=args.chunk_size,
            n_threads=args.threads,
            progress_callback=progress,
            progress_report_interval=0.2,
            generic_client_kwargs=session.client_kwargs(),
        )
        try:
            path = download.run()
        except (KeyboardInterrupt, RangeDownloadError):
            _hint(f"cloudsigma drives download {uuid} {args.path}")
            raise
        progress(download.size, download.size)
    session.say(
        f"downloaded drive {uuid} to {path}", {"uuid": uuid, "path": path, "size": download.size}
    )
    return 0


def _add_parallel_options(parser: argparse.ArgumentParser, default_chunk: str, unit: str) -> None:
    parser.add_argument(
        "--chunk-size",
        type=size,
        default=size(default_chunk),
        metavar="SIZE",
        help=f"bytes per {unit}, e.g. 5M (default: {default_chunk})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        metavar="N",
        help=f"{unit}s in flight at once (default: 4)",
    )


def add_transfer_commands(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``drives upload FILE`` and ``drives download UUID FILE``."""
    upload = kit.add(
        verbs,
        "upload",
        "upload a raw image into a new drive (or resume an upload)",
        _upload,
        description="Upload a raw disk image in parallel chunks. An interrupted upload resumes "
        "with --uuid: chunks the drive already has are skipped. With --raw, the image goes in "
        "one streamed request to the location's direct host, as the API documents it (no "
        "resume).",
        examples=(
            "cloudsigma drives upload disk.img --name my-image",
            "cloudsigma drives upload disk.img --uuid DRIVE_UUID   # resume",
            "cloudsigma drives upload disk.img --raw --name my-image",
        ),
    )
    upload.add_argument("path", metavar="FILE", help="raw image to upload")
    upload.add_argument(
        "--uuid", metavar="DRIVE", help="resume the upload into this drive (uuid or name)"
    )
    upload.add_argument("--name", help="name of the new drive (default: Upload_<date>)")
    upload.add_argument("--media", choices=("disk", "cdrom"), default="disk")
    upload.add_argument(
        "--raw",
        action="store_true",
        help="one streamed POST to the direct host (the documented upload) instead of chunks",
    )
    _add_parallel_options(upload, "5M", "chunk")

    download = kit.add(
        verbs,
        "download",
        "download a drive into a file",
        _download,
        description="Download a drive's raw image into FILE, in parallel ranges. Run it again "
        "after an interruption to fetch only what is missing (FILE.part holds the partial file).",
        examples=("cloudsigma drives download my-image disk.img",),
    )
    add_reference(download, DRIVES)
    download.add_argument("path", metavar="FILE", help="where to write the image")
    _add_parallel_options(download, "8M", "range")

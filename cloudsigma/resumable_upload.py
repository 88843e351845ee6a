"""Chunked, resumable upload of a raw drive image (the resumable.js protocol).

``Upload(path).upload()`` creates a drive of the file's exact size through
``/initupload/`` and sends the file in chunks on several threads; give
``drive_uuid`` to resume an interrupted upload to the same drive.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from cloudsigma import _chunks, _ids, download
from cloudsigma._chunks import ChunkSpec, ChunkUploads
from cloudsigma.errors import (
    ChunkUploadError,
    SizeMismatchError,
    UploadError,
)
from cloudsigma.policies import Retry, WaitPolicy
from cloudsigma.resource import Drive, ResourceBase

__all__ = ["Upload", "UploadError", "ChunkUploadError", "SizeMismatchError"]

LOG = logging.getLogger(__name__)


class Upload(ChunkUploads, ResourceBase):
    """Upload a raw image to a drive in parallel chunks, skipping chunks already stored.

    :param image_path: the raw image file to upload.
    :param drive_uuid: resume the upload to this drive (created by an earlier upload).
    :param chunk_size: bytes per chunk; the last chunk also takes the remainder.
    :param n_threads: how many chunks travel at once (each thread keeps one connection).
    :param drive_name: name of the new drive; ``Upload_<UTC date and time>`` when not given.
    :param drive_media: ``disk`` or ``cdrom``.
    :param progress_callback: called as ``progress_callback(uploaded, total)`` in bytes.
    :param progress_report_interval: seconds between ``progress_callback`` calls.
    :param generic_client_kwargs: arguments for the client (``api_endpoint``, ``username``, ...).
    """

    resource_name = "initupload"

    #: Retries of one chunk (backoff with jitter); replace it on an instance to tune.
    retry_policy: Retry = _chunks.DEFAULT_CHUNK_RETRY
    #: How long the drive may take to turn ``unmounted`` after the last chunk.
    finish_wait: WaitPolicy = _chunks.DEFAULT_FINISH_WAIT

    def __init__(
        self,
        image_path: str | os.PathLike[str],
        drive_uuid: str | None = None,
        chunk_size: int = 5 * 1024**2,
        n_threads: int = 4,
        drive_name: str | None = None,
        drive_media: str = "disk",
        progress_callback: Callable[[int, int], Any] | None = None,
        progress_report_interval: float = 1,
        generic_client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.generic_client_kwargs = dict(generic_client_kwargs or {})
        super().__init__(**self.generic_client_kwargs)
        _chunks.upload_chunks(0, chunk_size)  # validates chunk_size early
        if n_threads < 1:
            raise ValueError(f"n_threads must be >= 1, not {n_threads!r}")
        self.image_path = os.fspath(image_path)
        self.drive_uuid = (
            None if drive_uuid is None else _ids.check_id(drive_uuid, argument="drive_uuid")
        )
        self.chunk_size = chunk_size
        self.n_threads = n_threads
        self.file_size = os.path.getsize(image_path)
        self.create_data = {
            "name": drive_name
            or f"Upload_{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S}",
            "media": drive_media,
            "size": self.file_size,
        }
        self.dc = Drive.from_client(self.c)
        self.progress_callback = progress_callback
        self.progress_report_interval = progress_report_interval
        self._drive_size: int | None = None
        self._drive_status: str | None = None
        self._fresh_drive = False
        self._init_workers()

    @property
    def remote_size(self) -> int:
        """The size of the target drive, as the API reports it."""
        if self._drive_size is None:
            drive = _chunks.single_object(self.dc.get(self.drive_uuid))
            self._drive_size = int(drive["size"])
            self._drive_status = drive.get("status")
        return self._drive_size

    def upload(self) -> dict[str, Any]:
        """Create the drive (unless resuming), send every missing chunk, and wait until
        the drive is ``unmounted`` with the image's size.

        :returns: the uploaded drive.
        :raises SizeMismatchError: when the drive's size is not the file's size.
        :raises ChunkUploadError: when a chunk fails after its retries (names the chunk).
        :raises UploadError: when the drive does not end ``unmounted`` with the right size,
            or was finished before (not ``uploading``) and holds another image.
        """
        if self.file_size == 0:
            raise UploadError(f"{self.image_path} is empty; there is nothing to upload")
        # A drive created just now holds no chunk: asking about each one would only cost
        # a round trip per chunk. A chunk that failed is asked about before it is sent again.
        self._fresh_drive = not self.drive_uuid
        if not self.drive_uuid:
            self.drive_uuid = _chunks.single_object(self.create(self.create_data))["uuid"]
            self._drive_size = None
            LOG.info("created drive %s for %s", self.drive_uuid, self.image_path)
        self._check_remote_size()
        finished_before = self._drive_status not in (None, "uploading")
        self.finished = False
        self.enqueue_chunks()
        self.start_threads()
        self._wait_for_workers()
        self.finished = True
        if finished_before:
            # A finished drive answers "stored" for every chunk: only its bytes tell
            # whether it holds this image or another one.
            self._check_holds_the_image()
        return _chunks.wait_until_stored(
            lambda: _chunks.single_object(self.dc.get(self.drive_uuid)),
            str(self.drive_uuid),
            self.file_size,
            self.finish_wait,
        )

    def _check_holds_the_image(self) -> None:
        difference = download.first_difference(self.c, str(self.drive_uuid), self.image_path)
        if difference is not None:
            raise UploadError(
                f"drive {self.drive_uuid} was {self._drive_status!r}, not 'uploading', before "
                f"this upload: it already holds an image, which differs from {self.image_path} "
                f"from byte {difference} on, and an upload only fills a drive created for it; "
                "upload to a new drive (leave drive_uuid out)"
            )

    def _check_remote_size(self) -> None:
        if self.remote_size != self.file_size:
            raise SizeMismatchError(
                f"file {self.image_path} has {self.file_size} bytes but drive "
                f"{self.drive_uuid} has {self.remote_size}; upload to a new drive instead"
            )

    def retry(self) -> dict[str, Any]:
        """Upload again from a zero progress count; chunks already stored are skipped."""
        self.uploaded_size = 0
        return self.upload()

    def file_chunks(self) -> Iterator[ChunkSpec]:
        """Yield ``(chunk_number, chunk_offset, real_chunk_size)``, numbered from 1.

        All chunks have ``chunk_size`` bytes except the last, which holds the remainder too.
        """
        return _chunks.upload_chunks(self.file_size, self.chunk_size, first_number=1)

    def _progress_total(self) -> int:
        return self.file_size

    def upload_chunk(self, chunk_number: int, chunk_offset: int, real_chunk_size: int) -> bool:
        """Send one chunk unless the server says it already has it.

        :returns: True if the chunk was sent, False if it was already stored.
        :raises ChunkUploadError: after the retries, or at once for a non-transient answer.
        """
        end = chunk_offset + real_chunk_size - 1
        attempts = itertools.count()

        def attempt() -> bool:
            ask_first = not self._fresh_drive or next(attempts) > 0
            return self._send_chunk(chunk_number, chunk_offset, real_chunk_size, ask_first)

        return _chunks.with_retries(
            attempt,
            self.retry_policy,
            f"chunk {chunk_number} (bytes {chunk_offset}-{end}) of {self.image_path}",
            f"upload again with drive_uuid={self.drive_uuid!r} to resume",
            chunk_number,
            ChunkUploadError,
        )

    def _send_chunk(
        self, chunk_number: int, chunk_offset: int, real_chunk_size: int, ask_first: bool = True
    ) -> bool:
        session, url = self._session(), self._upload_url()
        fields = self._resumable_fields(chunk_number)
        if ask_first and self._is_stored(session, url, fields):
            LOG.debug("chunk %d of %s is already stored", chunk_number, self.drive_uuid)
            return False
        prefix, suffix, content_type = _chunks.multipart_frame(
            fields.items(), "file", os.path.basename(self.image_path)
        )
        buffer = self._chunk_buffer(len(prefix) + real_chunk_size + len(suffix))
        body = _chunks.read_chunk(
            self.image_path, chunk_offset, real_chunk_size, prefix, suffix, buffer
        )
        response = self._send(
            session, "POST", url, data=body, headers={"Content-Type": content_type}
        )
        del body
        if not response.ok:
            raise _chunks.refused(response, "the server refused it", self._transfer_secrets())
        return True

    def _is_stored(self, session: Any, url: str, fields: dict[str, str]) -> bool:
        """The resumable.js test: a 2xx answer to GET means the chunk is there.

        A 429 or 5xx says nothing about the chunk, so it fails the attempt rather than
        count as "not there": re-sending a last chunk that was stored already would meet a
        drive that is no longer uploading.
        """
        check = self._send(session, "GET", url, params=fields)
        if check.status_code in _chunks.TRANSIENT_STATUSES:
            raise _chunks.refused(
                check, "asking whether it is stored failed", self._transfer_secrets()
            )
        return bool(check.ok)

    def _send(self, session: Any, method: str, url: str, **kwargs: Any) -> Any:
        return _chunks.send_attempt(
            session,
            method,
            url,
            timeout=self._timeout(),
            deadline=self.c.deadline,
            max_bytes=self.c.max_response_bytes,
            **kwargs,
        )

    def _transfer_secrets(self) -> list[str]:
        return _chunks.secrets_of(self.c.username, self.c.password)

    def _resumable_fields(self, chunk_number: int) -> dict[str, str]:
        filename = os.path.basename(self.image_path)
        return {
            "resumableChunkNumber": str(chunk_number),
            "resumableChunkSize": str(self.chunk_size),
            "resumableTotalSize": str(self.file_size),
            "resumableIdentifier": filename,
            "resumableFilename": filename,
        }

    def _upload_url(self) -> str:
        return f"{_chunks.api_endpoint(self.c)}drives/{self.drive_uuid}/upload/"

    def _timeout(self) -> tuple[float, float]:
        return _chunks.client_timeout(self.c)

    def _new_session(self) -> Any:
        return _chunks.new_session(_chunks.client_auth(self.c), _chunks.client_verify(self.c))

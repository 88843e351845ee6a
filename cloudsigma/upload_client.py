"""Chunked upload of a raw drive image through per-chunk upload links.

For each chunk, ``POST /drives/<uuid>/action/?do=upload_chunk`` hands out a link
(416 when the chunk is already stored), and the raw chunk bytes are posted to it.
Run as ``python -m cloudsigma.upload_client IMAGE [DRIVE_UUID] -a URL -u USER -p PASS``.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import itertools
import logging
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from cloudsigma import _chunks, _ids, conf, download
from cloudsigma._chunks import ChunkSpec, ChunkUploads
from cloudsigma.errors import ChunkUploadError, TransferAttemptError, UploadError
from cloudsigma.policies import Retry, Timeout, WaitPolicy

__all__ = ["CSUploader", "UploadError", "INIT_HEADERS", "UPLOAD_HEADERS", "console_progress"]

LOG = logging.getLogger(__name__)

INIT_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
UPLOAD_HEADERS = {"Content-Type": "application/octet-stream", "Accept": "application/json"}


def console_progress() -> Callable[[int, int], None]:
    """A progress callback that redraws ``12.0 of 40.0 MB (30%) /`` on stderr."""
    spinner = itertools.cycle("/-\\")

    def output_progress(uploaded: int, total: int) -> None:
        percent = uploaded / total if total else 1.0
        sys.stderr.write(
            f"\r{uploaded / 1024**2:0.1f} of {total / 1024**2:0.1f} MB ({percent:.0%}) "
            f"{next(spinner)}"
        )
        sys.stderr.flush()

    return output_progress


class CSUploader(ChunkUploads):
    """Upload a raw image in parallel chunks through upload links.

    :param api_url: the API base, e.g. ``https://zrh.cloudsigma.com/api/2.0/``.
    :param image_path: the raw image file.
    :param chunk_size: bytes per chunk; the last chunk also takes the remainder.
    :param username: the account email (Basic auth).
    :param password: the account password.
    :param uuid: resume the upload to this drive instead of creating one.
    :param n_threads: how many chunks travel at once.
    :param progress_callback: called as ``progress_callback(uploaded, total)``.
    :param verify: TLS verification: True, False or a CA bundle path.
    :param timeout: ``(connect, read)`` seconds, a number, or a :class:`Timeout`.
    """

    #: Retries of one chunk (backoff with jitter); replace it on an instance to tune.
    retry_policy: Retry = _chunks.DEFAULT_CHUNK_RETRY
    #: How long the drive may take to turn ``unmounted`` after the last chunk.
    finish_wait: WaitPolicy = _chunks.DEFAULT_FINISH_WAIT
    progress_report_interval = 0.5

    thread_name = "cloudsigma-csupload"

    def __init__(
        self,
        api_url: str,
        image_path: str | os.PathLike[str],
        chunk_size: int,
        username: str,
        password: str,
        uuid: str | None = None,
        n_threads: int = 5,
        progress_callback: Callable[[int, int], Any] | None = None,
        *,
        verify: bool | str = True,
        timeout: Timeout | float | tuple[float, float] | None = None,
    ) -> None:
        _chunks.upload_chunks(0, chunk_size)  # validates chunk_size early
        if n_threads < 1:
            raise ValueError(f"n_threads must be >= 1, not {n_threads!r}")
        self.api_url = api_url.rstrip("/") + "/"
        self.image_path = os.fspath(image_path)
        self.chunk_size = chunk_size
        self.username = username
        self.password = password
        self.uuid = None if not uuid else _ids.check_id(uuid, argument="uuid")
        self.drive_url: str | None = None
        self.n_threads = n_threads
        self.progress_callback = progress_callback
        self.verify = verify
        self.timeout = _chunks.timeout_pair(timeout)
        self.size = os.path.getsize(image_path)
        #: Seconds one request may take in all (a server dripping bytes included).
        self.deadline = conf.DEFAULT_DEADLINE
        #: The largest JSON answer accepted.
        self.max_response_bytes = conf.DEFAULT_MAX_RESPONSE_BYTES
        self._drive_status: str | None = None
        self._init_workers()
        self.opener = self.init_auth()

    def __repr__(self) -> str:
        return f"CSUploader(api_url={self.api_url!r}, image_path={self.image_path!r})"

    @property
    def api_endpoint(self) -> str:
        """The API base URL (the name clients use for it)."""
        return self.api_url

    def init_auth(self) -> Any:
        """A new keep-alive session that authenticates with Basic auth."""
        return _chunks.new_session((self.username, self.password), self.verify)

    def start(self) -> str:
        """Create the drive (or check the one to resume), upload every missing chunk and
        wait until the drive is ``unmounted`` with the image's size.

        :returns: the drive uuid.
        :raises UploadError: for a size mismatch or a drive that does not end complete.
        :raises ChunkUploadError: when a chunk fails after its retries (names the chunk).
        """
        if self.size == 0:
            raise UploadError(f"{self.image_path} is empty; there is nothing to upload")
        self.init_drive_url_or_create_drive()
        if self._drive_status not in (None, "uploading"):
            # A finished drive takes no chunk: only its bytes tell whether it already holds
            # this image (nothing to do) or another one (an error, not a silent no-op).
            self._check_holds_the_image()
        else:
            LOG.info("uploading %s (%d bytes) to %s", self.image_path, self.size, self.drive_url)
            self.enqueue_chunks()
            self.start_threads()
            self._wait_for_workers()
        self.finished = True
        _chunks.wait_until_stored(self._get_drive, str(self.uuid), self.size, self.finish_wait)
        return str(self.uuid)

    def init_drive_url_or_create_drive(self) -> None:
        """Set ``drive_url``, creating the drive when no uuid was given, and check its size.

        :raises UploadError: when the drive's size differs from the image's.
        """
        self.size = os.path.getsize(self.image_path)
        if not self.uuid:
            self.uuid = self.init_upload()
            LOG.info("created drive %s for the upload", self.uuid)
        self.drive_url = f"{self.api_url}drives/{self.uuid}/"
        drive = self._get_drive()
        self._drive_status = drive.get("status")
        remote_size = _chunks._size_of(drive)
        if remote_size != self.size:
            raise UploadError(
                f"image file {self.image_path} has {self.size} bytes but drive {self.uuid} "
                f"has {remote_size}; upload to a new drive instead"
            )

    def init_upload(self, media: str = "disk") -> str:
        """Create a drive of the image's exact size in status ``uploading``.

        :returns: the new drive's uuid.
        """
        data = {
            "name": f"Upload_{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S}",
            "size": self.size,
            "media": media,
        }
        body = self._call("POST", f"{self.api_url}initupload/", json=data)
        return str(_chunks.single_object(body)["uuid"])

    def get_drive_size(self) -> int:
        """The size of the target drive, as the API reports it."""
        return int(self._get_drive()["size"])

    def _get_drive(self) -> dict[str, Any]:
        return _chunks.single_object(self._call("GET", str(self.drive_url)))

    def _check_holds_the_image(self) -> None:
        difference = download.first_difference(self, str(self.uuid), self.image_path)
        if difference is not None:
            raise UploadError(
                f"drive {self.uuid} was {self._drive_status!r}, not 'uploading', before this "
                f"upload: it already holds an image, which differs from {self.image_path} "
                f"from byte {difference} on, and an upload only fills a drive created for it; "
                "upload to a new drive (leave the uuid out)"
            )

    def _send(self, session: Any, method: str, url: str, **kwargs: Any) -> Any:
        return _chunks.send_attempt(
            session,
            method,
            url,
            timeout=self.timeout,
            deadline=self.deadline,
            max_bytes=self.max_response_bytes,
            **kwargs,
        )

    def _secrets(self) -> list[str]:
        return _chunks.secrets_of(self.username, self.password)

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One JSON call on the control session.

        :raises UploadError: for a failed request or a non-2xx answer.
        """
        try:
            response = self._send(self.opener, method, url, headers=INIT_HEADERS, **kwargs)
        except TransferAttemptError as exc:
            raise UploadError(f"{method} {url} failed: {exc}") from exc
        if not response.ok:
            raise UploadError(
                f"{method} {url}: {_chunks.refusal_text(response, self._secrets())}",
                response.status_code,
            )
        return _json_of(response, f"{method} {url}", UploadError)

    def file_chunks(self) -> Iterator[ChunkSpec]:
        """Yield ``(chunk_number, chunk_offset, real_chunk_size)``, numbered from 0 here."""
        return _chunks.upload_chunks(self.size, self.chunk_size, first_number=0)

    def _progress_total(self) -> int:
        return self.size

    def _new_session(self) -> Any:
        return self.init_auth()

    def upload_chunk(self, chunk_number: int, chunk_offset: int, real_chunk_size: int) -> bool:
        """Send one chunk through its link; a 416 means it is already stored.

        :returns: True if the chunk was sent, False if it was already stored.
        :raises ChunkUploadError: after the retries, or at once for a non-transient answer.
        """
        end = chunk_offset + real_chunk_size - 1
        return _chunks.with_retries(
            lambda: self._send_chunk(chunk_number, chunk_offset, real_chunk_size),
            self.retry_policy,
            f"chunk {chunk_number} (bytes {chunk_offset}-{end}) of {self.image_path}",
            f"upload again with uuid={self.uuid!r} to resume",
            chunk_number,
            ChunkUploadError,
        )

    def _send_chunk(self, chunk_number: int, chunk_offset: int, real_chunk_size: int) -> bool:
        try:
            link = self.get_chunk_upload_link(chunk_number)
        except TransferAttemptError as exc:
            if exc.status_code != 416:
                raise
            LOG.debug("chunk %d of %s is already stored", chunk_number, self.uuid)
            return False
        buffer = self._chunk_buffer(real_chunk_size)
        body = _chunks.read_chunk(self.image_path, chunk_offset, real_chunk_size, buffer=buffer)
        response = self._send(
            self._session(),
            "POST",
            self._link_url(link),
            data=body,
            headers=UPLOAD_HEADERS,
            auth=_without_credentials,  # the link is the secret; it may point at another host
        )
        del body
        if response.status_code == 416:
            return False
        if not response.ok:
            raise _chunks.refused(response, "the upload link refused it", self._secrets())
        return True

    def get_chunk_upload_link(self, chunk_number: int) -> str:
        """Ask for the link that takes chunk ``chunk_number`` (valid a few minutes).

        :raises TransferAttemptError: for a non-2xx answer (416: the chunk is already stored).
        """
        url = f"{str(self.drive_url).rstrip('/')}/action/"
        data = {"chunk_number": chunk_number, "chunk_size": self.chunk_size}
        response = self._send(
            self._session(),
            "POST",
            url,
            params={"do": "upload_chunk"},
            json=data,
            headers=INIT_HEADERS,
        )
        if not response.ok:
            raise _chunks.refused(
                response, f"no upload link for chunk {chunk_number}", self._secrets()
            )
        answer = _json_of(response, f"the upload link answer for chunk {chunk_number}", None)
        link = answer.get("link") if isinstance(answer, dict) else None
        if not isinstance(link, str) or not link:
            raise TransferAttemptError(
                f"the upload link answer for chunk {chunk_number} has no 'link'",
                response.status_code,
                request_id=response.headers.get("X-REQUEST-ID"),
            )
        return link

    def _link_url(self, link: str) -> str:
        """The absolute URL of a link; a relative link lives on the API's host and port."""
        if urllib.parse.urlsplit(link).scheme:
            return link
        api = urllib.parse.urlsplit(self.api_url)
        return f"{api.scheme}://{api.netloc}/{link.lstrip('/')}"


def _without_credentials(request: Any) -> Any:
    """An auth hook that adds nothing, overriding the session's Basic credentials."""
    return request


def _json_of(response: Any, what: str, error_class: type[UploadError] | None) -> Any:
    """The decoded JSON of an answer; a body that is not JSON fails the attempt (or, with
    ``error_class``, the upload)."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        message = f"{what} answered {response.status_code} with a body that is not JSON"
        if error_class is not None:
            raise error_class(message, response.status_code) from exc
        raise TransferAttemptError(message, response.status_code, transient=False) from exc


def main(argv: list[str] | None = None) -> int:
    """Command line: upload an image, print the drive uuid."""
    parser = argparse.ArgumentParser(
        prog="python -m cloudsigma.upload_client",
        description="Upload a raw disk image to a CloudSigma drive.",
    )
    parser.add_argument("disk_image", help="disk image in raw format")
    parser.add_argument("drive_uuid", nargs="?", help="resume the upload to this drive")
    parser.add_argument(
        "-a", "--api_url", required=True, help="e.g. https://zrh.cloudsigma.com/api/2.0/"
    )
    parser.add_argument(
        "-s", "--chunk-size", type=int, default=10 * 1024**2, help="bytes per chunk"
    )
    parser.add_argument("-n", "--threads", type=int, default=5, help="chunks sent at once")
    parser.add_argument("-u", "--username", required=True, help="account email")
    parser.add_argument("-p", "--password", help="account password (asked for when left out)")
    args = parser.parse_intermixed_args(argv)
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    password = args.password if args.password is not None else getpass.getpass()
    uploader = CSUploader(
        args.api_url,
        args.disk_image,
        args.chunk_size,
        args.username,
        password,
        args.drive_uuid,
        n_threads=args.threads,
        progress_callback=console_progress(),
    )
    try:
        drive_uuid = uploader.start()
    except (UploadError, ChunkUploadError, OSError) as exc:
        LOG.error("\nupload failed: %s", exc)
        return 1
    except KeyboardInterrupt:
        LOG.error("\ninterrupted; run again with the drive uuid %s to resume", uploader.uuid)
        return 130
    print(f"\n{drive_uuid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

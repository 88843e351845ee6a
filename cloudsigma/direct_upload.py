"""The documented raw image upload: the whole file in one POST to the location's direct host.

``POST {direct_endpoint}drives/upload/<name>`` with the image as an
``application/octet-stream`` body and Basic authentication (the only kind that endpoint
takes) creates a drive of the image's size (small images grow to the smallest drive) and
answers its uuid as text. The file is streamed from disk, never read whole. For images
that must survive a dropped connection, :mod:`cloudsigma.resumable_upload` sends chunks to
the API host instead.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable
from typing import IO, Any

from cloudsigma import _chunks, errors
from cloudsigma._redact import safe_url
from cloudsigma.policies import WaitPolicy

__all__ = ["DEFAULT_STORED_WAIT", "ImageReader", "upload_image"]

# The resources build on this module (Drive.upload_image), not the other way round: it
# answers the new drive's uuid, and the caller waits for the drive.

#: How long the new drive may stay ``uploading`` after the API answered its uuid.
DEFAULT_STORED_WAIT = WaitPolicy(timeout=300.0, interval=0.2, max_interval=5.0)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

Progress = Callable[[int, int], Any]


class ImageReader:
    """The image file as a request body: read block by block, its length known up front.

    :param progress: called as ``progress(sent, total)`` in bytes after each block.
    """

    def __init__(self, image: IO[bytes], size: int, progress: Progress | None = None) -> None:
        self.image = image
        self.size = size
        self.sent = 0
        self.progress = progress

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        block = self.image.read(min(amount, 1024**2) if amount and amount > 0 else 1024**2)
        self.sent += len(block)
        if block and self.progress is not None:
            self.progress(self.sent, self.size)
        return block


def upload_image(
    client: Any,
    path: str | os.PathLike[str],
    name: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Upload the image at ``path`` as a new drive, through the direct host of ``client``.

    :param client: the :class:`~cloudsigma.generic.GenericClient` whose credentials and
        :attr:`~cloudsigma.generic.GenericClient.direct_endpoint` to use.
    :param name: the new drive's name (default: the file's name).
    :param progress: called as ``progress(sent, total)`` in bytes while the file goes up.
    :returns: the new drive's uuid (the drive may still be ``uploading`` for a moment).
    :raises UploadError: for an empty or unreadable file, or when the upload is refused or
        cut off.
    """
    path = os.fspath(path)
    size = _image_size(path)
    name = name or os.path.basename(path)
    url = f"{client.direct_endpoint}drives/upload/{urllib.parse.quote(name, safe='')}"
    secrets = _chunks.secrets_of(client.username, client.password)
    session = _chunks.new_session(_chunks.client_auth(client), _chunks.client_verify(client))
    try:
        with open(path, "rb") as image:
            response = _send(session, url, ImageReader(image, size, progress), client, secrets)
    finally:
        session.close()
    return _uuid_of(response, secrets)


def _image_size(path: str) -> int:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise errors.UploadError(f"cannot read the image {path}: {exc.strerror}") from exc
    if size == 0:
        raise errors.UploadError(f"the image {path} is empty; there is nothing to upload")
    return size


def _send(session: Any, url: str, body: ImageReader, client: Any, secrets: list[str]) -> Any:
    """One POST: a raw upload is not repeated, since a lost answer may hide a new drive."""
    try:
        response = _chunks.send_attempt(
            session,
            "POST",
            url,
            data=body,
            headers={"Content-Type": "application/octet-stream", "Accept": "text/plain, */*"},
            timeout=_chunks.client_timeout(client),
            max_bytes=64 * 1024,
        )
    except errors.TransferAttemptError as exc:
        raise errors.UploadError(
            f"the raw upload to {safe_url(url)} failed after "
            f"{body.sent} of {body.size} bytes ({exc.message}); check the drives named "
            "like the image before uploading again",
            exc.status_code,
            request_id=exc.request_id,
        ) from exc
    if response.status_code not in (200, 201):
        raise errors.UploadError(
            f"the raw upload to {safe_url(url)} was refused: "
            f"{_chunks.refusal_text(response, secrets)}",
            response.status_code,
            request_id=response.headers.get("X-REQUEST-ID"),
        )
    return response


def _uuid_of(response: Any, secrets: list[str]) -> str:
    """The new drive's uuid, which the upload answers as text."""
    found = _UUID.search(response.text or "")
    if found is None:
        raise errors.UploadError(
            f"the raw upload answered {response.status_code} without a drive uuid: "
            f"{_chunks.refusal_text(response, secrets)}",
            response.status_code,
            request_id=response.headers.get("X-REQUEST-ID"),
        )
    return found.group(0)

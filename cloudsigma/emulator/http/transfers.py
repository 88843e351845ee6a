"""HTTP handlers for drive uploads (resumable.js chunks, one-time chunk links, the simple
upload) and for ranged downloads. Request bodies are streamed into the drive image, never
buffered whole."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from ..backend import Backend
from ..models import fields
from ..models.errors import ApiError, notexist, permission, validation
from ..models.kernel import Account
from ..models.uploads import resumable_range
from .hosts import API_HOST, ROLE, HostRoles
from .parsing import content_encoding

BLOCK = 1024 * 1024
#: Upload bodies up to this size are staged in memory, larger ones in a temporary file.
STAGED_IN_MEMORY = 16 * 1024 * 1024
RESUMABLE_FIELDS = ("resumableChunkNumber", "resumableChunkSize", "resumableTotalSize")


async def stream_into(reader: Any, write, limit: int, *, clip: bool = False) -> int:
    """Copy a body stream into ``write(offset, data)``; returns the bytes written.

    :param clip: drop what comes after ``limit`` bytes instead of refusing it.
    :raises ApiError: 400 when more than ``limit`` bytes arrive and ``clip`` is false.
    """
    offset = 0
    read = reader.read_chunk if hasattr(reader, "read_chunk") else reader.read
    while True:
        block = await read(BLOCK)
        if not block:
            return offset
        if offset + len(block) > limit:
            if not clip:
                raise validation(f"the chunk is larger than the {limit} bytes expected")
            block = block[: max(0, limit - offset)]
        if block:
            write(offset, block)
            offset += len(block)


class StagedBody:
    """An upload body held in a temporary file (in memory while small) until it is whole, so
    a body that turns out too long, or a drive deleted meanwhile, stores nothing."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=STAGED_IN_MEMORY)  # noqa: SIM115

    def __enter__(self) -> StagedBody:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.file.close()

    def write(self, offset: int, data: bytes) -> None:
        self.file.seek(offset)
        self.file.write(data)

    def copy_to(self, image: Any, offset: int) -> None:
        """Write the staged bytes into ``image`` from ``offset``."""
        self.file.seek(0)
        while block := self.file.read(BLOCK):
            image.write(offset, block)
            offset += len(block)


class Transfers:
    """The upload and download handlers of the API server (their routes are all below
    ``/drives/``, so the ``res`` every handler gets is always ``drives``)."""

    def __init__(self, backend: Backend, hosts: HostRoles) -> None:
        self.backend = backend
        self.hosts = hosts

    def handlers(self) -> dict[str, Callable[..., Awaitable[web.StreamResponse]]]:
        return {
            "resumable_check": self.on_resumable_check,
            "resumable_chunk": self.on_resumable_chunk,
            "link_chunk": self.on_link_chunk,
            "simple_upload": self.on_simple_upload,
            "download": self.on_download,
            "signed_download": self.on_signed_download,
        }

    # resumable.js chunks ----------------------------------------------------
    def resumable_chunk_range(self, params: Any, upload_size: int) -> tuple[int, int, int]:
        values = {key: params.get(key) for key in RESUMABLE_FIELDS}
        number = fields.integer(values, "resumableChunkNumber", minimum=1)
        chunk_size = fields.integer(values, "resumableChunkSize", minimum=1)
        total = fields.integer(values, "resumableTotalSize", upload_size, minimum=1)
        if total != upload_size:
            raise validation(
                f"resumableTotalSize {total} differs from the drive size {upload_size}",
                "resumableTotalSize",
            )
        start, end = resumable_range(number, chunk_size, total)
        if start >= total:
            raise validation(
                f"chunk {number} starts beyond the end of the drive", "resumableChunkNumber"
            )
        return number, start, end

    async def on_resumable_check(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        drive = self.backend.drives.find(account, uuid, "EDIT")
        upload = self.backend.uploads.get(uuid)
        if upload is None:
            if drive["status"] == "uploading":
                raise notexist("chunk", "of this drive")
            return web.json_response({})
        _number, start, end = self.resumable_chunk_range(request.query, upload.size)
        if upload.covers(start, end):
            return web.json_response({})
        raise ApiError(404, "notexist", "this chunk has not been uploaded yet")

    async def on_resumable_chunk(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        drive, upload = self.backend.upload_of(account, uuid)
        content_encoding(request)
        if not request.content_type.startswith("multipart/"):
            raise validation("send the chunk as multipart/form-data with a 'file' part")
        reader = await request.multipart()
        params: dict[str, str] = dict(request.query)
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise validation("nested multipart bodies are not accepted")
            if part.name == "file":
                return await self.store_resumable(account, drive, upload, params, part)
            params[part.name or ""] = (await part.read(decode=False)).decode("utf-8", "replace")
        raise fields.required("file")

    async def store_resumable(
        self, account: Account, drive: dict, upload: Any, params: Any, part: Any
    ) -> web.StreamResponse:
        _number, start, end = self.resumable_chunk_range(params, upload.size)
        with StagedBody() as staged:
            # A part longer than its range (pycloudsigma under Python 3 sends the repr of the
            # bytes) is clipped to the range rather than spilling into the next chunk.
            length = await stream_into(part, staged.write, end - start, clip=True)
            drive, upload = self.backend.upload_of(account, drive["uuid"])
            staged.copy_to(self.backend.image(drive["uuid"], drive["size"]), start)
        self.backend.received(account, drive, upload, start, start + length)
        return web.json_response({})

    # link-based chunks -------------------------------------------------------
    async def on_link_chunk(
        self, request: web.Request, account: Account | None, res: str, uuid: str, token: str
    ) -> web.StreamResponse:
        entry = self.backend.link_index.get(token)
        if entry is None or entry[1] != uuid:
            raise ApiError(404, "notexist", "this upload link is unknown or was already used")
        owner = entry[0]
        drive, upload = self.backend.upload_of(owner, uuid)
        number, offset, length, expiry = upload.links[token]
        if time.monotonic() > expiry:
            self.backend.forget_link(upload, token)
            raise permission("this upload link has expired; ask for a new one")
        content_encoding(request)
        if (request.content_length or 0) > length:
            raise validation(f"the chunk is larger than the {length} bytes expected")
        with StagedBody() as staged:
            received = await stream_into(request.content, staged.write, length)
            drive, upload = self.backend.upload_of(owner, uuid)
            if token not in upload.links:  # the same link, used by another request meanwhile
                raise ApiError(404, "notexist", "this upload link was already used")
            self.backend.forget_link(upload, token)
            staged.copy_to(self.backend.image(drive["uuid"], drive["size"]), offset)
        if received == length:
            upload.chunks.add(number)
        self.backend.received(owner, drive, upload, offset, offset + received)
        return web.json_response({})

    # simple upload -----------------------------------------------------------
    async def on_simple_upload(
        self, request: web.Request, account: Account, res: str, rest: str = ""
    ) -> web.StreamResponse:
        size = request.content_length
        content_encoding(request)
        if not size:
            raise validation("send the image as the request body with a Content-Length")
        drives = self.backend.drives
        name = rest.strip("/") or f"Upload {time.strftime('%Y-%m-%d %H:%M:%S')}"
        drive = drives.prepare(account, {"name": name, "size": size, "media": "disk"}, exact=True)
        drive["status"] = "uploading"
        drives.commit(account, drive)
        upload = self.backend.start_upload(drive)
        with StagedBody() as staged:
            try:
                received = await stream_into(request.content, staged.write, size)
            except BaseException:
                self.forget(account, drive)
                raise
            if drives.store(account).get(drive["uuid"]) is not drive:
                raise notexist("drives", f"{drive['uuid']} (deleted during its upload)")
            if received < size:
                self.forget(account, drive)
                raise validation(f"the body ended after {received} of {size} bytes")
            image = self.backend.image(drive["uuid"], size)
            staged.copy_to(image, 0)
        minimum = int(self.backend.capabilities["drives"]["dssd"]["size"]["min"])
        if size < minimum:
            drive["size"] = upload.size = minimum
            image.resize(minimum)
        self.backend.received(account, drive, upload, 0, upload.size)
        return web.Response(status=200, text=drive["uuid"], content_type="text/plain")

    def forget(self, account: Account, drive: dict) -> None:
        """Remove the drive of a failed simple upload (unless it is gone already)."""
        if self.backend.drives.store(account).get(drive["uuid"]) is drive:
            self.backend.drives.remove(account, drive)

    # download ------------------------------------------------------------------
    async def on_download(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.StreamResponse:
        """The image, or on an API host with a direct host apart, a redirect to a signed link."""
        drive = self.downloadable(account, uuid)
        if request.app[ROLE] == API_HOST and self.hosts.split:
            return self.hosts.redirect_download(account.uuid, uuid)
        return await self.send_image(request, drive)

    async def on_signed_download(
        self, request: web.Request, account: None, res: str, uuid: str, token: str
    ) -> web.StreamResponse:
        """The image through a signed link: the link is the credential."""
        owner = self.backend.accounts.get(self.hosts.account_of_link(uuid, token))
        if owner is None:
            raise permission("this download link belongs to an account that is gone")
        return await self.send_image(request, self.downloadable(owner, uuid))

    def downloadable(self, account: Account, uuid: str) -> dict:
        """The drive, if ``account`` may download it now.

        :raises ApiError: 404 for an unknown drive, 403 for one that cannot be downloaded.
        """
        # Reading the bytes of a shared drive is copying them: it takes CLONE, as a clone does.
        drive = self.backend.drives.find(account, uuid, "CLONE")
        if drive.get("owner") is None or not drive["runtime"].get("is_downloadable", True):
            raise permission(f"drive {uuid} cannot be downloaded")
        if drive["status"] == "uploading":
            raise permission(f"drive {uuid} is still uploading")
        return drive

    async def send_image(self, request: web.Request, drive: dict) -> web.StreamResponse:
        """Stream the drive's image (or the one ``Range`` asked for)."""
        uuid, size = drive["uuid"], drive["size"]
        start, end, status = self.requested_range(request.headers.get("Range"), size)
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{uuid}"',
            "Accept-Ranges": "bytes",
            "Content-Length": str(end - start),
        }
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        image = self.backend.images.get(uuid)
        zeros = bytes(BLOCK)
        offset = start
        while offset < end:
            length = min(BLOCK, end - offset)
            block = image.read(offset, length) if image is not None else zeros[:length]
            block = block + bytes(length - len(block))
            try:
                await response.write(block)
            except ConnectionError:  # the client stopped reading: nothing is wrong here
                return response
            offset += length
        await response.write_eof()
        return response

    @staticmethod
    def requested_range(header: str | None, size: int) -> tuple[int, int, int]:
        """``(start, end, status)`` for a ``Range`` header (one range; others get the whole file).

        :raises ApiError: 416 for a range that lies beyond the file.
        """
        match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
        if not match or not any(match.groups()):
            return 0, size, 200
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
        else:
            start, end = max(0, size - int(last)), size
        if start >= size or start >= end:
            error = ApiError(
                416, "validation", f"range {header} is outside the drive of {size} bytes"
            )
            raise error
        return start, end, 206

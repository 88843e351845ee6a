"""Parallel, resumable download of a drive image with HTTP ``Range`` requests.

``download_drive(uuid, path)`` fetches ``GET /drives/<uuid>/download/`` in ranges on
several threads into ``<path>.part``, records finished ranges and a SHA-256 digest of
each in ``<path>.part.json`` so that a rerun after an interruption fetches only what is
missing (and again what no longer matches its digest), and renames the file to
``path`` once every byte is there. A download follows one redirect (to a signed direct
link, say), without credentials when it leads to another scheme, host or port.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from cloudsigma import _chunks, _ids
from cloudsigma._chunks import ChunkSpec, ChunkWorkers
from cloudsigma.errors import DownloadError, RangeDownloadError, TransferAttemptError
from cloudsigma.policies import Retry
from cloudsigma.resource import Drive

__all__ = ["Download", "DownloadError", "RangeDownloadError", "download_drive", "first_difference"]

LOG = logging.getLogger(__name__)

DEFAULT_RANGE_SIZE = 8 * 1024**2
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Download(ChunkWorkers):
    """Download drive ``uuid`` to ``path`` in parallel ranges, resuming a partial download.

    :param uuid: the drive to download.
    :param path: where the image goes; ``<path>.part`` and ``<path>.part.json`` hold the
        partial download until it is complete.
    :param chunk_size: bytes per range request.
    :param n_threads: how many ranges travel at once (each thread keeps one connection).
    :param progress_callback: called as ``progress_callback(downloaded, total)`` in bytes.
    :param progress_report_interval: seconds between ``progress_callback`` calls.
    :param generic_client_kwargs: arguments for the client (``api_endpoint``, ``username``, ...).
    """

    #: Retries of one range (backoff with jitter); replace it on an instance to tune.
    retry_policy: Retry = _chunks.DEFAULT_CHUNK_RETRY
    #: Bytes taken from the socket and written at a time; bounds memory per thread.
    read_block = 1024**2
    #: Seconds between checkpoints (data synced to disk, then finished ranges recorded).
    checkpoint_interval = 2.0

    def __init__(
        self,
        uuid: str,
        path: str | os.PathLike[str],
        *,
        chunk_size: int = DEFAULT_RANGE_SIZE,
        n_threads: int = 4,
        progress_callback: Callable[[int, int], Any] | None = None,
        progress_report_interval: float = 1,
        generic_client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        _chunks.download_ranges(0, chunk_size)
        if n_threads < 1:
            raise ValueError(f"n_threads must be >= 1, not {n_threads!r}")
        self.uuid = _ids.check_id(uuid, argument="uuid")
        self.path = os.fspath(path)
        self.part_path = self.path + ".part"
        self.state_path = self.part_path + ".json"
        self.chunk_size = chunk_size
        self.n_threads = n_threads
        self.progress_callback = progress_callback
        self.progress_report_interval = progress_report_interval
        self.drives = Drive(**dict(generic_client_kwargs or {}))
        self.c = self.drives.c
        self.size = 0
        self.done: set[int] = set()
        #: SHA-256 (hex) of each finished range, by range number.
        self.digests: dict[int, str] = {}
        self._recorded: set[int] = set()
        self._last_checkpoint = 0.0
        self._fd = -1
        self._init_workers()

    @property
    def downloaded_size(self) -> int:
        """Bytes of the image present in the partial file so far."""
        return self.uploaded_size

    @property
    def url(self) -> str:
        """The download URL of the drive."""
        return f"{_chunks.api_endpoint(self.c)}drives/{self.uuid}/download/"

    def run(self) -> str:
        """Fetch every missing range, then move the finished file into place.

        :returns: ``path``.
        :raises DownloadError: when the drive cannot be downloaded or the server misbehaves.
        :raises RangeDownloadError: when a range fails after its retries (names it).
        """
        try:
            self.size = self._drive_size()
        finally:
            self.c.close()  # the transfer goes over the workers' own sessions
        _chunks.download_ranges(self.size, self.chunk_size)  # a drive without a size fails here
        self._fd = self._open_part()
        try:
            self._fetch_missing()
            os.fsync(self._fd)
        finally:
            # A worker that outlived an interruption may still write: never let its
            # descriptor be reused for another file.
            if not self._workers_alive():
                os.close(self._fd)
                self._fd = -1
        os.replace(self.part_path, self.path)
        _remove(self.state_path)
        return self.path

    def _drive_size(self) -> int:
        drive = _chunks.single_object(self.drives.get(self.uuid))
        if (drive.get("runtime") or {}).get("is_downloadable") is False:
            raise DownloadError(f"drive {self.uuid} cannot be downloaded (is_downloadable false)")
        size = _chunks._size_of(drive)
        if size is None or size < 0:
            raise DownloadError(f"drive {self.uuid} has no usable size: {drive.get('size')!r}")
        return size

    def _open_part(self) -> int:
        """Open ``<path>.part``, keeping the finished ranges the state file vouches for and
        whose bytes still match their digest."""
        state = self._read_state()
        fd = os.open(self.part_path, os.O_RDWR | os.O_CREAT, 0o644)
        if state is not None and os.fstat(fd).st_size == self.size:
            self.chunk_size = int(state["chunk_size"])
            self.digests = _vouched_digests(state)
            self.done = self._matching_ranges(fd, self.digests)
            self.digests = {n: d for n, d in self.digests.items() if n in self.done}
            LOG.info("resuming %s: %d ranges already there", self.path, len(self.done))
        else:
            self.done, self.digests = set(), {}
            os.ftruncate(fd, 0)
            os.ftruncate(fd, self.size)
            self._write_state(set())
        self._recorded = set(self.done)
        self.uploaded_size = sum(r.size for r in self._ranges() if r.number in self.done)
        return fd

    def _read_state(self) -> dict[str, Any] | None:
        try:
            with open(self.state_path, encoding="utf-8") as state_file:
                state = json.load(state_file)
        except (OSError, ValueError):
            return None
        same_drive = state.get("uuid") == self.uuid and state.get("size") == self.size
        return state if same_drive and isinstance(state.get("chunk_size"), int) else None

    def _matching_ranges(self, fd: int, digests: dict[int, str]) -> set[int]:
        """The ranges whose bytes in the partial file still have their recorded digest."""
        matching = set()
        for chunk in self._ranges():
            digest = digests.get(chunk.number)
            if digest is None:
                continue
            if _digest_of(fd, chunk.offset, chunk.size) == digest:
                matching.add(chunk.number)
            else:
                LOG.warning(
                    "range %d of %s changed since it was downloaded; fetching it again",
                    chunk.number,
                    self.part_path,
                )
        return matching

    def _write_state(self, finished: set[int]) -> None:
        """Record the finished ranges and their digests; written whole then renamed, so
        never half-written."""
        with self.progress_lock:
            digests = {str(n): self.digests[n] for n in sorted(finished) if n in self.digests}
        state = {
            "uuid": self.uuid,
            "size": self.size,
            "chunk_size": self.chunk_size,
            "done": sorted(int(n) for n in digests),
            "digests": digests,
        }
        temporary = self.state_path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as state_file:
            json.dump(state, state_file)
        os.replace(temporary, self.state_path)

    def _ranges(self) -> list[ChunkSpec]:
        return list(_chunks.download_ranges(self.size, self.chunk_size))

    def _fetch_missing(self) -> None:
        missing = [r for r in self._ranges() if r.number not in self.done]
        if not missing:
            return
        # The first range also tells whether the server honours Range at all.
        try:
            if self._fetch_range(missing[0], allow_whole_body=True):
                return
            for chunk in missing[1:]:
                self.queue.put(chunk)
            if not self.queue.empty():
                self._start_workers("cloudsigma-download", self._work)
                self._wait_for_workers()
            else:
                self.report_progress()
        finally:
            self._checkpoint()

    def _tick(self) -> None:
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_interval:
            self._checkpoint()
        self.report_progress()

    def _checkpoint(self) -> None:
        """Sync the data written so far, then record the ranges it holds.

        Runs in the waiting thread, so workers never wait for the disk. Ranges finish
        after their bytes are written, so those in the snapshot are all on disk after the
        sync; a range finished since is recorded at the next checkpoint.
        """
        with self.progress_lock:
            finished = set(self.done)
        self._last_checkpoint = time.monotonic()
        if finished == self._recorded:
            return
        _sync_data(self._fd)
        self._write_state(finished)
        self._recorded = finished

    def _handle_chunk(self, chunk: ChunkSpec) -> None:
        self._fetch_range(chunk)

    def _progress_total(self) -> int:
        return self.size

    def _new_session(self) -> Any:
        return _chunks.new_session(
            _chunks.client_auth(self.c), _chunks.client_verify(self.c), redirects=1
        )

    def _fetch_range(self, chunk: ChunkSpec, allow_whole_body: bool = False) -> bool:
        """Fetch one range with retries and mark it done.

        :returns: True when the server sent the whole image instead (nothing else to fetch).
        """
        end = chunk.offset + chunk.size - 1
        whole = _chunks.with_retries(
            lambda: self._fetch_range_once(chunk, allow_whole_body),
            self.retry_policy,
            f"range {chunk.number} (bytes {chunk.offset}-{end}) of drive {self.uuid}",
            f"run the download again to resume from {self.part_path}",
            chunk.number,
            RangeDownloadError,
            deadline=self.c.deadline,  # a range with its retries is one call
        )
        if not whole:
            self._mark_done(chunk.number)
        return bool(whole)

    def _fetch_range_once(self, chunk: ChunkSpec, allow_whole_body: bool) -> bool:
        end = chunk.offset + chunk.size - 1
        headers = {"Range": f"bytes={chunk.offset}-{end}", "Accept-Encoding": "identity"}

        def consume(resp: Any) -> bool:
            if resp.status_code == 200 and allow_whole_body:
                LOG.info("the server ignores Range; reading the whole image in one stream")
                self._write_whole_body(resp)
                return True
            if resp.status_code != 206:
                raise _chunks.refused(resp, "the range was refused", self._secrets())
            self._check_content_range(resp, chunk.offset, end)
            digest = self._write_body(resp, chunk.offset, chunk.size)
            with self.progress_lock:
                self.digests[chunk.number] = digest
            return False

        _, whole = _chunks.send_attempt(
            self._session(),
            "GET",
            self.url,
            headers=headers,
            timeout=_chunks.client_timeout(self.c),
            deadline=self.c.deadline,
            consume=consume,
        )
        return bool(whole)

    def _secrets(self) -> list[str]:
        return _chunks.secrets_of(self.c.username, self.c.password)

    def _check_content_range(self, resp: Any, start: int, end: int) -> None:
        match = _CONTENT_RANGE.fullmatch(resp.headers.get("Content-Range", "").strip())
        total = match and match.group(3)
        if not match or (int(match.group(1)), int(match.group(2))) != (start, end):
            raise DownloadError(
                f"asked drive {self.uuid} for bytes {start}-{end} and got Content-Range "
                f"{resp.headers.get('Content-Range')!r}"
            )
        if total not in ("*", str(self.size)):
            raise DownloadError(
                f"drive {self.uuid} has {self.size} bytes but the download says {total}; "
                "did the drive change? delete the .part file and start again"
            )

    def _write_body(self, resp: Any, offset: int, size: int, *, whole: bool = False) -> str:
        """Write the answer's bytes at ``offset``; undo their progress if the stream breaks.

        :param whole: the answer is the whole image: a byte more than ``size`` is an error.
        :returns: the SHA-256 (hex) of the bytes written.
        :raises DownloadError: for a whole image longer than ``size``.
        """
        written = 0
        digest = hashlib.sha256()
        try:
            for block in resp.iter_content(self.read_block):
                if self._stop.is_set():
                    raise TransferAttemptError("stopped: another range failed", transient=False)
                if len(block) > size - written:
                    if whole:
                        raise self._not_the_image("more bytes")
                    block = block[: size - written]
                _pwrite_all(self._fd, block, offset + written)
                digest.update(block)
                written += len(block)
                self.update_progress(len(block))
                if written == size and not whole:
                    break
            if written != size:
                raise TransferAttemptError(
                    f"the answer ended after {written} of {size} bytes", transient=True
                )
        except BaseException:
            self.update_progress(-written)
            raise
        return digest.hexdigest()

    def _write_whole_body(self, resp: Any) -> None:
        """Fallback for servers without Range: stream the whole image from byte 0.

        :raises DownloadError: when the answer is not as long as the drive.
        """
        announced = resp.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) != self.size:
            raise self._not_the_image(f"{announced} bytes")
        self.update_progress(-self.uploaded_size)
        self.done = set()
        self._write_body(resp, 0, self.size, whole=True)
        ranges = self._ranges()
        digests = {r.number: _digest_of(self._fd, r.offset, r.size) for r in ranges}
        with self.progress_lock:
            self.digests = digests
            self.done = {r.number for r in ranges}

    def _not_the_image(self, found: str) -> DownloadError:
        return DownloadError(
            f"drive {self.uuid} has {self.size} bytes, but the server ignored the Range "
            f"asked for and answered with {found}; that is not the drive's image"
        )

    def _mark_done(self, number: int) -> None:
        with self.progress_lock:
            self.done.add(number)


def first_difference(client: Any, drive_uuid: str, image_path: str) -> int | None:
    """Where drive ``drive_uuid`` first differs from the file ``image_path``, if it does.

    Reads the drive in ranges (or whole, from a server without Range) with the client's
    credentials, and stops at the first byte that differs.

    :returns: the offset of the first differing byte (the shorter one's length when one is
        a prefix of the other), or None when they are identical.
    :raises DownloadError: when the drive cannot be read.
    """
    drive_uuid = _ids.check_id(drive_uuid, argument="drive_uuid")
    session = _chunks.new_session(
        _chunks.client_auth(client), _chunks.client_verify(client), redirects=1
    )
    reader = _Comparison(client, drive_uuid, image_path, session)
    try:
        return reader.first_difference()
    except TransferAttemptError as exc:
        raise DownloadError(f"cannot read drive {drive_uuid} to compare it: {exc}") from exc
    finally:
        session.close()


class _Comparison:
    """A drive read range by range beside a file, until they differ."""

    def __init__(self, client: Any, drive_uuid: str, image_path: str, session: Any) -> None:
        self.client, self.session, self.image_path = client, session, image_path
        self.url = f"{_chunks.api_endpoint(client)}drives/{drive_uuid}/download/"
        self.secrets = _chunks.secrets_of(client.username, client.password)

    def first_difference(self) -> int | None:
        file_size = os.path.getsize(self.image_path)
        with open(self.image_path, "rb") as image:
            for chunk in _chunks.download_ranges(file_size, DEFAULT_RANGE_SIZE):
                found, whole = self._compare(chunk, image)
                if found is not None or whole:
                    return found
        return None

    def _compare(self, chunk: ChunkSpec, image: Any) -> tuple[int | None, bool]:
        """``(first differing offset or None, whether the answer was the whole drive)``."""
        end = chunk.offset + chunk.size - 1
        headers = {"Range": f"bytes={chunk.offset}-{end}", "Accept-Encoding": "identity"}

        def compare(resp: Any) -> tuple[int | None, bool]:
            if resp.status_code not in (200, 206):
                raise _chunks.refused(resp, "the download was refused", self.secrets)
            whole = resp.status_code == 200
            offset = 0 if whole else chunk.offset
            image.seek(offset)
            for block in resp.iter_content(Download.read_block):
                mine = image.read(len(block))
                if mine != block:
                    return offset + _first_unequal(mine, block), whole
                offset += len(block)
            expected_end = os.fstat(image.fileno()).st_size if whole else end + 1
            return (None if offset == expected_end else offset), whole

        _, found = _chunks.send_attempt(
            self.session,
            "GET",
            self.url,
            headers=headers,
            timeout=_chunks.client_timeout(self.client),
            deadline=getattr(self.client, "deadline", None),
            consume=compare,
        )
        return found  # type: ignore[no-any-return]


def _first_unequal(mine: bytes, theirs: bytes) -> int:
    for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            return index
    return min(len(mine), len(theirs))


def _vouched_digests(state: dict[str, Any]) -> dict[int, str]:
    """The digests of the state file's finished ranges (none for a state without them)."""
    digests = state.get("digests")
    if not isinstance(digests, dict):
        return {}
    done = {str(number) for number in state.get("done") or []}
    return {
        int(number): digest
        for number, digest in digests.items()
        if number in done and isinstance(digest, str) and str(number).isdigit()
    }


def _digest_of(fd: int, offset: int, size: int) -> str:
    digest = hashlib.sha256()
    while size > 0:
        block = os.pread(fd, min(size, 1024**2), offset)
        if not block:
            break
        digest.update(block)
        offset, size = offset + len(block), size - len(block)
    return digest.hexdigest()


def download_drive(
    uuid: str,
    path: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_RANGE_SIZE,
    n_threads: int = 4,
    progress_callback: Callable[[int, int], Any] | None = None,
    progress_report_interval: float = 1,
    **client_kwargs: Any,
) -> str:
    """Download drive ``uuid`` to ``path`` (see :class:`Download`); resumes a partial download.

    :param client_kwargs: client arguments such as ``api_endpoint``, ``username``,
        ``password``, ``verify``, ``timeout``; the configuration fills in the rest.
    :returns: ``path``.
    :raises DownloadError: when the drive cannot be downloaded or a range fails for good.
    """
    return Download(
        uuid,
        path,
        chunk_size=chunk_size,
        n_threads=n_threads,
        progress_callback=progress_callback,
        progress_report_interval=progress_report_interval,
        generic_client_kwargs=client_kwargs,
    ).run()


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        count = os.pwrite(fd, view, offset)
        view, offset = view[count:], offset + count


def _sync_data(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass

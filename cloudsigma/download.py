"""Parallel, resumable download of a drive image with HTTP ``Range`` requests.

``download_drive(uuid, path)`` fetches ``GET /drives/<uuid>/download/`` in ranges on
several threads into ``<path>.part``, records finished ranges in ``<path>.part.json``
so that a rerun after an interruption fetches only what is missing, and renames the
file to ``path`` once every byte is there.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import requests

from cloudsigma import _chunks
from cloudsigma._chunks import ChunkSpec, ChunkWorkers
from cloudsigma.errors import DownloadError, RangeDownloadError, TransferAttemptError
from cloudsigma.policies import Retry
from cloudsigma.resource import Drive

__all__ = ["Download", "DownloadError", "RangeDownloadError", "download_drive"]

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
        self.uuid = uuid
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
        drive = self.drives.get(self.uuid)
        if (drive.get("runtime") or {}).get("is_downloadable") is False:
            raise DownloadError(f"drive {self.uuid} cannot be downloaded (is_downloadable false)")
        return int(drive["size"])

    def _open_part(self) -> int:
        """Open ``<path>.part``, keeping finished ranges only when the state file vouches."""
        state = self._read_state()
        fd = os.open(self.part_path, os.O_RDWR | os.O_CREAT, 0o644)
        if state is not None and os.fstat(fd).st_size == self.size:
            self.chunk_size = int(state["chunk_size"])
            self.done = {int(number) for number in state["done"]}
            LOG.info("resuming %s: %d ranges already there", self.path, len(self.done))
        else:
            self.done = set()
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

    def _write_state(self, finished: set[int]) -> None:
        """Record the finished ranges; written whole then renamed, so never half-written."""
        state = {
            "uuid": self.uuid,
            "size": self.size,
            "chunk_size": self.chunk_size,
            "done": sorted(finished),
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

    def _new_session(self) -> requests.Session:
        return _chunks.new_session(_chunks.client_auth(self.c), _chunks.client_verify(self.c))

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
        )
        if not whole:
            self._mark_done(chunk.number)
        return bool(whole)

    def _fetch_range_once(self, chunk: ChunkSpec, allow_whole_body: bool) -> bool:
        end = chunk.offset + chunk.size - 1
        headers = {"Range": f"bytes={chunk.offset}-{end}", "Accept-Encoding": "identity"}
        timeout = _chunks.client_timeout(self.c)
        with self._session().get(self.url, headers=headers, stream=True, timeout=timeout) as resp:
            if resp.status_code == 200 and allow_whole_body:
                LOG.info("the server ignores Range; reading the whole image in one stream")
                self._write_whole_body(resp)
                return True
            if resp.status_code != 206:
                raise TransferAttemptError(
                    _refusal(resp), resp.status_code, request_id=resp.headers.get("X-REQUEST-ID")
                )
            self._check_content_range(resp, chunk.offset, end)
            self._write_body(resp, chunk.offset, chunk.size)
        return False

    def _check_content_range(self, resp: requests.Response, start: int, end: int) -> None:
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

    def _write_body(self, resp: requests.Response, offset: int, size: int) -> None:
        """Write the answer's bytes at ``offset``; undo their progress if the stream breaks."""
        written = 0
        try:
            for block in resp.iter_content(self.read_block):
                if self._stop.is_set():
                    raise TransferAttemptError("stopped: another range failed", transient=False)
                block = block[: size - written]
                _pwrite_all(self._fd, block, offset + written)
                written += len(block)
                self.update_progress(len(block))
                if written == size:
                    break
            if written != size:
                raise TransferAttemptError(
                    f"the answer ended after {written} of {size} bytes", transient=True
                )
        except BaseException:
            self.update_progress(-written)
            raise

    def _write_whole_body(self, resp: requests.Response) -> None:
        """Fallback for servers without Range: stream the whole image from byte 0."""
        self.update_progress(-self.uploaded_size)
        self.done = set()
        self._write_body(resp, 0, self.size)
        with self.progress_lock:
            self.done = {r.number for r in self._ranges()}

    def _mark_done(self, number: int) -> None:
        with self.progress_lock:
            self.done.add(number)


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


def _refusal(resp: requests.Response) -> str:
    if resp.status_code == 200:
        return "the server answered 200 with the whole image to a Range request"
    return f"the server answered {resp.status_code}: {resp.text[:300]}"


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass

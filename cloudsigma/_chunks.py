"""Machinery shared by drive uploads and downloads: chunk layout, bounded chunk reads,
multipart framing, per-thread pooled sessions, retries and a worker pool with progress.
"""

from __future__ import annotations

import logging
import mmap
import queue
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter

from cloudsigma.errors import (  # noqa: F401 - re-exported, as before
    ChunkUploadError,
    TransferAttemptError,
    TransferError,
    UploadError,
)
from cloudsigma.generic import USER_AGENT
from cloudsigma.policies import Retry, Timeout, WaitPolicy

LOG = logging.getLogger(__name__)

#: Answers after which a chunk or a range is worth sending again.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

#: The retry policy for one chunk or range: attempts = ``total + 1``.
DEFAULT_CHUNK_RETRY = Retry(
    total=4, backoff_factor=0.25, backoff_max=8.0, statuses=TRANSIENT_STATUSES
)

#: Errors of the transport that are worth another attempt.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class ChunkSpec(NamedTuple):
    """One chunk of a file: its number, where it starts, and how many bytes it holds."""

    number: int
    offset: int
    size: int


def upload_chunks(total_size: int, chunk_size: int, first_number: int = 1) -> Iterator[ChunkSpec]:
    """The chunks of a resumable upload: all ``chunk_size`` long except the last, which
    also takes the remainder; a file smaller than one chunk is a single chunk.

    :raises ValueError: for a chunk size below 1 or a negative total.
    """
    _check_sizes(total_size, chunk_size)
    count = total_size // chunk_size
    if count == 0:
        yield ChunkSpec(first_number, 0, total_size)
        return
    for index in range(count - 1):
        yield ChunkSpec(first_number + index, index * chunk_size, chunk_size)
    last_offset = (count - 1) * chunk_size
    yield ChunkSpec(first_number + count - 1, last_offset, total_size - last_offset)


def download_ranges(total_size: int, range_size: int) -> Iterator[ChunkSpec]:
    """Byte ranges of a download, numbered from 0: all ``range_size`` long but the last."""
    _check_sizes(total_size, range_size)
    for number, offset in enumerate(range(0, total_size, range_size)):
        yield ChunkSpec(number, offset, min(range_size, total_size - offset))


def _check_sizes(total_size: int, chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk size must be a whole number of bytes >= 1, not {chunk_size!r}")
    if total_size < 0:
        raise ValueError(f"size must be >= 0, not {total_size!r}")


def read_chunk(
    image_path: str,
    offset: int,
    size: int,
    prefix: bytes = b"",
    suffix: bytes = b"",
    buffer: mmap.mmap | None = None,
) -> memoryview:
    """Read ``size`` bytes at ``offset`` into one buffer, framed by ``prefix`` and ``suffix``.

    The buffer is the only copy of the chunk: it is handed to the HTTP layer as the body.
    ``buffer`` is reused when it is large enough (see :func:`chunk_buffer`), else a new
    anonymous map is made.

    :raises UploadError: when the file ends before the chunk does (it shrank meanwhile).
    """
    length = len(prefix) + size + len(suffix)
    if buffer is None or len(buffer) < length:
        buffer = new_chunk_buffer(length)
    body = memoryview(buffer)[:length]
    body[: len(prefix)] = prefix
    start, end = len(prefix), len(prefix) + size
    with open(image_path, "rb", buffering=0) as image:
        image.seek(offset)
        while start < end:
            count = image.readinto(body[start:end])
            if not count:
                raise UploadError(
                    f"{image_path} ended at byte {offset + start - len(prefix)} while reading "
                    f"bytes {offset}-{offset + size - 1}; was the file changed during the upload?"
                )
            start += count
    body[end:] = suffix
    return body


def new_chunk_buffer(length: int) -> mmap.mmap:
    """An anonymous memory map of ``length`` bytes for chunk bodies.

    A map goes back to the system as soon as it is dropped (heap buffers of this size
    tend to stay in the allocator's per-thread arenas and inflate the resident size),
    and one reused per worker thread spares a page fault per 4 KiB per chunk.
    """
    return mmap.mmap(-1, max(length, 1))


def multipart_frame(
    fields: Iterable[tuple[str, str]], file_field: str, filename: str
) -> tuple[bytes, bytes, str]:
    """The bytes before and after a file part of a ``multipart/form-data`` body.

    :returns: ``(prefix, suffix, content_type)``; the body is prefix + file bytes + suffix.
    """
    boundary = uuid_module.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(file_field)}"; '
        f'filename="{_quote(filename)}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    prefix = "".join(parts).encode("utf-8")
    suffix = f"\r\n--{boundary}--\r\n".encode("ascii")
    return prefix, suffix, f"multipart/form-data; boundary={boundary}"


def _quote(text: str) -> str:
    """Escape a name for a Content-Disposition header the way browsers do."""
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def new_session(
    auth: tuple[str, str] | None, verify: bool | str = True, pool_size: int = 1
) -> requests.Session:
    """A keep-alive session for one worker thread, with its own small connection pool.

    Retries are not left to urllib3: each chunk is retried as a whole by the caller.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = auth
    session.verify = verify
    session.headers["User-Agent"] = USER_AGENT
    return session


def api_endpoint(client: Any) -> str:
    """The client's API base URL, ending in ``/``."""
    return str(client.api_endpoint).rstrip("/") + "/"


def client_auth(client: Any) -> tuple[str, str] | None:
    """Basic credentials of the client (the only auth the upload endpoints accept)."""
    username, password = getattr(client, "username", None), getattr(client, "password", None)
    return (username, password) if username and password is not None else None


def client_verify(client: Any) -> bool | str:
    """The client's TLS verification setting: True, False or a CA bundle path."""
    verify = getattr(client, "verify", True)
    return True if verify is None else verify


def client_timeout(client: Any) -> tuple[float, float]:
    """The client's ``(connect, read)`` timeouts, or the defaults."""
    return timeout_pair(getattr(client, "timeout", None))


def is_transient(exc: BaseException) -> bool:
    """Whether a failed attempt is worth repeating."""
    if isinstance(exc, TransferAttemptError):
        return exc.transient if exc.transient is not None else exc.status_code in TRANSIENT_STATUSES
    return isinstance(exc, TRANSPORT_ERRORS)


#: Failures that :func:`with_retries` looks at (others pass straight through).
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (TransferAttemptError, *TRANSPORT_ERRORS)


def with_retries(
    attempt: Callable[[], Any],
    policy: Retry,
    describe: str,
    resume_hint: str,
    chunk_number: int,
    error_class: type[TransferError] = TransferError,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run ``attempt()`` until it succeeds, sleeping with backoff and jitter after
    transient failures, at most ``policy.total + 1`` times.

    :raises TransferError: naming ``describe`` once attempts run out or a failure is final.
    """
    failures = 0
    while True:
        try:
            return attempt()
        except RETRYABLE_ERRORS as exc:
            failures += 1
            if not is_transient(exc) or failures > policy.total:
                raise _final_error(
                    exc, describe, resume_hint, chunk_number, failures, error_class
                ) from exc
            delay = policy.backoff(failures - 1)
            LOG.info("%s failed (%s); attempt %d in %.2fs", describe, exc, failures + 1, delay)
            sleep(delay)


def _final_error(
    exc: BaseException,
    describe: str,
    resume_hint: str,
    chunk_number: int,
    failures: int,
    error_class: type[TransferError],
) -> TransferError:
    status = getattr(exc, "status_code", None)
    tries = "1 attempt" if failures == 1 else f"{failures} attempts"
    return error_class(
        f"{describe} failed after {tries}: {exc}; {resume_hint}",
        status,
        chunk_number,
        getattr(exc, "request_id", None),
    )


def timeout_pair(timeout: Timeout | float | tuple[float, float] | None) -> tuple[float, float]:
    """The ``(connect, read)`` timeouts for chunk requests (defaults when not given)."""
    return Timeout.coerce(timeout if timeout is not None else Timeout()).as_requests()


#: How long a drive may stay ``uploading`` after its last chunk was accepted.
DEFAULT_FINISH_WAIT = WaitPolicy(timeout=120.0, interval=0.1, max_interval=2.0)


def wait_until_stored(
    get_drive: Callable[[], dict[str, Any]],
    drive_uuid: str,
    expected_size: int,
    policy: WaitPolicy = DEFAULT_FINISH_WAIT,
) -> dict[str, Any]:
    """Poll the drive until it is ``unmounted`` and check that it holds ``expected_size`` bytes.

    :returns: the drive as the API last showed it.
    :raises UploadError: when the drive stays in another status or has another size.
    """
    deadline = time.monotonic() + policy.timeout
    for interval in policy.intervals():
        drive = get_drive()
        if drive.get("status") == "unmounted" or time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    if drive.get("status") != "unmounted":
        raise UploadError(
            f"every chunk of drive {drive_uuid} was accepted, but the drive is still "
            f"{drive.get('status')!r} after {policy.timeout:g} s; upload again to drive "
            f"{drive_uuid} to send whatever is missing"
        )
    if int(drive.get("size", -1)) != expected_size:
        raise UploadError(
            f"drive {drive_uuid} holds {drive.get('size')} bytes after the upload, "
            f"but the image has {expected_size}"
        )
    return drive


class ChunkWorkers:
    """Runs ``handle(chunk)`` for queued chunks on ``n_threads`` threads with progress.

    Subclasses set ``n_threads``, ``progress_callback`` and ``progress_report_interval``
    and implement :meth:`_handle_chunk` and :meth:`_progress_total`. The first failure
    stops the other workers (they finish the chunk in hand) and is raised by
    :meth:`_run_queue`.
    """

    n_threads: int
    progress_callback: Callable[[int, int], Any] | None
    progress_report_interval: float
    #: Seconds to wait for the workers after an interruption before giving up on them.
    stop_grace: float = 10.0

    def _workers_alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _init_workers(self) -> None:
        self.queue: queue.Queue[ChunkSpec] = queue.Queue()
        self.progress_lock = threading.RLock()
        self.uploaded_size = 0
        self.finished = False
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None
        self._stop = threading.Event()
        self._all_done = threading.Event()
        self._running = 0
        self._local = threading.local()

    def _handle_chunk(self, chunk: ChunkSpec) -> None:
        raise NotImplementedError

    def _progress_total(self) -> int:
        raise NotImplementedError

    def _new_session(self) -> requests.Session:
        raise NotImplementedError

    def _session(self) -> requests.Session:
        """The calling thread's own session, created on first use."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
        return session

    def _chunk_buffer(self, length: int) -> mmap.mmap:
        """The calling thread's reusable chunk buffer, grown to ``length`` bytes if needed."""
        buffer = getattr(self._local, "buffer", None)
        if buffer is None or len(buffer) < length:
            buffer = self._local.buffer = new_chunk_buffer(length)
        return buffer

    def _close_session(self) -> None:
        self._local.buffer = None
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def _start_workers(self, name: str, target: Callable[[], None]) -> None:
        self._stop.clear()
        self._all_done.clear()
        self._failure = None
        count = max(1, min(self.n_threads, self.queue.qsize()))
        self._running = count
        self._threads = [
            threading.Thread(target=target, name=f"{name}-{index}", daemon=True)
            for index in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    chunk = self.queue.get_nowait()
                except queue.Empty:
                    return
                try:
                    self._handle_chunk(chunk)
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                    with self.progress_lock:
                        self._failure = self._failure or exc
                    self._stop.set()
                finally:
                    self.queue.task_done()
        finally:
            self._close_session()
            with self.progress_lock:
                self._running -= 1
                if self._running == 0:
                    self._all_done.set()

    def _wait_for_workers(self) -> None:
        """Report progress every interval until the workers end; raise the first failure."""
        try:
            while not self._all_done.wait(self.progress_report_interval):
                self._tick()
        except BaseException:  # Ctrl-C or a failing callback: let the workers wind down
            self._stop.set()
            for thread in self._threads:
                thread.join(self.stop_grace)
            raise
        for thread in self._threads:
            thread.join()
        self.report_progress()
        self._drain_queue()
        if self._failure is not None:
            raise self._failure

    def _tick(self) -> None:
        """Called in the waiting thread every ``progress_report_interval`` seconds."""
        self.report_progress()

    def _drain_queue(self) -> None:
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return
            self.queue.task_done()

    def update_progress(self, uploaded_size: int) -> None:
        """Add ``uploaded_size`` bytes to the progress (thread-safe)."""
        with self.progress_lock:
            self.uploaded_size += uploaded_size

    def report_progress(self) -> None:
        """Call ``progress_callback(done, total)`` if there is one."""
        if self.progress_callback:
            with self.progress_lock:
                done = self.uploaded_size
            self.progress_callback(done, self._progress_total())


class ChunkUploads(ChunkWorkers):
    """The chunk queue both upload protocols share, under pycloudsigma's method names.

    Subclasses implement ``file_chunks()`` and ``upload_chunk(number, offset, size)``.
    """

    #: Prefix of the worker threads' names.
    thread_name = "cloudsigma-upload"

    def file_chunks(self) -> Iterator[ChunkSpec]:
        raise NotImplementedError

    def upload_chunk(self, chunk_number: int, chunk_offset: int, real_chunk_size: int) -> bool:
        raise NotImplementedError

    def enqueue_chunks(self) -> None:
        """Put every chunk of the file on the work queue."""
        for chunk in self.file_chunks():
            self.queue.put(chunk)

    def start_threads(self) -> None:
        """Start the worker threads that empty the queue."""
        self._start_workers(self.thread_name, self.upload_enqueued)

    def upload_enqueued(self) -> None:
        """Worker loop: upload queued chunks until the queue is empty or a chunk fails."""
        self._work()

    def _handle_chunk(self, chunk: ChunkSpec) -> None:
        self.upload_chunk(*chunk)
        self.update_progress(chunk.size)

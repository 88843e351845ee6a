"""Machinery shared by the drive transfers (the three upload protocols and the download):
one chunk layout (:mod:`cloudsigma._layout`), bounded chunk reads, multipart framing,
per-thread sessions, one retry loop over :class:`~cloudsigma._attempts.Attempts`, one poll
loop, one way to turn a refused answer into an error, and a worker pool with progress.
"""

from __future__ import annotations

import logging
import mmap
import queue
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from cloudsigma import _transport
from cloudsigma._attempts import Attempts
from cloudsigma._layout import (  # noqa: F401 - the layout is part of the transfer machinery
    ChunkLayout,
    ChunkSpec,
    chunk_span,
    download_ranges,
    upload_chunks,
)
from cloudsigma._redact import basic_token, redact_text
from cloudsigma.errors import (  # noqa: F401 - ChunkUploadError is re-exported, as before
    ApiClientError,
    ChunkUploadError,
    TransferAttemptError,
    TransferError,
    UploadError,
    add_note,
)
from cloudsigma.generic import USER_AGENT, unwrap_objects
from cloudsigma.policies import TRANSIENT_KINDS, Retry, Timeout, WaitPolicy, parse_retry_after

LOG = logging.getLogger(__name__)

#: Answers after which a chunk or a range is worth sending again.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

#: The retry policy for one chunk or range: attempts = ``total + 1``.
DEFAULT_CHUNK_RETRY = Retry(
    total=4, backoff_factor=0.25, backoff_max=8.0, statuses=TRANSIENT_STATUSES
)

#: Failures of the HTTP library that a transfer attempt may meet.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = _transport.TRANSFER_ERRORS

#: Longest excerpt of a refusing answer quoted in an error, in characters.
EXCERPT = 300


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
    auth: tuple[str, str] | None,
    verify: bool | str = True,
    pool_size: int = 1,
    *,
    redirects: int = 0,
) -> Any:
    """A keep-alive session for one worker thread, with its own small connection pool.

    Retries are not left to the HTTP library: each chunk is retried as a whole by the
    caller. ``redirects`` are followed only that far, and never with credentials to
    another scheme, host or port.
    """
    return _transport.transfer_session(
        auth, verify, USER_AGENT, redirects=redirects, pool_size=pool_size
    )


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


def secrets_of(username: str | None, password: str | None) -> list[str]:
    """What a transfer's errors must never show: the password and its Basic token."""
    if not password:
        return []
    return [password, basic_token(username, password)]


def send_attempt(
    session: Any,
    method: str,
    url: str,
    *,
    deadline: float | None = None,
    max_bytes: int | None = None,
    consume: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """One request of a transfer attempt through a worker's session.

    :param deadline: seconds the request may take in all (a dripping server included).
    :returns: the response (its body read), or ``(response, what consume returned)``.
    :raises TransferAttemptError: when no usable answer came (``transient`` says whether
        another attempt may cure it).
    """
    deadline_at = None if deadline is None else time.monotonic() + deadline
    outcome = _transport.transfer_send(
        session,
        method,
        url,
        deadline_at=deadline_at,
        max_bytes=max_bytes,
        consume=consume,
        **kwargs,
    )
    if isinstance(outcome, _transport.Failure):
        raise _failed_attempt(outcome)
    return outcome


def _failed_attempt(failure: _transport.Failure) -> TransferAttemptError:
    response = failure.response
    return TransferAttemptError(
        failure.reason or failure.kind,
        getattr(response, "status_code", None) if failure.kind != "unsendable" else None,
        transient=failure.kind in TRANSIENT_KINDS,
        request_id=response.headers.get("X-REQUEST-ID") if response is not None else None,
        retry_after=_retry_after(response),
    )


def refusal_text(response: Any, secrets: Iterable[str] = ()) -> str:
    """``the server answered 503: <the start of its body>``, without any secret.

    Of a body still streaming, only the start is read: a refusal may be any size.
    """
    text = redact_text(_body_start(response, EXCERPT * 4).strip()[: EXCERPT * 4], secrets)
    excerpt = text if len(text) <= EXCERPT else text[:EXCERPT] + "..."
    return f"the server answered {response.status_code}: {excerpt}"


def _body_start(response: Any, limit: int) -> str:
    """At most about ``limit`` bytes of the answer's body, as text."""
    if getattr(response, "_content_consumed", True) or not hasattr(response, "iter_content"):
        return str(getattr(response, "text", "") or "")
    try:
        start = next(response.iter_content(limit), b"")
    except TRANSPORT_ERRORS:
        start = b""
    return bytes(start[:limit]).decode(response.encoding or "utf-8", "replace")


def refused(response: Any, what: str, secrets: Iterable[str] = ()) -> TransferAttemptError:
    """The error of an attempt whose answer refused it (``what`` says what was asked)."""
    return TransferAttemptError(
        f"{what}: {refusal_text(response, secrets)}",
        response.status_code,
        request_id=response.headers.get("X-REQUEST-ID"),
        retry_after=_retry_after(response),
    )


def _retry_after(response: Any) -> float | None:
    """The wait an answer's ``Retry-After`` asks for (None without one or without an answer)."""
    return None if response is None else parse_retry_after(response.headers.get("Retry-After"))


def single_object(answer: Any, what: str = "drive") -> dict[str, Any]:
    """The one object of an answer that may still be wrapped in ``objects`` or a list.

    :raises UploadError: when the answer holds no object or several.
    """
    answer = unwrap_objects(answer, return_list=True)
    if isinstance(answer, list):
        if len(answer) != 1:
            raise UploadError(f"expected one {what} in the answer, got {len(answer)}")
        answer = answer[0]
    if not isinstance(answer, dict):
        raise UploadError(f"expected a {what} in the answer, got a {type(answer).__name__}")
    return answer


def is_transient(exc: BaseException) -> bool:
    """Whether a failed attempt is worth repeating."""
    if isinstance(exc, ApiClientError):
        if exc.transient is not None:
            return exc.transient
        return exc.status_code in TRANSIENT_STATUSES
    failure = _transport.classify(exc)
    return failure is not None and failure.kind in TRANSIENT_KINDS


#: Failures that :func:`with_retries` looks at (others pass straight through).
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (ApiClientError, *TRANSPORT_ERRORS)


def with_retries(
    attempt: Callable[[], Any],
    policy: Retry,
    describe: str,
    resume_hint: str,
    chunk_number: int,
    error_class: type[TransferError] = TransferError,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> Any:
    """Run ``attempt()`` until it succeeds, sleeping after transient failures (as long as an
    answer's ``Retry-After`` asks, else with backoff and jitter), at most ``policy.total + 1``
    times.

    :param deadline: seconds after which no further attempt starts (nor a sleep that
        would end past it).
    :raises TransferError: naming ``describe`` once attempts run out or a failure is final.
    """
    attempts = Attempts(policy, deadline, sleep=sleep)
    while True:
        try:
            return attempt()
        except RETRYABLE_ERRORS as exc:
            retry_after = getattr(exc, "retry_after", None)  # the server's wish, capped
            delay = attempts.next_delay(retry_after) if is_transient(exc) else None
            if delay is None:
                error = _final_error(
                    exc, describe, resume_hint, chunk_number, attempts.count, error_class
                )
                if attempts.gave_up:
                    add_note(error, f"not retried: {attempts.gave_up}")
                raise error from exc
            LOG.info(
                "%s failed (%s); attempt %d in %.2fs", describe, exc, attempts.count + 1, delay
            )
            attempts.sleep(delay)


def _final_error(
    exc: BaseException,
    describe: str,
    resume_hint: str,
    chunk_number: int,
    failures: int,
    error_class: type[TransferError],
) -> TransferError:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ApiClientError):
        reason = str(exc.message)  # its status and request id are the new error's own
    else:
        failure = _transport.classify(exc)
        reason = failure.reason if failure is not None else str(exc)
    tries = "1 attempt" if failures == 1 else f"{failures} attempts"
    return error_class(
        f"{describe} failed after {tries}: {reason}; {resume_hint}",
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
    expected_size: int | None,
    policy: WaitPolicy = DEFAULT_FINISH_WAIT,
) -> dict[str, Any]:
    """Poll the drive until it is ``unmounted`` and check that it holds ``expected_size`` bytes
    (any size when None: a raw upload grows a small image to the smallest drive).

    :returns: the drive as the API last showed it.
    :raises UploadError: when the drive stays in another status or has another size.
    """
    drive: dict[str, Any] = {}
    for _ in policy.polls():
        drive = get_drive()
        if drive.get("status") == "unmounted":
            break
    if drive.get("status") != "unmounted":
        raise UploadError(
            f"every chunk of drive {drive_uuid} was accepted, but the drive is still "
            f"{drive.get('status')!r} after {policy.timeout:g} s; upload again to drive "
            f"{drive_uuid} to send whatever is missing"
        )
    if expected_size is not None and _size_of(drive) != expected_size:
        raise UploadError(
            f"drive {drive_uuid} holds {drive.get('size')} bytes after the upload, "
            f"but the image has {expected_size}"
        )
    return drive


def _size_of(drive: dict[str, Any]) -> int | None:
    try:
        return int(drive.get("size", -1))
    except (TypeError, ValueError):
        return None


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

    def _new_session(self) -> Any:
        raise NotImplementedError

    def _session(self) -> Any:
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

"""A mixed workload driven through the SDK against an emulator that injects faults.

It behaves as a careful user would: idempotent calls rely on the SDK's retries, and a
create whose answer was lost (``TransportError`` or a cut-off ``InvalidResponseError``) is
looked up by name before it is sent again. :func:`audit` then compares the emulator's state
with what the workload meant to make. Shared by ``tests/reliability`` and ``bench/chaos.py``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cloudsigma import errors
from cloudsigma.generic import GenericClient
from cloudsigma.policies import Retry, Timeout, WaitPolicy
from cloudsigma.resource import Drive, ResourceBase, Server
from cloudsigma.resumable_upload import ChunkUploadError, Upload, UploadError

GIB = 1024**3
#: 10% of API requests get a fault: two points each for five kinds, plus some latency.
TEN_PERCENT = (
    "503=0.02,429=0.02,reset_before=0.02,reset_after=0.02,truncate=0.02,"
    "latency=0.02:0.02,retry_after=0"
)
#: Enough retries that ten faults in a row are needed to defeat an idempotent call.
CLIENT_RETRY = Retry(total=9, backoff_factor=0.0, jitter=False)
CHUNK_RETRY = Retry(total=9, backoff_factor=0.001, statuses=frozenset({429, 502, 503, 504}))
FAST_WAIT = WaitPolicy(timeout=30.0, interval=0.01, max_interval=0.05, factor=1.5)
#: Answers that leave it unknown whether the API processed the request.
LOST_ANSWER = (errors.TransportError, errors.InvalidResponseError)
#: Statuses that prove the request was not processed (the SDK already retried them).
NOT_PROCESSED = frozenset({429, 503})


def outcome_unknown(exc: errors.ApiClientError) -> bool:
    """Whether the request may have been processed although no usable answer came.

    :raises ApiClientError: ``exc`` itself when it is a plain refusal worth surfacing.
    """
    if isinstance(exc, LOST_ANSWER) or exc.status_code in (502, 504):
        return True
    if exc.status_code in NOT_PROCESSED:
        return False
    raise exc


#: How the SDK and the chunk uploader announce a retry in their logs.
RETRY_MESSAGES = {
    "cloudsigma.generic": re.compile(r"retry \d+ of \d+"),
    "cloudsigma._chunks": re.compile(r"failed .*; attempt \d+ in"),
}


@dataclass
class Figures:
    """What happened during a run; every list should be empty at the end."""

    operations: Counter = field(default_factory=Counter)
    errors_surfaced: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    lost_create_answers: int = 0
    found_by_name_after_lost_answer: int = 0
    created_again_after_lookup: int = 0
    lost_action_answers: int = 0
    deletes_already_done: int = 0
    uploads_resumed: int = 0
    upload_bytes_checked: int = 0
    bytes_corrupted: int = 0
    duplicates: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    leftovers: list = field(default_factory=list)
    foreign_exceptions: list = field(default_factory=list)
    errors_without_request_id: list = field(default_factory=list)
    failed_operations: list = field(default_factory=list)
    faults: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operations": sum(self.operations.values()),
            "operations_by_kind": dict(self.operations),
            "faults_injected": self.faults.get("counts", {}),
            "fault_spec": self.faults.get("spec"),
            "api_requests_seen_by_injector": self.faults.get("requests"),
            "retries": dict(self.retries),
            "errors_surfaced": dict(self.errors_surfaced),
            "lost_create_answers": self.lost_create_answers,
            "found_by_name_after_lost_answer": self.found_by_name_after_lost_answer,
            "created_again_after_lookup": self.created_again_after_lookup,
            "lost_action_answers": self.lost_action_answers,
            "deletes_already_done": self.deletes_already_done,
            "uploads_resumed": self.uploads_resumed,
            "upload_bytes_checked": self.upload_bytes_checked,
            "duplicates": len(self.duplicates),
            "missing": len(self.missing),
            "leftovers": len(self.leftovers),
            "bytes_corrupted": self.bytes_corrupted,
            "foreign_exceptions": self.foreign_exceptions[:20],
            "errors_without_request_id": self.errors_without_request_id[:20],
            "failed_operations": self.failed_operations[:20],
        }


class _RetryCounter(logging.Handler):
    """Counts the retry announcements of the SDK and the chunk uploader."""

    def __init__(self, retries: Counter) -> None:
        super().__init__(logging.DEBUG)
        self.retries = retries

    def emit(self, record: logging.LogRecord) -> None:
        pattern = RETRY_MESSAGES.get(record.name)
        if pattern is not None and pattern.search(record.getMessage()):
            self.retries[record.name.rpartition(".")[2].lstrip("_")] += 1


@contextmanager
def counting_retries(retries: Counter) -> Iterator[None]:
    """Count retries while the block runs (the loggers are restored afterwards)."""
    handler = _RetryCounter(retries)
    saved = []
    for name in RETRY_MESSAGES:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


class ChaosWorkload:
    """Mixed operations on drives and servers, with a small upload now and then.

    :param emulator: a running emulator (its faults are configured by the caller).
    :param seed: seed of the choice of operations.
    :param image_size: bytes of each uploaded image.
    :param upload_share: the share of operations that are uploads.
    """

    def __init__(
        self, emulator: Any, seed: int = 1, image_size: int = 96 * 1024, upload_share: float = 0.01
    ) -> None:
        self.emulator = emulator
        self.random = random.Random(seed)
        self.image_size = image_size
        self.upload_share = upload_share
        self.client_kwargs = {
            "api_endpoint": emulator.api_endpoint,
            "username": emulator.username,
            "password": emulator.password,
            "retry": CLIENT_RETRY,
            "timeout": Timeout(connect=5, read=20),
        }
        self.client = GenericClient(**self.client_kwargs)
        self.drives = Drive.from_client(self.client)
        self.servers = Server.from_client(self.client)
        self.figures = Figures()
        #: name -> uuid of what should exist at the end, by resource name.
        self.expected: dict[str, dict[str, str]] = {"drives": {}, "servers": {}}
        self.deleted: set[str] = set()
        self.images: dict[str, str] = {}  # drive uuid -> image path
        self._serial = 0
        self._workdir = tempfile.mkdtemp(prefix="cloudsigma-chaos-")

    # --- running -------------------------------------------------------------------------

    def run(self, operations: int) -> Figures:
        """Run ``operations`` operations, then audit the emulator's state."""
        choices: list[tuple[float, Callable[[], None]]] = [
            (3, self.create_drive),
            (2, self.create_server),
            (3, self.list_objects),
            (4, self.get_object),
            (3, self.update_object),
            (3, self.server_action),
            (2, self.delete_object),
        ]
        weights = [weight for weight, _ in choices]
        with counting_retries(self.figures.retries):
            for _ in range(operations):
                if self.random.random() < self.upload_share:
                    operation = self.upload
                else:
                    operation = self.random.choices(choices, weights)[0][1]
                self.figures.operations[operation.__name__] += 1
                self.guarded(operation)
        self.figures.faults = self.emulator.api.faults.report()
        try:
            self.audit()
        finally:
            self.client.close()
            shutil.rmtree(self._workdir, ignore_errors=True)
        return self.figures

    def guarded(self, operation: Callable[[], None]) -> None:
        """Run one operation; any exception that is not the library's own is recorded."""
        try:
            operation()
        except errors.ApiClientError as exc:
            self.note_error(exc)
            self.figures.failed_operations.append(f"{operation.__name__}: {exc!r}")
        except Exception as exc:  # noqa: BLE001 - the point is to catch what should not escape
            self.figures.foreign_exceptions.append(f"{operation.__name__}: {exc!r}")

    def note_error(self, exc: BaseException) -> None:
        """Count an error the SDK surfaced and check it carries the request id of its answer."""
        self.figures.errors_surfaced[type(exc).__name__] += 1
        if not isinstance(exc, errors.ApiClientError):
            self.figures.foreign_exceptions.append(repr(exc))
        elif exc.status_code is not None and not exc.request_id:
            self.figures.errors_without_request_id.append(repr(exc))

    def name(self, prefix: str) -> str:
        self._serial += 1
        return f"chaos-{prefix}-{self._serial}"

    def pick(self, resource: str) -> str | None:
        names = sorted(self.expected[resource])
        return self.expected[resource][self.random.choice(names)] if names else None

    # --- creating, carefully -------------------------------------------------------------

    def find_by_name(self, collection: ResourceBase, name: str) -> list[dict]:
        found = collection.list_detail({"name": name, "limit": 0})
        return [obj for obj in found if obj.get("name") == name]

    def careful_create(self, collection: ResourceBase, values: dict) -> dict:
        """Create once: after a lost answer, look the name up before sending it again."""
        for _ in range(10):
            try:
                return collection.create(values)
            except errors.ApiClientError as exc:
                self.note_error(exc)
                if not outcome_unknown(exc):
                    continue
                self.figures.lost_create_answers += 1
                found = self.find_by_name(collection, values["name"])
                if found:
                    self.figures.found_by_name_after_lost_answer += 1
                    return found[0]
                self.figures.created_again_after_lookup += 1
        raise errors.ApiClientError(f"could not create {values['name']} in 10 attempts")

    def create_drive(self) -> None:
        if len(self.expected["drives"]) >= 25:
            return self.delete_object()
        name = self.name("drive")
        drive = self.careful_create(self.drives, {"name": name, "size": GIB, "media": "disk"})
        self.expected["drives"][name] = drive["uuid"]
        return None

    def create_server(self) -> None:
        if len(self.expected["servers"]) >= 15:
            return self.delete_object()
        name = self.name("server")
        values = {"name": name, "cpu": 1000, "mem": GIB, "vnc_password": "chaos-vnc"}
        server = self.careful_create(self.servers, values)
        self.expected["servers"][name] = server["uuid"]
        return None

    # --- idempotent calls (the SDK retries them) ------------------------------------------

    def list_objects(self) -> None:
        collection = self.random.choice([self.drives, self.servers])
        listed = collection.list_detail({"limit": 0})
        names = {obj["name"] for obj in listed}
        wanted = set(self.expected[collection.resource_name or ""])
        if not wanted <= names:
            self.figures.missing.append(sorted(wanted - names))

    def get_object(self) -> None:
        resource = self.random.choice(["drives", "servers"])
        uuid = self.pick(resource)
        if uuid is not None:
            obj = (self.drives if resource == "drives" else self.servers).get(uuid)
            assert obj["uuid"] == uuid

    def update_object(self) -> None:
        resource = self.random.choice(["drives", "servers"])
        uuid = self.pick(resource)
        if uuid is None:
            return
        meta = {"step": str(self._serial), "note": "chaos"}
        collection = self.drives if resource == "drives" else self.servers
        updated = collection.update(uuid, {"meta": meta})
        assert updated["meta"] == meta

    def delete_object(self) -> None:
        resource = self.random.choice(["drives", "servers"])
        uuid = self.pick(resource)
        if uuid is None:
            return
        collection = self.drives if resource == "drives" else self.servers
        if resource == "servers":
            self.ensure_stopped(uuid)
        try:
            collection.delete(uuid)
        except errors.ClientError as exc:
            # DELETE is retried; a retry after a lost 204 finds the object already gone.
            if exc.status_code != 404 or self.still_exists(collection, uuid):
                raise
            self.note_error(exc)
            self.figures.deletes_already_done += 1
        name = next(n for n, u in self.expected[resource].items() if u == uuid)
        del self.expected[resource][name]
        self.deleted.add(uuid)
        self.images.pop(uuid, None)

    @staticmethod
    def still_exists(collection: ResourceBase, uuid: str) -> bool:
        try:
            collection.get(uuid)
        except errors.ClientError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    # --- actions (POST: not retried after they may have been processed) -------------------

    def server_action(self) -> None:
        uuid = self.pick("servers")
        if uuid is None:
            return
        status = self.servers.wait_for_status(uuid, {"running", "stopped"}, policy=FAST_WAIT)
        if status["status"] == "stopped":
            self.careful_action(uuid, "start", {"starting", "running"}, "running")
        else:
            self.careful_action(uuid, "stop", {"stopping", "stopped"}, "stopped")

    def careful_action(self, uuid: str, action: str, taken: set[str], final: str) -> None:
        """Run an action once; after a lost answer, check the status before repeating it."""
        for _ in range(10):
            try:
                getattr(self.servers, action)(uuid)
                break
            except errors.ApiClientError as exc:
                self.note_error(exc)
                if not outcome_unknown(exc):
                    continue
                self.figures.lost_action_answers += 1
                if self.servers.get(uuid)["status"] in taken:
                    break
        self.servers.wait_for_status(uuid, final, policy=FAST_WAIT)

    def ensure_stopped(self, uuid: str) -> None:
        status = self.servers.wait_for_status(uuid, {"running", "stopped"}, policy=FAST_WAIT)
        if status["status"] == "running":
            self.careful_action(uuid, "stop", {"stopping", "stopped"}, "stopped")

    # --- uploads ----------------------------------------------------------------------------

    def upload(self) -> None:
        """Upload a small random image; resume after a failure rather than start over."""
        name = self.name("image")
        path = os.path.join(self._workdir, name + ".raw")
        with open(path, "wb") as image:
            image.write(self.random.randbytes(self.image_size))
        drive_uuid: str | None = None
        for _ in range(10):
            uploader = self.uploader(path, name, drive_uuid)
            try:
                drive = uploader.upload()
                break
            except ChunkUploadError as exc:  # a chunk failed for good: resume the same drive
                self.note_error(exc)
            except UploadError:
                raise  # a size mismatch or an unfinished drive: resuming would not help
            except errors.ApiClientError as exc:  # creating or checking the drive failed
                self.note_error(exc)
                outcome_unknown(exc)  # raises a plain refusal
            drive_uuid = uploader.drive_uuid or self.uploaded_drive(name)
            self.figures.uploads_resumed += 1
        else:
            raise errors.ApiClientError(f"upload {name} did not finish in 10 attempts")
        self.expected["drives"][name] = drive["uuid"]
        self.images[drive["uuid"]] = path
        self.check_image(drive["uuid"], path)

    def uploader(self, path: str, name: str, drive_uuid: str | None) -> Upload:
        uploader = Upload(
            path,
            drive_uuid=drive_uuid,
            chunk_size=32 * 1024,
            n_threads=2,
            drive_name=name,
            generic_client_kwargs=self.client_kwargs,
        )
        uploader.retry_policy = CHUNK_RETRY
        uploader.finish_wait = FAST_WAIT
        return uploader

    def uploaded_drive(self, name: str) -> str | None:
        """The drive an upload created before its answer was lost, if it did."""
        found = self.find_by_name(self.drives, name)
        if found:
            self.figures.found_by_name_after_lost_answer += 1
        return found[0]["uuid"] if found else None

    # --- the audit ----------------------------------------------------------------------------

    def audit(self) -> None:
        """Compare the emulator's state with what the workload meant to make."""
        account = self.emulator.account()
        for resource in ("drives", "servers"):
            stored = self.emulator.call(lambda r=resource: list(account.objects[r].values()))
            by_name = Counter(obj["name"] for obj in stored)
            self.figures.duplicates += [n for n, count in by_name.items() if count > 1]
            wanted = self.expected[resource]
            self.figures.missing += [n for n in wanted if by_name[n] == 0]
            self.figures.leftovers += [
                obj["uuid"] for obj in stored if wanted.get(obj["name"]) != obj["uuid"]
            ]
        for uuid, path in self.images.items():
            self.check_image(uuid, path)

    def check_image(self, uuid: str, path: str) -> None:
        """Compare the SHA-256 of the image the emulator stored with the file sent."""
        with open(path, "rb") as image:
            original = image.read()
        backend = self.emulator.backend
        stored = self.emulator.call(lambda: backend.images[uuid].getvalue())
        self.figures.upload_bytes_checked += len(original)
        if hashlib.sha256(stored).digest() != hashlib.sha256(original).digest():
            self.figures.bytes_corrupted += _differing_bytes(original, stored)


def _differing_bytes(original: bytes, stored: bytes) -> int:
    """How many bytes differ, counting a length difference as differing bytes."""
    common = min(len(original), len(stored))
    changed = sum(1 for a, b in zip(original[:common], stored[:common], strict=True) if a != b)
    return changed + abs(len(original) - len(stored))

"""Fleet operations: many objects at once over one pooled client, one outcome per object.

:class:`Fleet` creates objects in bulk requests (as many per request as the API takes), runs
per-object actions (start, stop, clone, delete) on bounded workers that share the client's
connections and hold back together when the API answers 429 or 503, and waits for many
objects at once over one websocket, or with one batched listing per poll when the
websocket is not available. Every call returns a :class:`Batch`: one :class:`Outcome` per
object asked about, in the order asked, holding the API's answer or the library error::

    from cloudsigma.fleet import Fleet

    with Fleet() as fleet:
        servers = fleet.launch_servers(
            [{"name": f"web-{n}", "cpu": 1000, "mem": 1024**3, "vnc_password": "..."}
             for n in range(100)],
            boot_drive=LIBRARY_DRIVE_UUID,
        )
        servers.raise_for_errors()                 # or look at servers.failed
        ...
        fleet.destroy_servers(servers.uuids).raise_for_errors()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from cloudsigma import errors
from cloudsigma.generic import GenericClient, get_client
from cloudsigma.policies import WaitPolicy, parse_retry_after, status_set

if TYPE_CHECKING:
    from cloudsigma._transport import Response
    from cloudsigma.websocket.connection import WebsocketClient

__all__ = ["Batch", "Fleet", "Outcome"]

LOG = logging.getLogger(__name__)

#: Objects per bulk request: the one limit the API documents ("at most 500 per request",
#: for subscriptions) is applied to every collection.
MAX_OBJECTS_PER_REQUEST = 500
#: Uuids per batched listing (``?uuid=a,b,...``): about 4 KB of URL, which any server takes.
UUIDS_PER_LISTING = 100
#: Collections that delete many objects in one ``DELETE /<name>/`` (drives, snapshots and
#: remote snapshots, per the API's docs).
BULK_DELETE = frozenset({"drives", "snapshots", "remotesnapshots"})
#: Statuses of a bulk request that one bad object can cause, while the API changed nothing:
#: the batch is split to find the objects at fault.
SPLIT_STATUSES = frozenset({400, 403, 404, 409})
#: How long frames are gathered before the objects they name are listed, in seconds.
FRAME_GATHERING = 0.05
#: The longest a changed object waits for that listing while frames keep coming, in seconds:
#: short, so that objects that get ready one after the other (clones of a fleet) go on to
#: their next step in small groups rather than all behind the last one.
FRAME_GATHERING_MAX = 0.15

DEFAULT_WAIT = WaitPolicy(timeout=900.0, interval=1.0, max_interval=10.0, factor=1.5)


def _sleep(seconds: float) -> None:
    """Sleep (a separate function so tests can replace it)."""
    time.sleep(seconds)


def _monotonic() -> float:
    return time.monotonic()


# --- outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one object of a fleet operation.

    :ivar subject: what was asked about: a uuid (or an object with one), or a definition.
    :ivar result: the API's answer for it (the object, or the answer to an action);
        ``None`` when it failed, and for a delete.
    :ivar error: the library error that stopped it, or ``None``.
    :ivar leftovers: ``resource_uri`` of what a composite operation (such as
        :meth:`Fleet.launch_servers`) created for it before it failed; still there.
    """

    subject: Any
    result: Any = None
    error: errors.ApiClientError | None = None
    leftovers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def uuid(self) -> str | None:
        """The uuid of the object: of the result when it has one, else of the subject."""
        for candidate in (self.result, self.subject):
            if isinstance(candidate, Mapping) and isinstance(candidate.get("uuid"), str):
                return str(candidate["uuid"])
        return self.subject if isinstance(self.subject, str) else None


class Batch(Sequence[Outcome]):
    """The outcomes of one fleet operation, one per object asked about, in the order asked.

    :ivar operation: what was done (``"start"``, ``"create servers"``, ...).
    :ivar via: how a wait learnt the statuses: ``"websocket"``, ``"polling"`` or
        ``"websocket, then polling"``; ``None`` for other operations.
    """

    def __init__(self, operation: str, outcomes: Iterable[Outcome], via: str | None = None):
        self.operation = operation
        self.outcomes: list[Outcome] = list(outcomes)
        self.via = via

    @overload
    def __getitem__(self, index: int) -> Outcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Outcome]: ...
    def __getitem__(self, index: int | slice) -> Outcome | Sequence[Outcome]:
        return self.outcomes[index]

    def __len__(self) -> int:
        return len(self.outcomes)

    def __repr__(self) -> str:
        failed = len(self.failed)
        return f"<Batch {self.operation}: {len(self) - failed} ok, {failed} failed>"

    @property
    def ok(self) -> bool:
        """Whether every object succeeded."""
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        """The outcomes that hold an error."""
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def results(self) -> list[Any]:
        """The API's answers for the objects that succeeded."""
        return [outcome.result for outcome in self.outcomes if outcome.ok]

    @property
    def uuids(self) -> list[str]:
        """The uuids of the objects that succeeded (to hand to the next operation)."""
        return [outcome.uuid for outcome in self.outcomes if outcome.ok and outcome.uuid]

    def raise_for_errors(self) -> Batch:
        """Return this batch when every object succeeded.

        :raises FleetError: naming how many failed and the first of them, with every
            failed :class:`Outcome` in ``failures``.
        """
        failed = self.failed
        if not failed:
            return self
        shown = "; ".join(f"{_describe(o)}: {o.error}" for o in failed[:5])
        more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise errors.FleetError(
            f"{self.operation}: {len(failed)} of {len(self)} failed: {shown}{more}", failed
        )


def _describe(outcome: Outcome) -> str:
    if outcome.uuid:
        return outcome.uuid
    subject = outcome.subject
    if isinstance(subject, Mapping) and subject.get("name"):
        return repr(subject["name"])
    return repr(subject)[:60]


# --- rate limits --------------------------------------------------------------------------------


class _Gate:
    """Holds every worker of a fleet back while the API asks for a pause (429 or 503).

    :param pause: seconds to pause when an answer gives no ``Retry-After``.
    """

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self._until = 0.0
        self._lock = threading.Lock()

    def observe(self, response: Response) -> None:
        """Note a 429 or 503 answer: nobody starts a request until its pause is over."""
        if response.status_code not in (429, 503):
            return
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        seconds = self.pause if retry_after is None else retry_after
        with self._lock:
            self._until = max(self._until, _monotonic() + seconds)

    def wait(self) -> None:
        """Return once no pause is in force."""
        while (left := self._until - _monotonic()) > 0:
            _sleep(left)


def _uuid(subject: Any) -> str:
    """The uuid of ``subject``: a uuid, or an object (a dict) with one.

    :raises InvalidIdError: for anything else (nothing is sent for it).
    """
    uuid = subject.get("uuid") if isinstance(subject, Mapping) else subject
    if not isinstance(uuid, str) or not uuid or uuid.strip() != uuid or "/" in uuid or "," in uuid:
        raise errors.InvalidIdError(
            f"{subject!r} is not a uuid, nor an object with one", "uuid", subject
        )
    return uuid


def _objects(answer_data: Any, expected: int, what: str) -> list[Any]:
    """The ``objects`` of a bulk answer, which must list one object per one sent.

    :raises InvalidResponseError: for any other answer.
    """
    objects = answer_data.get("objects") if isinstance(answer_data, Mapping) else answer_data
    if not isinstance(objects, list) or len(objects) != expected:
        found = len(objects) if isinstance(objects, list) else type(objects).__name__
        raise errors.InvalidResponseError(
            f"{what} answered {found} objects for {expected} sent; the API may have created "
            "them, so list them before sending again"
        )
    return objects


# --- the fleet ----------------------------------------------------------------------------------


class Fleet:
    """Many objects at once over one client: bulk creates, concurrent actions, joint waits.

    The workers share the client (its session and pooled connections). The client's
    :class:`~cloudsigma.policies.Retry` retries each request as usual (a 429 or 503 after
    its ``Retry-After``); besides, once any request of the fleet is answered 429 or 503,
    no worker starts another until that pause is over, so the fleet slows down as one.

    :param client: the client to use (its ``response_hook`` is wrapped while the fleet is
        open); by default one built from ``client_kwargs`` and the configuration, closed
        with the fleet.
    :param workers: requests in flight at most; the client's pools keep 32 connections
        per host, so up to 32 workers reuse theirs.
    :param batch_size: objects per bulk request (at most :data:`MAX_OBJECTS_PER_REQUEST`).
    :param wait_policy: how long the waits wait, and how often they poll without a
        websocket (by default up to 15 minutes, every 1 s growing to 10 s).
    :param websocket: wait over the API's websocket (falling back to polling when it is not
        available); False polls only.
    :param client_kwargs: arguments for the client, as for any resource.
    """

    def __init__(
        self,
        client: GenericClient | None = None,
        *,
        workers: int = 32,
        batch_size: int = MAX_OBJECTS_PER_REQUEST,
        wait_policy: WaitPolicy | None = None,
        websocket: bool = True,
        **client_kwargs: Any,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise errors.InvalidArgumentError(
                f"workers must be a whole number >= 1, not {workers!r}", "workers", workers
            )
        if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_OBJECTS_PER_REQUEST:
            raise errors.InvalidArgumentError(
                f"batch_size must be between 1 and {MAX_OBJECTS_PER_REQUEST}, not {batch_size!r}",
                "batch_size",
                batch_size,
            )
        self._owns_client = client is None
        self.client = client if client is not None else get_client()(**client_kwargs)
        self.workers = workers
        self.batch_size = batch_size
        self.wait_policy = wait_policy or DEFAULT_WAIT
        self.websocket = websocket
        self._gate = _Gate(pause=self.client.retry.backoff_factor or 0.5)
        self._previous_hook = self.client.response_hook
        self.client.response_hook = self._observe
        self._pool: ThreadPoolExecutor | None = None
        self._channel: WebsocketClient | None = None

    def __repr__(self) -> str:
        return f"Fleet({self.client!r}, workers={self.workers})"

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers, close the websocket, and give the client its hook back (or
        close the client, when the fleet built it)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.client.response_hook == self._observe:
            self.client.response_hook = self._previous_hook
        if self._owns_client:
            self.client.close()

    def _observe(self, response: Response, *args: Any, **kwargs: Any) -> None:
        self._gate.observe(response)
        if self._previous_hook is not None:
            self._previous_hook(response, *args, **kwargs)

    # --- running many -----------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="cloudsigma-fleet")
        return self._pool

    def _each(self, subjects: Iterable[Any], work: Callable[[Any], Any]) -> list[Outcome]:
        """``work(subject)`` for every subject on the workers, one outcome each, in order.

        A library error becomes the outcome of its subject; any other exception (a bug) is
        raised once every subject is done, so that nothing is left running.
        """
        futures = [self._executor().submit(self._attempt, work, s) for s in subjects]
        return _gather(futures)

    def _attempt(self, work: Callable[[Any], Any], subject: Any) -> Outcome:
        self._gate.wait()
        try:
            result = work(subject)
        except errors.ApiClientError as error:
            return Outcome(subject, error=error)
        return result if isinstance(result, Outcome) else Outcome(subject, result)

    def _in_batches(
        self, items: Sequence[Any], send: Callable[[list[Any]], list[Any]]
    ) -> list[Outcome]:
        """``send`` each batch of ``items`` on the workers; one outcome per item, in order."""
        batches = [
            list(items[start : start + self.batch_size])
            for start in range(0, len(items), self.batch_size)
        ]
        futures = [self._executor().submit(self._send_batch, batch, send) for batch in batches]
        return [outcome for outcomes in _gather(futures) for outcome in outcomes]

    def _send_batch(
        self, batch: list[Any], send: Callable[[list[Any]], list[Any]]
    ) -> list[Outcome]:
        """Send one batch; when the API refuses it for what one object may have caused (and
        so changed nothing), send each half again, down to the objects at fault."""
        self._gate.wait()
        try:
            results = send(batch)
        except errors.ApiClientError as error:
            if len(batch) > 1 and error.status_code in SPLIT_STATUSES:
                half = len(batch) // 2
                return self._send_batch(batch[:half], send) + self._send_batch(batch[half:], send)
            return [Outcome(item, error=error) for item in batch]
        return [Outcome(item, result) for item, result in zip(batch, results, strict=True)]

    # --- creating ---------------------------------------------------------------------------

    def create(
        self,
        resource_name: str,
        definitions: Iterable[Mapping[str, Any]],
        *,
        query_params: Mapping[str, Any] | None = None,
    ) -> Batch:
        """Create objects of ``/<resource_name>/`` in bulk requests of :attr:`batch_size`.

        A batch the API refuses because of one definition (400, 403, 404, 409: nothing was
        created) is split until the definitions at fault are found; the others are created.

        :param definitions: one dict per object to create.
        :param query_params: sent with every request (``{"avoid": ...}``).
        :returns: one outcome per definition: the created object, or the error.
        """
        send = self._create_call(resource_name, query_params)
        return Batch(f"create {resource_name}", self._in_batches(list(definitions), send))

    def _create_call(
        self, resource_name: str, query_params: Mapping[str, Any] | None = None
    ) -> Callable[[list[Any]], list[Any]]:
        """One bulk create, as a function of the definitions it sends."""
        url = f"/{resource_name}/"

        def send(batch: list[Any]) -> list[Any]:
            answer = self.client.request("POST", url, {"objects": batch}, query_params=query_params)
            return _objects(answer.data, len(batch), f"POST {url}")

        return send

    def clone(
        self,
        resource_name: str,
        source: Any,
        definitions: Iterable[Mapping[str, Any]] | int,
        *,
        avoid: str | Sequence[str] | None = None,
    ) -> Batch:
        """Clone one object once per definition (or ``definitions`` times), concurrently.

        :param source: the uuid (or object) to clone; a library drive for ``"drives"``.
        :param definitions: the body of each clone (``{"name": ..., "media": ...}``), or a
            number of clones with the API's default names.
        :param avoid: uuids whose storage or host the clones should keep away from.
        :returns: one outcome per clone: the new object (``cloning_dst`` for a drive).
        """
        bodies = [{}] * definitions if isinstance(definitions, int) else list(definitions)
        url = f"/{resource_name}/{_uuid(source)}/action/"
        params = {"do": "clone"}
        if avoid:
            params["avoid"] = avoid if isinstance(avoid, str) else ",".join(avoid)

        def clone_one(body: Mapping[str, Any]) -> Any:
            return self.client.request("POST", url, dict(body), query_params=params).objects()

        return Batch(f"clone {resource_name}", self._each(bodies, clone_one))

    # --- per-object actions -----------------------------------------------------------------

    def action(
        self,
        resource_name: str,
        subjects: Iterable[Any],
        action: str,
        data: Mapping[str, Any] | None = None,
        *,
        query_params: Mapping[str, Any] | None = None,
    ) -> Batch:
        """POST ``/<resource_name>/<uuid>/action/?do=<action>`` for each object, concurrently.

        :param subjects: uuids, or objects with a ``uuid``.
        :returns: one outcome per subject: the API's answer to the action.
        """
        act = self._action_call(resource_name, action, data, query_params)
        return Batch(action, self._each(subjects, act))

    def _action_call(
        self,
        resource_name: str,
        action: str,
        data: Mapping[str, Any] | None = None,
        query_params: Mapping[str, Any] | None = None,
    ) -> Callable[[Any], Any]:
        """The action ``action`` on one object, as a function of its uuid (or object)."""
        params = {"do": action, **(query_params or {})}
        body = dict(data or {})

        def act(subject: Any) -> Any:
            url = f"/{resource_name}/{_uuid(subject)}/action/"
            return self.client.request("POST", url, body, query_params=params).objects()

        return act

    def start(self, servers: Iterable[Any], allocation_method: str | None = None) -> Batch:
        """Start stopped servers."""
        data = {"allocation_method": allocation_method} if allocation_method else None
        return self.action("servers", servers, "start", data)

    def stop(self, servers: Iterable[Any]) -> Batch:
        """Power servers off at once."""
        return self.action("servers", servers, "stop")

    def shutdown(self, servers: Iterable[Any]) -> Batch:
        """Ask the guests to shut down (ACPI)."""
        return self.action("servers", servers, "shutdown")

    def restart(self, servers: Iterable[Any]) -> Batch:
        """Restart running servers."""
        return self.action("servers", servers, "restart")

    def delete(
        self, resource_name: str, subjects: Iterable[Any], *, recurse: str | None = None
    ) -> Batch:
        """Delete objects: in bulk requests where the API offers them (drives, snapshots,
        remote snapshots), else one request each, concurrently.

        :param recurse: for servers, ``all_drives``, ``disks`` or ``cdroms``: delete these
            attached drives too.
        :returns: one outcome per subject (``result`` None).
        """
        subjects = list(subjects)
        if recurse is None and resource_name in BULK_DELETE:
            return Batch(f"delete {resource_name}", self._bulk_delete(resource_name, subjects))
        delete_one = self._delete_call(resource_name, recurse)
        return Batch(f"delete {resource_name}", self._each(subjects, delete_one))

    def _delete_call(self, resource_name: str, recurse: str | None) -> Callable[[Any], None]:
        """The delete of one object, as a function of its uuid (or object)."""
        params = {"recurse": recurse} if recurse else None

        def delete_one(subject: Any) -> None:
            url = f"/{resource_name}/{_uuid(subject)}/"
            self.client.request("DELETE", url, query_params=params)

        return delete_one

    def _bulk_delete(self, resource_name: str, subjects: list[Any]) -> list[Outcome]:
        url = f"/{resource_name}/"

        def send(batch: list[Any]) -> list[Any]:
            body = {"objects": [{"uuid": _uuid(subject)} for subject in batch]}
            self.client.request("DELETE", url, body)
            return [None] * len(batch)

        valid, invalid = _partition_ids(subjects)
        deleted = iter(self._in_batches([subjects[i] for i in valid], send))
        return [invalid[i] if i in invalid else next(deleted) for i in range(len(subjects))]

    # --- reading many -----------------------------------------------------------------------

    def get(self, resource_name: str, subjects: Iterable[Any]) -> Batch:
        """Every object with its details, in one listing per :data:`UUIDS_PER_LISTING` uuids.

        :returns: one outcome per subject: the object, or a ``ClientError`` (404) for one
            that does not exist.
        """
        subjects = list(subjects)
        valid, invalid = _partition_ids(subjects)
        try:
            found = self._listed(resource_name, [_uuid(subjects[i]) for i in valid])
        except errors.ApiClientError as error:
            failed = [invalid.get(i) or Outcome(s, error=error) for i, s in enumerate(subjects)]
            return Batch(f"get {resource_name}", failed)
        outcomes = []
        for index, subject in enumerate(subjects):
            if index in invalid:
                outcomes.append(invalid[index])
            elif _uuid(subject) in found:
                outcomes.append(Outcome(subject, found[_uuid(subject)]))
            else:
                outcomes.append(Outcome(subject, error=_gone(resource_name, _uuid(subject))))
        return Batch(f"get {resource_name}", outcomes)

    def _listed(self, resource_name: str, uuids: Iterable[str]) -> dict[str, Any]:
        """The objects among ``uuids`` that exist, by uuid (``?uuid=a,b,...`` listings).

        :raises ApiClientError: when a listing fails.
        """
        wanted = list(dict.fromkeys(uuids))
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), UUIDS_PER_LISTING):
            chunk = wanted[start : start + UUIDS_PER_LISTING]
            params = {"uuid": ",".join(chunk), "limit": 0}
            answer = self.client.request("GET", f"/{resource_name}/detail/", query_params=params)
            body = answer.data
            objects = body.get("objects") if isinstance(body, Mapping) else body
            for obj in objects if isinstance(objects, list) else ():
                if isinstance(obj, Mapping) and obj.get("uuid") in chunk:
                    found[str(obj["uuid"])] = obj
        return found

    # --- waiting ----------------------------------------------------------------------------

    def wait_for_status(
        self,
        resource_name: str,
        subjects: Iterable[Any],
        status: str | Collection[str],
        timeout: float | None = None,
    ) -> Batch:
        """Wait until every object has ``status`` (or one of several), or the time is up.

        Changes arrive over one websocket, opened once per fleet; the objects a change names
        are then confirmed with one listing for all of them. Without a websocket (refused,
        dropped, or ``websocket=False``) the objects are polled together, one listing per
        :data:`UUIDS_PER_LISTING` objects, at the intervals of :attr:`wait_policy`.

        :param timeout: seconds (default: the wait policy's).
        :returns: one outcome per subject: the object once it had the status; a
            ``WaitTimeoutError`` naming the last status seen for one that did not get there
            in time; a ``ClientError`` (404) for one that was deleted or never existed.
        """
        return self._wait(resource_name, list(subjects), status_set(status), timeout)

    def _wait(
        self,
        resource_name: str,
        subjects: list[Any],
        wanted: frozenset[str],
        timeout: float | None,
        on_arrival: Callable[[list[tuple[str, Any]]], None] | None = None,
    ) -> Batch:
        """:meth:`wait_for_status`, calling ``on_arrival`` with each group of objects that
        arrive together (``(uuid, object)`` pairs), so the next step can start on them."""
        policy = self.wait_policy.with_overrides(timeout, None)
        valid, invalid = _partition_ids(subjects)
        watch = _Watch(resource_name, [_uuid(subjects[i]) for i in valid], wanted, on_arrival)
        via = self._follow(watch, _monotonic() + policy.timeout, policy)
        outcomes = [
            invalid[i] if i in invalid else watch.outcome(subject, policy.timeout)
            for i, subject in enumerate(subjects)
        ]
        return Batch(f"wait for {resource_name} {' or '.join(sorted(wanted))}", outcomes, via)

    def _follow(self, watch: _Watch, deadline: float, policy: WaitPolicy) -> str:
        """Follow ``watch`` until it is complete or ``deadline``; returns how it was followed."""
        if not watch.pending:
            return "polling"
        channel = self._events()
        if channel is not None:
            _drain(channel)  # frames queued before this wait say nothing about it
        self._refresh(watch)
        if channel is None or not watch.pending:
            self._poll(watch, deadline, policy)
            return "polling"
        if self._listen(channel, watch, deadline, policy):
            return "websocket"
        self._drop_channel()
        self._poll(watch, deadline, policy)
        return "websocket, then polling"

    def _listen(
        self, channel: WebsocketClient, watch: _Watch, deadline: float, policy: WaitPolicy
    ) -> bool:
        """Resolve ``watch`` from frames; returns False when the websocket failed."""
        changed: dict[str, float] = {}  # uuid -> when a frame first named it
        next_check = _monotonic() + policy.max_interval
        while watch.pending and (now := _monotonic()) < deadline:
            oldest = min(changed.values(), default=now)
            if changed and now - oldest >= FRAME_GATHERING_MAX:
                frame = None  # frames keep coming: list what changed now
            else:
                frame = self._next_frame(channel, changed, deadline, next_check)
                if frame is False:
                    return False
            if isinstance(frame, Mapping):
                watch.note(frame, changed)
            if frame is not None:
                continue
            if not changed:
                next_check = _monotonic() + policy.max_interval
            self._refresh(watch, list(changed) or None)
            changed.clear()
        return True

    @staticmethod
    def _next_frame(
        channel: WebsocketClient, changed: dict[str, float], deadline: float, next_check: float
    ) -> Any:
        """The next frame; None when it is time to list (gathering over, or a periodic
        check); False when the websocket failed."""
        now = _monotonic()
        wait = FRAME_GATHERING if changed else min(deadline, next_check) - now
        try:
            return channel.recv(timeout=max(wait, 0.001))
        except errors.WebsocketTimeoutError:
            return None
        except (errors.WebsocketClosedError, errors.InvalidResponseError) as error:
            LOG.info("the websocket failed (%s); polling instead", error)
            return False

    def _poll(self, watch: _Watch, deadline: float, policy: WaitPolicy) -> None:
        """List the pending objects at the policy's intervals until done or ``deadline``."""
        for pause in policy.intervals():
            remaining = deadline - _monotonic()
            if not watch.pending or remaining <= 0:
                return
            _sleep(min(pause, remaining))
            self._refresh(watch)

    def _refresh(self, watch: _Watch, uuids: list[str] | None = None) -> None:
        """List ``uuids`` (default: every pending object) into ``watch``; a listing that
        fails is noted for the report and tried again at the next poll."""
        asked = list(watch.pending) if uuids is None else uuids
        try:
            found = self._listed(watch.resource_name, asked)
        except errors.ApiClientError as error:
            LOG.info(
                "listing %d %s failed (%s); trying again", len(asked), watch.resource_name, error
            )
            watch.failure = error
            return
        watch.update(found, asked)

    def _events(self) -> WebsocketClient | None:
        """The fleet's websocket, opened on first use; None when it is not to be had."""
        if not self.websocket:
            return None
        if self._channel is None:
            from cloudsigma.resource import Accounts
            from cloudsigma.websocket.connection import WebsocketClient

            try:
                cookie = Accounts.from_client(self.client).asynchronous_cookie()
                self._channel = WebsocketClient(
                    cookie, ws_endpoint=self.client.ws_endpoint, verify=self.client.verify
                )
            except errors.ApiClientError as error:
                LOG.info("waiting by polling: the websocket is not available (%s)", error)
        return self._channel

    def _drop_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def wait_deleted(
        self, resource_name: str, subjects: Iterable[Any], timeout: float | None = None
    ) -> Batch:
        """Wait until no object is listed any more (deletes may finish asynchronously).

        :returns: one outcome per subject: ``result`` None once it is gone, or a
            ``WaitTimeoutError`` naming the status it still had.
        """
        return self._wait(resource_name, list(subjects), frozenset({_Watch.GONE}), timeout)

    # --- composites -------------------------------------------------------------------------

    def launch_servers(
        self,
        definitions: Iterable[Mapping[str, Any]],
        *,
        boot_drive: Any,
        drive: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Batch:
        """Servers booting from their own clone of ``boot_drive``, started and running.

        Clones ``boot_drive`` once per server; as the clones get ready, creates their servers
        (in bulk, each group of clones that are ready together in one request) with the clone
        attached as the boot disk (``virtio 0:0``, boot order 1, before any drives the
        definition lists) and starts them; then waits until every server runs.

        :param definitions: one server definition each (``name``, ``cpu``, ``mem``,
            ``vnc_password``, ``nics``, ...).
        :param boot_drive: the drive or library drive to clone (uuid or object).
        :param drive: extra fields of each clone (``media``, ``storage_type``, ...); its name
            is the server's name followed by ``-boot``.
        :param timeout: seconds for each of the two waits (default: the wait policy's).
        :returns: one outcome per definition: the running server, or the error of the step
            that failed, with what was created for it in ``leftovers``.
        """
        steps = _Steps(list(definitions))
        bodies = [_boot_drive_body(definition, drive) for definition in steps.subjects]
        steps.record(steps.alive(), self.clone("drives", boot_drive, bodies), keep=True)
        cloned = steps.alive()
        launch = _Launch(self, steps, cloned)
        clones = [steps.current[i] for i in cloned]
        ready = self._wait("drives", clones, frozenset({"unmounted"}), timeout, launch.ready)
        steps.record(cloned, ready)
        launch.collect()
        started = steps.alive()
        servers = [steps.current[i] for i in started]
        steps.record(started, self._wait("servers", servers, frozenset({"running"}), timeout))
        return steps.batch("launch servers")

    def destroy_servers(
        self, servers: Iterable[Any], *, recurse: str = "all_drives", timeout: float | None = None
    ) -> Batch:
        """Stop the servers that run, and delete each with its drives (``recurse``:
        ``all_drives``, ``disks`` or ``cdroms``) as soon as it is stopped.

        :returns: one outcome per server (``result`` None once deleted), or the error of the
            step that failed.
        """
        steps = _Steps(list(servers))
        steps.record(steps.alive(), self.get("servers", steps.subjects))
        delete_one = self._delete_call("servers", recurse)
        deletes: dict[int, Future[Outcome]] = {}

        def delete(index: int) -> None:
            deletes[index] = self._executor().submit(
                self._attempt, delete_one, steps.current[index]
            )

        running = []
        for index in steps.alive():
            if steps.current[index].get("status") == "stopped":
                delete(index)
            else:
                running.append(index)
        steps.record(running, self.stop([steps.current[i] for i in running]), keep_result=False)
        running = [i for i in running if i not in steps.failed]
        index_of = {steps.current[i]["uuid"]: i for i in running}

        def delete_stopped(arrived: list[tuple[str, Any]]) -> None:
            for uuid, _server in arrived:
                delete(index_of[uuid])

        targets = [steps.current[i] for i in running]
        stopped = self._wait("servers", targets, frozenset({"stopped"}), timeout, delete_stopped)
        steps.record(running, stopped)
        order = sorted(deletes)
        steps.record(order, _gather([deletes[i] for i in order]))
        return steps.batch("destroy servers")


# --- helpers of the waits and composites --------------------------------------------------------


class _Watch:
    """The objects a wait follows: those still pending with the status last seen, those
    that arrived, those that are gone."""

    #: The "status" of an object that is no longer listed, for :meth:`Fleet.wait_deleted`.
    GONE = "<deleted>"

    def __init__(
        self,
        resource_name: str,
        uuids: Iterable[str],
        wanted: frozenset[str],
        on_arrival: Callable[[list[tuple[str, Any]]], None] | None = None,
    ) -> None:
        self.resource_name = resource_name
        self.wanted = wanted
        self.on_arrival = on_arrival
        self.pending: dict[str, str | None] = dict.fromkeys(uuids)
        self.arrived: dict[str, Any] = {}
        self.gone: set[str] = set()
        #: The error of the last listing that failed, if any (named in the report).
        self.failure: errors.ApiClientError | None = None

    def update(self, found: Mapping[str, Any], asked: Iterable[str] | None = None) -> None:
        """Take in a listing of ``asked`` (default: every pending object)."""
        arrived = []
        for uuid in list(self.pending if asked is None else asked):
            if uuid not in self.pending:
                continue
            obj = found.get(uuid)
            status = self.GONE if obj is None else obj.get("status")
            self.pending[uuid] = status
            if status in self.wanted:
                self.arrived[uuid] = obj
                arrived.append((uuid, obj))
                del self.pending[uuid]
            elif obj is None:
                self.gone.add(uuid)
                del self.pending[uuid]
        if arrived and self.on_arrival is not None:
            self.on_arrival(arrived)

    def note(self, frame: Mapping[str, Any], changed: dict[str, float]) -> None:
        """Take in a websocket frame: an object it names is listed soon, unless the frame
        shows it with a status that is not wanted (so nothing is asked in vain)."""
        uuid = self.subject_of(frame)
        if uuid is None:
            return
        obj = frame.get("object")
        status = obj.get("status") if isinstance(obj, Mapping) else None
        if status is not None and status not in self.wanted:
            self.pending[uuid] = status  # still there, and not yet as wanted
            return
        changed.setdefault(uuid, _monotonic())

    def subject_of(self, frame: Mapping[str, Any]) -> str | None:
        """The pending uuid a frame is about (``/api/2.0/<resource>/<uuid>/``), if any."""
        uri = frame.get("resource_uri")
        if not isinstance(uri, str):
            return None
        parts = uri.rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] != self.resource_name or parts[-1] not in self.pending:
            return None
        return parts[-1]

    def outcome(self, subject: Any, timeout: float) -> Outcome:
        uuid = _uuid(subject)
        if uuid in self.arrived:
            return Outcome(subject, self.arrived[uuid])
        if uuid in self.gone:
            return Outcome(subject, error=_gone(self.resource_name, uuid))
        wanted = " or ".join(sorted("deleted" if s == self.GONE else s for s in self.wanted))
        failed = f"; the last listing that failed: {self.failure}" if self.failure else ""
        return Outcome(
            subject,
            error=errors.WaitTimeoutError(
                f"{self.resource_name} {uuid} did not reach status {wanted} within "
                f"{timeout:g} s; last seen status: {self.pending.get(uuid)}{failed}"
            ),
        )


class _Launch:
    """The servers of :meth:`Fleet.launch_servers` as their boot drives get ready: each group
    of drives that arrive together is created in one bulk request, then each server started,
    while the wait goes on for the other drives."""

    def __init__(self, fleet: Fleet, steps: _Steps, indices: list[int]) -> None:
        self.fleet = fleet
        self.steps = steps
        self.index_of = {steps.current[i]["uuid"]: i for i in indices}
        self.create = fleet._create_call("servers")
        self.start = fleet._action_call("servers", "start")
        self.groups: list[Future[tuple[list[int], list[Outcome], list[Any]]]] = []

    def ready(self, arrived: list[tuple[str, Any]]) -> None:
        """Drives that arrived (on the waiting thread): their servers go to the workers."""
        size = self.fleet.batch_size
        for start in range(0, len(arrived), size):
            group = arrived[start : start + size]
            indices = [self.index_of[uuid] for uuid, _drive in group]
            bodies = [
                _with_boot_drive(self.steps.subjects[index], uuid)
                for index, (uuid, _drive) in zip(indices, group, strict=True)
            ]
            pool = self.fleet._executor()
            self.groups.append(pool.submit(self.create_then_start, indices, bodies))

    def create_then_start(
        self, indices: list[int], bodies: list[Any]
    ) -> tuple[list[int], list[Outcome], list[Any]]:
        """On a worker: one bulk create (sent from here, so no worker waits for another),
        then a start of each created server queued for the workers."""
        created = self.fleet._send_batch(bodies, self.create)
        pool = self.fleet._executor()
        starts = [
            pool.submit(self.fleet._attempt, self.start, outcome.result) if outcome.ok else None
            for outcome in created
        ]
        return indices, created, starts

    def collect(self) -> None:
        """Record the creates and starts, once every one of them is done."""
        for indices, created, starts in _gather(self.groups):
            self.steps.record(indices, created, keep=True)
            queued = [(i, start) for i, start in zip(indices, starts, strict=True) if start]
            outcomes = _gather(start for _index, start in queued)
            self.steps.record([index for index, _start in queued], outcomes, keep_result=False)


class _Steps:
    """Follows each subject of a composite operation through its steps."""

    def __init__(self, subjects: list[Any]) -> None:
        self.subjects = subjects
        self.current: dict[int, Any] = dict(enumerate(subjects))
        self.failed: dict[int, Outcome] = {}
        self.created: dict[int, list[str]] = {i: [] for i in range(len(subjects))}

    def alive(self) -> list[int]:
        return [i for i in range(len(self.subjects)) if i not in self.failed]

    def record(
        self,
        indices: list[int],
        batch: Iterable[Outcome],
        *,
        keep: bool = False,
        keep_result: bool = True,
    ) -> None:
        """Take in the outcomes of one step for the subjects at ``indices`` (in order).

        :param keep: the step created something (noted as a leftover should a later step fail).
        :param keep_result: the result is what the next step works on (an action's answer is not).
        """
        for index, outcome in zip(indices, batch, strict=True):
            if not outcome.ok:
                leftovers = tuple(self.created[index])
                self.failed[index] = Outcome(self.subjects[index], None, outcome.error, leftovers)
                continue
            if keep and isinstance(outcome.result, Mapping):
                self.created[index].append(str(outcome.result.get("resource_uri", outcome.uuid)))
            if keep_result:
                self.current[index] = outcome.result

    def batch(self, operation: str) -> Batch:
        outcomes = [
            self.failed.get(i) or Outcome(self.subjects[i], self.current[i])
            for i in range(len(self.subjects))
        ]
        return Batch(operation, outcomes)


def _boot_drive_body(server: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    name = server.get("name") if isinstance(server, Mapping) else None
    return {**({"name": f"{name}-boot"} if name else {}), **(extra or {})}


def _with_boot_drive(server: Mapping[str, Any], drive_uuid: str) -> dict[str, Any]:
    boot = {"boot_order": 1, "dev_channel": "0:0", "device": "virtio", "drive": drive_uuid}
    return {**server, "drives": [boot, *server.get("drives", [])]}


def _partition_ids(subjects: Sequence[Any]) -> tuple[list[int], dict[int, Outcome]]:
    """The positions of the subjects with a usable uuid, and an error outcome for the others."""
    valid, invalid = [], {}
    for index, subject in enumerate(subjects):
        try:
            _uuid(subject)
        except errors.InvalidIdError as error:
            invalid[index] = Outcome(subject, error=error)
        else:
            valid.append(index)
    return valid, invalid


def _gone(resource_name: str, uuid: str) -> errors.ClientError:
    return errors.ClientError(
        f"{resource_name} {uuid} does not exist (it was deleted, or never existed)",
        status_code=404,
    )


def _drain(channel: WebsocketClient) -> None:
    """Read and drop the frames already queued on ``channel``."""
    while True:
        try:
            channel.recv(timeout=0.001)
        except errors.ApiClientError:
            return


def _gather(futures: Iterable[Any]) -> list[Any]:
    """The results of ``futures`` in order, once all are done; the first exception that is
    not a library error (a bug) is raised after that."""
    results, crash = [], None
    for future in futures:
        try:
            results.append(future.result())
        except Exception as exc:  # noqa: BLE001 - re-raised below, once nothing runs
            crash = crash or exc
    if crash is not None:
        raise crash
    return results

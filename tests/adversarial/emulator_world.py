"""Two accounts on a private emulator: requests checked against the API's rules, and the
invariants of the emulated state.

Requests go over HTTP like any client's; the state is read through the documented direct state
access (``emu.backend``, ``emu.call``), so the checks see what no answer shows (pending status
changes, upload progress, stored bytes).
"""

from __future__ import annotations

import difflib
import itertools
import json
import threading
from collections import Counter
from typing import Any, get_args
from xml.etree import ElementTree

import requests
from adversarial_support import FIGURES

from cloudsigma.payloads import DriveStatus, ServerStatus

GIB = 1024**3
OTHER = ("other@example.com", "other-password-1")
#: The statuses of the API's state machines (GUIDE section 5), as the SDK types them: an
#: oracle apart from the emulator's own table.
STATUSES = {
    "drives": frozenset(get_args(DriveStatus)),
    "servers": frozenset(get_args(ServerStatus)),
    "snapshots": frozenset({"creating", "available"}),
}
#: Statuses that must be gone once every pending change has happened.
SETTLED = {
    "drives": frozenset({"unmounted", "mounted", "uploading"}),
    "servers": frozenset({"stopped", "running"}),
    "snapshots": frozenset({"available"}),
}
#: Collections whose ``tags`` are the tags they carry (an ACL's ``tags`` are those it grants on).
TAGGABLE = ("drives", "servers", "snapshots", "ips", "vlans", "keypairs", "fwpolicies")
ERROR_KEYS = {"error_point", "error_type", "error_message"}
#: Stored images up to this size are compared byte for byte; larger ones by size.
HASHED_IMAGE = 16 * 1024 * 1024


class World:
    """An emulator with two accounts (0: the default one, 1: :data:`OTHER`), reset per example.

    :param emu: a running :class:`~cloudsigma.emulator.Emulator` owned by the test module.
    :param layer: the name under which the figures of this layer are counted.
    """

    def __init__(self, emu: Any, layer: str) -> None:
        self.emu = emu
        self.figures: Counter = FIGURES[layer]
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self.credentials: list[tuple[str, str]] = []
        self.reset()

    # accounts and sessions -------------------------------------------------------
    def reset(self) -> None:
        """Forget all state; recreate both accounts; changes happen only when advanced.

        The billing clock stands still too: a request bills the cycles that ended before it
        (time passing, not the request, changes the balance), which would otherwise look like
        a change made by a rejected request whenever one crosses a cycle's end.
        """
        self.emu.transition_delay = None
        self.emu.set_faults(None)
        self.emu.reset()
        self.emu.call(self.emu.clock.freeze)
        self.emu.create_account(*OTHER)
        self.credentials = [(self.emu.username, self.emu.password), OTHER]
        self.account_uuids = [self.emu.account(email).uuid for email, _ in self.credentials]

    def session(self, actor: int) -> requests.Session:
        """This thread's session of account ``actor``."""
        sessions = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = {}
        if actor not in sessions:
            session = sessions[actor] = requests.Session()
            if actor >= 0:
                session.auth = self.credentials[actor]
            with self._sessions_lock:
                self._sessions.append(session)
        return sessions[actor]

    def close(self) -> None:
        """Close the sessions of every thread."""
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    # requests ----------------------------------------------------------------------
    def send(
        self, actor: int, method: str, path: str, *, strict: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send a request as ``actor`` (``-1``: without credentials) and check the answer.

        :param strict: also check that a rejected request (4xx) changed nothing; only valid
            while no other request runs at the same time.
        """
        before = self.fingerprint() if strict else None
        url = path if path.startswith("http") else self.emu.api_endpoint + path
        response = self.session(actor).request(method, url, timeout=60, **kwargs)
        where = f"{method} {path} {kwargs.get('params') or ''} as account {actor}"
        check_answer(response, where)
        self.figures["requests"] += 1
        status = response.status_code
        self.figures["503 concurrency" if status == 503 else f"{status // 100}xx"] += 1
        if before is not None and response.status_code >= 400:
            after = self.fingerprint()
            self.figures["rejections checked for changes"] += 1
            assert after == before, (
                f"{where} was rejected ({response.text[:300]}) but changed state:\n"
                + changes(before, after)
            )
        return response

    # state ---------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Everything a request may change, as text (read on the emulator's loop)."""
        return self.emu.call(state_fingerprint, self.emu.backend)

    def check_invariants(self) -> None:
        problems = self.emu.call(state_problems, self.emu.backend)
        self.figures["invariant checks"] += 1
        assert not problems, "\n".join(problems)

    def advance(self) -> int:
        """Apply every pending change; then nothing may be left half-way."""
        applied = self.emu.advance()
        problems = self.emu.call(unsettled, self.emu.backend)
        self.figures["settled checks"] += 1
        assert not problems, "\n".join(problems)
        return applied

    def statuses(self, collection: str) -> dict[str, str]:
        """The status of every object of ``collection``, of every account, by uuid."""

        def read() -> dict[str, str]:
            return {
                uuid: obj["status"]
                for account in self.emu.backend.accounts.values()
                for uuid, obj in account.objects[collection].items()
            }

        return self.emu.call(read)


def check_answer(response: requests.Response, where: str) -> None:
    """No 5xx but the documented 503 ``concurrency``; every error is the API's error list."""
    if response.status_code < 400 or response.request.method == "HEAD":
        assert response.status_code < 500, f"{where}: {response.status_code}"
        return
    kind = response.headers.get("Content-Type", "")
    if kind.startswith(("application/xml", "text/xml")):  # asked for with Accept or ?format=
        names = {element.tag for element in ElementTree.fromstring(response.content).iter()}
        assert names >= ERROR_KEYS, f"{where}: {response.text[:300]}"
        assert response.status_code < 500 or response.status_code == 503, where
        return
    assert kind.startswith("application/json"), f"{where}: {kind} {response.text[:200]}"
    errors = response.json()
    assert isinstance(errors, list) and errors, f"{where}: {response.text[:300]}"
    for error in errors:
        assert isinstance(error, dict) and set(error) == ERROR_KEYS, f"{where}: {errors}"
        assert isinstance(error["error_type"], str) and isinstance(error["error_message"], str)
    documented = response.status_code == 503 and errors[0]["error_type"] == "concurrency"
    assert response.status_code < 500 or documented, f"{where}: {response.status_code} {errors}"


def changes(before: str, after: str, limit: int = 30) -> str:
    """The first ``limit`` lines of a diff of two fingerprints."""

    def lines(fingerprint: str) -> list[str]:
        return json.dumps(json.loads(fingerprint), indent=1, sort_keys=True).splitlines()

    diff = difflib.unified_diff(lines(before), lines(after), lineterm="", n=1)
    return "\n".join(itertools.islice(diff, limit))


def state_fingerprint(backend: Any) -> str:
    """Accounts, upload progress, one-time links, stored bytes and pending changes, as JSON."""
    accounts = {
        account.email: {
            "objects": {name: store for name, store in account.objects.items() if store},
            "profile": account.profile,
            "balance": account.balance,
            "global_context": account.global_context,
            "password": account.password,
        }
        for account in backend.accounts.values()
    }
    uploads = {
        uuid: {
            "ranges": upload.ranges,
            "chunks": sorted(upload.chunks),
            "links": sorted(upload.links),
        }
        for uuid, upload in backend.uploads.items()
    }
    images = {
        uuid: image.sha256() if image.size <= HASHED_IMAGE else image.size
        for uuid, image in backend.images.items()
    }
    state = {
        "accounts": accounts,
        "uploads": uploads,
        "links": sorted(backend.link_index),
        "images": images,
        "pending": backend.transitions.pending,
    }
    return json.dumps(state, sort_keys=True, default=repr)


def _objects(backend: Any, collection: str) -> dict[str, tuple[Any, dict]]:
    return {
        uuid: (account, obj)
        for account in backend.accounts.values()
        for uuid, obj in account.objects[collection].items()
    }


def state_problems(backend: Any) -> list[str]:
    """Broken invariants of the state; empty when all hold."""
    drives, servers = _objects(backend, "drives"), _objects(backend, "servers")
    snapshots = _objects(backend, "snapshots")
    problems = [
        f"{collection} {uuid} has status {obj['status']!r}, which is not in the state table"
        for collection, store in (
            ("drives", drives),
            ("servers", servers),
            ("snapshots", snapshots),
        )
        for uuid, (_account, obj) in store.items()
        if obj["status"] not in STATUSES[collection]
    ]
    problems += _attachment_problems(backend, drives, servers)
    problems += _snapshot_problems(drives, snapshots)
    problems += _tag_problems(backend)
    return problems


def _attachment_problems(backend: Any, drives: dict, servers: dict) -> list[str]:
    attached = {
        (entry["drive"]["uuid"], server_uuid)
        for server_uuid, (_account, server) in servers.items()
        for entry in server["drives"]
        if entry["drive"]["uuid"] not in backend.library
    }
    mounted = {
        (drive_uuid, mount["uuid"])
        for drive_uuid, (_account, drive) in drives.items()
        for mount in drive["mounted_on"]
    }
    problems = [
        f"server {s} lists drive {d}, whose mounted_on does not list it"
        for d, s in attached - mounted
    ]
    problems += [
        f"drive {d} is mounted_on server {s}, which does not list it" for d, s in mounted - attached
    ]
    problems += [
        f"server {s} lists drive {d}, which was deleted" for d, s in attached if d not in drives
    ]
    problems += [
        f"drive {d} is mounted_on server {s}, which was deleted"
        for d, s in mounted
        if s not in servers
    ]
    for uuid, (_account, drive) in drives.items():
        steady = "mounted" if drive["mounted_on"] else "unmounted"
        if drive["status"] in ("mounted", "unmounted") and drive["status"] != steady:
            problems.append(
                f"drive {uuid} is {drive['status']} but mounted_on is {drive['mounted_on']}"
            )
        if drive["allow_multimount"] or drive["media"] != "disk":
            continue
        live = [
            m["uuid"]
            for m in drive["mounted_on"]
            if m["uuid"] in servers and servers[m["uuid"]][1]["status"] != "stopped"
        ]
        if len(live) > 1:
            problems.append(f"drive {uuid} (allow_multimount false) is on running servers {live}")
    return problems


def _snapshot_problems(drives: dict, snapshots: dict) -> list[str]:
    problems = []
    for uuid, (_account, drive) in drives.items():
        for entry in drive["snapshots"]:
            found = snapshots.get(entry["uuid"])
            if found is None or found[1]["drive"]["uuid"] != uuid:
                problems.append(
                    f"drive {uuid} lists snapshot {entry['uuid']}, which is not its own"
                )
    for uuid, (_account, snapshot) in snapshots.items():
        if snapshot["drive"]["uuid"] not in drives:
            problems.append(f"snapshot {uuid} outlived its drive {snapshot['drive']['uuid']}")
    return problems


def _tag_problems(backend: Any) -> list[str]:
    problems = []
    for account in backend.accounts.values():
        tags = account.objects["tags"]
        for collection in TAGGABLE:
            for uuid, obj in account.objects[collection].items():
                for tag in obj.get("tags") or ():
                    if tag["uuid"] not in tags:
                        problems.append(
                            f"{collection} {uuid} carries tag {tag['uuid']}, not a tag of its owner"
                        )
                    elif not any(r["uuid"] == uuid for r in tags[tag["uuid"]]["resources"]):
                        problems.append(
                            f"{collection} {uuid} carries tag {tag['uuid']}, which does not list it"
                        )
        for tag_uuid, tag in tags.items():
            for resource in tag["resources"]:
                if resource["res_type"] not in TAGGABLE:
                    continue
                obj = account.objects[resource["res_type"]].get(resource["uuid"])
                if obj is None:
                    problems.append(f"tag {tag_uuid} lists {resource['uuid']}, which is gone")
                elif not any(t["uuid"] == tag_uuid for t in obj.get("tags") or ()):
                    problems.append(
                        f"tag {tag_uuid} lists {resource['uuid']}, which does not carry it"
                    )
        for acl_uuid, acl in account.objects["acls"].items():
            problems += [
                f"acl {acl_uuid} names deleted tag {t['uuid']}"
                for t in acl["tags"]
                if t["uuid"] not in tags
            ]
            problems += [
                f"acl {acl_uuid} grants to unknown user {g['uuid']}"
                for g in acl["grantees"]
                if g["uuid"] not in backend.accounts
            ]
    return problems


def unsettled(backend: Any) -> list[str]:
    """What is still half-way although every pending change has happened."""
    problems = (
        []
        if not backend.transitions.pending
        else [f"{backend.transitions.pending} changes still pending"]
    )
    for collection, steady in SETTLED.items():
        for uuid, (_account, obj) in _objects(backend, collection).items():
            if obj["status"] not in steady:
                problems.append(f"{collection} {uuid} stays {obj['status']!r} with nothing pending")
    return problems

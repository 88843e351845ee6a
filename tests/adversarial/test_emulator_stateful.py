"""Generated sequences of client actions from two accounts, with the emulator's invariants
checked after every step, and the same actions fired from several threads at once.

Invariants: no 5xx; every 4xx in the API's error format and without any change; every status in
the state table; ``mounted_on`` and the servers' ``drives`` agree; a drive without
``allow_multimount`` is on at most one running server; no reference to a deleted object; no tag
of one account on another's object; and once every pending change has happened, nothing is left
half-way and every server is where its last accepted action leads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from adversarial_support import examples, seeded
from emulator_operations import CHUNK, PERMISSIONS, POWER_TARGET, Operations
from emulator_world import GIB, World
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

#: The default account acts twice as often as the other one.
ACTORS = st.sampled_from([0, 0, 1])
SIZES = st.sampled_from([GIB, 2 * GIB, 512 * 1024**2, 3 * GIB + 5, 1])
UPLOAD_SIZES = st.sampled_from([CHUNK, 2 * CHUNK, 3 * CHUNK + 100])
POWER = st.sampled_from(sorted(POWER_TARGET))
RECURSE = st.sampled_from([None, "disks", "all_drives", "cdroms"])
GRANTS = st.lists(st.sampled_from(PERMISSIONS), min_size=1, max_size=4)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    from cloudsigma.emulator import Emulator

    with Emulator(host="127.0.0.1", port=0, transition_delay=None) as emu:
        yield emu


class EmulatorMachine(RuleBasedStateMachine):
    """Drives, servers, snapshots, tags, grants and uploads of two accounts."""

    drives = Bundle("drives")
    servers = Bundle("servers")
    snapshots = Bundle("snapshots")
    tags = Bundle("tags")
    acls = Bundle("acls")

    def __init__(self, world: World) -> None:
        super().__init__()
        world.reset()
        self.world = world
        self.ops = Operations(world)
        world.figures["sequences"] += 1

    @initialize(target=drives)
    def first_drives(self) -> Any:
        made = [self.ops.create_drive(actor, "disk", False, GIB) for actor in (0, 1)]
        return multiple(*(uuid for uuids in made for uuid in uuids))

    @initialize(target=servers)
    def first_servers(self) -> Any:
        return multiple(*(uuid for actor in (0, 1) for uuid in self.ops.create_server(actor, [])))

    @initialize(target=tags)
    def first_tags(self) -> Any:
        return multiple(*(uuid for actor in (0, 1) for uuid in self.ops.create_tag(actor, [])))

    @invariant()
    def state_holds(self) -> None:
        self.world.figures["steps"] += 1
        self.world.check_invariants()

    # drives -------------------------------------------------------------------
    @rule(
        target=drives,
        actor=ACTORS,
        media=st.sampled_from(["disk", "disk", "cdrom"]),
        multimount=st.booleans(),
        size=SIZES,
    )
    def create_drive(self, actor: int, media: str, multimount: bool, size: int) -> Any:
        return multiple(*self.ops.create_drive(actor, media, multimount, size))

    @rule(actor=ACTORS, drive=drives, multimount=st.booleans())
    def set_multimount(self, actor: int, drive: str, multimount: bool) -> None:
        self.ops.set_multimount(actor, drive, multimount)

    @rule(actor=ACTORS, drive=drives, size=SIZES, how=st.sampled_from(["action", "put"]))
    def resize(self, actor: int, drive: str, size: int, how: str) -> None:
        self.ops.resize(actor, drive, size, how)

    @rule(target=drives, actor=ACTORS, drive=drives)
    def clone_drive(self, actor: int, drive: str) -> Any:
        return multiple(*self.ops.clone_drive(actor, drive))

    @rule(actor=ACTORS, drive=drives)
    def delete_drive(self, actor: int, drive: str) -> None:
        self.ops.delete_drive(actor, drive)

    # servers ------------------------------------------------------------------
    @rule(target=servers, actor=ACTORS, drives=st.lists(drives, max_size=2))
    def create_server(self, actor: int, drives: list[str]) -> Any:
        return multiple(*self.ops.create_server(actor, drives))

    @rule(actor=ACTORS, server=servers, drives=st.lists(drives, max_size=3))
    def attach(self, actor: int, server: str, drives: list[str]) -> None:
        self.ops.attach(actor, server, drives)

    @rule(actor=ACTORS, server=servers, action=POWER)
    def power(self, actor: int, server: str, action: str) -> None:
        self.ops.power(actor, server, action)

    @rule(target=servers, actor=ACTORS, server=servers)
    def clone_server(self, actor: int, server: str) -> Any:
        return multiple(*self.ops.clone_server(actor, server))

    @rule(actor=ACTORS, server=servers, recurse=RECURSE)
    def delete_server(self, actor: int, server: str, recurse: str | None) -> None:
        self.ops.delete_server(actor, server, recurse)

    # snapshots ----------------------------------------------------------------
    @rule(target=snapshots, actor=ACTORS, drive=drives)
    def snapshot(self, actor: int, drive: str) -> Any:
        return multiple(*self.ops.snapshot(actor, drive))

    @rule(actor=ACTORS, snapshot=snapshots)
    def delete_snapshot(self, actor: int, snapshot: str) -> None:
        self.ops.delete_snapshot(actor, snapshot)

    @rule(target=drives, actor=ACTORS, snapshot=snapshots)
    def clone_snapshot(self, actor: int, snapshot: str) -> Any:
        return multiple(*self.ops.clone_snapshot(actor, snapshot))

    # tags and grants ------------------------------------------------------------
    @rule(target=tags, actor=ACTORS, resources=st.lists(drives | servers | snapshots, max_size=3))
    def create_tag(self, actor: int, resources: list[str]) -> Any:
        return multiple(*self.ops.create_tag(actor, resources))

    @rule(
        actor=ACTORS,
        collection=st.sampled_from(["drives", "servers", "snapshots"]),
        data=st.data(),
        tags=st.lists(tags, max_size=2),
    )
    def retag(self, actor: int, collection: str, data: Any, tags: list[str]) -> None:
        bundle = {"drives": self.drives, "servers": self.servers, "snapshots": self.snapshots}
        uuid = data.draw(bundle[collection])
        self.ops.retag(actor, collection, uuid, tags)

    @rule(actor=ACTORS, tag=tags, resources=st.lists(drives | servers | snapshots, max_size=3))
    def tag_resources(self, actor: int, tag: str, resources: list[str]) -> None:
        self.ops.tag_resources(actor, tag, resources)

    @rule(actor=ACTORS, tag=tags)
    def delete_tag(self, actor: int, tag: str) -> None:
        self.ops.delete_tag(actor, tag)

    @rule(target=acls, actor=ACTORS, tags=st.lists(tags, min_size=1, max_size=2), rules=GRANTS)
    def grant(self, actor: int, tags: list[str], rules: list[str]) -> Any:
        return multiple(*self.ops.grant(actor, tags, rules))

    @rule(actor=ACTORS, acl=acls)
    def revoke(self, actor: int, acl: str) -> None:
        self.ops.revoke(actor, acl)

    # uploads and downloads --------------------------------------------------------
    @rule(target=drives, actor=ACTORS, size=UPLOAD_SIZES)
    def initupload(self, actor: int, size: int) -> Any:
        return multiple(*self.ops.initupload(actor, size))

    @rule(actor=ACTORS, drive=drives, number=st.integers(1, 4))
    def upload_chunk(self, actor: int, drive: str, number: int) -> None:
        self.ops.upload_chunk(actor, drive, number)

    @rule(
        actor=ACTORS,
        drive=drives,
        number=st.integers(0, 3),
        other=st.none() | drives,
        extra=st.sampled_from([0, 0, 1, 100]),
    )
    def upload_link(
        self, actor: int, drive: str, number: int, other: str | None, extra: int
    ) -> None:
        self.ops.upload_link(actor, drive, number, other, extra)

    @rule(actor=ACTORS, drive=drives, ranged=st.booleans())
    def download(self, actor: int, drive: str, ranged: bool) -> None:
        self.ops.download(actor, drive, ranged)

    # time -------------------------------------------------------------------------
    @rule()
    def advance(self) -> None:
        self.ops.advance()

    @rule()
    def step(self) -> None:
        self.world.emu.step()


def test_generated_sequences_from_two_accounts_keep_every_invariant(emulator: Any) -> None:
    world = World(emulator, "emulator stateful machine")

    @seeded
    def machine() -> EmulatorMachine:
        return EmulatorMachine(world)

    try:
        run_state_machine_as_test(machine, settings=examples(40, stateful_step_count=50))
    finally:
        world.close()


# The threaded variant: the same actions on a fixed set of objects, several at once. -----------
SERVERS_IN_POOL = 6
OPERATION = st.one_of(
    st.tuples(st.just("power"), ACTORS, st.integers(0, SERVERS_IN_POOL), POWER),
    st.tuples(
        st.just("attach"),
        ACTORS,
        st.integers(0, SERVERS_IN_POOL),
        st.lists(st.integers(0, 3), max_size=2),
    ),
    st.tuples(st.just("resize"), ACTORS, st.integers(0, 3), SIZES),
    st.tuples(st.just("set_multimount"), ACTORS, st.integers(0, 3), st.booleans()),
    st.tuples(st.just("snapshot"), ACTORS, st.integers(0, 3)),
    st.tuples(st.just("clone_drive"), ACTORS, st.integers(0, 3)),
    st.tuples(st.just("retag"), ACTORS, st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("delete_drive"), ACTORS, st.integers(0, 3)),
    st.tuples(st.just("upload_chunk"), ACTORS, st.integers(1, 3)),
    st.tuples(st.just("upload_link"), ACTORS, st.integers(0, 2), st.sampled_from([0, 7])),
    st.tuples(st.just("download"), ACTORS, st.integers(0, 3)),
    st.tuples(
        st.just("advance"),
    ),
)


class Pool:
    """Objects the threads act on: drives 0-2 of account 0 (0 without multimount, attached to
    every server; 1 with it; 2 being uploaded), drive 3 of account 1, servers 0-5 of account 0
    and 6 of account 1, one tag per account; account 0's tag grants everything to account 1."""

    def __init__(self, world: World, ops: Operations) -> None:
        self.ops = ops
        ops.strict = True
        made = [
            ops.create_drive(0, "disk", False, GIB)[0],
            ops.create_drive(0, "disk", True, GIB)[0],
            ops.initupload(0, 3 * CHUNK + 100)[0],
            ops.create_drive(1, "disk", False, GIB)[0],
        ]
        world.advance()
        self.drives = made
        self.tags = [ops.create_tag(0, made[:2])[0], ops.create_tag(1, made[3:])[0]]
        ops.grant(0, self.tags[:1], list(PERMISSIONS))
        self.servers = [ops.create_server(0, made[:1])[0] for _ in range(SERVERS_IN_POOL)]
        self.servers.append(ops.create_server(1, [made[0]])[0])
        ops.strict = False

    def run(self, operation: tuple) -> None:
        name, *args = operation
        ops = self.ops
        if name == "power":
            ops.power(args[0], self.servers[args[1]], args[2])
        elif name == "attach":
            ops.attach(args[0], self.servers[args[1]], [self.drives[i] for i in args[2]])
        elif name in ("resize", "set_multimount"):
            getattr(ops, name)(
                args[0], self.drives[args[1]], args[2], *(["put"] if name == "resize" else [])
            )
        elif name in ("snapshot", "clone_drive", "delete_drive"):
            getattr(ops, name)(args[0], self.drives[args[1]])
        elif name == "retag":
            ops.retag(args[0], "drives", self.drives[args[1]], [self.tags[args[2]]])
        elif name == "upload_chunk":
            ops.upload_chunk(args[0], self.drives[2], args[1])
        elif name == "upload_link":
            ops.upload_link(args[0], self.drives[2], args[1], None, args[2])
        elif name == "download":
            ops.download(args[0], self.drives[args[1]], True)
        else:
            ops.world.emu.advance()


@examples(15)
@seeded
@given(rounds=st.lists(st.lists(OPERATION, min_size=2, max_size=8), min_size=1, max_size=4))
def test_the_same_actions_from_several_threads_at_once_keep_every_invariant(
    emulator: Any, rounds: list[list[tuple]]
) -> None:
    world = World(emulator, "emulator threaded variant")
    world.figures["sequences"] += 1
    pool = Pool(world, Operations(world))
    try:
        world.emu.transition_delay = 0  # changes also happen on their own, between requests
        for operations in rounds:
            start = threading.Barrier(len(operations))

            def fire(operation: tuple, start: threading.Barrier = start) -> None:
                start.wait()
                pool.run(operation)

            with ThreadPoolExecutor(len(operations)) as threads:
                for done in [threads.submit(fire, operation) for operation in operations]:
                    done.result()
            world.figures["actions"] += len(operations)
            world.emu.transition_delay = None
            world.advance()
            world.check_invariants()
            world.emu.transition_delay = 0
    finally:
        world.emu.transition_delay = None
        world.close()

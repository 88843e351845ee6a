"""SSH keypairs: import a public key, have one generated, read the public halves, attach one
to a server, rename, delete."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

import pytest
from integration_support import GIB, assert_gone, unique_name

pytestmark = pytest.mark.live


def ed25519_public_key(comment: str) -> tuple[str, bytes]:
    """A new OpenSSH ed25519 public key line, and its key blob."""
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + os.urandom(32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}", blob


def md5_fingerprint(blob: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in hashlib.md5(blob).digest())


@pytest.fixture
def make_keypair(api, tracker):
    def make(**definition) -> dict:
        return tracker.track("keypairs", api.keypairs.create(definition))

    return make


def test_an_imported_public_key_is_listed_with_its_md5_fingerprint(api, make_keypair):
    public_key, blob = ed25519_public_key("pytest@integration")
    name = unique_name("keypair")

    keypair = make_keypair(name=name, public_key=public_key)

    assert keypair["public_key"] == public_key
    assert not keypair.get("private_key")
    assert keypair["fingerprint"] == md5_fingerprint(blob)
    assert keypair["uuid"] in {k["uuid"] for k in api.keypairs.list()}
    public = api.pubkeys.get(keypair["uuid"])
    assert public["has_private_key"] is False
    assert "private_key" not in public
    assert public["public_key"] == public_key


def test_a_generated_keypair_comes_with_its_private_key_once(api, tracker):
    keypair = tracker.track("keypairs", api.keypairs.generate(unique_name("generated")))

    assert "PRIVATE KEY" in keypair["private_key"]
    assert keypair["public_key"].startswith("ssh-ed25519 ")
    assert api.pubkeys.get(keypair["uuid"])["has_private_key"] is True


def test_a_keypair_is_renamed_and_deleted(api, make_keypair, wait_timeout):
    public_key, _ = ed25519_public_key("pytest@integration")
    keypair = make_keypair(name=unique_name("old"), public_key=public_key)
    new_name = unique_name("new")

    assert api.keypairs.update(keypair["uuid"], {"name": new_name})["name"] == new_name
    assert api.keypairs.get(keypair["uuid"])["name"] == new_name

    api.keypairs.delete(keypair["uuid"])
    api.keypairs.wait_deleted(keypair["uuid"], timeout=wait_timeout)
    assert_gone(api.keypairs, keypair["uuid"])


def test_a_keypair_is_attached_to_a_server_and_detached(api, make_keypair, make_server):
    public_key, _ = ed25519_public_key("pytest@integration")
    keypair = make_keypair(name=unique_name("server-key"), public_key=public_key)

    server = make_server("with-key", pubkeys=[keypair["uuid"]])
    assert [ref["uuid"] for ref in server["pubkeys"]] == [keypair["uuid"]]
    fetched = api.servers.get(server["uuid"])
    assert [ref["uuid"] for ref in fetched["pubkeys"]] == [keypair["uuid"]]

    detached = api.servers.update(
        server["uuid"],
        {"name": fetched["name"], "cpu": 1000, "mem": GIB, "vnc_password": "x", "pubkeys": []},
    )
    assert detached["pubkeys"] == []

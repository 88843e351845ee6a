"""The client actions that the stateful tests fire at the emulator, one method each.

Each sends real requests through :class:`~emulator_world.World` (so every answer is checked:
no 5xx, the API's error format, and, when ``strict``, no change by a rejected request) and
checks what the answer promises. The serial state machine and the threaded variant share them.
"""

from __future__ import annotations

from typing import Any

from emulator_world import GIB, World

#: The status each accepted power action leads to once its changes have happened.
POWER_TARGET = {"start": "running", "restart": "running", "stop": "stopped", "shutdown": "stopped"}
CHUNK = 64 * 1024
PERMISSIONS = ("LIST", "EDIT", "CLONE", "ATTACH", "START", "STOP")


def chunk_bytes(number: int, length: int) -> bytes:
    """Recognisable bytes for chunk ``number``."""
    pattern = f"<chunk {number}>".encode()
    return (pattern * (length // len(pattern) + 1))[:length]


class Operations:
    """Client actions on ``world``; ``expected`` holds the status each server must end in.

    :param strict: check that rejected requests change nothing (only when requests run one
        at a time).
    """

    def __init__(self, world: World, *, strict: bool = True) -> None:
        self.world = world
        self.strict = strict
        self.expected: dict[str, str] = {}
        self.sizes: dict[str, int] = {}

    def send(self, actor: int, method: str, path: str, **kwargs: Any) -> Any:
        return self.world.send(actor, method, path, strict=self.strict, **kwargs)

    @staticmethod
    def created(response: Any) -> list[str]:
        if response.status_code not in (200, 201, 202):
            return []
        body = response.json()
        objects = body.get("objects", [body]) if isinstance(body, dict) else body
        return [obj["uuid"] for obj in objects]

    # drives -----------------------------------------------------------------------
    def create_drive(self, actor: int, media: str, multimount: bool, size: int) -> list[str]:
        body = {"name": "d", "size": size, "media": media, "allow_multimount": multimount}
        response = self.send(actor, "POST", "drives/", json=body)
        return self.created(response)

    def set_multimount(self, actor: int, drive: str, multimount: bool) -> None:
        self.send(actor, "PUT", f"drives/{drive}/", json={"allow_multimount": multimount})

    def resize(self, actor: int, drive: str, size: int, how: str) -> None:
        if how == "action":
            self.send(
                actor,
                "POST",
                f"drives/{drive}/action/",
                params={"do": "resize"},
                json={"size": size, "name": "d", "media": "disk"},
            )
        else:
            self.send(actor, "PUT", f"drives/{drive}/", json={"size": size})

    def clone_drive(self, actor: int, drive: str) -> list[str]:
        response = self.send(
            actor, "POST", f"drives/{drive}/action/", params={"do": "clone"}, json={}
        )
        return self.created(response)

    def delete_drive(self, actor: int, drive: str) -> None:
        self.send(actor, "DELETE", f"drives/{drive}/")

    # servers -------------------------------------------------------------------------
    @staticmethod
    def attachments(drives: list[str]) -> list[dict]:
        return [
            {"device": "virtio", "dev_channel": f"0:{index}", "drive": uuid}
            for index, uuid in enumerate(dict.fromkeys(drives))
        ]

    def create_server(self, actor: int, drives: list[str]) -> list[str]:
        body = {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "v"}
        body["drives"] = self.attachments(drives)
        uuids = self.created(self.send(actor, "POST", "servers/", json=body))
        self.expected.update(dict.fromkeys(uuids, "stopped"))
        return uuids

    def attach(self, actor: int, server: str, drives: list[str]) -> None:
        body = {"drives": self.attachments(drives)}
        self.send(actor, "PUT", f"servers/{server}/", json=body)

    def power(self, actor: int, server: str, action: str) -> None:
        response = self.send(
            actor, "POST", f"servers/{server}/action/", params={"do": action}, json={}
        )
        if response.status_code == 202:
            self.expected[server] = POWER_TARGET[action]

    def clone_server(self, actor: int, server: str) -> list[str]:
        response = self.send(
            actor, "POST", f"servers/{server}/action/", params={"do": "clone"}, json={}
        )
        uuids = self.created(response)
        self.expected.update(dict.fromkeys(uuids, "stopped"))
        return uuids

    def delete_server(self, actor: int, server: str, recurse: str | None) -> None:
        params = {"recurse": recurse} if recurse else {}
        self.send(actor, "DELETE", f"servers/{server}/", params=params)

    # snapshots -------------------------------------------------------------------------
    def snapshot(self, actor: int, drive: str) -> list[str]:
        return self.created(self.send(actor, "POST", "snapshots/", json={"drive": drive}))

    def delete_snapshot(self, actor: int, snapshot: str) -> None:
        self.send(actor, "DELETE", f"snapshots/{snapshot}/")

    def clone_snapshot(self, actor: int, snapshot: str) -> list[str]:
        response = self.send(
            actor, "POST", f"snapshots/{snapshot}/action/", params={"do": "clone"}, json={}
        )
        return self.created(response)

    # tags and grants --------------------------------------------------------------------
    def create_tag(self, actor: int, resources: list[str]) -> list[str]:
        body = {"name": "t", "resources": list(dict.fromkeys(resources))}
        return self.created(self.send(actor, "POST", "tags/", json=body))

    def retag(self, actor: int, collection: str, uuid: str, tags: list[str]) -> None:
        self.send(actor, "PUT", f"{collection}/{uuid}/", json={"tags": list(dict.fromkeys(tags))})

    def tag_resources(self, actor: int, tag: str, resources: list[str]) -> None:
        self.send(actor, "PUT", f"tags/{tag}/", json={"resources": list(dict.fromkeys(resources))})

    def delete_tag(self, actor: int, tag: str) -> None:
        self.send(actor, "DELETE", f"tags/{tag}/")

    def grant(self, actor: int, tags: list[str], permissions: list[str]) -> list[str]:
        body = {
            "name": "grant",
            "grantees": [self.world.account_uuids[1 - actor]],
            "tags": list(dict.fromkeys(tags)),
            "rules": [{"permission": p} for p in dict.fromkeys(permissions)],
        }
        return self.created(self.send(actor, "POST", "acls/", json=body))

    def revoke(self, actor: int, acl: str) -> None:
        self.send(actor, "DELETE", f"acls/{acl}/")

    # uploads and downloads -----------------------------------------------------------
    def initupload(self, actor: int, size: int) -> list[str]:
        body = {"name": "upload", "size": size, "media": "disk"}
        uuids = self.created(self.send(actor, "POST", "initupload/", json=body))
        self.sizes.update(dict.fromkeys(uuids, size))
        return uuids

    def upload_chunk(self, actor: int, drive: str, number: int) -> None:
        total = self.sizes.get(drive, CHUNK)
        start = (number - 1) * CHUNK
        end = total if number >= max(1, total // CHUNK) else start + CHUNK
        params = {
            "resumableChunkNumber": number,
            "resumableChunkSize": CHUNK,
            "resumableTotalSize": total,
            "resumableIdentifier": "image.raw",
            "resumableFilename": "image.raw",
        }
        data = chunk_bytes(number, max(0, end - start))
        files = {"file": ("file", data, "application/octet-stream")}
        self.send(actor, "POST", f"drives/{drive}/upload/", params=params, files=files)

    def upload_link(
        self, actor: int, drive: str, number: int, posted_under: str | None, extra: int
    ) -> None:
        """Ask for the link of chunk ``number`` and POST it (under another drive's uuid, or
        with ``extra`` bytes more than announced, when asked)."""
        body = {"chunk_number": number, "chunk_size": CHUNK}
        response = self.send(
            actor, "POST", f"drives/{drive}/action/", params={"do": "upload_chunk"}, json=body
        )
        if response.status_code != 202:
            return
        link = response.json()["link"]
        if posted_under is not None:
            link = link.replace(drive, posted_under)
        total = self.sizes.get(drive, CHUNK)
        last = number >= max(1, total // CHUNK) - 1  # the last chunk also holds the rest
        length = total - number * CHUNK if last else CHUNK
        data = chunk_bytes(number, length + extra)
        answer = self.send(
            -1,
            "POST",
            self.world.emu.base_url + link,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if posted_under not in (None, drive) or extra:
            assert answer.status_code >= 400, f"a link chunk posted wrongly was accepted: {link}"

    def download(self, actor: int, drive: str, ranged: bool) -> None:
        # Ranges only: a whole 1 GiB image is not worth streaming here.
        headers = {"Range": "bytes=0-1023" if ranged else "bytes=-512"}
        response = self.send(actor, "GET", f"drives/{drive}/download/", headers=headers)
        # Alongside other threads the drive or its grant may be gone by the next request, so
        # only a request running alone can tell what the download was allowed on.
        if response.status_code in (200, 206) and self.strict:
            seen = self.send(actor, "GET", f"drives/{drive}/").json()
            if seen.get("owner") and seen["owner"]["uuid"] != self.world.account_uuids[actor]:
                assert "CLONE" in seen["permissions"], (
                    f"account {actor} downloaded drive {drive} with only {seen['permissions']}"
                )

    # time -----------------------------------------------------------------------------
    def advance(self) -> None:
        """Apply every pending change: each server ends where its last accepted action leads."""
        self.world.advance()
        statuses = self.world.statuses("servers")
        wrong = {
            uuid: (status, self.expected.get(uuid, "stopped"))
            for uuid, status in statuses.items()
            if status != self.expected.get(uuid, "stopped")
        }
        assert not wrong, f"servers not where their last action leads (status, expected): {wrong}"

"""What must hold whoever acts and however many act at once: one running server per drive
without ``allow_multimount``, attachments and statuses that agree, changes by grantees that
settle in the owner's account, and uploads that only their own link and size can change."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from emulator_support import GIB, assert_api_error, server_body, state_of

CHUNK = 64 * 1024


def share(api: Any, other_api: Any, uuid: str, *permissions: str) -> dict:
    """Tag ``uuid`` and grant ``permissions`` on the tag to the other account."""
    other = other_api.ok("GET", "profile/")["uuid"]
    tag = api.create("tags", name="shared", resources=[uuid])
    rules = [{"permission": p} for p in permissions]
    api.create("acls", name="grant", grantees=[other], tags=[tag["uuid"]], rules=rules)
    return tag


def attached(drive: dict) -> list[dict]:
    return [{"device": "virtio", "dev_channel": "0:0", "drive": drive["uuid"]}]


@pytest.mark.parametrize("multimount", [False, True])
def test_thirty_two_starts_at_once_leave_a_drive_on_one_running_server(emu, api, multimount):
    drive = api.create("drives", name="d", size=GIB, media="disk", allow_multimount=multimount)
    emu.advance()
    servers = [
        api.create("servers", **server_body(f"s{i}", drives=attached(drive))) for i in range(32)
    ]

    def start(server: dict) -> int:
        with requests.Session() as session:
            session.auth = (emu.username, emu.password)
            url = f"{emu.api_endpoint}servers/{server['uuid']}/action/"
            return session.post(url, params={"do": "start"}, json={}, timeout=30).status_code

    with ThreadPoolExecutor(32) as threads:
        statuses = list(threads.map(start, servers))
    emu.advance()
    running = [s for s in servers if api.ok("GET", f"servers/{s['uuid']}/")["status"] == "running"]
    if multimount:
        assert statuses == [202] * 32 and len(running) == 32
    else:
        assert sorted(statuses) == [202] + [403] * 31 and len(running) == 1


def test_a_second_start_with_a_drive_in_use_names_the_drive_and_the_server(emu, api):
    drive = api.create("drives", name="d", size=GIB, media="disk")
    emu.advance()
    first, second = (api.create("servers", **server_body(n, drives=attached(drive))) for n in "ab")
    api.action("servers", first["uuid"], "start")
    answer = api.post(f"servers/{second['uuid']}/action/", params={"do": "start"}, json={})
    error = assert_api_error(answer, 403, "permission", drive["uuid"])
    assert first["uuid"] in error["error_message"] and "allow_multimount" in error["error_message"]


def test_allow_multimount_cannot_be_turned_off_while_two_running_servers_have_the_drive(emu, api):
    drive = api.create("drives", name="d", size=GIB, media="disk", allow_multimount=True)
    emu.advance()
    for name in "ab":
        server = api.create("servers", **server_body(name, drives=attached(drive)))
        api.action("servers", server["uuid"], "start")
    emu.advance()
    before = state_of(emu)
    answer = api.put(f"drives/{drive['uuid']}/", json={"allow_multimount": False})
    assert_api_error(answer, 403, "permission", "allow_multimount")
    assert state_of(emu) == before


def test_a_drive_attached_while_uploading_is_mounted_once_complete(emu, api):
    drive = api.ok("POST", "initupload/", 201, json={"name": "u", "size": CHUNK, "media": "disk"})
    drive = drive["objects"][0]
    api.create("servers", **server_body("s", drives=attached(drive)))
    params = {"resumableChunkNumber": 1, "resumableChunkSize": CHUNK, "resumableTotalSize": CHUNK}
    files = {"file": ("file", b"z" * CHUNK, "application/octet-stream")}
    assert (
        api.post(f"drives/{drive['uuid']}/upload/", params=params, files=files).status_code == 200
    )
    assert api.ok("GET", f"drives/{drive['uuid']}/")["status"] == "mounted"


def test_a_resize_by_an_edit_grantee_settles_and_the_owner_can_go_on(emu, api, other_api, drive):
    share(api, other_api, drive["uuid"], "LIST", "EDIT")
    other_api.ok("PUT", f"drives/{drive['uuid']}/", json={"size": 2 * GIB})
    emu.advance()
    seen = api.ok("GET", f"drives/{drive['uuid']}/")
    assert seen["status"] == "unmounted" and seen["size"] == 2 * GIB
    assert api.ok("PUT", f"drives/{drive['uuid']}/", json={"size": 3 * GIB})["status"] == "resizing"
    emu.advance()
    assert api.ok("GET", f"drives/{drive['uuid']}/")["size"] == 3 * GIB


def test_a_start_by_a_start_grantee_settles_and_the_owner_can_stop(emu, api, other_api, server):
    share(api, other_api, server["uuid"], "LIST", "START")
    other_api.action("servers", server["uuid"], "start")
    emu.advance()
    assert api.ok("GET", f"servers/{server['uuid']}/")["status"] == "running"
    api.action("servers", server["uuid"], "stop")
    emu.advance()
    assert api.ok("GET", f"servers/{server['uuid']}/")["status"] == "stopped"


def test_an_edit_grantee_snapshots_a_shared_drive_into_the_owners_account(
    emu, api, other_api, drive
):
    share(api, other_api, drive["uuid"], "LIST", "EDIT")
    snapshot = other_api.create("snapshots", drive=drive["uuid"], name="by grantee")
    emu.advance()
    owned = api.ok("GET", f"snapshots/{snapshot['uuid']}/")
    assert owned["status"] == "available" and owned["drive"]["uuid"] == drive["uuid"]
    listed = [s["uuid"] for s in api.ok("GET", f"drives/{drive['uuid']}/")["snapshots"]]
    assert listed == [snapshot["uuid"]]


def test_a_refused_snapshot_of_a_shared_drive_leaves_no_snapshot(emu, api, other_api, drive):
    share(api, other_api, drive["uuid"], "LIST")
    before = state_of(emu)
    answer = other_api.post("snapshots/", json={"drive": drive["uuid"]})
    assert_api_error(answer, 403, "permission", "EDIT")
    assert state_of(emu) == before


def test_a_grantee_cannot_hang_its_own_tags_on_the_owners_drive(emu, api, other_api, drive):
    tag = share(api, other_api, drive["uuid"], "LIST", "EDIT")
    own = other_api.create("tags", name="mine")
    other_api.ok("PUT", f"drives/{drive['uuid']}/", json={"tags": [own["uuid"]], "name": "x"})
    seen = api.ok("GET", f"drives/{drive['uuid']}/")
    assert [t["uuid"] for t in seen["tags"]] == [tag["uuid"]] and seen["name"] == "x"
    assert other_api.ok("GET", f"tags/{own['uuid']}/")["resources"] == []


def test_a_grantee_putting_back_what_it_sees_keeps_the_owners_tags(emu, api, other_api, drive):
    tag = share(api, other_api, drive["uuid"], "LIST", "EDIT")
    seen = other_api.ok("GET", f"drives/{drive['uuid']}/")
    assert seen["tags"] == []
    other_api.ok("PUT", f"drives/{drive['uuid']}/", json=seen)
    assert [t["uuid"] for t in api.ok("GET", f"drives/{drive['uuid']}/")["tags"]] == [tag["uuid"]]


def test_deleting_a_shared_drive_as_an_edit_grantee_removes_it_everywhere(
    emu, api, other_api, drive
):
    tag = share(api, other_api, drive["uuid"], "LIST", "EDIT")
    assert other_api.delete(f"drives/{drive['uuid']}/").status_code == 204
    assert api.get(f"drives/{drive['uuid']}/").status_code == 404
    assert api.ok("GET", f"tags/{tag['uuid']}/")["resources"] == []


@pytest.mark.parametrize(("permissions", "status"), [(("LIST",), 403), (("LIST", "CLONE"), 206)])
def test_downloading_a_shared_drive_needs_clone_permission(
    emu, api, other_api, drive, permissions, status
):
    share(api, other_api, drive["uuid"], *permissions)
    answer = other_api.get(f"drives/{drive['uuid']}/download/", headers={"Range": "bytes=0-9"})
    assert answer.status_code == status
    if status == 403:
        assert_api_error(answer, 403, "permission", "CLONE")


def upload_link(api: Any, drive: dict, number: int = 0) -> str:
    body = {"chunk_number": number, "chunk_size": CHUNK}
    return api.action("drives", drive["uuid"], "upload_chunk", **body)["link"]


def initupload(api: Any, size: int = 2 * CHUNK) -> dict:
    return api.ok("POST", "initupload/", 201, json={"name": "u", "size": size, "media": "disk"})[
        "objects"
    ][0]


def test_a_link_posted_under_another_drive_is_refused_and_stays_usable(emu, api):
    drive, other = initupload(api), initupload(api)
    link = upload_link(api, drive)
    before = state_of(emu)
    wrong = requests.post(
        emu.base_url + link.replace(drive["uuid"], other["uuid"]), data=b"a" * CHUNK, timeout=10
    )
    assert_api_error(wrong, 404, "notexist")
    assert state_of(emu) == before
    assert requests.post(emu.base_url + link, data=b"a" * CHUNK, timeout=10).status_code == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_link_chunk_longer_than_announced_writes_nothing(emu, api, chunked):
    drive = initupload(api)
    link = upload_link(api, drive)
    before = state_of(emu)
    data = b"b" * (CHUNK + 1)
    body = iter([data[:1000], data[1000:]]) if chunked else data
    answer = requests.post(emu.base_url + link, data=body, timeout=10)
    assert_api_error(answer, 400, "validation", str(CHUNK))
    assert state_of(emu) == before
    assert requests.post(emu.base_url + link, data=b"c" * CHUNK, timeout=10).status_code == 200
    assert emu.backend.images[drive["uuid"]].read(0, CHUNK) == b"c" * CHUNK


def test_a_download_the_client_abandons_is_no_emulator_error(emu, api, drive, caplog):
    with api.session.get(api.url(f"drives/{drive['uuid']}/download/"), stream=True) as answer:
        assert answer.raw.read(1024) == bytes(1024)  # then the client hangs up on 1 GiB
    deadline = time.monotonic() + 10
    while not [e for e in emu.journal if e["path"].endswith("/download/")]:
        assert time.monotonic() < deadline, "the download never ended"
        time.sleep(0.01)
    assert [e["status"] for e in emu.journal if e["path"].endswith("/download/")] == [200]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]

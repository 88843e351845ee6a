"""Drive behaviour: status machine, resize, clone naming, library drives, delete rules."""

from __future__ import annotations

import datetime

import pytest
from emulator_support import GIB, assert_api_error

LIBRARY_CDROM = "6626f7cd-6085-42a2-a0b4-42262c9c6036"
LIBRARY_DISK = "d446038b-784d-4ae4-9a4d-46c7b51b403d"


def attach(api, drive_uuid, **extra):
    entry = {"device": "virtio", "dev_channel": "0:0", "drive": drive_uuid}
    return api.create(
        "servers", name="srv", cpu=1000, mem=GIB, vnc_password="pw", drives=[entry], **extra
    )


def test_new_drive_is_creating_then_unmounted(api, emu):
    created = api.create("drives", name="d", size=GIB, media="disk")
    assert created["status"] == "creating"
    assert api.ok("GET", f"drives/{created['uuid']}/")["status"] == "creating"
    assert emu.advance() >= 1
    assert api.ok("GET", f"drives/{created['uuid']}/")["status"] == "unmounted"


def test_attached_drive_is_mounted_and_detached_drive_unmounted(api, drive):
    server = attach(api, drive["uuid"])
    mounted = api.ok("GET", f"drives/{drive['uuid']}/")
    assert mounted["status"] == "mounted"
    assert mounted["mounted_on"] == [
        {"resource_uri": server["resource_uri"], "uuid": server["uuid"]}
    ]
    api.ok("PUT", f"servers/{server['uuid']}/", json={"drives": []})
    detached = api.ok("GET", f"drives/{drive['uuid']}/")
    assert detached["status"] == "unmounted" and detached["mounted_on"] == []


def test_resize_by_put_answers_old_size_then_shows_new_size(api, emu, drive):
    answer = api.ok("PUT", f"drives/{drive['uuid']}/", json={"size": 2 * GIB})
    assert answer["size"] == GIB and answer["status"] == "resizing"
    emu.advance()
    after = api.ok("GET", f"drives/{drive['uuid']}/")
    assert after["size"] == 2 * GIB and after["status"] == "unmounted"


def test_resize_action_rounds_up_to_16_kib(api, emu, drive):
    body = dict(api.ok("GET", f"drives/{drive['uuid']}/"), size=GIB + 1)
    answer = api.ok(
        "POST", f"drives/{drive['uuid']}/action/", 202, params={"do": "resize"}, json=body
    )
    assert answer["objects"][0]["status"] == "resizing"
    emu.advance()
    assert api.ok("GET", f"drives/{drive['uuid']}/")["size"] == GIB + 16 * 1024


def test_resize_of_a_drive_on_a_running_server_is_refused(api, emu, drive):
    server = attach(api, drive["uuid"])
    api.action("servers", server["uuid"], "start")
    emu.advance()
    response = api.post(
        f"drives/{drive['uuid']}/action/",
        params={"do": "resize"},
        json={"size": 2 * GIB, "name": "disk", "media": "disk"},
    )
    assert_api_error(response, 403, "permission", "running server")
    put = api.ok("PUT", f"drives/{drive['uuid']}/", json={"size": 2 * GIB, "name": "kept"})
    assert put["size"] == GIB and put["name"] == "kept"


def test_resize_while_creating_is_refused(api):
    created = api.create("drives", name="d", size=GIB, media="disk")
    response = api.put(f"drives/{created['uuid']}/", json={"size": 2 * GIB})
    assert_api_error(response, 403, "permission", "creating")


def test_delete_of_a_drive_on_a_running_server_is_refused(api, emu, drive):
    server = attach(api, drive["uuid"])
    api.action("servers", server["uuid"], "start")
    emu.advance()
    assert_api_error(api.delete(f"drives/{drive['uuid']}/"), 403, "permission", "stop the")


def test_delete_of_a_drive_on_a_stopped_server_detaches_it(api, drive):
    server = attach(api, drive["uuid"])
    assert api.delete(f"drives/{drive['uuid']}/").status_code == 204
    assert api.ok("GET", f"servers/{server['uuid']}/")["drives"] == []


def test_clone_is_cloning_dst_with_a_job_then_unmounted(api, emu, drive):
    clone = api.action("drives", drive["uuid"], "clone", name="copy")["objects"][0]
    assert clone["status"] == "cloning_dst" and clone["name"] == "copy"
    job = api.ok("GET", f"jobs/{clone['jobs'][0]['uuid']}/")
    assert job["operation"] == "drive_clone" and job["state"] == "started"
    assert job["resources"] == [drive["resource_uri"], clone["resource_uri"]]
    emu.advance()
    assert api.ok("GET", f"drives/{clone['uuid']}/")["status"] == "unmounted"
    done = api.ok("GET", f"jobs/{job['uuid']}/")
    assert done["state"] == "success" and done["data"] == {"progress": 100}


def test_clone_accepts_no_body_and_avoid(api, drive):
    response = api.post(f"drives/{drive['uuid']}/action/", params={"do": "clone", "avoid": "x,y"})
    assert response.status_code == 202


def test_clone_smaller_than_source_is_refused(api, drive):
    response = api.post(
        f"drives/{drive['uuid']}/action/", params={"do": "clone"}, json={"size": GIB // 2}
    )
    assert_api_error(response, 400, "validation", "smaller")


@pytest.mark.parametrize(
    ("naming", "expected"),
    [
        ("NONE", "disk"),
        ("COUNTER", "disk_1"),
        ("DATE", "disk-{date}"),
    ],
)
def test_clone_naming_follows_the_profile(api, drive, naming, expected):
    api.ok("PUT", "profile/", json={"clone_naming": naming})
    clone = api.action("drives", drive["uuid"], "clone")["objects"][0]
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert clone["name"] == expected.format(date=today)


def test_counter_naming_bumps_an_existing_counter(api, emu):
    source = api.create("drives", name="disk_1", size=GIB, media="disk")
    emu.advance()
    api.ok("PUT", "profile/", json={"clone_naming": "COUNTER"})
    assert api.action("drives", source["uuid"], "clone")["objects"][0]["name"] == "disk_2"


def test_library_is_listed_and_readable_through_drives(api):
    library = api.ok("GET", "libdrives/", params={"limit": 0})["objects"]
    assert {d["media"] for d in library} == {"disk", "cdrom"}
    via_drives = api.ok("GET", f"drives/{LIBRARY_DISK}/")
    assert via_drives["owner"] is None and via_drives["uuid"] == LIBRARY_DISK
    assert api.ok("GET", "drives/")["meta"]["total_count"] == 0


def test_library_filters_are_the_schema_ones(api):
    found = api.ok("GET", "libdrives/", params={"os": "windows", "limit": 0})["objects"]
    everything = api.ok("GET", "libdrives/", params={"limit": 0})["objects"]
    assert found and all(d["os"] == "windows" for d in found) and len(found) < len(everything)
    # media is no filter of /libdrives/ (libdrives.rst, its schema): the API ignores it
    ignored = api.ok("GET", "libdrives/", params={"media": "cdrom", "limit": 0})["objects"]
    assert ignored == everything


def test_library_disk_clone_lands_in_the_account_with_library_meta(api, emu):
    clone = api.action("libdrives", LIBRARY_DISK, "clone", name="mine")["objects"][0]
    assert clone["owner"] is not None and clone["status"] == "cloning_dst"
    assert clone["meta"]["distribution"] == "Ubuntu"
    emu.advance()
    assert api.ok("GET", "drives/")["meta"]["total_count"] == 1


def test_attaching_a_library_disk_directly_is_403(api):
    entry = {"device": "virtio", "dev_channel": "0:0", "drive": LIBRARY_DISK}
    response = api.post(
        "servers/",
        json={"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "x", "drives": [entry]},
    )
    assert_api_error(response, 403, "permission", "clone it")


def test_attaching_a_library_cdrom_is_allowed(api):
    server = attach(api, LIBRARY_CDROM)
    assert server["drives"][0]["drive"]["uuid"] == LIBRARY_CDROM
    assert api.ok("GET", f"drives/{LIBRARY_CDROM}/")["mounted_on"] == []


def test_library_drives_cannot_be_changed_through_drives(api):
    response = api.put(f"drives/{LIBRARY_DISK}/", json={"name": "mine now"})
    assert_api_error(response, 403, "permission")
    assert_api_error(api.delete(f"drives/{LIBRARY_DISK}/"), 403, "permission")


def test_storage_type_defaults_and_cannot_change(api, emu):
    created = api.create("drives", name="z", size=2 * GIB, media="disk", storage_type="zadara")
    emu.advance()
    updated = api.ok("PUT", f"drives/{created['uuid']}/", json={"storage_type": "dssd"})
    assert updated["storage_type"] == "zadara"
    plain = api.create("drives", name="p", size=GIB, media="disk")
    assert plain["storage_type"] == "dssd"


def test_create_with_avoid_is_accepted(api):
    response = api.post(
        "drives/", params={"avoid": "abc"}, json={"name": "x", "size": GIB, "media": "disk"}
    )
    assert response.status_code == 201


def test_driveusers_lifecycle(api, drive):
    created = api.ok("POST", "driveusers/", 201, json={"drive": drive["uuid"], "amount": 3})
    assert created["objects"] == [
        {"amount": 3, "drive": {"resource_uri": drive["resource_uri"], "uuid": drive["uuid"]}}
    ]
    updated = api.ok("PUT", f"driveusers/{drive['uuid']}/", json={"amount": 5})
    assert updated["objects"][0]["amount"] == 5
    assert api.delete(f"driveusers/{drive['uuid']}/").status_code == 204
    assert_api_error(api.get(f"driveusers/{drive['uuid']}/"), 404, "notexist")


def test_a_grown_clone_is_rounded_like_the_recorded_one(api, drive):
    body = {"size": 1207959631}
    clone = api.action("drives", drive["uuid"], "clone", **body)["objects"][0]
    assert clone["size"] == 1207975936


def test_changing_a_drive_while_it_resizes_or_clones_is_503_concurrency(api, emu, drive):
    api.ok("PUT", f"drives/{drive['uuid']}/", json={"size": 2 * GIB})
    for response in (
        api.put(f"drives/{drive['uuid']}/", json={"name": "x"}),
        api.delete(f"drives/{drive['uuid']}/"),
    ):
        assert_api_error(response, 503, "concurrency", "resizing")
    emu.advance()
    clone = api.action("drives", drive["uuid"], "clone")["objects"][0]
    assert_api_error(api.delete(f"drives/{clone['uuid']}/"), 503, "concurrency", "cloning_dst")
    emu.advance()
    assert api.delete(f"drives/{clone['uuid']}/").status_code == 204

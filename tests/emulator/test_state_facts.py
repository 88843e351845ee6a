"""State facts of the live API the emulator follows: clone sources, snapshot clone names,
ephemeral drives, ACPI shutdowns, availability groups, grouped subscriptions, backup
scheduler rules, null booleans, OPTIONS and the current usage keys."""

from __future__ import annotations

import zoneinfo

import pytest
from emulator_support import GIB, assert_api_error, server_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GENERATED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def status_of(api, resource: str, uuid: str) -> str:
    return api.ok("GET", f"{resource}/{uuid}/")["status"]


def audit_actions(api, uuid: str) -> list[str]:
    entries = api.ok("GET", "logs/", params={"limit": 0})["objects"]
    return [entry["action"] for entry in entries if entry["uuid"] == uuid]


def running_server(api, emu, **more) -> dict:
    server = api.create("servers", **server_body("srv", **more))
    api.action("servers", server["uuid"], "start")
    emu.advance()
    return server


# null booleans ----------------------------------------------------------------
def test_null_random_vnc_password_on_clone_means_not_given(api, emu, server):
    clone = api.action("servers", server["uuid"], "clone", name="copy", random_vnc_password=None)
    assert clone["vnc_password"] == server["vnc_password"]


def test_null_optional_booleans_on_create_take_their_defaults(api, emu):
    drive = api.create("drives", name="d", size=GIB, media="disk", allow_multimount=None)
    server = api.create("servers", **server_body("s", context=None, enable_numa=None))
    assert drive["allow_multimount"] is False
    assert server["context"] is True and server["enable_numa"] is False


# snapshot clones ----------------------------------------------------------------
@pytest.mark.parametrize("naming", ["COUNTER", "DATE", "NONE"])
def test_snapshot_clone_takes_the_snapshot_name_whatever_the_clone_naming(api, emu, drive, naming):
    api.ok("PUT", "profile/", json={"clone_naming": naming})
    snapshot = api.create("snapshots", drive=drive["uuid"])
    emu.advance()
    clone = api.action("snapshots", snapshot["uuid"], "clone")
    assert clone["name"] == snapshot["name"]
    named = api.action("snapshots", snapshot["uuid"], "clone", name="X", media="cdrom")
    assert named["name"] == "X" and named["media"] == "cdrom" and named["size"] == drive["size"]


# clone sources ----------------------------------------------------------------
def test_drive_clone_source_shows_cloning_src_until_the_copy_is_done(api, emu, drive):
    answer = api.action("drives", drive["uuid"], "clone", name="copy")
    clone = answer["objects"][0]
    assert status_of(api, "drives", drive["uuid"]) == "cloning_src"
    assert status_of(api, "drives", clone["uuid"]) == "cloning_dst"
    emu.advance()
    assert status_of(api, "drives", drive["uuid"]) == "unmounted"
    assert status_of(api, "drives", clone["uuid"]) == "unmounted"
    assert "clone_src" in audit_actions(api, drive["uuid"])
    assert "clone_dst" in audit_actions(api, clone["uuid"])


def test_source_of_two_clones_stays_cloning_src_until_both_are_done(api, emu, drive):
    first = api.action("drives", drive["uuid"], "clone", name="a")["objects"][0]
    emu.step()  # the first clone's job
    second = api.action("drives", drive["uuid"], "clone", name="b")["objects"][0]
    while status_of(api, "drives", first["uuid"]) == "cloning_dst":
        assert emu.step()
    assert status_of(api, "drives", second["uuid"]) == "cloning_dst"
    assert status_of(api, "drives", drive["uuid"]) == "cloning_src"
    emu.advance()
    assert status_of(api, "drives", drive["uuid"]) == "unmounted"


def test_changing_a_cloning_source_is_503_but_it_can_be_cloned_again(api, emu, drive):
    api.action("drives", drive["uuid"], "clone", name="a")
    response = api.put(f"drives/{drive['uuid']}/", json={"name": "renamed"})
    assert_api_error(response, 503, "concurrency", "cloning_src")
    api.action("drives", drive["uuid"], "clone", name="b")
    emu.advance()
    assert api.ok("PUT", f"drives/{drive['uuid']}/", json={"name": "renamed"})["name"] == "renamed"


def test_server_clone_audits_clone_src_and_its_disk_source_can_still_start(api, emu, drive):
    body = server_body(
        "web", drives=[{"drive": drive["uuid"], "device": "virtio", "dev_channel": "0:0"}]
    )
    source = api.create("servers", **body)
    emu.advance()
    api.action("servers", source["uuid"], "clone")
    assert status_of(api, "drives", drive["uuid"]) == "cloning_src"
    api.action("servers", source["uuid"], "start")
    emu.advance()
    assert status_of(api, "servers", source["uuid"]) == "running"
    assert status_of(api, "drives", drive["uuid"]) == "mounted"
    assert "clone_src" in audit_actions(api, source["uuid"])


# ephemeral drives -------------------------------------------------------------
def test_initupload_of_a_local_nvme_drive_is_refused(api):
    body = {"name": "img", "size": GIB, "media": "disk", "storage_type": "local_nvme"}
    response = api.post("initupload/", json=body)
    assert_api_error(response, 403, "permission", "ephemeral")
    assert api.ok("GET", "drives/", params={"limit": 0})["objects"] == []


def ephemeral_server(api, emu) -> tuple[dict, dict]:
    drive = api.create("drives", name="scratch", size=GIB, media="disk", storage_type="local_nvme")
    emu.advance()
    attach = [{"drive": drive["uuid"], "device": "virtio", "dev_channel": "0:0"}]
    server = api.create("servers", **server_body("eph", drives=attach))
    emu.advance()
    return drive, server


@pytest.mark.parametrize("action", ["stop", "shutdown"])
def test_local_nvme_drive_loses_its_data_when_its_server_stops(api, emu, action):
    drive, server = ephemeral_server(api, emu)
    api.action("servers", server["uuid"], "start")
    emu.advance()
    emu.call(lambda: emu.backend.image(drive["uuid"], drive["size"]).write(0, b"scratch data"))
    api.action("servers", server["uuid"], action)
    emu.advance()
    image = emu.backend.images.get(drive["uuid"])
    assert image is None or image.read(0, 12) == bytes(12)
    assert status_of(api, "drives", drive["uuid"]) == "mounted"


def test_local_nvme_drive_counts_in_current_usage_only_while_its_server_runs(api, emu):
    drive, server = ephemeral_server(api, emu)

    def local_nvme_using() -> int:
        usage = api.ok("GET", "currentusage/")["usage"]
        return usage.get("local_nvme", {"using": 0})["using"]

    assert local_nvme_using() == 0
    api.action("servers", server["uuid"], "start")
    assert local_nvme_using() == drive["size"]
    emu.advance()
    api.action("servers", server["uuid"], "stop")
    emu.advance()
    assert local_nvme_using() == 0


# ACPI shutdown ----------------------------------------------------------------
def test_shutdown_of_a_guest_that_answers_ends_stopped(api, emu):
    server = running_server(api, emu)
    api.action("servers", server["uuid"], "shutdown")
    assert status_of(api, "servers", server["uuid"]) == "stopping"
    emu.advance()
    assert status_of(api, "servers", server["uuid"]) == "stopped"


def test_shutdown_of_a_guest_that_ignores_acpi_goes_back_to_running(api, emu):
    server = running_server(api, emu)
    emu.account().guests_answer_acpi[server["uuid"]] = False
    api.action("servers", server["uuid"], "shutdown")
    assert status_of(api, "servers", server["uuid"]) == "stopping"
    emu.advance()
    back = api.ok("GET", f"servers/{server['uuid']}/")
    assert back["status"] == "running" and back["runtime"] is not None
    assert "shutdown_ACPI_send" in audit_actions(api, server["uuid"])


def test_guests_can_ignore_acpi_by_default_and_a_hard_stop_still_stops(api, emu):
    emu.backend.guests_answer_acpi = False
    server = running_server(api, emu)
    api.action("servers", server["uuid"], "shutdown")
    api.action("servers", server["uuid"], "stop")
    emu.advance()
    assert status_of(api, "servers", server["uuid"]) == "stopped"


# availability groups ----------------------------------------------------------
def test_availability_group_of_a_server_includes_it_while_it_runs(api, emu, server):
    uuid = server["uuid"]
    assert api.ok("GET", f"servers/availability_groups/{uuid}/") == []
    api.action("servers", uuid, "start")
    emu.advance()
    assert api.ok("GET", f"servers/availability_groups/{uuid}/") == [uuid]
    assert api.ok("GET", "servers/availability_groups/") == [[uuid]]


def test_a_server_started_with_avoid_lands_in_another_availability_group(api, emu):
    first = running_server(api, emu)
    second = api.create("servers", **server_body("b"))
    third = api.create("servers", **server_body("c"))
    response = api.post(
        f"servers/{second['uuid']}/action/",
        params={"do": "start", "avoid": first["uuid"]},
        json={},
    )
    assert response.status_code == 202
    api.action("servers", third["uuid"], "start")
    emu.advance()
    groups = api.ok("GET", "servers/availability_groups/")
    assert groups == [[first["uuid"], third["uuid"]], [second["uuid"]]]
    assert api.ok("GET", f"servers/availability_groups/{second['uuid']}/") == [second["uuid"]]


def test_drive_availability_groups_follow_avoid_on_create(api, emu, drive):
    response = api.post(
        "drives/",
        params={"avoid": drive["uuid"]},
        json={"objects": [{"name": "apart", "size": GIB, "media": "disk"}]},
    )
    apart = response.json()["objects"][0]
    emu.advance()
    together = api.create("drives", name="near", size=GIB, media="disk")
    assert api.ok("GET", f"drives/availability_groups/{drive['uuid']}/") == [
        drive["uuid"],
        together["uuid"],
    ]
    assert api.ok("GET", "drives/availability_groups/") == [
        [drive["uuid"], together["uuid"]],
        [apart["uuid"]],
    ]


def test_availability_groups_of_other_collections_are_404(api):
    assert_api_error(api.get("tags/availability_groups/"), 404, "notexist")


# grouped subscriptions ----------------------------------------------------------
def test_grouped_subscriptions_show_each_chain_once_with_its_descendants(api):
    bought = api.ok(
        "POST",
        "subscriptions/",
        201,
        json={"objects": [{"resource": "dssd", "amount": GIB, "period": "1 month"}]},
    )["objects"][0]
    first = api.action("subscriptions", bought["id"], "extend", 200)
    second = api.action("subscriptions", first["id"], "extend", 200)
    grouped = api.ok("GET", "groupedsubscriptions/", params={"limit": 0})["objects"]
    listed = api.ok("GET", "subscriptions/", params={"limit": 0})["objects"]
    assert len(listed) == len(grouped) + 2
    chain = next(g for g in grouped if g["id"] == bought["id"])
    assert [d["id"] for d in chain["descendants"]] == [first["id"], second["id"]]
    assert all(g["id"] not in (first["id"], second["id"]) for g in grouped)
    got = api.ok("GET", f"groupedsubscriptions/{bought['id']}/")
    assert got["descendants"][1]["start_time"] == first["end_time"]


# backup schedulers --------------------------------------------------------------
def test_backup_schedulers_bulk_delete(api):
    made = [api.create("backupschedulers", name=f"b{n}", type="snapshot") for n in range(3)]
    body = {"objects": [{"uuid": s["uuid"]} for s in made[:2]]}
    assert api.delete("backupschedulers/", json=body).status_code == 204
    left = api.ok("GET", "backupschedulers/")["objects"]
    assert [s["uuid"] for s in left] == [made[2]["uuid"]]


def test_backup_schedulers_bulk_delete_of_an_unknown_one_deletes_nothing(api):
    made = api.create("backupschedulers", name="b", type="snapshot")
    body = {"objects": [{"uuid": made["uuid"]}, {"uuid": "00000000-0000-0000-0000-000000000000"}]}
    assert_api_error(api.delete("backupschedulers/", json=body), 404, "notexist")
    assert len(api.ok("GET", "backupschedulers/")["objects"]) == 1


TIME_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


@GENERATED
@given(zone=st.sampled_from(TIME_ZONES))
def test_backup_scheduler_accepts_every_time_zone_name(api, zone):
    created = api.create("backupschedulers", name="b", type="backup", user_timezone=zone)
    assert created["user_timezone"] == zone
    api.delete(f"backupschedulers/{created['uuid']}/")


@GENERATED
@given(zone=st.text(min_size=1, max_size=30).filter(lambda z: z not in TIME_ZONES))
def test_backup_scheduler_refuses_what_is_no_time_zone(api, zone):
    response = api.post(
        "backupschedulers/", json={"objects": [{"type": "backup", "user_timezone": zone}]}
    )
    assert assert_api_error(response, 400, "validation")["error_point"] == "user_timezone"


def test_backup_scheduler_update_checks_the_time_zone(api):
    made = api.create("backupschedulers", name="b", type="snapshot")
    path = f"backupschedulers/{made['uuid']}/"
    assert_api_error(api.put(path, json={"user_timezone": "Mars/Olympus"}), 400, "validation")
    assert api.ok("GET", path)["user_timezone"] == "Etc/UTC"
    changed = api.ok("PUT", path, json={"user_timezone": "Etc/GMT+12"})
    assert changed["user_timezone"] == "Etc/GMT+12"


# OPTIONS ------------------------------------------------------------------------
def allowed(api, path: str) -> set[str]:
    response = api.request("OPTIONS", path)
    assert response.status_code == 200
    assert response.headers["Allow"] == response.text
    return set(response.text.split(","))


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("profile/", {"GET", "PUT"}),
        ("balance/", {"GET"}),
        ("drives/", {"GET", "POST", "DELETE"}),
        ("backupschedulers/", {"GET", "POST", "DELETE"}),
        ("servers/", {"GET", "POST"}),
        ("vmware_servers/", {"GET"}),
        ("subscriptions/", {"GET", "POST"}),
        ("global_context/", {"GET", "POST", "PUT"}),
    ],
)
def test_options_lists_what_the_resource_really_allows(api, path, methods):
    assert allowed(api, path) == methods | {"OPTIONS"}


def test_options_of_an_object_and_its_actions(api, drive):
    assert allowed(api, f"drives/{drive['uuid']}/") == {"GET", "PUT", "DELETE", "OPTIONS"}
    assert allowed(api, f"drives/{drive['uuid']}/action/") == {"POST", "OPTIONS"}
    assert allowed(api, "ips/1.2.3.4/") == {"GET", "PUT", "OPTIONS"}


def test_every_method_options_omits_is_refused_with_405(api, emu):
    """For every collection: what OPTIONS leaves out answers 405, what it lists does not."""
    for name in sorted(emu.backend.collections):
        methods = allowed(api, f"{name}/")
        for method in ("GET", "POST", "PUT", "DELETE"):
            if method == "DELETE" and method in methods:
                continue  # a real bulk delete; its refusals are tested elsewhere
            response = api.request(method, f"{name}/", json={})
            refused = response.status_code == 405
            assert refused == (method not in methods), (name, method, response.status_code)


# current usage ------------------------------------------------------------------
def test_current_usage_has_the_keys_of_a_current_account(api):
    usage = api.ok("GET", "currentusage/")["usage"]
    assert {"intel_cpu", "intel_mem", "amd_cpu", "amd_mem", "cpu", "mem", "dssd"} <= set(usage)
    assert usage["amd_cpu"]["subscribed"] == usage["cpu"]["subscribed"] == 10000


def test_current_usage_using_follows_starts_and_stops(api, emu):
    servers = [
        api.create("servers", **server_body(f"s{n}", cpu=1000 + n, cpu_type="intel"))
        for n in range(3)
    ]
    for server in servers:
        api.action("servers", server["uuid"], "start")
    usage = api.ok("GET", "currentusage/")["usage"]  # counted from `starting` on
    assert usage["intel_cpu"]["using"] == 3003 and usage["cpu"]["using"] == 3003
    assert usage["intel_mem"]["using"] == 3 * GIB and usage["amd_cpu"]["using"] == 0
    emu.advance()
    api.action("servers", servers[0]["uuid"], "stop")
    emu.advance()
    assert api.ok("GET", "currentusage/")["usage"]["intel_cpu"]["using"] == 2003


def test_default_cpu_type_is_a_setting(api, emu):
    assert api.create("servers", **server_body("a"))["cpu_type"] == "amd"
    emu.backend.default_cpu_type = "intel"
    assert api.create("servers", **server_body("i"))["cpu_type"] == "intel"

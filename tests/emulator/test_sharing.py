"""Tags (both directions) and ACL grants between accounts."""

from __future__ import annotations

from emulator_support import GIB, assert_api_error


def test_tag_created_with_resources_tags_them(api, drive, server):
    tag = api.create("tags", name="t", resources=[drive["uuid"], server["uuid"]])
    assert {(r["uuid"], r["res_type"]) for r in tag["resources"]} == {
        (drive["uuid"], "drives"),
        (server["uuid"], "servers"),
    }
    assert api.ok("GET", f"drives/{drive['uuid']}/")["tags"] == [
        {"resource_uri": tag["resource_uri"], "uuid": tag["uuid"]}
    ]


def test_tag_put_replaces_the_resource_set(api, drive, server):
    tag = api.create("tags", name="t", resources=[drive["uuid"]])
    updated = api.ok("PUT", f"tags/{tag['uuid']}/", json={"resources": [server["uuid"]]})
    assert [r["uuid"] for r in updated["resources"]] == [server["uuid"]]
    assert api.ok("GET", f"drives/{drive['uuid']}/")["tags"] == []


def test_tagging_from_the_resource_side_updates_the_tag(api, server):
    tag = api.create("tags", name="t")
    api.ok("PUT", f"servers/{server['uuid']}/", json={"tags": [tag["uuid"]]})
    assert [r["uuid"] for r in api.ok("GET", f"tags/{tag['uuid']}/")["resources"]] == [
        server["uuid"]
    ]
    listed = api.ok("GET", f"tags/{tag['uuid']}/servers/")
    assert listed["meta"]["total_count"] == 1
    assert set(listed["objects"][0]) == {
        "name",
        "owner",
        "resource_uri",
        "runtime",
        "status",
        "uuid",
    }
    assert api.ok("GET", f"tags/{tag['uuid']}/drives/")["objects"] == []


def test_deleting_a_tag_untags_resources(api, drive):
    tag = api.create("tags", name="t", resources=[drive["uuid"]])
    assert api.delete(f"tags/{tag['uuid']}/").status_code == 204
    assert api.ok("GET", f"drives/{drive['uuid']}/")["tags"] == []


def test_unknown_tag_is_400(api):
    body = {"name": "d", "size": GIB, "media": "disk", "tags": ["nope"]}
    assert_api_error(api.post("drives/", json=body), 400, "validation", "tag")


def grant(api, other_api, drive, *permissions):
    grantee = other_api.ok("GET", "profile/")["uuid"]
    tag = api.create("tags", name="shared", resources=[drive["uuid"]])
    return api.create(
        "acls",
        name="acl",
        grantees=[{"uuid": grantee}],
        tags=[tag["uuid"]],
        rules=[{"permission": p} for p in permissions],
    )


def test_acl_shares_a_drive_with_its_permissions(api, other_api, drive):
    acl = grant(api, other_api, drive, "LIST", "EDIT")
    assert acl["grantees"][0]["email"] == "other@example.com"
    seen = other_api.ok("GET", f"drives/{drive['uuid']}/")
    assert seen["permissions"] == ["EDIT", "LIST"] and seen["owner"] == drive["owner"]
    assert [d["uuid"] for d in other_api.ok("GET", "drives/detail/")["objects"]] == [drive["uuid"]]
    owner_view = api.ok("GET", f"drives/{drive['uuid']}/")
    assert owner_view["grantees"][0]["permissions"] == ["EDIT", "LIST"]
    assert other_api.ok("PUT", f"drives/{drive['uuid']}/", json={"name": "edited"})["name"] == (
        "edited"
    )


def test_list_only_grant_refuses_edit_and_attach(api, other_api, drive):
    grant(api, other_api, drive, "LIST")
    response = other_api.put(f"drives/{drive['uuid']}/", json={"name": "x"})
    assert_api_error(response, 403, "permission", "EDIT")
    entry = {"device": "virtio", "dev_channel": "0:0", "drive": drive["uuid"]}
    body = {"name": "s", "cpu": 1000, "mem": GIB, "vnc_password": "x", "drives": [entry]}
    assert_api_error(other_api.post("servers/", json=body), 403, "permission", "ATTACH")


def test_acl_with_unknown_grantee_is_400(api):
    body = {"grantees": [{"uuid": "nobody"}], "rules": [{"permission": "LIST"}]}
    assert_api_error(api.post("acls/", json=body), 400, "validation", "user")


def test_granted_permissions_are_limited_to_those_of_the_resource(api, other_api, drive):
    grant(api, other_api, drive, "LIST", "START", "ATTACH")
    assert other_api.ok("GET", f"drives/{drive['uuid']}/")["permissions"] == ["ATTACH", "LIST"]

"""Tags on resources and ACLs that share tagged resources with a second account."""

from __future__ import annotations

import pytest
from integration_support import unique_name

pytestmark = pytest.mark.live


def test_tag_with_resources_is_listed_per_resource_type(api, make_drive, make_server, tracker):
    drive = make_drive("tagged")
    server = make_server("tagged")
    name = unique_name("tag")

    tag = tracker.track(
        "tags", api.tags.create({"name": name, "resources": [drive["uuid"], server["uuid"]]})
    )

    assert tag["name"] == name
    by_type = {(r["res_type"], r["uuid"]) for r in tag["resources"]}
    assert by_type == {("drives", drive["uuid"]), ("servers", server["uuid"])}
    assert [d["uuid"] for d in api.tags.list_resource(tag["uuid"], "drives")] == [drive["uuid"]]
    assert [s["uuid"] for s in api.tags.servers(tag["uuid"])] == [server["uuid"]]
    assert tag["uuid"] in {t["uuid"] for t in api.drives.get(drive["uuid"])["tags"]}
    assert tag["uuid"] in {t["uuid"] for t in api.tags.list()}


def test_drive_filter_by_tag(api, make_drive, tracker):
    tagged = make_drive("by-tag")
    make_drive("untagged")
    tag = tracker.track(
        "tags", api.tags.create({"name": unique_name("tag"), "resources": [tagged["uuid"]]})
    )

    found = api.drives.list_detail({"tag": tag["uuid"]})

    assert [d["uuid"] for d in found] == [tagged["uuid"]]


def test_updating_tag_resources_replaces_the_set(api, make_drive, tracker):
    first, second = make_drive("tag-first"), make_drive("tag-second")
    tag = tracker.track(
        "tags", api.tags.create({"name": unique_name("tag"), "resources": [first["uuid"]]})
    )

    api.tags.update(tag["uuid"], {"name": tag["name"], "resources": [second["uuid"]]})

    assert [d["uuid"] for d in api.tags.drives(tag["uuid"])] == [second["uuid"]]
    assert api.drives.get(first["uuid"])["tags"] == []


def test_deleting_a_tag_untags_its_resources(api, make_drive, tracker):
    drive = make_drive("tag-deleted")
    tag = api.tags.create({"name": unique_name("tag"), "resources": [drive["uuid"]]})
    tracker.track("tags", tag)

    api.tags.delete(tag["uuid"])

    assert api.drives.get(drive["uuid"])["tags"] == []
    assert tag["uuid"] not in {t["uuid"] for t in api.tags.list()}


def test_acl_shares_tagged_drive_with_second_account(api, second_api, make_drive, tracker):
    drive = make_drive("shared")
    hidden = make_drive("not-shared")
    grantee = second_api.profile.get()
    tag = tracker.track(
        "tags", api.tags.create({"name": unique_name("acl-tag"), "resources": [drive["uuid"]]})
    )
    assert drive["uuid"] not in {d["uuid"] for d in second_api.drives.list()}

    acl = tracker.track(
        "acls",
        api.acls.create(
            {
                "name": unique_name("acl"),
                "grantees": [{"uuid": grantee["uuid"]}],
                "tags": [tag["uuid"]],
                "rules": [{"permission": "LIST"}, {"permission": "EDIT"}],
            }
        ),
    )

    assert {g["uuid"] for g in acl["grantees"]} == {grantee["uuid"]}
    visible = {d["uuid"] for d in second_api.drives.list()}
    assert drive["uuid"] in visible
    assert hidden["uuid"] not in visible
    seen_by_grantee = second_api.drives.get(drive["uuid"])
    assert {"LIST", "EDIT"} <= set(seen_by_grantee["permissions"])
    seen_by_owner = api.drives.get(drive["uuid"])
    assert grantee["uuid"] in {g["user"]["uuid"] for g in seen_by_owner["grantees"]}

    api.acls.delete(acl["uuid"])
    assert drive["uuid"] not in {d["uuid"] for d in second_api.drives.list()}

"""Answer formats: XML as Tastypie writes it, gzip on request, and Location on 201."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET

import pytest
from emulator_support import GIB, assert_api_error
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsigma.emulator.http.formats import to_etree, to_xml


def from_etree(element: ET.Element) -> object:
    """Read Tastypie XML back into JSON values (the inverse of the serialisation)."""
    kind = element.get("type")
    if element.tag in ("response",) or kind == "hash":
        return {child.get("key", child.tag): from_etree(child) for child in element}
    if element.tag == "objects" and kind is None or kind == "list":
        return [from_etree(child) for child in element]
    text = element.text or ""
    return {
        "null": lambda: None,
        "integer": lambda: int(text),
        "float": lambda: float(text),
        "boolean": lambda: text == "True",
    }.get(kind or "", lambda: text)()


def test_accept_xml_answers_a_tastypie_listing(api, drive):
    response = api.get("drives/", headers={"Accept": "application/xml"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<response>")
    root = ET.fromstring(response.content)
    assert [child.tag for child in root] == ["meta", "objects"]
    assert root.find("meta").get("type") == "hash"
    assert root.find("meta/total_count").attrib == {"type": "integer"}
    assert root.find("meta/total_count").text == "1"
    objects = root.find("objects")
    assert objects.get("type") == "list"
    item = objects.find("object")
    assert item.get("type") == "hash"
    assert item.find("uuid").text == drive["uuid"]
    assert item.find("uuid").attrib == {}  # strings carry no type


def test_xml_and_json_answers_hold_the_same_values(api, drive):
    as_json = api.ok("GET", f"drives/{drive['uuid']}/")
    as_xml = api.get(f"drives/{drive['uuid']}/", params={"format": "xml"})
    assert as_xml.status_code == 200
    assert from_etree(ET.fromstring(as_xml.content)) == as_json


def test_errors_come_in_xml_too(api):
    response = api.get("drives/00000000-0000-4000-8000-000000000000/", params={"format": "xml"})
    assert response.status_code == 404
    root = ET.fromstring(response.content)
    assert root.tag == "objects"
    assert root.find("object/error_type").text == "notexist"


def test_json_wins_when_both_are_accepted_equally(api):
    response = api.get("drives/", headers={"Accept": "application/xml, application/json"})
    assert response.headers["Content-Type"].startswith("application/json")


def test_a_higher_quality_for_xml_chooses_xml(api):
    accept = "application/json;q=0.5, application/xml"
    response = api.get("drives/", headers={"Accept": accept})
    assert response.headers["Content-Type"].startswith("application/xml")


@pytest.mark.parametrize(
    "params, headers",
    [({"format": "yaml"}, {}), ({}, {"Accept": "text/html"}), ({}, {"Accept": "image/png"})],
)
def test_formats_other_than_json_and_xml_are_406(api, params, headers):
    assert_api_error(api.get("drives/", params=params, headers=headers), 406, "validation")


def test_values_are_typed_and_children_sorted():
    element = to_etree({"b": [1, "x", {"k": None}], "a": {"f": 1.5, "t": True}})
    assert [child.tag for child in element] == ["a", "b"]
    assert ET.tostring(element) == (
        b'<response><a type="hash"><f type="float">1.5</f><t type="boolean">True</t></a>'
        b'<b type="list"><object type="hash"><k type="null" /></object>'
        b'<value type="integer">1</value><value>x</value></b></response>'
    )


def test_keys_that_are_not_xml_names_keep_their_text():
    element = to_etree({"meta": {"my key": "v", "1st": "w"}})
    items = element.findall("meta/item")
    assert {item.get("key"): item.text for item in items} == {"my key": "v", "1st": "w"}


KEYS = st.text("abkz_", min_size=1, max_size=5)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs", "Cc"))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, max_examples=100)
@given(st.dictionaries(KEYS, json_values))
def test_xml_round_trips_every_object(value):
    """Parsing the XML gives back the object, up to Tastypie's sorting of list items by tag."""
    parsed = from_etree(ET.fromstring(to_xml(value)))

    def tag(item):
        return (
            "object" if isinstance(item, dict) else "objects" if isinstance(item, list) else "value"
        )

    def normalised(item):
        if isinstance(item, dict):
            return {k: normalised(v) for k, v in item.items()}
        if isinstance(item, list):
            return [normalised(v) for v in sorted(item, key=tag)]
        return item

    assert parsed == normalised(value)


def test_gzip_is_used_when_accepted(api, drive):
    response = api.get("drives/detail/", headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = response.raw.read(decode_content=False)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(raw).startswith(b'{"meta"')


def test_no_gzip_without_accept_encoding(api, drive):
    response = api.get("drives/detail/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert response.json()["objects"][0]["uuid"] == drive["uuid"]


def test_gzip_q_zero_means_no(api, drive):
    response = api.get("drives/", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers


def test_downloads_are_not_gzipped(api, emu):
    uploaded = api.post(
        "drives/upload/", data=b"a" * 1024, headers={"Content-Type": "application/octet-stream"}
    )
    assert uploaded.status_code == 200
    headers = {"Accept-Encoding": "gzip", "Range": "bytes=0-1023"}
    response = api.get(f"drives/{uploaded.text}/download/", headers=headers)
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.content == b"a" * 1024


def test_create_answers_201_with_the_location_of_the_object(emu, api):
    response = api.post("drives/", json={"name": "d", "size": GIB, "media": "disk"})
    assert response.status_code == 201
    created = response.json()["objects"][0]
    assert response.headers["Location"] == f"{emu.base_url}/api/2.0/drives/{created['uuid']}/"
    assert api.get(response.headers["Location"][len(emu.api_endpoint) :]).status_code == 200


def test_bulk_create_gives_the_location_of_the_first_object(emu, api):
    bodies = [{"name": f"d{i}", "size": GIB, "media": "disk"} for i in range(3)]
    response = api.post("drives/", json={"objects": bodies})
    first = response.json()["objects"][0]
    assert response.headers["Location"].endswith(f"/api/2.0/drives/{first['uuid']}/")


def test_answers_other_than_201_have_no_location(api, drive):
    assert "Location" not in api.get(f"drives/{drive['uuid']}/").headers

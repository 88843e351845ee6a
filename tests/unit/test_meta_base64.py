"""``metadata.decode_base64_fields``: the meta keys named in ``base64_fields``, decoded."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsigma import metadata

KEYS = st.text("abcdefghij-_", min_size=1, max_size=12).filter(lambda k: k != "base64_fields")


@settings(derandomize=True, max_examples=200)
@given(st.dictionaries(KEYS, st.binary(max_size=64), max_size=5), st.data())
def test_named_fields_come_back_as_the_bytes_that_were_encoded(values, data):
    named = data.draw(
        st.lists(st.sampled_from(sorted(values)), unique=True) if values else st.just([])
    )
    meta = {key: base64.b64encode(value).decode() for key, value in values.items()}
    meta["base64_fields"] = ",".join(named + ["not-in-meta"])
    decoded = metadata.decode_base64_fields(meta)
    for key in values:
        assert decoded[key] == (values[key] if key in named else meta[key])
    assert decoded["base64_fields"] == meta["base64_fields"]


def test_without_base64_fields_the_meta_is_unchanged():
    meta = {"ssh_public_key": "ssh-ed25519 AAAA", "ud": "aGVsbG8="}
    assert metadata.decode_base64_fields(meta) == meta


def test_a_value_that_is_not_base64_is_an_error_naming_its_key():
    with pytest.raises(metadata.MetadataResponseError, match="'ud'"):
        metadata.decode_base64_fields({"ud": "not base64!", "base64_fields": "ud"})


def test_spaces_around_names_are_allowed():
    meta = {"a": "aGk=", "b": "eW8=", "base64_fields": "a, b"}
    assert metadata.decode_base64_fields(meta) == {**meta, "a": b"hi", "b": b"yo"}

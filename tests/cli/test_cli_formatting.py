"""The command line's value parsing and table rendering, without a server."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from cloudsigma.cli import values
from cloudsigma.cli.output import (
    Column,
    Style,
    human_mhz,
    human_size,
    print_record,
    print_table,
    ref_uuid,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1073741824", 1024**3),
        ("10G", 10 * 1024**3),
        ("512M", 512 * 1024**2),
        ("512m", 512 * 1024**2),
        ("1.5GiB", 3 * 1024**3 // 2),
        ("2T", 2 * 1024**4),
        ("64KB", 64 * 1024),
    ],
)
def test_size_accepts_bytes_and_binary_units(text, expected):
    assert values.size(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "10X", "-1G", "0", "G"])
def test_size_rejects_what_is_not_a_positive_size(text):
    with pytest.raises(argparse.ArgumentTypeError, match="invalid size"):
        values.size(text)


def test_key_value_keeps_equals_signs_in_the_value_and_needs_a_key():
    assert values.key_value("url=http://x/?a=b") == ("url", "http://x/?a=b")
    assert values.key_value("empty=") == ("empty", "")
    for bad in ("novalue", "=value"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected key=value"):
            values.key_value(bad)


def test_human_size_and_references_read_as_people_expect():
    assert [human_size(n) for n in (512, 1024, 1536 * 1024**2, 10 * 1024**3)] == [
        "512 B",
        "1 KiB",
        "1.5 GiB",
        "10 GiB",
    ]
    assert [human_mhz(n) for n in (500, 1000, 2500, 20000)] == [
        "500 MHz",
        "1 GHz",
        "2.5 GHz",
        "20 GHz",
    ]
    ref = {"uuid": "abc", "resource_uri": "/api/2.0/drives/abc/"}
    assert ref_uuid(ref) == "abc"
    assert ref_uuid([ref, {"uuid": "def"}]) == "abc,def"


def test_table_aligns_columns_and_marks_missing_values():
    out = io.StringIO()
    columns = (Column("UUID", "uuid"), Column("NAME", "name"), Column("SIZE", "size", human_size))
    print_table(
        [{"uuid": "a1", "name": "long-name", "size": 1024**3}, {"uuid": "b2"}], columns, out
    )
    assert out.getvalue().splitlines() == [
        "UUID  NAME       SIZE",
        "a1    long-name  1 GiB",
        "b2    -          -",
    ]
    bare = io.StringIO()
    print_table([{"uuid": "a1"}], columns[:1], bare, Style(header=False))
    assert bare.getvalue() == "a1\n"


def test_record_leads_with_identity_shows_refs_as_uuids_and_nests_structures():
    out = io.StringIO()
    drive = {
        "meta": {"k": "v", "long_key": "x"},
        "status": "unmounted",
        "owner": {"uuid": "u1", "resource_uri": "/api/2.0/user/u1/"},
        "mounted_on": [{"uuid": "s1", "resource_uri": "/api/2.0/servers/s1/"}],
        "size": 10 * 1024**3,
        "allow_multimount": True,
        "uuid": "a1",
    }
    print_record(drive, out)
    assert out.getvalue().splitlines() == [
        "uuid              a1",
        "status            unmounted",
        "allow_multimount  true",
        "meta",
        "  k         v",
        "  long_key  x",
        "mounted_on        s1",
        "owner             u1",
        "size              10 GiB (10737418240 bytes)",
    ]


def test_record_lists_nested_objects_item_by_item():
    out = io.StringIO()
    server = {
        "cpu": 2000,
        "drives": [
            {"boot_order": 1, "dev_channel": "0:0", "drive": {"uuid": "d1"}},
            {"boot_order": None, "dev_channel": "0:1", "drive": {"uuid": "d2"}},
        ],
        "tags": [],
    }
    print_record(server, out)
    assert out.getvalue().splitlines() == [
        "cpu     2 GHz",
        "drives",
        "  - boot_order   1",
        "    dev_channel  0:0",
        "    drive        d1",
        "  - boot_order   -",
        "    dev_channel  0:1",
        "    drive        d2",
        "tags    []",
    ]


def test_status_words_are_coloured_only_when_asked_and_alignment_holds():
    columns = (Column("STATUS", "status", status=True), Column("NAME", "name"))
    rows = [{"status": "running", "name": "a"}, {"status": "stopped", "name": "b"}]
    plain, coloured = io.StringIO(), io.StringIO()
    print_table(rows, columns, plain)
    print_table(rows, columns, coloured, Style(colour=True))
    assert "\033[" not in plain.getvalue()
    assert "\033[32mrunning\033[0m  a" in coloured.getvalue()
    strip = coloured.getvalue().replace("\033[32m", "").replace("\033[31m", "")
    assert strip.replace("\033[0m", "") == plain.getvalue()


def test_progress_falls_back_to_a_text_line_without_tqdm(monkeypatch, capsys):
    from cloudsigma.cli.progress import Progress

    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    with Progress("upload disk.img", total=2048) as progress:
        progress(2048, 2048)
    assert capsys.readouterr().err.splitlines() == ["upload disk.img: 2 KiB / 2 KiB (100%)"]


def test_progress_draws_nothing_when_disabled(capsys):
    from cloudsigma.cli.progress import Progress

    with Progress("upload disk.img", total=2048, enabled=False) as progress:
        progress(1024)
        progress(2048)
    assert capsys.readouterr().err == ""
    assert progress.done == 2048


def test_progress_uses_tqdm_when_installed(capsys):
    from cloudsigma.cli.progress import Progress

    with Progress("download d1", total=4096) as progress:
        progress(1024)
        progress(4096)
    shown = capsys.readouterr().err
    assert "download d1" in shown
    assert "100%" in shown


def test_record_indents_the_lines_of_a_multi_line_value_and_tables_keep_one_line():
    out = io.StringIO()
    print_record({"name": "ubuntu", "install_notes": "first\nsecond"}, out)
    assert out.getvalue().splitlines() == [
        "name           ubuntu",
        "install_notes  first",
        "               second",
    ]
    table = io.StringIO()
    print_table([{"notes": "a\nb"}], (Column("NOTES", "notes"),), table)
    assert table.getvalue().splitlines() == ["NOTES", "a b"]

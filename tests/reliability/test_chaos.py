"""The chaos workload: mixed SDK operations under injected faults lose and duplicate nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chaos_workload import TEN_PERCENT, ChaosWorkload
from reliability_support import CHAOS_OPERATIONS, LONG


@pytest.mark.parametrize("seed", [11, 12])
def test_workload_under_ten_percent_faults_loses_nothing(
    emu: Any, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.set_faults(f"seed={seed},{TEN_PERCENT}")
    figures = ChaosWorkload(emu, seed=seed, upload_share=0.02).run(CHAOS_OPERATIONS)
    report = figures.as_dict()
    if LONG:
        with capsys.disabled():
            print(f"\nchaos seed {seed}: {json.dumps(report, sort_keys=True)}")
    assert report["operations"] == CHAOS_OPERATIONS
    assert sum(report["faults_injected"].values()) > CHAOS_OPERATIONS * 0.05
    assert figures.foreign_exceptions == []
    assert figures.failed_operations == []
    assert figures.errors_without_request_id == []
    assert figures.duplicates == []
    assert figures.missing == []
    assert figures.leftovers == []
    assert figures.bytes_corrupted == 0
    assert figures.upload_bytes_checked > 0
    assert report["retries"].get("generic", 0) > 0


def test_workload_without_faults_makes_no_retries_and_surfaces_no_errors(emu: Any) -> None:
    figures = ChaosWorkload(emu, seed=5, upload_share=0.02).run(150)
    assert figures.retries == {}
    assert figures.errors_surfaced == {}
    assert figures.lost_create_answers == 0
    assert (figures.duplicates, figures.missing, figures.leftovers) == ([], [], [])


def test_lost_create_answers_are_found_by_name_instead_of_created_twice(emu: Any) -> None:
    emu.set_faults("seed=4,reset_after=0.5,methods=POST,paths=drives")
    workload = ChaosWorkload(emu, seed=4, upload_share=0)
    for _ in range(20):
        workload.guarded(workload.create_drive)
    workload.audit()
    figures = workload.figures
    assert figures.lost_create_answers >= 3
    assert figures.found_by_name_after_lost_answer == figures.lost_create_answers
    assert figures.duplicates == []
    assert len(emu.account().objects["drives"]) == 20

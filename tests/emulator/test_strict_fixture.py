"""The pytest plugin's strict switch: ``--cloudsigma-strict``, the ini option and the marker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROBES = textwrap.dedent(
    """
    import pytest
    import requests

    def colour_filter_status(emulator):
        answer = requests.get(
            emulator.api_endpoint + "drives/",
            params={"colour": "red"},
            auth=(emulator.username, emulator.password),
            timeout=10,
        )
        return answer.status_code

    def test_default(cloudsigma_emulator):
        print("default", cloudsigma_emulator.strict, colour_filter_status(cloudsigma_emulator))

    @pytest.mark.cloudsigma_strict
    def test_marked(cloudsigma_emulator):
        print("marked", cloudsigma_emulator.strict, colour_filter_status(cloudsigma_emulator))

    @pytest.mark.cloudsigma_strict(False)
    def test_marked_off(cloudsigma_emulator):
        print("marked_off", cloudsigma_emulator.strict, colour_filter_status(cloudsigma_emulator))

    def test_after(cloudsigma_emulator):
        print("after", cloudsigma_emulator.strict, colour_filter_status(cloudsigma_emulator))
    """
)


def run_probes(tmp_path: Path, *options: str, ini: str = "") -> dict[str, tuple[str, str]]:
    """Run the probe tests in a fresh pytest; returns ``name -> (strict, status)``."""
    (tmp_path / "test_probes.py").write_text(PROBES)
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nfilterwarnings = error\n{ini}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSIGMA_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *options],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = {}
    for line in done.stdout.splitlines():
        for word in ("default", "marked", "marked_off", "after"):
            if f"{word} " in line:
                found = line[line.index(f"{word} ") :].split()
                seen[found[0]] = (found[1], found[2])
    return seen


def test_without_the_option_only_the_marker_makes_the_fixture_strict(tmp_path):
    assert run_probes(tmp_path) == {
        "default": ("False", "200"),
        "marked": ("True", "400"),
        "marked_off": ("False", "200"),
        "after": ("False", "200"),
    }


@pytest.mark.parametrize(
    ("options", "ini"),
    [(("--cloudsigma-strict",), ""), ((), "cloudsigma_strict = true\n")],
    ids=["option", "ini"],
)
def test_the_option_makes_every_test_strict_unless_marked_off(tmp_path, options, ini):
    assert run_probes(tmp_path, *options, ini=ini) == {
        "default": ("True", "400"),
        "marked": ("True", "400"),
        "marked_off": ("False", "200"),
        "after": ("True", "400"),
    }

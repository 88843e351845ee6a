"""The published pycloudsigma 2.0.0, unchanged, running the README walkthrough over TLS.

Its import name is ours too, so it is installed into a directory of its own (once per run)
and runs in a child process with that directory first on its path. The walkthrough is
``bench/walkthrough_steps.py``; this package runs it as well, and both must get the same
answers once uuids, MAC addresses and times are masked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudsigma.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
#: pycloudsigma 2.0.0 and what it imports beyond this package's own dependencies (requests,
#: websocket-client, pyserial, simplejson): configobj (and its six) and future.
PEER = ("cloudsigma==2.0.0", "configobj>=5.0.6", "future>=0.18.2", "six>=1.14.0")


@pytest.fixture(scope="session")
def pycloudsigma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding pycloudsigma 2.0.0, installed from the package index."""
    target = tmp_path_factory.mktemp("pycloudsigma-2.0.0")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["--no-deps", "--target", str(target), *PEER],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"pip could not install {PEER}: {done.stderr[-1500:]}"
    return target


def walkthrough(emulator: Emulator, out: Path, path: Path | None) -> dict[str, Any]:
    """Run the walkthrough against a reset ``emulator``, with ``path`` first on sys.path."""
    sys.path.insert(0, str(BENCH))
    try:
        from common import child_env
    finally:
        sys.path.remove(str(BENCH))
    emulator.reset()
    extra = {"CLOUDSIGMA_CONFIG": emulator.config_path}
    if emulator.ca_path:  # pycloudsigma verifies with requests' default, which reads this
        extra["REQUESTS_CA_BUNDLE"] = emulator.ca_path
    if path is not None:
        extra["PYTHONPATH"] = str(path)
    done = subprocess.run(
        [sys.executable, str(BENCH / "walkthrough_steps.py"), "--out", str(out)],
        env=child_env(extra),
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))


def normalised(record: dict[str, Any]) -> list[str]:
    sys.path.insert(0, str(BENCH))
    try:
        from walkthrough_compare import normalised_lines
    finally:
        sys.path.remove(str(BENCH))
    return normalised_lines(record)


def test_pycloudsigma_runs_the_readme_walkthrough_as_this_package_does(
    tls_emulator, pycloudsigma_dir, tmp_path
):
    peer = walkthrough(tls_emulator, tmp_path / "pycloudsigma.json", pycloudsigma_dir)
    ours = walkthrough(tls_emulator, tmp_path / "cloudsigma.json", None)

    assert peer["version"] == "2.0.0" and ours["version"] != "2.0.0"
    steps = [step["step"] for step in peer["steps"]]
    assert "error" not in steps, peer["steps"][-1]
    assert steps[-1] == "what is left" and len(steps) == len(ours["steps"])
    assert normalised(peer) == normalised(ours)
    # the server went with its drive, and the drive's snapshot with the drive
    assert peer["steps"][-1]["result"] == {"servers": [], "drives": [], "snapshots": []}

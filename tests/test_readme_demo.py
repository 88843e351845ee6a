"""`make demo` runs the README walkthrough against a fresh emulator; keep it true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_the_walkthrough_against_a_fresh_emulator(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSIGMA_")}
    env["HOME"] = str(tmp_path)  # no ~/.cloudsigma.conf: the demo must not need one
    env.pop("LIVE", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "started a local emulator",
        "created a drive",
        "attached the keypair to the server",
        "server is running",
        "the VM sees the SSH key",
        "snapshot is available",
        "deleted the server with its drives",
        "deleted the keypair",
        "walkthrough complete",
    ):
        assert expected in out
    assert "'status': 'running'" in out

"""Run the README walkthrough with this package and with pycloudsigma 2.0.0; compare the results.

Each client runs bench/walkthrough_steps.py in its own environment against its own fresh
emulator. The recorded answers are normalised (uuids numbered by first appearance, MAC
addresses and timestamps masked) and must be identical. Exit status: 0 when they are,
1 when they differ (a unified diff is printed), 3 when the comparison could not run.

Usage: ``.venv/bin/python bench/walkthrough_compare.py`` (also run by ``make bench``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BENCH_DIR, child_env  # noqa: E402
from venvs import ensure_peer_venv, ours_python  # noqa: E402

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b", re.I)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


class Normaliser:
    """Masks what legitimately differs between two runs, keeping every other byte.

    Uuids become ``<uuid-N>`` in order of first appearance, so that references between
    objects (the drive a server mounts, the drive a snapshot is of) are still compared.
    """

    def __init__(self) -> None:
        self.uuids: dict[str, str] = {}

    def text(self, value: str) -> str:
        value = UUID.sub(self._uuid, value)
        value = MAC.sub("<mac>", value)
        return TIMESTAMP.sub("<timestamp>", value)

    def _uuid(self, match: re.Match[str]) -> str:
        key = match.group(0).lower()
        return self.uuids.setdefault(key, f"<uuid-{len(self.uuids) + 1}>")

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        return value


def run_client(python: str, label: str, workdir: str) -> dict[str, Any]:
    """The walkthrough with one client against a fresh emulator; returns its record."""
    from cloudsigma.emulator import Emulator

    out = os.path.join(workdir, f"{label}.json")
    with Emulator(host="127.0.0.1", port=0, transition_delay=0.05) as emulator:
        env = child_env({"CLOUDSIGMA_CONFIG": emulator.config_path})
        done = subprocess.run(
            [python, os.path.join(BENCH_DIR, "walkthrough_steps.py"), "--out", out],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if done.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"{label} walkthrough crashed: {done.stderr.strip()[-800:]}")
    with open(out, encoding="utf-8") as record:
        return json.load(record)


def normalised_lines(record: dict[str, Any]) -> list[str]:
    normaliser = Normaliser()
    steps = [
        {"step": step["step"], "result": normaliser.value(step["result"])}
        for step in record["steps"]
    ]
    return json.dumps(steps, indent=1, sort_keys=True).splitlines()


def summary(record: dict[str, Any]) -> str:
    result = record.get("result")
    if isinstance(result, dict):
        shown = {key: result[key] for key in ("name", "status") if key in result}
        return json.dumps(shown) if shown else f"{len(result)} keys"
    return f"{result!r:.70}"


def main() -> int:
    try:
        contenders = {"cloudsigma": ours_python(), "pycloudsigma": ensure_peer_venv()}
    except (RuntimeError, OSError) as exc:
        print(f"cannot compare: {exc}")
        return 3
    with tempfile.TemporaryDirectory(prefix="cloudsigma-walkthrough-") as workdir:
        try:
            records = {label: run_client(py, label, workdir) for label, py in contenders.items()}
        except (ImportError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"cannot compare: {exc}")
            return 3
    ours, peer = records["cloudsigma"], records["pycloudsigma"]
    print(f"walkthrough: cloudsigma {ours['version']} vs pycloudsigma {peer['version']}")
    for step in ours["steps"]:
        print(f"  {step['step']:<32} {summary(step)}")
    broken = [
        f"{label}: {record['steps'][-1]['result']}"
        for label, record in records.items()
        if record["steps"] and record["steps"][-1]["step"] == "error"
    ]
    ours_lines, peer_lines = normalised_lines(ours), normalised_lines(peer)
    if ours_lines == peer_lines and not broken:
        print(f"same normalised results from both clients ({len(ours['steps'])} steps)")
        return 0
    diff = difflib.unified_diff(
        peer_lines, ours_lines, "pycloudsigma 2.0.0", "cloudsigma (this)", lineterm="", n=2
    )
    print("\n".join(diff))
    for line in broken:
        print(f"walkthrough did not complete with {line}")
    if ours_lines != peer_lines:
        print("the two clients got DIFFERENT results")
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the benchmark suite: paths, clean child environments, timing statistics.

Only the standard library is used here, because the workload scripts that import this
module also run inside the pycloudsigma virtual environment.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
VENVS_DIR = os.path.join(BENCH_DIR, ".venvs")

#: Environment variables that would change what a contender does if inherited.
_SCRUBBED_PREFIXES = ("CLOUDSIGMA_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PYTHON")
_SCRUBBED_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment without settings that would skew a contender.

    Proxies, CLOUDSIGMA_* variables, CA bundles and PYTHON* variables (PYTHONPATH,
    PYTHONDONTWRITEBYTECODE, ...) are dropped; ``extra`` is added on top.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name.lower() not in _SCRUBBED_NAMES
    }
    env.update(extra or {})
    return env


def pin_to_cpu(cpu: int | None) -> None:
    """Pin the calling process to one CPU when the platform allows it and the CPU exists."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    if cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {cpu})


def cpu_for(role: str) -> int | None:
    """The CPU a role runs on: servers on the last CPU, clients on the first, if there are two."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return cpus[-1] if role == "server" else cpus[0]


def run_json(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float = 600,
    cwd: str | None = None,
) -> dict[str, Any]:
    """Run a workload script and return the JSON object it prints last on stdout.

    :raises RuntimeError: if it fails, naming the command and quoting its stderr.
    """
    proc = subprocess.run(
        list(argv),
        env=dict(env),
        cwd=cwd or BENCH_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:] or ["(no output)"]
        script = " ".join(os.path.basename(arg) for arg in argv[1:3])
        raise RuntimeError(
            f"{script} exited {proc.returncode}: {tail[-1].strip()}\n    " + "\n    ".join(tail)
        )
    return json.loads(lines[-1])


def process_memory(field: str = "VmHWM") -> int:
    """A memory figure of this process in bytes, from ``/proc/self/status``: ``VmHWM`` (the
    peak resident set size) or ``VmRSS`` (the current one).

    :raises RuntimeError: where the file has no such line (not Linux).
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def emit(result: Mapping[str, Any]) -> None:
    """Print a workload's result as the one JSON line the harness reads."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


@dataclass
class Series:
    """The measurements of one contender in one benchmark, one value per round.

    :param unit: ``ms``, ``s``, ``MB/s``, ``req/s``, ``MiB`` or ``modules``.
    :param higher_is_better: True for throughputs.
    """

    contender: str
    unit: str
    values: list[float] = field(default_factory=list)
    higher_is_better: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def iqr(self) -> tuple[float, float]:
        """The first and third quartiles (equal to min/max below four values)."""
        if len(self.values) < 4:
            return self.low, self.high
        quartiles = statistics.quantiles(self.values, n=4, method="inclusive")
        return quartiles[0], quartiles[2]

    def as_dict(self) -> dict[str, Any]:
        q1, q3 = self.iqr()
        return {
            "contender": self.contender,
            "unit": self.unit,
            "values": self.values,
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "q1": q1,
            "q3": q3,
            "higher_is_better": self.higher_is_better,
            **({"extra": self.extra} if self.extra else {}),
        }

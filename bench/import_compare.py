"""Import cost of the package at several git revisions, measured in turn with one interpreter.

``make bench`` compares this package with pycloudsigma; this compares it with itself, to see
whether a change made ``import cloudsigma`` or ``import cloudsigma.resource`` slower. Each
revision's ``cloudsigma/`` is exported with ``git archive`` and compiled, then every round runs,
for each module and revision in turn, ``python -c "import M"`` (wall time) and a second
interpreter that times the import alone (inside), so that drift of the machine falls on all
revisions alike::

    .venv/bin/python bench/import_compare.py cf016d1 HEAD --rounds 60
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import BENCH_DIR, child_env

MODULES = ("cloudsigma", "cloudsigma.resource")

#: Run in the exported tree: the import's own time and the package's modules it loaded.
INSIDE = (
    "import sys, time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "took = (time.perf_counter() - started) * 1000\n"
    "loaded = [name for name in sys.modules if name.split('.')[0] == 'cloudsigma']\n"
    "print(took, len(loaded), sys.modules['cloudsigma'].__file__)"
)


def export(revision: str, into: str) -> str:
    """``cloudsigma/`` as of ``revision``, compiled, in a new folder below ``into``."""
    tree = os.path.join(into, revision.replace("/", "_"))
    os.makedirs(tree)
    archive = subprocess.run(
        ["git", "archive", revision, "cloudsigma"],
        cwd=os.path.dirname(BENCH_DIR),
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
    compile_all = [sys.executable, "-m", "compileall", "-q", os.path.join(tree, "cloudsigma")]
    subprocess.run(compile_all, check=True, stdout=subprocess.DEVNULL)
    return tree


def wall_ms(argv: list[str], cwd: str | None, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True)
    return (time.perf_counter() - started) * 1000


def inside(module: str, tree: str, env: dict[str, str]) -> tuple[float, int]:
    """The import's own milliseconds and the package modules it loaded, from ``tree``."""
    code = INSIDE.format(module=module)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True, text=True
    )
    took, loaded, where = done.stdout.split()
    if not where.startswith(tree + os.sep):
        raise RuntimeError(f"the probe imported {where}, not the tree exported to {tree}")
    return float(took), int(loaded)


def summary(values: list[float]) -> str:
    median, q3 = statistics.median(values), statistics.quantiles(values, n=4)[2]
    return f"min {min(values):5.1f}  median {median:5.1f}  q3 {q3:5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="+", help="git revisions to compare, e.g. cf016d1 HEAD")
    parser.add_argument("--rounds", type=int, default=40, help="rounds (40)")
    args = parser.parse_args()
    # Bytecode caching on, as for an installed package; no PYTHON* variable from this shell.
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="cloudsigma-import-compare-") as workdir:
        trees = {revision: export(revision, workdir) for revision in args.revisions}
        keys = [(module, revision) for module in MODULES for revision in trees]
        walls: dict[tuple[str, str], list[float]] = {key: [] for key in keys}
        insides: dict[tuple[str, str], list[float]] = {key: [] for key in keys}
        loaded: dict[tuple[str, str], int] = {}
        startup: list[float] = []
        load_at_start = os.getloadavg()[0]
        for _ in range(args.rounds):
            for module, revision in keys:
                argv = [sys.executable, "-c", f"import {module}"]
                walls[module, revision].append(wall_ms(argv, trees[revision], env))
                took, loaded[module, revision] = inside(module, trees[revision], env)
                insides[module, revision].append(took)
            startup.append(wall_ms([sys.executable, "-c", "pass"], None, env))
    print(
        f"{args.rounds} rounds, load average {load_at_start:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end; milliseconds"
    )
    print(f"python -c pass: wall {summary(startup)}")
    for module, revision in keys:
        print(
            f"import {module} at {revision}: wall {summary(walls[module, revision])}; "
            f"inside {summary(insides[module, revision])}; "
            f"{loaded[module, revision]} modules of the package"
        )


if __name__ == "__main__":
    main()

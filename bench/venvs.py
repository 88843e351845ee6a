"""The virtual environments the contenders run in, created under bench/.venvs/ on demand.

This package runs from the interpreter that runs the harness (the repository's .venv, where
it is installed in editable mode). The published pycloudsigma 2.0.0 gets its own
environment, installed from the package index with its dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from common import REPO_DIR, VENVS_DIR, child_env

PEER_REQUIREMENT = "cloudsigma==2.0.0"
PEER_VENV = os.path.join(VENVS_DIR, "pycloudsigma-2.0.0")


def venv_python(path: str) -> str:
    return os.path.join(path, "Scripts" if os.name == "nt" else "bin", "python")


def installed_version(python: str, distribution: str = "cloudsigma") -> str | None:
    """The version of ``distribution`` an interpreter imports, or None."""
    probe = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=VENVS_DIR if os.path.isdir(VENVS_DIR) else None,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_peer_venv(log: Callable[[str], None] = print) -> str:
    """The interpreter of an environment holding pycloudsigma 2.0.0, creating it if needed.

    :raises RuntimeError: if the environment cannot be created or installed, quoting pip.
    """
    return ensure_venv(PEER_VENV, "cloudsigma", "2.0.0", log)


def ensure_venv(path: str, distribution: str, version: str, log: Callable[[str], None]) -> str:
    """The interpreter of the environment at ``path`` holding ``distribution==version``.

    :raises RuntimeError: if the environment cannot be created or installed, quoting pip.
    """
    python = venv_python(path)
    if os.path.exists(python) and installed_version(python, distribution) == version:
        return python
    os.makedirs(VENVS_DIR, exist_ok=True)
    requirement = f"{distribution}=={version}"
    log(f"creating {os.path.relpath(path)} with {requirement} from the package index")
    steps = [
        [sys.executable, "-m", "venv", "--clear", path],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
    ]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, env=child_env())
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-10:]
            raise RuntimeError(f"{' '.join(argv[2:])} failed: " + " / ".join(tail))
    if installed_version(python, distribution) != version:
        raise RuntimeError(f"{path} does not import {requirement} after installing it")
    return python


def ours_python() -> str:
    """This interpreter, after checking that it imports this repository's package.

    :raises RuntimeError: if ``cloudsigma`` resolves somewhere else.
    """
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import cloudsigma, os; print(os.path.dirname(cloudsigma.__file__))",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=VENVS_DIR if os.path.isdir(VENVS_DIR) else None,
    )
    expected = os.path.realpath(os.path.join(REPO_DIR, "cloudsigma"))
    if probe.returncode != 0 or os.path.realpath(probe.stdout.strip()) != expected:
        raise RuntimeError(
            f"{sys.executable} does not import this repository's cloudsigma "
            f"(found {probe.stdout.strip() or probe.stderr.strip()[-200:]}); run `make bench`"
        )
    return sys.executable

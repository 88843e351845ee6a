"""Fixtures of the command-line tests: the ``cli`` runner bound to the test emulator.

``cli(...)`` runs the command in this process (``main(argv)`` with its own stdout, stderr
and stdin), which is what most tests need and costs no interpreter start;
``cli.subprocess(...)`` runs ``python -m cloudsigma`` as a user would, for the tests that
check the whole program (one or more per feature).
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from collections.abc import Callable

import pytest
from cli_support import Run, cli_environment, command

from cloudsigma.cli import main


class _Stdin(io.StringIO):
    """A piped stdin: not a terminal, so the command never prompts."""

    def isatty(self) -> bool:
        return False


def run_in_process(*args: str, stdin: str | None = None) -> Run:
    """``main(args)`` with captured streams, as ``cloudsigma ARGS`` would run."""
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr("sys.stdin", _Stdin(stdin or ""))
        status = main(list(args))
    return Run(args, status, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(cloudsigma_emulator) -> Callable[..., Run]:
    """``cli('drives', 'list')`` runs ``cloudsigma drives list`` against the emulator."""
    env = cli_environment(cloudsigma_emulator.config_path)

    def run_subprocess(*args: str, stdin: str | None = None, timeout: float = 60) -> Run:
        done = subprocess.run(
            command(*args),
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(args, done.returncode, done.stdout, done.stderr)

    run_in_process.env = env  # type: ignore[attr-defined]
    run_in_process.subprocess = run_subprocess  # type: ignore[attr-defined]
    return run_in_process

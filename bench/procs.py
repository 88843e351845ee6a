"""Helper processes the harness starts and always stops: emulators and the latency proxy."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from common import BENCH_DIR, pin_to_cpu


class Background:
    """A child process that announces itself with one JSON line on stdout.

    A child that cannot print one is waited for with ``ready``, a function returning
    the announcement (or None while the child is not ready yet). A child that does not
    stop when its stdin closes (``stops_on_eof=False``) gets SIGTERM instead.

    Use as a context manager: entering waits for the announcement (``self.info``),
    leaving closes the child's stdin (its cue to stop), then terminates, then kills.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        ready_timeout: float = 120,
        ready: Callable[[], dict[str, Any] | None] | None = None,
        cpu: int | None = None,
        stops_on_eof: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.cpu = cpu
        self.stops_on_eof = stops_on_eof
        self.ready = ready
        self.env = dict(env)
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self._stdout: Any = None
        self._stderr: Any = None

    def __enter__(self) -> Background:
        # Files, not pipes: a chatty child must never block on a full pipe.
        self._stdout = tempfile.TemporaryFile(mode="w+")
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=BENCH_DIR,
            stdin=subprocess.PIPE,
            stdout=self._stdout,
            stderr=self._stderr,
            text=True,
            preexec_fn=(lambda: pin_to_cpu(self.cpu)) if self.cpu is not None else None,
        )
        try:
            self.info = self._read_announcement()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_announcement(self) -> dict[str, Any]:
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.ready is not None:
                info = self.ready()
                if info is not None:
                    return info
            self._stdout.seek(0)
            for line in self._stdout.read().splitlines():
                if line.startswith("{"):
                    return json.loads(line)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        self._stderr.seek(0)
        tail = "\n    ".join(self._stderr.read().strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(self.argv[:3])} did not start:\n    {tail}")

    def stop(self) -> None:
        """Ask the child to stop (stdin closed, or SIGTERM), then insist; idempotent."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        if proc.stdin:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        if not self.stops_on_eof:
            proc.terminate()
        for escalate in (proc.terminate, proc.kill):
            try:
                proc.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                escalate()
        proc.wait()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        for log in (self._stdout, self._stderr):
            if log is not None:
                log.close()

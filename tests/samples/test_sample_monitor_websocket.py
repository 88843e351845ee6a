"""samples/monitor_websocket_activity.py prints events and the objects they point to."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time

import pytest
from sample_runner import sample_command

from cloudsigma import resource

GIB = 1024**3


class Monitor:
    """The sample running in the background, its output lines readable with a deadline."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            sample_command("monitor_websocket_activity.py", *args),
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.result: tuple[int, str] | None = None
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, fragment: str, timeout: float = 30) -> str:
        """The first output line (from now on) containing every word of ``fragment``."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(line)
            if all(word in line for word in fragment.split()):
                return line
        raise AssertionError(f"no line with {fragment!r} in {self.seen!r}")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for the exit; return the exit code and what went to stderr."""
        if self.result is None:
            returncode = self.process.wait(timeout=timeout)
            self.pump.join(timeout)
            stderr = self.process.stderr.read()
            self.process.stdout.close()
            self.process.stderr.close()
            self.result = (returncode, stderr)
        return self.result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.finish()


@pytest.fixture
def monitor(cloudsigma_emulator):
    started = []

    def start(*args: str) -> Monitor:
        started.append(Monitor(*args))
        started[-1].wait_for_line("listening")
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def drives(sdk):
    return sdk(resource.Drive)


def test_prints_changed_object_and_deleted_object(monitor, drives):
    doomed = drives.create({"name": "doomed", "size": GIB, "media": "disk"})
    drives.wait_for_status(doomed["uuid"], "unmounted", timeout=20)
    watcher = monitor("--timeout", "60")

    drives.delete(doomed["uuid"])
    deleted_line = watcher.wait_for_line(f"drives {doomed['resource_uri']}: deleted")
    created = drives.create({"name": "fresh", "size": GIB, "media": "disk"})
    created_line = watcher.wait_for_line(f"drives {created['resource_uri']}: fresh")

    assert deleted_line == f"drives {doomed['resource_uri']}: deleted"
    assert '"name": "fresh"' in created_line
    assert '"status": ' in created_line


def test_count_stops_after_that_many_events(monitor, drives):
    watcher = monitor("--count", "1", "--timeout", "60", "--fields", "all")

    created = drives.create({"name": "counted", "size": GIB, "media": "disk"})
    line = watcher.wait_for_line(created["resource_uri"])
    returncode, stderr = watcher.finish()

    assert returncode == 0, stderr
    assert f'"uuid": "{created["uuid"]}"' in line
    assert '"media": "disk"' in line


def test_timeout_before_count_exits_nonzero(monitor):
    watcher = monitor("--count", "3", "--timeout", "1")

    returncode, stderr = watcher.finish()

    assert returncode == 1
    assert "saw 0 of 3 events" in stderr
    assert "Traceback" not in stderr

"""Test helpers for programs that use the SDK: the local emulator in place of the cloud.

:func:`mock_cloudsigma` (a context manager and a decorator, for unittest and scripts) and
the pytest fixture ``cloudsigma_emulator`` (:mod:`cloudsigma.pytest_plugin`) run the code
under test against an emulator: the configuration points at it, injected faults are
cleared, waits poll fast, and no request of the process may go anywhere else (a client
built before, ``DRIVES = Drive()`` at import time, keeps its own endpoint: it is refused
and the test fails, even when the code under test swallowed the error).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from cloudsigma import _isolation, errors
from cloudsigma.policies import WaitPolicy

__all__ = ["EmulatorIsolation", "FAST_WAIT", "allow_endpoint", "mock_cloudsigma"]

#: The variables that would point a client elsewhere; cleared while a test runs.
ENVIRONMENT = (
    "CLOUDSIGMA_API_ENDPOINT",
    "CLOUDSIGMA_WS_ENDPOINT",
    "CLOUDSIGMA_DIRECT_ENDPOINT",
    "CLOUDSIGMA_USERNAME",
    "CLOUDSIGMA_PASSWORD",
    "CLOUDSIGMA_CONFIG",
)
#: How resources poll while a test runs: the emulator's transitions take milliseconds.
FAST_WAIT = WaitPolicy(interval=0.01, max_interval=0.05)

_Decorated = TypeVar("_Decorated", bound=Callable[..., Any])


def allow_endpoint(url: str) -> None:
    """Let the test that is running reach ``url``'s scheme, host and port as well.

    For a test that means to talk to a server of its own besides the emulator (one that
    never answers, say). Outside an isolated test it changes nothing.
    """
    isolation = _isolation.active()
    if isolation is not None:
        isolation.allow(url)


class EmulatorIsolation:
    """The SDK pointed at one emulator for a while, and kept away from everything else.

    :param emulator: a started :class:`cloudsigma.emulator.Emulator`.
    :param reason: who isolates, named in refusals (``the cloudsigma_emulator fixture``).
    """

    def __init__(self, emulator: Any, reason: str) -> None:
        self.emulator = emulator
        self.reason = reason
        self._saved_environment: dict[str, str | None] = {}
        self._saved_wait: WaitPolicy | None = None
        self._isolation: _isolation.Isolation | None = None

    def start(self) -> None:
        """Point the configuration at the emulator, clear its faults, wait fast, isolate."""
        from cloudsigma.resource import ResourceBase

        emulator = self.emulator
        self._saved_environment = {name: os.environ.get(name) for name in ENVIRONMENT}
        for name in ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ["CLOUDSIGMA_CONFIG"] = emulator.config_path
        emulator.set_faults(None)
        self._saved_wait = ResourceBase.wait_policy
        ResourceBase.wait_policy = WaitPolicy(
            timeout=self._saved_wait.timeout,
            interval=FAST_WAIT.interval,
            max_interval=FAST_WAIT.max_interval,
        )
        allowed = [emulator.api_endpoint, emulator.direct_endpoint, emulator.ws_endpoint]
        self._isolation = _isolation.Isolation(allowed, self.reason)
        _isolation.isolate(self._isolation)

    def stop(self) -> list[str]:
        """Undo :meth:`start`; returns the refusals of requests that went elsewhere."""
        from cloudsigma.resource import ResourceBase

        if self._isolation is not None:
            _isolation.release(self._isolation)
        if self._saved_wait is not None:
            ResourceBase.wait_policy = self._saved_wait
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.emulator.set_faults(None)
        refused = list(self._isolation.refused) if self._isolation is not None else []
        self._isolation = None
        return refused


class mock_cloudsigma:  # noqa: N801 - named like the decorators users know (moto's mock_aws)
    """Run a block, a test function or every test method of a class against an emulator.

    ::

        @mock_cloudsigma()
        def test_create_drive():
            Drive().create({"name": "d", "size": 1024**3, "media": "disk"})

        with mock_cloudsigma() as emulator:
            ...

    Each use starts from a reset emulator (its own, started on a free port of 127.0.0.1,
    unless one is given) and restores the environment afterwards.

    :param emulator: an emulator to use instead of starting one.
    :param emulator_kwargs: arguments of the emulator started (e.g. ``transition_delay``).
    :raises IsolationError: on leaving, when a request was refused for going elsewhere.
    """

    def __init__(self, emulator: Any = None, **emulator_kwargs: Any) -> None:
        self._given = emulator
        self._kwargs = {"host": "127.0.0.1", "port": 0, "transition_delay": 0.05}
        self._kwargs.update(emulator_kwargs)
        self._started: Any = None
        self._isolation: EmulatorIsolation | None = None

    def __enter__(self) -> Any:
        emulator = self._given
        if emulator is None:
            from cloudsigma.emulator import Emulator

            emulator = self._started = Emulator(**self._kwargs).start()
        emulator.reset()
        self._isolation = EmulatorIsolation(emulator, "mock_cloudsigma")
        self._isolation.start()
        return emulator

    def __exit__(self, exc_type: Any, *exc_info: Any) -> None:
        refused = self._isolation.stop() if self._isolation is not None else []
        self._isolation = None
        if self._started is not None:
            self._started.stop()
            self._started = None
        if refused and exc_type is None:
            raise errors.IsolationError(refused[0])

    def __call__(self, target: _Decorated) -> _Decorated:
        if isinstance(target, type):
            for name, method in list(vars(target).items()):
                if name.startswith("test") and callable(method):
                    setattr(target, name, self(method))
            return target

        @functools.wraps(target)
        def isolated(*args: Any, **kwargs: Any) -> Any:
            with self:
                return target(*args, **kwargs)

        return isolated  # type: ignore[return-value]

"""Fixtures of the third-party client tests: one TLS emulator for the run, reset per test.

The clients under test were written elsewhere and run unchanged; they reach the emulator
over HTTPS with its throw-away CA, as they would reach the cloud. The emulator is strict, so a
filter, parameter or body field they send that the API would ignore fails their case.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cloudsigma.emulator import Emulator


@pytest.fixture(scope="session")
def tls_emulator_server() -> Iterator[Emulator]:
    """An HTTPS emulator for the session; status changes happen on the next loop turn."""
    with Emulator(tls=True, transition_delay=0) as emulator:
        yield emulator


@pytest.fixture
def tls_emulator(tls_emulator_server: Emulator) -> Emulator:
    """The session's HTTPS emulator, reset and strict before the test."""
    tls_emulator_server.transition_delay = 0
    tls_emulator_server.strict = True
    tls_emulator_server.reset()
    return tls_emulator_server


@pytest.fixture
def libcloud_driver(tls_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Apache libcloud's CloudSigma API 2.0 driver, pointed at the emulator, trusting its CA."""
    import libcloud.security
    from libcloud.compute.drivers.cloudsigma import CloudSigma_2_0_NodeDriver

    monkeypatch.setattr(libcloud.security, "CA_CERTS_PATH", tls_emulator.ca_path)
    driver = CloudSigma_2_0_NodeDriver(
        tls_emulator.username,
        tls_emulator.password,
        host=tls_emulator.public_host,
        port=tls_emulator.port,
    )
    yield driver
    # libcloud offers no close(); its connection holds a requests session with open sockets
    opened = driver.connection.connection
    if opened is not None:
        opened.session.close()

"""Fixtures of the integration suite: one set of tests, run against the emulator or an account.

``api`` gives the SDK resources bound to the target (the ``cloudsigma_emulator`` fixture by
default, the account in ``~/.cloudsigma.conf`` with ``--live``), ``tracker`` deletes what a
test created even when the test fails, and ``wait_timeout`` scales every wait to the target.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# integration_support.py sits next to this file; pytest's default import mode puts this directory
# on sys.path, --import-mode=importlib does not, so do it here for both.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from integration_support import GIB, Api, ResourceTracker, unique_name  # noqa: E402
from recording import Recorder, recording  # noqa: E402

from cloudsigma.policies import WaitPolicy


@pytest.fixture(scope="session", autouse=True)
def exchange_recorder(
    pytestconfig: pytest.Config, live: bool, request: pytest.FixtureRequest
) -> Iterator[Recorder | None]:
    """With ``--record DIR``: every API exchange of the run, written redacted at the end."""
    directory = pytestconfig.getoption("--record")
    if not directory:
        yield None
        return
    if live:
        from cloudsigma.conf import config

        endpoint = config["api_endpoint"]
    else:
        endpoint = request.getfixturevalue("cloudsigma_emulator_server").api_endpoint
    recorder = Recorder(endpoint.split("/api/2.0", 1)[0])
    with recording(recorder):
        yield recorder
    recorder.write(Path(directory))


@pytest.fixture(autouse=True)
def recorded_test(exchange_recorder: Recorder | None, request: pytest.FixtureRequest) -> None:
    """Label the recorded exchanges with the test that made them."""
    if exchange_recorder is not None:
        exchange_recorder.test = request.node.nodeid


@pytest.fixture(scope="session")
def wait_timeout(live: bool) -> float:
    """Seconds to allow a single state change: short for the emulator, minutes for the cloud."""
    return 600.0 if live else 20.0


@pytest.fixture(scope="session")
def wait_policy(live: bool, wait_timeout: float) -> WaitPolicy:
    """How the SDK's wait helpers poll: every few seconds live, every few ms offline."""
    if live:
        return WaitPolicy(timeout=wait_timeout, interval=2, max_interval=15)
    return WaitPolicy(timeout=wait_timeout, interval=0.02, max_interval=0.2)


@pytest.fixture
def api(request: pytest.FixtureRequest, live: bool, wait_policy: WaitPolicy) -> Iterator[Api]:
    """The SDK resources of the account under test."""
    if live:
        clients = Api(live=True, wait_policy=wait_policy)
    else:
        emulator = request.getfixturevalue("cloudsigma_emulator")
        clients = Api(live=False, emulator=emulator, wait_policy=wait_policy)
    yield clients
    clients.close()


@pytest.fixture
def live_config(live: bool) -> Callable[[str], str | None]:
    """Look up an optional key of the live account's configuration (None offline)."""
    from cloudsigma.conf import config

    return lambda key: config.get(key) if live else None


@pytest.fixture
def second_api(
    api: Api, live_config: Callable[[str], str | None], wait_policy: WaitPolicy
) -> Iterator[Api]:
    """A second account, to share objects with through ACLs."""
    if api.live:
        username, password = live_config("acl_username"), live_config("acl_password")
        if not (username and password):
            pytest.skip(
                "ACL tests need a second account: add acl_username and acl_password to "
                "~/.cloudsigma.conf (this account is not configured, so the test cannot run)"
            )
        from cloudsigma.conf import config

        grantee = Api(
            config["api_endpoint"], username, password, live=True, wait_policy=wait_policy
        )
    else:
        email, password = f"{unique_name('grantee')}@example.com", "grantee-password-1"
        api.emulator.create_account(email, password)
        grantee = Api(
            api.emulator.api_endpoint, email, password, live=False, wait_policy=wait_policy
        )
    yield grantee
    grantee.close()


@pytest.fixture
def tracker(api: Api, wait_timeout: float) -> Iterator[ResourceTracker]:
    """Deletes every server, drive, snapshot, tag and ACL a test registered, pass or fail."""
    created = ResourceTracker(api, wait_timeout)
    yield created
    created.cleanup()
    if created.problems:
        pytest.fail("cleanup could not delete: " + "; ".join(created.problems), pytrace=False)


@pytest.fixture
def make_drive(api: Api, tracker: ResourceTracker, wait_timeout: float):
    """Create a tracked drive (1 GiB disk unless told otherwise) and wait until it is ready."""

    def make(label: str = "drive", **definition: Any) -> dict:
        definition = {"name": unique_name(label), "size": GIB, "media": "disk", **definition}
        drive = tracker.track("drives", api.drives.create(definition))
        return api.drives.wait_for_status(drive["uuid"], "unmounted", timeout=wait_timeout)

    return make


@pytest.fixture
def make_server(api: Api, tracker: ResourceTracker):
    """Create a tracked, stopped server (1 GHz, 1 GiB) with the given extra definition."""

    def make(label: str = "server", **definition: Any) -> dict:
        definition = {
            "name": unique_name(label),
            "cpu": 1000,
            "mem": GIB,
            "vnc_password": "integration",
            **definition,
        }
        return tracker.track("servers", api.servers.create(definition))

    return make

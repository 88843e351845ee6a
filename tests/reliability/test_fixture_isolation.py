"""The emulator fixture and ``mock_cloudsigma`` keep the code under test on the emulator:
no request elsewhere (a client built at import time included), no fault left over from an
earlier test, fast waits, restored settings; and the plugin works under pytest-xdist."""

from __future__ import annotations

import os
import unittest

import pytest

from cloudsigma import errors
from cloudsigma.resource import Drive
from cloudsigma.testing import mock_cloudsigma

pytest_plugins = ["pytester"]

#: Nothing listens there; what matters is that no request is even attempted.
ELSEWHERE = "http://127.0.0.1:9/api/2.0/"

USER_TESTS = f"""
import os

from cloudsigma import errors
from cloudsigma.policies import WaitPolicy
from cloudsigma.resource import Drive, ResourceBase

DRIVES = Drive("{ELSEWHERE}", "user@example.com", "from-the-real-config")


def test_1_swallows_the_error(cloudsigma_emulator):
    try:
        DRIVES.list()
    except errors.ApiClientError:
        pass
    assert Drive().list() == []


def test_2_sets_faults(cloudsigma_emulator):
    cloudsigma_emulator.set_faults({{"seed": 1, "503": 1.0}})


def test_3_finds_no_fault_and_waits_fast(cloudsigma_emulator):
    assert Drive(retry=0).list() == []
    policy = Drive().wait_policy
    assert policy.interval <= 0.05 and policy.max_interval <= 0.05
    drive = Drive().create({{"name": "d", "size": 1024**3, "media": "disk"}})
    assert Drive().wait_for_status(drive["uuid"], "unmounted", timeout=10)


def test_4_everything_is_restored_after_the_fixture():
    assert ResourceBase.wait_policy == WaitPolicy()
    assert os.environ.get("CLOUDSIGMA_CONFIG") == "/nonexistent/cloudsigma.conf"
"""


def test_the_fixture_isolates_each_test_and_restores_everything_after(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", "/nonexistent/cloudsigma.conf")
    pytester.makepyfile(USER_TESTS)
    # in a process of its own: the plugin and the emulator are loaded as a user's run does
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # the request elsewhere was swallowed by the code, and still fails its test
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_1_swallows_the_error*",
            "*refused during the test: http://127.0.0.1:9/api/2.0/drives/?limit=0 is not the "
            "emulator: the cloudsigma_emulator fixture*at import time, such as DRIVES = Drive()*",
        ]
    )


def test_the_plugin_gives_each_xdist_worker_its_own_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from cloudsigma.resource import Drive

        @pytest.mark.parametrize("n", range(4))
        def test_one_drive(cloudsigma_emulator, n):
            Drive().create({"name": f"d{n}", "size": 1024**3, "media": "disk"})
            assert [d["name"] for d in Drive().list_detail()] == [f"d{n}"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_mock_cloudsigma_points_the_sdk_at_an_emulator_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUDSIGMA_API_ENDPOINT", ELSEWHERE)
    with mock_cloudsigma() as emulator:
        assert "CLOUDSIGMA_API_ENDPOINT" not in os.environ
        assert os.environ["CLOUDSIGMA_CONFIG"] == emulator.config_path
        Drive().create({"name": "d", "size": 1024**3, "media": "disk"})
        assert [drive["name"] for drive in Drive().list_detail()] == ["d"]
    assert os.environ["CLOUDSIGMA_API_ENDPOINT"] == ELSEWHERE


def test_mock_cloudsigma_refuses_a_request_elsewhere_and_says_so_on_leaving() -> None:
    outside = Drive(ELSEWHERE, "user@example.com", "from-the-real-config", retry=0)
    leaving = pytest.raises(errors.IsolationError, match="is not the emulator: mock_cloudsigma")
    with leaving, mock_cloudsigma(), pytest.raises(errors.IsolationError):
        outside.list()


def test_mock_cloudsigma_decorates_every_test_of_a_unittest_class() -> None:
    from cloudsigma.emulator import Emulator

    class Scripted(unittest.TestCase):
        """A user's unittest class, decorated as a whole."""

        def test_create(self) -> None:
            Drive().create({"name": "u", "size": 1024**3, "media": "disk"})
            self.assertEqual(len(Drive().list()), 1)

        def test_empty_again(self) -> None:
            self.assertEqual(Drive().list(), [])

    with Emulator(host="127.0.0.1", port=0, transition_delay=0) as shared:
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(mock_cloudsigma(shared)(Scripted))
        result = unittest.TestResult()
        suite.run(result)
    assert result.errors == [] and result.failures == []
    assert result.testsRun == 2

"""``pytest --live`` without a configured account stops at once and says what to configure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_pytest(
    args: list[str], home: Path, extra_env: dict[str, str]
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSIGMA_")}
    env.pop("PYTEST_ADDOPTS", None)
    env.update(HOME=str(home), **extra_env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [
        (["--live", "tests/integration"], {}),
        (["tests/integration"], {"CLOUDSIGMA_LIVE": "1"}),
    ],
    ids=["option", "environment"],
)
def test_live_without_config_file_fails_fast_naming_the_keys(tmp_path, args, extra_env):
    result = run_pytest(args, tmp_path, extra_env)

    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    message = result.stderr
    assert str(tmp_path / ".cloudsigma.conf") in message
    assert "~/.cloudsigma.conf" in message
    for key in (
        "api_endpoint",
        "ws_endpoint",
        "username",
        "password",
        "persistent_drive_name",
        "persistent_drive_ssh_password",
    ):
        assert f"{key} =" in message
    # it stopped before running (or even collecting) any test
    assert "passed" not in result.stdout and "collected" not in result.stdout


def test_live_with_config_lacking_keys_names_the_missing_ones(tmp_path):
    config = tmp_path / "partial.conf"
    config.write_text("api_endpoint = https://zrh.cloudsigma.com/api/2.0/\n")
    config.chmod(0o600)

    result = run_pytest(
        ["--live", "tests/integration"], tmp_path, {"CLOUDSIGMA_CONFIG": str(config)}
    )

    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert f"{config} lacks: ws_endpoint, username, password." in result.stderr


def test_without_live_the_option_check_does_not_run(tmp_path):
    # the offline run of this very file must not ask for an account
    result = run_pytest(
        ["tests/integration/test_live_option.py", "-k", "collect_only_probe", "--collect-only"],
        tmp_path,
        {},
    )

    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
    assert "test_collect_only_probe" in result.stdout


def test_collect_only_probe():
    """A test for the offline run above to find; it checks the option is registered."""
    assert REPO.joinpath("tests", "conftest.py").is_file()

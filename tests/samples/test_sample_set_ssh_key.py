"""samples/set_ssh_key.py installs the context's SSH key once, with private modes."""

from __future__ import annotations

import stat

import pytest
from sample_runner import assert_clean_failure

from cloudsigma import resource

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyFromTheServerContext user@laptop"
OTHER_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQOtherKey other@host"


def mode_of(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def context_device(cloudsigma_emulator, sdk):
    """Make a server (with the given meta) and return the pty serving its context."""
    servers = sdk(resource.Server)

    def device_for(meta: dict) -> str:
        server = servers.create(
            {"name": "keyed", "cpu": 1000, "mem": 1024**3, "vnc_password": "pw", "meta": meta}
        )
        return cloudsigma_emulator.serial_device(server["uuid"])

    return device_for


def test_running_twice_installs_the_key_exactly_once(run_sample, context_device, tmp_path):
    device = context_device({"ssh_public_key": KEY})
    home = tmp_path / "home"
    home.mkdir()

    first = run_sample("set_ssh_key.py", "--device", device, "--home", home)
    second = run_sample("set_ssh_key.py", "--device", device, "--home", home)

    assert first.returncode == 0, first.stderr
    assert "added ssh-ed25519 key" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    authorized_keys = home / ".ssh" / "authorized_keys"
    assert authorized_keys.read_text().splitlines() == [KEY]
    assert mode_of(home / ".ssh") == 0o700
    assert mode_of(authorized_keys) == 0o600


def test_existing_keys_are_kept_and_a_recommented_key_is_not_duplicated(
    run_sample, context_device, tmp_path
):
    device = context_device({"ssh_public_key": KEY})
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir(mode=0o755)
    authorized_keys = ssh_dir / "authorized_keys"
    same_key_other_comment = KEY.rsplit(" ", 1)[0] + " renamed@laptop"
    authorized_keys.write_text(f"{OTHER_KEY}\n{same_key_other_comment}")
    authorized_keys.chmod(0o644)

    result = run_sample("set_ssh_key.py", "--device", device, "--home", tmp_path)

    assert result.returncode == 0, result.stderr
    assert authorized_keys.read_text() == f"{OTHER_KEY}\n{same_key_other_comment}"
    assert mode_of(ssh_dir) == 0o700
    assert mode_of(authorized_keys) == 0o600


def test_new_key_is_appended_after_existing_ones(run_sample, context_device, tmp_path):
    device = context_device({"ssh_public_key": KEY})
    target = tmp_path / "keys" / "authorized_keys"
    target.parent.mkdir()
    target.write_text(OTHER_KEY)  # no final newline

    result = run_sample("set_ssh_key.py", "--device", device, "--authorized-keys", target)

    assert result.returncode == 0, result.stderr
    assert target.read_text() == f"{OTHER_KEY}\n{KEY}\n"
    assert mode_of(target) == 0o600


def test_server_without_key_exits_nonzero_with_a_clear_message(
    run_sample, context_device, tmp_path
):
    device = context_device({"other": "value"})

    result = run_sample("set_ssh_key.py", "--device", device, "--home", tmp_path)

    assert_clean_failure(result)
    assert "no SSH key" in result.stderr
    assert "ssh_public_key" in result.stderr
    assert not (tmp_path / ".ssh").exists()


def test_missing_device_is_reported_without_traceback(run_sample, tmp_path):
    missing = tmp_path / "ttyS9"

    result = run_sample("set_ssh_key.py", "--device", missing, "--home", tmp_path)

    assert_clean_failure(result)
    assert str(missing) in result.stderr
    assert not (tmp_path / ".ssh").exists()

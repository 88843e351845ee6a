"""Configuration: the file, the environment, explicit arguments, and every way they go wrong."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from unit_support import API

from cloudsigma import conf, errors, generic
from cloudsigma.conf import Config, parse_config_text
from cloudsigma.generic import GenericClient, Timeout, get_client

FILE = (
    "api_endpoint = https://file.test/api/2.0/\n"
    "ws_endpoint = wss://file.test/websocket\n"
    "username = file@example.com\n"
    "password = file-password\n"
)


@pytest.mark.parametrize(
    ("key", "env_name", "argument"),
    [
        ("api_endpoint", "CLOUDSIGMA_API_ENDPOINT", "https://arg.test/api/2.0/"),
        ("username", "CLOUDSIGMA_USERNAME", "arg@example.com"),
        ("password", "CLOUDSIGMA_PASSWORD", "arg-password"),
        ("ws_endpoint", "CLOUDSIGMA_WS_ENDPOINT", "wss://arg.test/websocket"),
    ],
)
def test_arguments_win_over_environment_which_wins_over_the_file(
    write_config: Any, monkeypatch: pytest.MonkeyPatch, key: str, env_name: str, argument: str
) -> None:
    write_config(FILE)
    file_value = GenericClient().__getattribute__(key)
    assert "file" in file_value
    monkeypatch.setenv(env_name, f"env-{key}")
    assert getattr(GenericClient(), key) == f"env-{key}"
    assert getattr(GenericClient(**{key: argument}), key) == argument


def test_missing_file_names_the_file_and_the_key(isolated_config: Path) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        GenericClient()
    message = str(caught.value)
    assert str(isolated_config) in message and "'api_endpoint'" in message
    assert "does not exist" in message and "CLOUDSIGMA_API_ENDPOINT" in message
    assert isinstance(caught.value, KeyError)


def test_missing_key_names_the_file_and_the_key(write_config: Any) -> None:
    path = write_config("api_endpoint = https://x.test/api/2.0/\nusername = u@x\n")
    with pytest.raises(errors.ConfigError) as caught:
        GenericClient()
    assert f"'password' is missing from {path}" in str(caught.value)


def test_missing_credentials_are_fine_without_login(write_config: Any) -> None:
    write_config("api_endpoint = https://x.test/api/2.0/\n")
    client = GenericClient(login_method="none")
    assert client.username is None and client.password is None


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("api_endpoint = x\nthis is not a setting\n", 2, "'this is not a setting'"),
        ("# comment\n\n= value\n", 3, "'= value'"),
        ("user name = x\n", 1, "'user name = x'"),
        ("password hunter2\n", 1, "a line starting with"),
    ],
)
def test_malformed_line_names_file_and_line(
    write_config: Any, text: str, line: int, shown: str
) -> None:
    path = write_config(text)
    with pytest.raises(errors.ConfigError) as caught:
        conf.config.get("api_endpoint")
    message = str(caught.value)
    assert f"{path}, line {line}" in message and shown in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('password = "p a s s # not a comment"', "p a s s # not a comment"),
        ("password = 'single'", "single"),
        ("password = plain # trailing comment", "plain"),
        ("password = with#hash", "with#hash"),
        ("password =   spaced   ", "spaced"),
        ('password = "quoted" # comment', "quoted"),
        ("password = ", ""),
    ],
)
def test_quotes_and_comments(line: str, expected: str) -> None:
    assert parse_config_text(f"# header\n\n{line}\n")["password"] == expected


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_readable_by_others_is_warned_about(
    write_config: Any, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    path = write_config(FILE)
    path.chmod(mode)
    conf.config.reload()
    with caplog.at_level(logging.WARNING, logger="cloudsigma.conf"):
        assert conf.config["username"] == "file@example.com"
    assert (f"chmod 600 {path}" in caplog.text) is warned
    assert "file-password" not in caplog.text


def test_cloudsigma_config_selects_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.conf"
    other.write_text("api_endpoint = https://other.test/api/2.0/\nusername = o\npassword = p\n")
    other.chmod(0o600)
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", str(other))
    assert GenericClient().api_endpoint == "https://other.test/api/2.0/"


def test_file_is_read_again_when_it_changes(write_config: Any) -> None:
    path = write_config(FILE)
    assert conf.config["username"] == "file@example.com"
    path.write_text(FILE.replace("file@example.com", "changed@example.com"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert conf.config["username"] == "changed@example.com"


def test_values_set_in_code_win_over_everything(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_config.write_text(FILE)
    isolated_config.chmod(0o600)
    monkeypatch.setenv("CLOUDSIGMA_USERNAME", "env@example.com")
    local = Config(str(isolated_config))
    local["username"] = "code@example.com"
    assert local["username"] == "code@example.com"
    assert "file-password" not in repr(local)


def test_non_utf8_file_is_a_config_error(isolated_config: Path) -> None:
    isolated_config.write_bytes(b"username = \xff\xfe\n")
    with pytest.raises(errors.ConfigError, match="not UTF-8"):
        conf.config.get("username")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("", Timeout(10.0, 60.0)),
        ("connect_timeout = 3\nread_timeout = 120\n", Timeout(3.0, 120.0)),
        ("read_timeout = 0.5\n", Timeout(10.0, 0.5)),
    ],
)
def test_timeouts_from_config(write_config: Any, lines: str, expected: Timeout) -> None:
    write_config(FILE + lines)
    assert GenericClient().timeout == expected


def test_timeout_argument_wins_over_config(write_config: Any) -> None:
    write_config(FILE + "connect_timeout = 3\n")
    assert GenericClient(timeout=7).timeout == Timeout(7, 7)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("connect_timeout = soon", "connect_timeout"),
        ("read_timeout = -5", "read_timeout"),
        ("max_retries = many", "max_retries"),
        ("max_retries = -1", "max_retries"),
        ("verify_tls = maybe", "verify_tls"),
    ],
)
def test_bad_numbers_and_flags_are_config_errors(write_config: Any, line: str, key: str) -> None:
    path = write_config(FILE + line + "\n")
    with pytest.raises(errors.ConfigError) as caught:
        GenericClient()
    assert f"'{key}'" in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("", True),
        ("verify_tls = false\n", False),
        ("verify_tls = yes\n", True),
    ],
)
def test_tls_verification_from_config(write_config: Any, lines: str, expected: Any) -> None:
    write_config(FILE + lines)
    assert GenericClient().verify is expected


def test_ca_bundle_from_config(write_config: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    write_config(FILE + f"ca_bundle = {bundle}\n")
    assert GenericClient().verify == str(bundle)
    assert GenericClient(verify=False).verify is False


def test_missing_ca_bundle_is_a_config_error(write_config: Any, tmp_path: Path) -> None:
    write_config(FILE + f"ca_bundle = {tmp_path / 'nope.pem'}\n")
    with pytest.raises(errors.ConfigError, match="nope.pem"):
        GenericClient()


def test_max_retries_from_config(write_config: Any) -> None:
    write_config(FILE + "max_retries = 5\n")
    assert GenericClient().retry.total == 5
    assert GenericClient(retry=1).retry.total == 1


class CustomClient(GenericClient):
    """A client named by config ``client``."""


def test_get_client_honours_config_client(
    write_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDSIGMA_ALLOW_CLIENT_CLASS", "1")  # the opt-in a configured class needs
    write_config(FILE + f"client = {__name__}:CustomClient\n")
    assert get_client() is CustomClient
    from cloudsigma.resource import Drive

    assert type(Drive().c) is CustomClient


def test_get_client_defaults_to_generic_client(write_config: Any) -> None:
    write_config(FILE)
    assert get_client() is generic.GenericClient


@pytest.mark.parametrize("spec", ["no_colon", "cloudsigma.generic:Missing", "not_a_module_x:C"])
def test_bad_config_client_is_a_config_error(write_config: Any, spec: str) -> None:
    write_config(FILE + f"client = {spec}\n")
    with pytest.raises(errors.ConfigError, match="'client'"):
        get_client()


def test_ws_endpoint_argument_wins_and_config_is_read_lazily(write_config: Any) -> None:
    write_config("api_endpoint = x\nusername = u\npassword = p\n")
    assert GenericClient(ws_endpoint="wss://arg/ws").ws_endpoint == "wss://arg/ws"
    with pytest.raises(errors.ConfigError, match="ws_endpoint"):
        _ = GenericClient().ws_endpoint


def test_explicit_client_needs_no_config_file() -> None:
    client = GenericClient(API, "u@x", "p")
    assert client.api_endpoint == API and client.retry.total == 3

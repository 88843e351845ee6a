"""The configuration cannot run code, hang, exhaust memory or echo a secret, and settings
that expose credentials are warned about once, through logging."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import conf, errors
from cloudsigma.generic import GenericClient, get_client
from cloudsigma.resource import Drive

SECRET = "wr4pped-s3cret-value"


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for modules a configuration may name."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def opted_in() -> Iterator[None]:
    conf.allow_client_class()
    yield
    conf.allow_client_class(False)


def write_module(folder: Path, name: str, source: str) -> str:
    (folder / f"{name}.py").write_text(source, encoding="utf-8")
    sys.modules.pop(name, None)
    return name


def test_a_client_class_in_the_config_is_refused_without_an_opt_in_and_not_imported(
    write_config: Callable[[str], Path], module_dir: Path
) -> None:
    name = write_module(module_dir, "cs_conf_side_effect", "import os\nos.environ['RAN'] = '1'\n")
    write_config(f"api_endpoint = {API}\nclient = {name}:Client\n")

    with pytest.raises(errors.ConfigError, match="allow_client_class"):
        Drive()

    assert name not in sys.modules
    assert "RAN" not in os.environ


def test_with_the_opt_in_only_a_generic_client_subclass_is_used(
    write_config: Callable[[str], Path], module_dir: Path, opted_in: None
) -> None:
    name = write_module(
        module_dir,
        "cs_conf_clients",
        "from cloudsigma.generic import GenericClient\n"
        "class Mine(GenericClient):\n    pass\n"
        "class NotAClient:\n    pass\n",
    )
    write_config(f"client = {name}:Mine\n")
    assert get_client().__name__ == "Mine"

    write_config(f"client = {name}:NotAClient\n")
    with pytest.raises(errors.ConfigError, match="not a subclass of cloudsigma.generic"):
        get_client()


def test_the_environment_can_opt_in_too(
    write_config: Callable[[str], Path], module_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = write_module(
        module_dir,
        "cs_conf_env_client",
        "from cloudsigma.generic import GenericClient\nclass Env(GenericClient):\n    pass\n",
    )
    write_config(f"client = {name}:Env\n")
    monkeypatch.setenv(conf.ALLOW_CLIENT_CLASS_ENV, "1")
    assert get_client().__name__ == "Env"


def fifo(tmp_path: Path) -> str:
    path = tmp_path / "fifo.conf"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize(
    ("make_path", "kind"),
    [
        (lambda tmp: "/dev/zero", "a device"),
        (fifo, "a FIFO"),
        (lambda tmp: str(tmp), "a directory"),
    ],
)
def test_a_config_path_that_is_not_a_regular_file_is_a_config_error_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_path: Callable[[Path], str], kind: str
) -> None:
    path = make_path(tmp_path)
    monkeypatch.setenv("CLOUDSIGMA_CONFIG", path)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            conf.Config(path).get("username")
        except BaseException as exc:  # the outcome is checked below
            outcome.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(30)  # a generous bound: a hang would never end

    assert not reader.is_alive(), f"reading {path} hangs"
    assert len(outcome) == 1 and isinstance(outcome[0], errors.ConfigError), outcome
    assert f"is {kind}, not a regular file" in str(outcome[0])


def test_a_config_file_past_the_size_cap_is_refused_before_it_is_read(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config("")
    with path.open("wb") as grown:
        grown.truncate(conf.MAX_CONFIG_BYTES + 1)
    with pytest.raises(errors.ConfigError, match="larger than"):
        conf.Config(str(path)).get("username")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connect_timeout = nan\n", "connect_timeout.*finite number of seconds"),
        ("read_timeout = inf\n", "read_timeout.*finite number of seconds"),
        ("request_log_level = LOUD\n", "request_log_level.*not a logging level"),
        (f"password =\n    {SECRET}\n", "line 4: .*not shown"),
        (f"password {SECRET}\n", "line 3: .*starting with 'password'"),
    ],
)
def test_bad_settings_are_config_errors_that_do_not_echo_the_password(
    write_config: Callable[[str], Path], text: str, expected: str
) -> None:
    write_config(f"api_endpoint = {API}\nusername = {USERNAME}\n" + text)
    with pytest.raises(errors.ConfigError, match=expected) as refused:
        GenericClient(password=None if "password" in text else SECRET)
    assert SECRET not in str(refused.value)
    assert SECRET not in repr(refused.value)


def test_repr_of_the_config_hides_a_password_inside_the_endpoint(
    write_config: Callable[[str], Path],
) -> None:
    write_config(
        f"api_endpoint = https://{USERNAME}:{SECRET}@api.example.com/api/2.0/\n"
        f"password = {SECRET}\n"
    )
    shown = repr(conf.Config())
    assert SECRET not in shown
    assert "api.example.com/api/2.0/" in shown


@pytest.mark.parametrize(
    ("endpoint", "kwargs", "expected"),
    [
        ("http://plain-http.example.com/api/2.0/", {}, "is plain http"),
        ("https://unverified.example.com/api/2.0/", {"verify": False}, "TLS verification is off"),
    ],
)
def test_exposed_credentials_are_warned_about_once_through_logging(
    caplog: pytest.LogCaptureFixture, endpoint: str, kwargs: dict[str, bool], expected: str
) -> None:
    caplog.set_level(logging.WARNING, logger="cloudsigma")
    for _ in range(3):
        GenericClient(endpoint, USERNAME, PASSWORD, **kwargs).close()
    warned = [r for r in caplog.records if expected in r.getMessage()]
    assert len(warned) == 1
    assert warned[0].name == "cloudsigma.conf"
    assert PASSWORD not in caplog.text


def test_plain_http_to_loopback_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="cloudsigma")
    GenericClient("http://127.0.0.1:9/api/2.0/", USERNAME, PASSWORD).close()
    assert "plain http" not in caplog.text

"""Parity evidence: ``pytest tests/integration --live --record DIR`` and its replay.

End to end: the integration suite runs with ``--live`` against one emulator (as it would
against an account), recording; the recording replays against a fresh emulator with no
difference, and an answer changed in it is reported. Redaction is checked with generated
accounts, passwords and tokens: none of them may survive in a recording.
"""

from __future__ import annotations

import base64
import json
import os
import string
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsigma.emulator import Emulator
from tests.integration.recording import Recorder, recording

from .parity import parity_summary
from .report import main as report_main

REPO = Path(__file__).resolve().parents[2]
#: Integration tests recorded end to end: drives, snapshots, tags and ACLs (two accounts).
RECORDED_TESTS = (
    "tests/integration/test_drives_lifecycle.py",
    "tests/integration/test_snapshots_lifecycle.py",
    "tests/integration/test_tags_and_acls.py",
)
PASSWORD = "Main-account-pass:9"
GRANTEE = ("grantee.person@example.org", "Grantee-account-pass;7")
CORPUS_KEYS = {
    "name",
    "kind",
    "method",
    "path",
    "query",
    "request_headers",
    "request_body",
    "status",
    "status_reason",
    "response_headers",
    "response_body",
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """A recording of the integration tests above, run with --live against an emulator."""
    directory = tmp_path_factory.mktemp("recording")
    with Emulator(transition_delay=0, password=PASSWORD) as emulator:
        grantee = emulator.create_account(*GRANTEE)
        config = directory / "live.conf"
        lines = emulator.config_lines() + [
            f"acl_username = {GRANTEE[0]}",
            f"acl_password = {GRANTEE[1]}",
        ]
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSIGMA_", "PYTEST"))}
        env["CLOUDSIGMA_CONFIG"] = str(config)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--live"]
            + ["--record", str(directory / "run"), *RECORDED_TESTS],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        secrets = {
            "passwords": [PASSWORD, GRANTEE[1]],
            "emails": [emulator.username, GRANTEE[0]],
            "accounts": [emulator.account().uuid, grantee.uuid],
        }
    yield directory / "run", secrets


def entries_of(directory: Path) -> list[dict]:
    with open(directory / "exchanges.jsonl", encoding="utf-8") as recording_file:
        return [json.loads(line) for line in recording_file]


def test_the_recording_has_every_exchange_in_the_corpus_shape(recorded):
    directory, _ = recorded

    entries = entries_of(directory)

    assert len(entries) > 100
    assert all(set(entry) >= CORPUS_KEYS for entry in entries)
    assert {entry["test"].split("::")[0] for entry in entries} == set(RECORDED_TESTS)
    assert {entry["account"] for entry in entries} == {"<email-1>", "<email-2>"}
    assert any(entry["method"] == "POST" and entry["status"] == 201 for entry in entries)


def test_the_recording_holds_no_password_email_or_account_id(recorded):
    directory, secrets = recorded

    text = (directory / "exchanges.jsonl").read_text(encoding="utf-8")

    for secret in [value for values in secrets.values() for value in values]:
        assert secret.lower() not in text.lower()
        assert urllib.parse.quote(secret) not in text
    for password, email in zip(secrets["passwords"], secrets["emails"], strict=True):
        assert base64.b64encode(f"{email}:{password}".encode()).decode() not in text
    assert "<account-1>" in text and "<account-2>" in text  # the grantee's uuid in the ACL


def test_the_recording_replays_against_a_fresh_emulator_without_a_difference(recorded, capsys):
    directory, _ = recorded

    summary = parity_summary(directory)

    assert summary["differences"] == {}
    assert summary["replayed"] == summary["exchanges"] == len(entries_of(directory))
    assert report_main(["--against", str(directory)]) == 0
    assert ": " + str(summary["exchanges"]) + " agree, 0 differ" in capsys.readouterr().out


def test_an_answer_changed_in_the_recording_is_reported(recorded, tmp_path, capsys):
    directory, _ = recorded
    entries = entries_of(directory)
    changed = next(e for e in entries if e["method"] == "POST" and e["path"].endswith("/drives/"))
    del changed["response_body"]["objects"][0]["media"]
    with open(tmp_path / "exchanges.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(entry) + "\n" for entry in entries)

    summary = parity_summary(tmp_path)

    assert summary["differences"] == {changed["name"]: "unexpected keys objects[].media"}
    assert report_main(["--against", str(tmp_path)]) == 1
    assert f"differs {changed['name']}: unexpected keys objects[].media" in (
        capsys.readouterr().out
    )


def test_report_refuses_a_directory_without_a_recording(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        report_main(["--against", str(tmp_path)])

    assert stopped.value.code == 2
    assert "has no exchanges.jsonl" in capsys.readouterr().err


# redaction with generated secrets ------------------------------------------------------------
emails = st.from_regex(r"[a-z0-9][a-z0-9._%+-]{0,15}@[a-z0-9-]{1,10}\.[a-z]{2,6}", fullmatch=True)
#: Printable ASCII: requests sends other letters of a Basic password in Latin-1, which the
#: emulator decodes as UTF-8 (as Tastypie's Basic authentication does) and refuses.
passwords = st.text(
    string.ascii_letters + string.digits + string.punctuation + " ", min_size=8, max_size=24
)


@pytest.fixture(scope="module")
def plain_emulator() -> Iterator[Emulator]:
    with Emulator(transition_delay=None) as emulator:
        yield emulator


def session_exchanges(emulator: Emulator, email: str, password: str) -> list[str]:
    """A few exchanges an account makes, Basic and session auth; returns the tokens seen."""
    api = emulator.api_endpoint
    basic = requests.Session()
    basic.auth = (email, password)
    basic.get(api + "profile/", timeout=10)
    basic.post(
        api + "drives/",
        json={"name": f"of {email}", "size": 2**30, "media": "disk", "meta": {"note": password}},
        timeout=10,
    )
    basic.get(api + "drives/detail/", timeout=10)
    session = requests.Session()
    session.post(
        api + "accounts/action/",
        params={"do": "login"},
        json={"username": email, "password": password},
        timeout=10,
    )
    tokens = list(session.cookies.values())
    session.headers["X-CSRFToken"] = session.cookies.get("csrftoken", "")
    session.post(api + "tags/", json={"name": "t"}, timeout=10)
    session.post(api + "accounts/action/", params={"do": "authenticate_asynchronous"}, timeout=10)
    tokens += [v for v in session.cookies.values() if v not in tokens]
    basic.close()
    session.close()
    return tokens


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(email=emails, password=passwords)
def test_generated_secrets_never_survive_in_a_recording(plain_emulator, tmp_path, email, password):
    plain_emulator.reset()
    account = plain_emulator.create_account(email, password)
    recorder = Recorder(plain_emulator.base_url)

    with recording(recorder):
        tokens = session_exchanges(plain_emulator, email, password)
    text = recorder.write(tmp_path / "run").read_text(encoding="utf-8")

    assert len(tokens) >= 3 and len(recorder.raw) == 6
    basic = base64.b64encode(f"{email}:{password}".encode()).decode()
    for secret in [password, basic, account.uuid, *tokens]:
        for form in forms(secret):
            assert form not in text, f"{secret!r} survived as {form!r}"
    assert email not in text.lower()
    assert "<email-1>" in text and "<account-1>" in text


def forms(secret: str) -> set[str]:
    """A value as it is, JSON-escaped and URL-encoded."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }


def test_requests_to_another_host_are_not_recorded(plain_emulator: Any, tmp_path):
    recorder = Recorder("http://127.0.0.1:1")

    with recording(recorder):
        requests.get(plain_emulator.api_endpoint + "capabilities/", timeout=10)

    assert recorder.raw == []

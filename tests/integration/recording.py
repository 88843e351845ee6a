"""Recording of the API exchanges of a test run, without secrets: ``pytest --record DIR``.

Every request the run sends with ``requests`` to the API (the SDK's and the tests' own) is
kept with its answer, and written at the end to ``DIR/exchanges.jsonl`` in the shape of the
conformance corpus (``tests/conformance/data/exchanges.jsonl``), so that
``python -m tests.conformance.report --against DIR`` can replay it against the emulator.

Nothing secret is written. Credential headers and cookies become ``<redacted>``, as does any
``*password*`` field; passwords, Basic tokens, cookie values, CSRF tokens and upload-link
tokens are removed by value wherever they appear; the e-mail address of each account becomes
``<email-N>`` and its uuid ``<account-N>`` (the same N for one account), other e-mail
addresses ``<email>``. Personal profile fields become ``<redacted>``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from cloudsigma._redact import REDACTED, redact_json, secret_forms
from cloudsigma.emulator.models.kernel import PERSONAL_PROFILE_KEYS

EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
USER_URI_RE = re.compile(r"/api/2\.0/user/(" + UUID_RE.pattern + r")/")
#: Profile fields about the person behind the account (the ones the emulator blanks for a
#: new account, and the bank reference).
PERSONAL_FIELDS = frozenset(PERSONAL_PROFILE_KEYS) | {"bank_reference"}
#: Headers worth keeping (the others say nothing about the API's behaviour).
KEPT_HEADERS = ("Content-Type", "Location")
API_PREFIX = "/api/2.0/"


class Recorder:
    """Collects exchanges while a run goes and writes them, redacted, at the end.

    :param api_origin: ``scheme://host:port`` of the API; requests elsewhere are not kept.
    """

    def __init__(self, api_origin: str) -> None:
        self.api_origin = api_origin.rstrip("/")
        self.test = ""
        self.raw: list[dict] = []
        self.secrets: set[str] = set()
        self.emails: dict[str, int] = {}
        self.accounts: dict[str, int] = {}
        self._lock = threading.Lock()

    # collecting -------------------------------------------------------------------
    def exchange(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        """Keep one request and its answer (called for every ``Session.send``).

        The answer's body is taken when the recording is written: by then its reader has read
        it (the SDK reads every body itself); a body streamed to a file is not kept.
        """
        url = urllib.parse.urlsplit(request.url or "")
        if f"{url.scheme}://{url.netloc}" != self.api_origin or not url.path.startswith(API_PREFIX):
            return
        email = self.credentials(request)
        self.tokens(request, response)
        entry = {
            "name": "",
            "kind": "http",
            "method": request.method,
            "path": url.path,
            "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
            "request_headers": self.headers(request.headers),
            "request_body": body_of(request.body, request.headers.get("Content-Type")),
            "status": response.status_code,
            "status_reason": response.reason,
            "response_headers": self.headers(response.headers),
            "response_body": response,
            "test": self.test,
            "account": email,
        }
        with self._lock:
            entry["name"] = f"{self.test or 'run'}#{len(self.raw) + 1}"
            self.raw.append(entry)

    def credentials(self, request: requests.PreparedRequest) -> str | None:
        """The e-mail the request authenticates as (its password becomes a secret)."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            pair = base64.b64decode(header[6:])
        except binascii.Error:
            return None
        try:
            text = pair.decode("utf-8")
        except UnicodeDecodeError:
            text = pair.decode("latin-1")  # what requests sends for a str with such letters
        username, _, password = text.partition(":")
        self.secrets.update({password, header[6:]})
        self.label_email(username)
        return username

    def tokens(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        """Cookie values, CSRF tokens and upload-link tokens are secrets wherever they go."""
        for value in response.cookies.values():
            self.secrets.add(value)
        for header in ("Cookie", "X-CSRFToken"):
            for part in re.split(r"[;,]\s*", request.headers.get(header, "")):
                self.secrets.add(part.partition("=")[2] or part)
        link = re.search(r"/upload/([^/]+)/?$", urllib.parse.urlsplit(request.url or "").path)
        if link and not UUID_RE.fullmatch(link.group(1)):
            self.secrets.add(link.group(1))

    @staticmethod
    def headers(headers: Any) -> dict[str, str]:
        kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
        if "Authorization" in headers:
            kept["Authorization"] = REDACTED
        return kept

    def label_email(self, email: str) -> int:
        key = email.lower()
        if key not in self.emails:
            self.emails[key] = len(self.emails) + 1
        return self.emails[key]

    def learn_accounts(self, entry: dict, email: str | None) -> None:
        """Account uuids: the owner of what an account creates, the uuid of its profile."""
        body = entry["response_body"]
        text = json.dumps(body)
        for uuid in USER_URI_RE.findall(text):
            self.accounts.setdefault(uuid, 0)
        if email is None or entry["status"] >= 300:
            return
        number = self.label_email(email)
        if entry["path"] == f"{API_PREFIX}profile/" and isinstance(body, dict) and "uuid" in body:
            self.accounts[body["uuid"]] = number
        if entry["method"] == "POST":
            for owner in owners(body):
                if self.accounts.get(owner, 0) == 0:
                    self.accounts[owner] = number

    # writing ----------------------------------------------------------------------
    def records(self) -> list[dict]:
        """Every exchange, with the answers' bodies, redacted."""
        for entry in self.raw:
            response = entry["response_body"]
            if isinstance(response, requests.Response):
                entry["response_body"] = answer_body(response)
                self.learn_accounts(entry, entry["account"])
        redact = self.redactor()
        return [redact(entry) for entry in self.raw]

    def redactor(self) -> Callable[[Any], Any]:
        unlabelled = iter(range(len(self.emails) + 1, 10**6))
        accounts = {
            uuid: f"<account-{number or next(unlabelled)}>"
            for uuid, number in self.accounts.items()
        }
        emails = {email: f"<email-{number}>" for email, number in self.emails.items()}
        # the accounts' own addresses by value first, in every form they may take
        known = [
            (re.compile(re.escape(form), re.IGNORECASE), emails[email])
            for email in emails
            for form in secret_forms([email])
        ]
        forms = secret_forms(self.secrets)

        def text(value: str) -> str:
            for pattern, label in known:
                value = pattern.sub(label, value)
            for form in forms:
                value = value.replace(form, REDACTED)
            value = UUID_RE.sub(lambda m: accounts.get(m.group(0), m.group(0)), value)
            return EMAIL_RE.sub(lambda m: emails.get(m.group(0).lower(), "<email>"), value)

        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                return {
                    text(k): REDACTED if k in PERSONAL_FIELDS and v else walk(v)
                    for k, v in value.items()
                }
            if isinstance(value, list):
                return [walk(item) for item in value]
            return text(value) if isinstance(value, str) else value

        return lambda entry: walk(redact_json(entry))

    def write(self, directory: Path) -> Path:
        """Write ``exchanges.jsonl`` into ``directory`` (created if needed); returns its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "exchanges.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for record in self.records():
                out.write(json.dumps(record, sort_keys=True) + "\n")
        return path


def answer_body(response: requests.Response) -> Any:
    """The body its reader read (``None`` for one streamed elsewhere and never kept)."""
    content = getattr(response, "_content", False)  # requests keeps a read body there
    if not isinstance(content, bytes):
        return None
    return body_of(content, response.headers.get("Content-Type"))


def owners(body: Any) -> list[str]:
    """The owner uuids of the objects in an answer (one object or an ``objects`` list)."""
    items = body.get("objects", [body]) if isinstance(body, dict) else []
    found = []
    for item in items if isinstance(items, list) else []:
        owner = item.get("owner") if isinstance(item, dict) else None
        if isinstance(owner, dict) and isinstance(owner.get("uuid"), str):
            found.append(owner["uuid"])
    return found


def body_of(raw: Any, content_type: str | None) -> Any:
    """A body as the corpus keeps it: parsed JSON, text, ``None`` when empty, a size for bytes."""
    if raw is None or raw == b"" or raw == "":
        return None
    if not isinstance(raw, bytes | str):
        return "<streamed body>"
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(raw)} bytes>"
    if "json" in (content_type or "") or raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw if "octet-stream" not in (content_type or "") else f"<{len(raw)} bytes>"


@contextlib.contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Send every ``requests`` exchange of the process through ``recorder`` meanwhile."""
    original = requests.Session.send

    def send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any):
        response = original(session, request, **kwargs)
        recorder.exchange(request, response)
        return response

    requests.Session.send = send  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        requests.Session.send = original  # type: ignore[method-assign]

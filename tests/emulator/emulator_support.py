"""Helpers shared by the emulator tests: a tiny HTTP client and error checks."""

from __future__ import annotations

from typing import Any

import requests

GIB = 1024**3

#: The required fields of a small server; add ``name`` and whatever the test is about.
SERVER = {"cpu": 1000, "mem": GIB, "vnc_password": "x"}


def server_body(name: str = "s", **more: Any) -> dict:
    """The body of a small server named ``name``, with ``more`` fields."""
    return {"name": name, **SERVER, **more}


class Api:
    """A tiny client: ``api.get("drives/")`` etc. relative to the emulator's API base."""

    def __init__(self, endpoint: str, username: str | None, password: str | None) -> None:
        self.endpoint = endpoint
        self.session = requests.Session()
        if username is not None:
            self.session.auth = (username, password)

    def url(self, path: str) -> str:
        return self.endpoint + path

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url(path), timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Send a request, check the status and return the JSON body (or None)."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None

    def create(self, resource: str, /, **values: Any) -> dict:
        return self.ok("POST", f"{resource}/", 201, json={"objects": [values]})["objects"][0]

    def action(self, resource: str, uuid: str, action: str, status: int = 202, /, **body: Any):
        return self.ok(
            "POST", f"{resource}/{uuid}/action/", status, params={"do": action}, json=body
        )

    def close(self) -> None:
        self.session.close()


def assert_api_error(
    response: requests.Response, status: int, error_type: str, text: str = ""
) -> dict:
    """The answer is the API's error list with this status and type (and message part)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers.get("X-REQUEST-ID")
    errors = response.json()
    assert isinstance(errors, list) and len(errors) >= 1
    assert set(errors[0]) == {"error_point", "error_type", "error_message"}
    assert errors[0]["error_type"] == error_type
    assert text in errors[0]["error_message"]
    return errors[0]


def state_of(emu: Any) -> str:
    """Every account's objects, profile, balance and global context, plus pending changes,
    as text: equal before and after a request that must change nothing."""
    import json

    def take() -> str:
        accounts = {
            account.email: [
                {name: store for name, store in account.objects.items() if store},
                account.profile,
                account.balance,
                account.global_context,
            ]
            for account in emu.backend.accounts.values()
        }
        images = {uuid: image.sha256() for uuid, image in emu.backend.images.items()}
        pending = emu.backend.transitions.pending
        return json.dumps([accounts, images, pending], sort_keys=True, default=repr)

    return emu.call(take)

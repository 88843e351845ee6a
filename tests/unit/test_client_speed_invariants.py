"""What keeps the client fast, checked as behaviour: lazy imports and shared connections."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY_MODULES = ("requests", "urllib3", "simplejson", "websocket")


def loaded_after(code: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    report = f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_resource_loads_no_http_or_json_library() -> None:
    assert loaded_after("import cloudsigma.resource") == []


def test_importing_every_module_resource_uses_loads_no_http_or_json_library() -> None:
    code = "import cloudsigma.generic, cloudsigma.policies, cloudsigma._redact, cloudsigma.errors"
    assert loaded_after(code) == []


def test_the_probe_sees_requests_once_a_client_exists() -> None:
    # the check above is only worth something if the probe can see a loaded library
    code = (
        "import cloudsigma.resource\n"
        "cloudsigma.resource.Drive('http://127.0.0.1:9/api/2.0/', 'a@example.com', 'pw')"
    )
    assert "requests" in loaded_after(code)

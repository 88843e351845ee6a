"""Python SDK for the CloudSigma API 2.0.

``import cloudsigma`` reads no configuration, opens no connection and loads
no submodule: ``cloudsigma.resource``, ``cloudsigma.errors`` and the rest are
imported the first time they are used, so scripts start fast.
"""

from __future__ import annotations

import importlib

from cloudsigma.version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from cloudsigma import bulk, conf, errors, generic, metadata, resource, scenarios, version

__all__ = [
    "__version__",
    "bulk",
    "conf",
    "errors",
    "generic",
    "metadata",
    "resource",
    "scenarios",
    "version",
]

# Loaded on first use too, but not star-exported (pycloudsigma did not export them).
_EXTRA_SUBMODULES = frozenset(
    {"direct_upload", "download", "payloads", "policies", "resumable_upload", "upload_client"}
)
_SUBMODULES = frozenset(__all__) - {"__version__"} | _EXTRA_SUBMODULES


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"cloudsigma.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cloudsigma' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)

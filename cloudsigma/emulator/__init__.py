"""A local emulator of the CloudSigma API 2.0 (HTTP, websocket, uploads, server context).

``from cloudsigma.emulator import Emulator``; the command line is ``cloudsigma-emulator``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Backend", "Emulator"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .runner import Emulator

        return Emulator
    if name == "Backend":
        from .backend import Backend

        return Backend
    raise AttributeError(name)

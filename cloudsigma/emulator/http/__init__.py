"""The HTTP layer of the emulator: the only part of the package that uses aiohttp.

:mod:`.app` builds the application from the route tables of :mod:`.routes` and the handlers
of :mod:`.collections`, :mod:`.accounts`, :mod:`.transfers`, :mod:`.events` and
:mod:`.control`.
"""

from .routes import CONTROL, PUBLIC, ROUTES

__all__ = ["CONTROL", "PUBLIC", "ROUTES"]

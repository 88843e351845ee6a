"""The HTTP layer of the emulator (aiohttp lives here and nowhere else in the package)."""

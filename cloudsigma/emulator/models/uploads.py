"""Bookkeeping of chunked drive uploads: which byte ranges arrived, and one-time chunk links."""

from __future__ import annotations

import secrets
import time


class UploadProgress:
    """The progress of one drive upload.

    :param size: the exact drive size in bytes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.ranges: list[tuple[int, int]] = []
        self.chunks: set[int] = set()
        self.links: dict[str, tuple[int, int, int, float]] = {}

    def add(self, start: int, end: int) -> None:
        """Record that ``[start, end)`` is stored."""
        merged: list[tuple[int, int]] = []
        for low, high in sorted(self.ranges + [(start, end)]):
            if merged and low <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        self.ranges = merged

    @property
    def complete(self) -> bool:
        return bool(self.ranges) and self.ranges[0][0] == 0 and self.ranges[0][1] >= self.size

    def covers(self, start: int, end: int) -> bool:
        return any(low <= start and end <= high for low, high in self.ranges)

    def new_link(self, number: int, offset: int, length: int, lifetime: float = 300.0) -> str:
        """A one-time token for uploading chunk ``number`` (``length`` bytes at ``offset``)."""
        token = secrets.token_urlsafe(16)
        self.links[token] = (number, offset, length, time.monotonic() + lifetime)
        return token


def resumable_range(chunk_number: int, chunk_size: int, total: int) -> tuple[int, int]:
    """Byte range of a resumable.js chunk (numbered from 1; the last one holds the rest)."""
    count = max(1, total // chunk_size)
    start = (chunk_number - 1) * chunk_size
    end = total if chunk_number >= count else start + chunk_size
    return start, end

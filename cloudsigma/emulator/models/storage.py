"""Bytes of drive images: in memory while small, in a sparse temporary file beyond a threshold."""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

#: Images up to this size live in memory; larger ones in a sparse temporary file.
MEMORY_LIMIT = 16 * 1024 * 1024


class DriveImage:
    """The content of one drive; unwritten regions read as zeros.

    :param size: the drive size in bytes.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._memory: bytearray | None = None
        self._file: Any = None
        if size <= MEMORY_LIMIT:
            self._memory = bytearray(size)
        else:
            self._file = _temporary_file()
            self._file.truncate(size)

    def write(self, offset: int, data: bytes) -> None:
        """Store ``data`` at ``offset`` (clipped to the drive size)."""
        data = data[: max(0, self.size - offset)]
        if self._memory is not None:
            self._memory[offset : offset + len(data)] = data
        else:
            self._file.seek(offset)
            self._file.write(data)

    def read(self, offset: int, length: int) -> bytes:
        """Return ``length`` bytes from ``offset`` (short at the end of the drive)."""
        length = max(0, min(length, self.size - offset))
        if self._memory is not None:
            return bytes(self._memory[offset : offset + length])
        self._file.seek(offset)
        return self._file.read(length)

    def iter_range(self, start: int, end: int, block: int = 1024 * 1024):
        """Yield the bytes of ``[start, end)`` in blocks."""
        while start < end:
            chunk = self.read(start, min(block, end - start))
            if not chunk:
                return
            yield chunk
            start += len(chunk)

    def resize(self, size: int) -> None:
        """Grow or shrink the image, keeping its content."""
        if self._memory is not None and size <= MEMORY_LIMIT:
            del self._memory[size:]
            self._memory.extend(bytes(max(0, size - len(self._memory))))
        else:
            content = self._memory
            if self._file is None:
                self._file = _temporary_file()
            self._memory = None
            if content is not None:
                self._file.seek(0)
                self._file.write(content)
            self._file.truncate(size)
        self.size = size

    def copy(self) -> DriveImage:
        """A new image with the same bytes (for clones); holes of sparse files stay holes."""
        clone = DriveImage(self.size)
        for start, end in self.data_regions():
            for offset in range(start, end, 4 * 1024 * 1024):
                block = self.read(offset, min(4 * 1024 * 1024, end - offset))
                if block.count(0) != len(block):
                    clone.write(offset, block)
        return clone

    def data_regions(self) -> list[tuple[int, int]]:
        """Byte ranges that may hold data (the whole image unless the file system knows holes)."""
        if self._file is None or not hasattr(os, "SEEK_DATA"):
            return [(0, self.size)]
        self._file.flush()
        regions, offset, descriptor = [], 0, self._file.fileno()
        try:
            while offset < self.size:
                start = os.lseek(descriptor, offset, os.SEEK_DATA)
                end = min(self.size, os.lseek(descriptor, start, os.SEEK_HOLE))
                regions.append((start, end))
                offset = end
        except OSError:  # ENXIO: no data after offset
            pass
        return regions

    def sha256(self) -> str:
        """The hex SHA-256 of the whole image."""
        digest = hashlib.sha256()
        for block in self.iter_range(0, self.size):
            digest.update(block)
        return digest.hexdigest()

    def getvalue(self) -> bytes:
        """All bytes of the image (meant for small test drives)."""
        return self.read(0, self.size)

    def close(self) -> None:
        """Release the temporary file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory = None


def _temporary_file():
    """An anonymous temporary file; it lives as long as its image, so no ``with`` here."""
    return tempfile.TemporaryFile(prefix="cloudsigma-drive-")  # noqa: SIM115

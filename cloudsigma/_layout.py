"""How a file is cut into chunks: the one layout of every upload and download.

Pure arithmetic, imported by the transfers and by ``Drive.upload_chunk``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["ChunkLayout", "ChunkSpec", "chunk_span", "download_ranges", "upload_chunks"]


class ChunkSpec(NamedTuple):
    """One chunk of a file: its number, where it starts, and how many bytes it holds."""

    number: int
    offset: int
    size: int


@dataclass(frozen=True)
class ChunkLayout:
    """How a file of ``total`` bytes is cut into chunks of ``size``: the one layout of
    every transfer.

    Uploads put the remainder into the last chunk, which is then larger than the others
    (a file smaller than one chunk is a single chunk); downloads give it a range of its
    own (``remainder_in_last=False``), so that every range but the last is ``size`` long.
    """

    total: int
    size: int
    first_number: int = 0
    remainder_in_last: bool = True

    def check(self) -> ChunkLayout:
        """The layout itself, once its sizes are known to be sound.

        :raises ValueError: for a chunk size below 1 or a negative total.
        """
        size = self.size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"chunk size must be a whole number of bytes >= 1, not {size!r}")
        if self.total < 0:
            raise ValueError(f"size must be >= 0, not {self.total!r}")
        return self

    @property
    def count(self) -> int:
        """How many chunks there are."""
        if self.remainder_in_last:
            return max(self.total // self.size, 1)
        return -(-self.total // self.size)

    def chunk(self, number: int) -> ChunkSpec:
        """Chunk ``number`` (counted from :attr:`first_number`).

        :raises ValueError: for a chunk the file does not have.
        """
        index = number - self.first_number
        if not 0 <= index < self.count:
            raise ValueError(
                f"chunk {number} does not exist: a file of {self.total} bytes has {self.count} "
                f"chunk(s) of {self.size} bytes"
                + (" (the last one holds the remainder)" if self.remainder_in_last else "")
            )
        offset = index * self.size
        last = index == self.count - 1
        length = self.total - offset if last else self.size
        return ChunkSpec(number, offset, length)

    def chunks(self) -> Iterator[ChunkSpec]:
        """Every chunk, in order."""
        first = self.first_number
        return (self.chunk(first + index) for index in range(self.count))


def upload_chunks(total_size: int, chunk_size: int, first_number: int = 1) -> Iterator[ChunkSpec]:
    """The chunks of an upload: all ``chunk_size`` long except the last, which also takes
    the remainder; a file smaller than one chunk is a single chunk.

    :raises ValueError: for a chunk size below 1 or a negative total.
    """
    return ChunkLayout(total_size, chunk_size, first_number).check().chunks()


def download_ranges(total_size: int, range_size: int) -> Iterator[ChunkSpec]:
    """Byte ranges of a download, numbered from 0: all ``range_size`` long but the last."""
    return ChunkLayout(total_size, range_size, 0, remainder_in_last=False).check().chunks()


def chunk_span(file_size: int, chunk_number: int, chunk_size: int) -> tuple[int, int]:
    """``(offset, length)`` of upload chunk ``chunk_number`` (from 0); the last takes the rest."""
    if chunk_size < 1 or chunk_number < 0:
        raise ValueError("chunk_size must be >= 1 and chunk_number >= 0")
    spec = ChunkLayout(file_size, chunk_size).check().chunk(chunk_number)
    return spec.offset, spec.size

"""What the rooms' SQL shares: ids in chunks, as SQLite caps the parameters of one statement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def in_chunks(ids: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """Slices of ids with their "?,?,..." placeholders: SQLite caps the parameters of one statement."""
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ",".join("?" * len(chunk))

"""Text as the store keeps it: zstd-compressed, an entry's long texts in one frame."""

from __future__ import annotations

import json
from typing import Any

from feedtool.perthread import per_thread


@per_thread
def _codec() -> tuple[Any, Any]:
    """zstd, loaded on first use: a no-op build reads no compressed column."""
    import zstandard

    return zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()


def pack(text: str | bytes) -> bytes:
    """Text as the store keeps it: zstd, which takes an article's HTML to about a third.

    At a million articles the store's text is most of its size; zstd rather than zlib as it
    decompresses several times faster, and every published document decompresses its entries.
    """
    return _codec()[0].compress(text.encode() if isinstance(text, str) else text)  # type: ignore[no-any-return]


def unpack(blob: bytes) -> bytes:
    return _codec()[1].decompress(blob)  # type: ignore[no-any-return]


def pack_text(summary: str, content: str, search_text: str) -> bytes:
    """An entry's three long texts in one frame: the summary and the folded text repeat the content,
    which zstd only sees when they are compressed together (half the size of three frames)."""
    return pack(json.dumps([summary, content, search_text], ensure_ascii=False))


def unpack_text(blob: bytes) -> tuple[str, str, str]:
    summary, content, search_text = json.loads(unpack(blob))
    return summary, content, search_text

"""Text as the store keeps it: zstd-compressed, with dictionaries trained on the store's own rows.

An entry's long texts are one frame, and its markup in every format another: rows of a few
kilobytes, which zstd alone compresses to about a third. Such small rows share most of what they
hold with each other (the markup of a feed entry, an outlet's boilerplate, the words of its beat),
which zstd sees only with a dictionary: trained once a store has TRAIN_AFTER rows of a kind, from
those rows, it took the 20,000-article benchmark's markup from 32 to 13 MB and its text from
14 to 3 MB.

A frame names the dictionary it needs in its header (zstd's dictionary id), so rows written before
a store had one, or under an older one, are read as they are; the dictionaries are kept in the
store (`dictionaries`), written in the transaction of the first row that uses them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

from feedtool.rules import STORY_LEAD_CHARS

Kind = Literal["text", "markup"]  # an entry's texts (entries.text), its rendered markup (fragments.markup)
_KINDS: tuple[Kind, ...] = ("text", "markup")

TRAIN_AFTER = 1000  # rows of a kind packed without a dictionary, from which one is trained
DICTIONARY_BYTES = 64 * 1024  # as large as paid on the benchmark: four times larger saved nothing
LEVEL = 3


def _zstd() -> Any:
    import zstandard  # loaded on first use: a no-op build reads no compressed column

    return zstandard


def frame_dictionary(blob: bytes) -> int:
    """The id of the dictionary a frame was compressed with (0: none)."""
    return int(_zstd().get_frame_parameters(blob).dict_id)


def pack_listing(text: str) -> bytes:
    """A folder's listing (ingest/scan.py) as one frame, without a dictionary: one large row a folder,
    rewritten on every build that lists it, so compressed at zstd's fastest."""
    return _zstd().ZstdCompressor(level=1).compress(text.encode("utf-8"))  # type: ignore[no-any-return]


def unpack_listing(blob: bytes) -> str:
    return _zstd().ZstdDecompressor().decompress(blob).decode("utf-8")  # type: ignore[no-any-return]


class Unpacker:
    """Decompression of frames that may name a dictionary, found by its id with `find` (in the
    store); without one, among those the jobs so far carried (`carry`): a worker's, for the
    frames a job of the publish or of the stories brings (Codec.dictionaries_of).

    Its decompressors are each thread's own: zstd's objects must not be used by two threads at
    once, and a Dask worker started with more than one thread runs tasks side by side on one
    worker's state."""

    def __init__(self, find: Callable[[int], bytes | None] | None = None) -> None:
        self._carried: dict[int, bytes] = {}
        self.find = find or self._carried.get
        self._local = threading.local()

    def carry(self, dictionaries: Mapping[int, bytes]) -> None:
        """The dictionaries a job brings, for its frames and those of the jobs after it."""
        self._carried.update(dictionaries)

    def unpack(self, blob: bytes) -> bytes:
        wanted = frame_dictionary(blob)
        decompressor = self._decompressors().get(wanted) or self._decompressor(wanted)
        return decompressor.decompress(blob)  # type: ignore[no-any-return]

    def forget(self, number: int) -> None:
        self._decompressors().pop(number, None)

    def _decompressors(self) -> dict[int, Any]:
        made: dict[int, Any] | None = getattr(self._local, "made", None)
        if made is None:
            made = self._local.made = {}
        return made

    def _decompressor(self, number: int) -> Any:
        zstd = _zstd()
        made = self._decompressors()
        if number == 0:
            made[0] = zstd.ZstdDecompressor()
            return made[0]
        data = self.find(number)
        if data is None:
            raise sqlite3.DatabaseError(f"a row needs compression dictionary {number}, which the store lacks")
        made[number] = zstd.ZstdDecompressor(dict_data=zstd.ZstdCompressionDict(data))
        return made[number]


# A markup row's `keys` (fragments.keys): "format key length" for each format in the row, in its
# order, all one space apart (neither a format nor a key holds one). A key is kept as its first
# KEY_CHARS characters (the keys are SHA-1 digests, publish/plan.py): all it is asked is whether
# the stored rendering is the current one, which 64 bits tell. Written as JSON with whole keys,
# they were 6 MB of the 27 MB of fragment rows on the 20,000-article benchmark.
KEY_CHARS = 16


def stored_key(key: str) -> str:
    """A fragment's key as its row keeps it: compare a wanted key with a stored one through this."""
    return key[:KEY_CHARS]


def join_keys(formats: Iterable[tuple[str, str, int]]) -> str:
    """A row's `keys` from (format, key, length of its markup) in the row's order."""
    return " ".join(f"{fmt} {stored_key(key)} {length}" for fmt, key, length in formats)


def read_keys(keys: str) -> Iterator[tuple[str, str, int]]:
    """(format, stored key, length of its markup) of a row's `keys`, in the row's order."""
    parts = keys.split()
    return zip(parts[0::3], parts[1::3], map(int, parts[2::3]), strict=True)


def split_markup(keys: str, data: bytes) -> dict[str, tuple[str, bytes]]:
    """An entry's markup row, unpacked, as format -> (fragment key, markup): `keys` says where each is."""
    formats, start = {}, 0
    for fmt, key, length in read_keys(keys):
        formats[fmt] = (key, data[start : start + length])
        start += length
    return formats


class Codec:
    """One connection's compressors: zstd's objects must not be shared between threads, and a
    connection is used by one thread (`feedtool serve` opens one a thread)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._compressors: dict[Kind, Any] = {}
        self.unpacker = Unpacker(self.dictionary)
        self._samples: dict[Kind, list[bytes]] = {kind: [] for kind in _KINDS}
        self._trained: list[tuple[Kind, int]] = []  # dictionaries written in the transaction under way
        self._plain_compressor: Any = None
        self._looked: set[Kind] = set()

    def pack(self, kind: Kind, data: bytes) -> bytes:
        compressor = self._compressors.get(kind)
        if compressor is None and kind not in self._looked:
            self._looked.add(kind)  # the store's own, if it has one; then only this codec trains one
            compressor = self._compressor(kind)
        if compressor is None:  # no dictionary yet: this row is one it will be trained from
            samples = self._samples[kind]
            samples.append(data)
            if len(samples) < TRAIN_AFTER or (compressor := self._train(kind)) is None:
                return self._plain().compress(data)  # type: ignore[no-any-return]
        return compressor.compress(data)  # type: ignore[no-any-return]

    def unpack(self, blob: bytes) -> bytes:
        return self.unpacker.unpack(blob)

    def dictionary(self, number: int) -> bytes | None:
        row = self.db.execute("SELECT data FROM dictionaries WHERE id = ?", (number,)).fetchone()
        return bytes(row[0]) if row is not None else None

    def dictionaries_of(self, blobs: Iterable[bytes], known: dict[int, bytes]) -> dict[int, bytes]:
        """The dictionaries these frames name, for a worker to unpack them (`Unpacker`), not the
        one writer. Read into `known` the first time a frame names one: the caller's for a whole
        stage, the same object in every job, so that each is read once and sent once in a chunk
        of jobs (pickle writes an object it meets again as a reference)."""
        named = {frame_dictionary(blob) for blob in blobs} - {0}
        for number in named - known.keys():
            data = self.dictionary(number)
            if data is None:
                raise sqlite3.DatabaseError(f"a row needs compression dictionary {number}, which the store lacks")
            known[number] = data
        return {number: known[number] for number in named}

    def pack_text(self, summary: str, content: str, search_text: str) -> bytes:
        """An entry's three long texts in one frame: the summary and the folded text repeat the
        content, which zstd only sees when they are compressed together (half the size of three)."""
        return self.pack("text", _texts(summary, content, search_text))

    def unpack_text(self, blob: bytes) -> tuple[str, str, str]:
        return texts_of(self.unpack(blob))

    def committed(self) -> None:
        self._trained.clear()

    def rolled_back(self) -> None:
        """A dictionary written in a transaction rolled back is gone: so are the rows that used it."""
        for kind, number in self._trained:
            self._compressors.pop(kind, None)
            self.unpacker.forget(number)
            self._samples[kind] = []
        self._trained.clear()

    def _plain(self) -> Any:
        if self._plain_compressor is None:
            self._plain_compressor = _zstd().ZstdCompressor(level=LEVEL)
        return self._plain_compressor

    def _compressor(self, kind: Kind) -> Any:
        """The compressor with the store's newest dictionary of this kind, or None when it has none."""
        query = "SELECT id, data FROM dictionaries WHERE kind = ? ORDER BY made DESC LIMIT 1"
        row = self.db.execute(query, (kind,)).fetchone()
        if row is None:
            return None
        zstd = _zstd()
        self._compressors[kind] = zstd.ZstdCompressor(level=LEVEL, dict_data=zstd.ZstdCompressionDict(row[1]))
        return self._compressors[kind]

    def _train(self, kind: Kind) -> Any:
        """A dictionary trained from the rows packed so far, kept in the store; None when zstd finds
        too little in them to train one (rows of a few bytes), and the rows stay without."""
        zstd = _zstd()
        samples, self._samples[kind] = self._samples[kind], []
        try:
            trained = zstd.train_dictionary(DICTIONARY_BYTES, samples)
        except zstd.ZstdError:
            return None
        number = trained.dict_id()
        self.db.execute(
            "INSERT OR REPLACE INTO dictionaries (id, kind, data) VALUES (?, ?, ?)", (number, kind, trained.as_bytes())
        )
        self._trained.append((kind, number))
        self._compressors[kind] = zstd.ZstdCompressor(level=LEVEL, dict_data=trained)
        return self._compressors[kind]


def pack_text(summary: str, content: str, search_text: str) -> bytes:
    """An entry's texts without a dictionary: for a migration, which runs before the store has one."""
    packed: bytes = _zstd().ZstdCompressor(level=LEVEL).compress(_texts(summary, content, search_text))
    return packed


def _texts(summary: str, content: str, search_text: str) -> bytes:
    """An entry's texts as one frame holds them (`texts_of` reads them back)."""
    return json.dumps([summary, content, search_text], ensure_ascii=False).encode()


def texts_of(data: bytes) -> tuple[str, str, str]:
    """(summary, content, search text) of an entry's text frame, decompressed (Unpacker.unpack)."""
    summary, content, search_text = json.loads(data)
    return summary, content, search_text


def lead_digest(search_text: str) -> bytes:
    """What the stories read of an entry's text, its first STORY_LEAD_CHARS characters, in 8 bytes:
    the store marks the entry's day for the stories when these change (store/schema.py), and only
    its story's row when the text changes past them."""
    return hashlib.blake2b(search_text[:STORY_LEAD_CHARS].encode(), digest_size=8).digest()

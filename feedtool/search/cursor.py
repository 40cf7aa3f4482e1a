"""Where a reader is in a search's hits: a place in their one order, and the token that carries it.

The hits of a search come in one order: newest first, and entries published in the same
microsecond by their id, as the published feeds order them (`Place`). A page ends at a place; the
next page is the hits past it, the previous one the hits before its first. A place, not a count: a
deep page costs what the first does (the index is walked from the place, hits.walk), and entries
a build adds newer than the place do not shift the pages still to be read.

The token (`Cursor.token`) is the place, which way the page goes from it, and a check, in
base64url. It is opaque: a reader follows the links a page gives, it does not make them. It is
the same for the same place, so a page's address is stable. And it is verifiable: a token of
another alphabet, length or check, or a time no datetime can hold, is refused with the reason
(`read`) before the store is read.

An id is an article's canonical URL, of any length, and an address is bounded (2,048 bytes under
`feedtool serve`): a place holds the first ID_BYTES bytes of the id, and a digest of the whole
to order ids that begin alike. So entries of one microsecond come by id unless their ids share
their first ID_BYTES bytes (then by the digest), and two that also share the digest's 64 bits
would take one place: the second would be skipped by a page that ended at the first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from feedtool.search.language import N_, QueryError

Direction = Literal["after", "before"]  # the older hits past a place (a next page), or the newer (a previous one)
ID_BYTES = 128  # of an id's UTF-8, held by a place: ids of one microsecond are ordered by them, then by a digest
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LAYOUT = struct.Struct(">BqQ")  # the direction, the published time (µs since the epoch), the id's digest
_CHECKED = 3  # bytes of the check: a token mistyped or cut is caught, one forged knowingly is only a place
_DIRECTIONS: dict[Direction, int] = {"after": 1, "before": 2}
MAX_TOKEN = -(-(_LAYOUT.size + ID_BYTES + _CHECKED) * 4 // 3)  # characters of base64url, unpadded
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{-(-(_LAYOUT.size + _CHECKED) * 4 // 3)},{MAX_TOKEN}}}")


@dataclass(frozen=True)
class Place:
    """A place in the hits' order: a published time, and among entries of that microsecond the
    start of an id and a digest of the whole of it."""

    published: int  # microseconds since 1970-01-01 UTC
    id_start: bytes  # the id's first ID_BYTES bytes of UTF-8
    digest: int  # the first 64 bits of the SHA-256 of the id

    @property
    def order(self) -> tuple[int, bytes, int]:
        """The place's sort key: ascending is the hits' order, newest first."""
        return (-self.published, self.id_start, self.digest)

    @property
    def second(self) -> int:
        return self.published // 1_000_000


def place(entry_id: str, published: datetime) -> Place:
    """An entry's place in the order of hits, by its id and publication time."""
    whole = entry_id.encode()
    digest = int.from_bytes(hashlib.sha256(whole).digest()[:8], "big")
    return Place((published - _EPOCH) // _MICROSECOND, whole[:ID_BYTES], digest)


@dataclass(frozen=True)
class Cursor:
    """A page's starting point: the hits past `place` in the hits' order ("after": older, the next
    page), or before it ("before": newer, the previous page)."""

    place: Place
    direction: Direction = "after"

    def passes(self, other: Place) -> bool:
        """Whether a hit at `other` lies on this cursor's side of its place (never at it)."""
        if self.direction == "after":
            return other.order > self.place.order
        return other.order < self.place.order

    def token(self) -> str:
        at = self.place
        packed = _LAYOUT.pack(_DIRECTIONS[self.direction], at.published, at.digest) + at.id_start
        return base64.urlsafe_b64encode(packed + _check(packed)).decode().rstrip("=")


def read(text: str) -> Cursor:
    """The cursor a token names; QueryError, one line, for anything `Cursor.token` did not make."""
    shown = text[:40] + ("…" if len(text) > 40 else "")
    refused = QueryError(
        N_("cursor=%(shown)s is not a place this archive gave; follow a page's links"), shown=repr(shown)
    )
    if not _TOKEN.fullmatch(text):
        raise refused
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    packed, check = data[:-_CHECKED], data[-_CHECKED:]
    if check != _check(packed):
        raise refused
    kind, published, digest = _LAYOUT.unpack(packed[: _LAYOUT.size])
    direction = next((name for name, value in _DIRECTIONS.items() if value == kind), None)
    try:
        _EPOCH + published * _MICROSECOND  # a time a datetime holds: years 1 to 9999
    except OverflowError:
        raise refused from None
    if direction is None:
        raise refused
    cursor = Cursor(Place(published, packed[_LAYOUT.size :], digest), direction)
    if cursor.token() != text:  # one token for each place: a second spelling of it is not one given
        raise refused
    return cursor


def _check(packed: bytes) -> bytes:
    return hashlib.sha256(b"feedtool cursor\0" + packed).digest()[:_CHECKED]

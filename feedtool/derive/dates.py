"""Dates written by people: an article's own date line, and a date inside its URL.

Both are local times of the outlet (RFI writes `14/10/2023 - 15:41` in Paris time), so both are
read in the outlet's time zone and turned to UTC. The formats and URL patterns are data
(registry `dateline_formats`, `url_dates`, and per-outlet `timezone`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from feedtool.derive.limits import TimedPattern, compiled

# Dates outside these years are corrupt, not news: a millisecond stamp of 0, a two-digit year.
EARLIEST, LATEST = datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def plausible(value: datetime) -> datetime | None:
    """An aware datetime, if it lies in the years news can have been published in."""
    return value if EARLIEST <= value < LATEST else None


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_to_utc(value: datetime, timezone: str) -> datetime | None:
    if not EARLIEST.year <= value.year < LATEST.year:
        return None
    return value.replace(tzinfo=_zone(timezone)).astimezone(UTC)


def parse_dateline(text: str, formats: tuple[str, ...], timezone: str) -> datetime | None:
    """The text as a date line in one of the formats, in UTC; None when it is not a date line."""
    text = text.strip()
    if not text or len(text) > 40 or not text[0].isdigit():
        return None
    for fmt in formats:
        try:
            return _local_to_utc(datetime.strptime(text, fmt), timezone)
        except ValueError:
            continue
    return None


@cache
def _compiled(patterns: tuple[str, ...], bounded: tuple[str, ...]) -> tuple[re.Pattern[str] | TimedPattern, ...]:
    return tuple(compiled(p, bounded) for p in patterns)  # a config's bounded in time


def date_from_url(url: str, patterns: tuple[str, ...], timezone: str, bounded: tuple[str, ...] = ()) -> datetime | None:
    """Midnight, local to the outlet, of the first valid date a pattern finds in the URL."""
    for pattern in _compiled(patterns, bounded):
        for match in pattern.finditer(url):
            try:
                day = datetime(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                continue
            if (converted := _local_to_utc(day, timezone)) is not None:
                return converted
    return None

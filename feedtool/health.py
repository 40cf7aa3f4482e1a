"""Outlet health: is each scraper still bringing articles, and are they still articles?

Scrapers break silently: a site changes its layout, a block list catches the scraper, a disk
fills. The only sign in the feeds is an outlet gone quiet, noticed weeks later by a subscriber.
So each outlet is judged against its own recent history (the store's `History`), by a pure
function of that history and the time now:

- late: nothing has arrived for LATE_FACTOR times its usual gap between articles (the median of
  its recent ones), or for its `[[outlet]] expect_every` hours when the operator sets one;
- failing: most of its recent dumps are rejected;
- thin: its newest articles' text is suddenly far shorter than before (a layout change that
  cleaning turns into near-empty entries).

An outlet merely slow but regular is none of these. The flags depend on the clock, so they live
here and in the metrics, never in the published files, which stay a function of the store and
the config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from statistics import median
from typing import Literal

from feedtool.store import History
from feedtool.store.records import from_iso

Flag = Literal["late", "failing", "thin"]

RECENT = 20  # articles and dumps an outlet is judged by
LATE_FACTOR = 3.0  # late after this many of its usual gaps without an arrival
MIN_GAP_HOURS = 1.0  # an outlet publishing every few minutes is not late after a quarter of an hour
FAILING_SHARE = 0.5  # failing when more of its recent dumps than this are rejected
FAILING_MIN_DUMPS = 4
THIN_NEWEST = 5  # thin when the median text of its newest articles ...
THIN_RATIO = 0.4  # ... is under this share of the median of the articles before them
THIN_MIN_BEFORE = 5


@dataclass(frozen=True)
class OutletHealth:
    outlet: str
    name: str
    entries: int
    newest: str | None  # its newest article's date (ISO)
    last_arrival: str | None  # when its newest dump arrived (its mtime, ISO)
    usual_gap_hours: float | None  # the median gap between its recent articles
    rejected_share: float  # of its recent dumps
    median_length: int | None  # of its recent articles' text, in characters
    flags: tuple[Flag, ...]
    why: tuple[str, ...]  # a sentence for each flag


def assess(history: History, now: datetime, expect_every_hours: float | None = None) -> OutletHealth:
    """The outlet's health at `now`, from its history alone."""
    flags: list[Flag] = []
    why: list[str] = []
    dates = [from_iso(p) for p in history.published]
    gaps = [(a - b).total_seconds() / 3600 for a, b in pairwise(dates)]
    usual = median(gaps) if gaps else None
    arrival = datetime.fromtimestamp(history.arrivals[0] / 1e9, now.tzinfo) if history.arrivals else None
    allowed = expect_every_hours or (max(usual * LATE_FACTOR, MIN_GAP_HOURS) if usual is not None else None)
    if arrival is not None and allowed is not None:
        quiet = (now - arrival).total_seconds() / 3600
        if quiet > allowed:
            flags.append("late")
            why.append(f"nothing has arrived for {_hours(quiet)}; it usually brings one every {_hours(usual or 0)}")
    share = sum(history.rejected) / len(history.rejected) if history.rejected else 0.0
    if len(history.rejected) >= FAILING_MIN_DUMPS and share > FAILING_SHARE:
        flags.append("failing")
        why.append(f"{sum(history.rejected)} of its last {len(history.rejected)} dumps were rejected")
    lengths = history.lengths
    newest, before = lengths[:THIN_NEWEST], lengths[THIN_NEWEST:]
    if len(newest) == THIN_NEWEST and len(before) >= THIN_MIN_BEFORE and median(newest) < THIN_RATIO * median(before):
        flags.append("thin")
        why.append(f"its newest articles have {median(newest):.0f} characters of text, against {median(before):.0f}")
    return OutletHealth(
        history.outlet, history.name, history.entries, history.published[0] if history.published else None,
        arrival.isoformat() if arrival else None, round(usual, 2) if usual is not None else None, round(share, 3),
        int(median(lengths)) if lengths else None, tuple(flags), tuple(why),
    )  # fmt: skip


def _hours(hours: float) -> str:
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def as_json(report: list[OutletHealth]) -> list[dict[str, object]]:
    return [asdict(h) for h in report]


def write_metrics(report: list[OutletHealth], rejected_dumps: int, path: Path) -> None:
    """The report in Prometheus's text format, for node_exporter's textfile collector: written to a
    temporary file and renamed (prometheus_client's write_to_textfile), so it is never read half done."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    registry = CollectorRegistry()
    label = ["outlet"]
    entries = Gauge("feedtool_outlet_entries", "Entries in the store", label, registry=registry)
    newest = Gauge(
        "feedtool_outlet_newest_published_timestamp_seconds", "Newest article's date", label, registry=registry
    )
    arrival = Gauge("feedtool_outlet_last_arrival_timestamp_seconds", "Newest dump's mtime", label, registry=registry)
    gap = Gauge("feedtool_outlet_usual_gap_seconds", "Median gap between recent articles", label, registry=registry)
    share = Gauge("feedtool_outlet_rejected_ratio", "Share of recent dumps rejected", label, registry=registry)
    length = Gauge("feedtool_outlet_text_median_characters", "Median text of recent articles", label, registry=registry)
    flagged = Gauge("feedtool_outlet_flagged", "1 when the outlet is flagged", ["outlet", "flag"], registry=registry)
    rejected = Gauge("feedtool_rejected_dumps", "Rejected dumps on disk", registry=registry)
    rejected.set(rejected_dumps)
    for h in report:
        entries.labels(h.outlet).set(h.entries)
        if h.newest:
            newest.labels(h.outlet).set(from_iso(h.newest).timestamp())
        if h.last_arrival:
            arrival.labels(h.outlet).set(datetime.fromisoformat(h.last_arrival).timestamp())
        if h.usual_gap_hours is not None:
            gap.labels(h.outlet).set(h.usual_gap_hours * 3600)
        share.labels(h.outlet).set(h.rejected_share)
        if h.median_length is not None:
            length.labels(h.outlet).set(h.median_length)
        for flag in ("late", "failing", "thin"):
            flagged.labels(h.outlet, flag).set(1 if flag in h.flags else 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)

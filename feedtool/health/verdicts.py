"""Outlet health: is each scraper still bringing articles, and are they still articles?

Scrapers break silently: a site changes its layout, a block list catches the scraper, a disk
fills, a scraper is pointed at the wrong folder. The only sign in the feeds is an outlet gone
quiet, noticed weeks later by a subscriber. So each outlet is judged against its own history
(the store's `History`), by a pure function of that history and the time now:

- late: silent for longer than its own history makes likely (health/lateness.py says how, and why so),
  or than its `[[outlet]] expect_every` hours when the operator sets one; an outlet with too
  little history to tell is reported as such, and is late only once silent for two weeks;
- failing: most of its recent dumps are rejected;
- thin: its newest articles' text is suddenly far shorter than before (a layout change that
  cleaning turns into near-empty entries).

And each input folder of the config is looked into, up to its first dump: one holding none is
flagged, as a scraper writing elsewhere leaves it (and no outlet in the store tells of it).

An outlet merely slow but regular is none of these. The flags depend on the clock, so they live
here and in the metrics, never in the published files, which stay a function of the store and
the config.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from statistics import median
from typing import Literal

from feedtool.health.lateness import RULES, Verdict, history_days, judge
from feedtool.store import History
from feedtool.store.records import from_iso

Flag = Literal["late", "failing", "thin"]
InputFlag = Literal["empty"]

RECENT = 20  # articles and dumps an outlet is judged by for failing and thin (lateness: by all of HISTORY_DAYS)
HISTORY_DAYS = history_days(RULES)
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
    usual_gap_hours: float | None  # the median gap between its recent articles (shown; lateness is judge's)
    rejected_share: float  # of its recent dumps
    median_length: int | None  # of its recent articles' text, in characters
    lateness: Verdict  # "on time", "late", or "too little history" to tell
    late_after: str | None  # when its silence turns late if nothing arrives (ISO)
    lateness_why: str  # the rule that decided it, with its numbers
    flags: tuple[Flag, ...]
    why: tuple[str, ...]  # a sentence for each flag


@dataclass(frozen=True)
class InputHealth:
    folder: str
    flags: tuple[InputFlag, ...]
    why: tuple[str, ...]


def assess(history: History, now: datetime, expect_every_hours: float | None = None) -> OutletHealth:
    """The outlet's health at `now`, from its history alone."""
    flags: list[Flag] = []
    why: list[str] = []
    dates = [from_iso(p) for p in history.published]
    gaps = [(a - b).total_seconds() / 3600 for a, b in pairwise(dates)]
    usual = median(gaps) if gaps else None
    arrival = datetime.fromtimestamp(history.arrivals[0] / 1e9, now.tzinfo) if history.arrivals else None
    lateness = judge([ns / 1e9 for ns in history.arrived], now.timestamp(), expect_every_hours)
    if lateness.verdict == "late":
        flags.append("late")
        why.append(lateness.why)
    late_after = datetime.fromtimestamp(lateness.late_after, now.tzinfo) if lateness.late_after is not None else None
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
        int(median(lengths)) if lengths else None, lateness.verdict,
        late_after.isoformat() if late_after else None, lateness.why, tuple(flags), tuple(why),
    )  # fmt: skip


def since_ns(now: datetime) -> int:
    """How far back an outlet's arrivals are read for its lateness: nanoseconds, as the store keeps mtimes."""
    return int((now - timedelta(days=HISTORY_DAYS)).timestamp()) * 10**9


def look_into(folders: Sequence[Path]) -> list[InputHealth]:
    """Each input folder, flagged when it holds no dump: looked into only up to its first."""
    found = []
    for folder in folders:
        if not folder.exists():
            said = "does not exist"
        elif not folder.is_dir():
            said = "is not a folder"
        elif not os.access(folder, os.R_OK | os.X_OK):
            said = "cannot be read by this user"
        elif not _holds_a_file(folder):
            said = "holds no dump: is its scraper writing to another folder?"
        else:
            found.append(InputHealth(str(folder), (), ()))
            continue
        found.append(InputHealth(str(folder), ("empty",), (f"input folder {folder} {said}",)))
    return found


def _holds_a_file(folder: Path) -> bool:
    """Whether a file the build would read is anywhere under the folder (hidden names skipped, as
    ingest/scan.py does), depth first, stopping at the first: an archive of a million dumps costs a few
    folder listings, not a walk."""
    folders, seen = [str(folder)], set()
    while folders:
        try:
            here = os.stat(folders[-1])
            if (here.st_dev, here.st_ino) in seen:  # a link leading back up
                folders.pop()
                continue
            seen.add((here.st_dev, here.st_ino))
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_file():
                        return True
                    if entry.is_dir():  # a followed link too: the build may follow it ([build] follow_links)
                        folders.append(entry.path)
        except OSError:
            continue
    return False


def as_json(report: list[OutletHealth], inputs: list[InputHealth]) -> dict[str, list[dict[str, object]]]:
    return {"outlets": [asdict(h) for h in report], "inputs": [asdict(i) for i in inputs]}


def as_lines(report: list[OutletHealth], inputs: list[InputHealth], quiet: bool) -> list[str]:
    """A line for each outlet (with `quiet`, each flagged one), and one for each input folder flagged."""
    lines = []
    for h in report:
        new = h.lateness == "too little history" and not h.flags
        if quiet and not h.flags:
            continue
        word = ", ".join(h.flags).upper() if h.flags else "new" if new else "ok"
        said = "".join(f"; {reason}" for reason in ((h.lateness_why,) if new else h.why))
        entries = f"{h.entries} {'entry' if h.entries == 1 else 'entries'}"
        lines.append(f"{h.outlet:<14} {word:<8} {entries:>13}, newest {(h.newest or '-')[:10]}{said}")
    lines += [f"{'input':<14} {'EMPTY':<8} {i.why[0]}" for i in inputs if i.flags]
    return lines


def trouble(report: list[OutletHealth], inputs: list[InputHealth]) -> str | None:
    """The line `feedtool health` exits 1 with, or None when nothing is flagged."""
    outlets = [h.outlet for h in report if h.flags]
    folders = [i.folder for i in inputs if i.flags]
    said = [f"{_count(outlets, 'outlet')} flagged: {', '.join(outlets)}"] if outlets else []
    said += [f"{_count(folders, 'input folder')} without dumps: {', '.join(folders)}"] if folders else []
    return "; ".join(said) or None


def _count(things: list[str], noun: str) -> str:
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def write_metrics(report: list[OutletHealth], inputs: list[InputHealth], rejected_dumps: int, path: Path) -> None:
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
    late_after = Gauge(
        "feedtool_outlet_late_after_timestamp_seconds", "When its silence turns late", label, registry=registry
    )
    unknown = Gauge(
        "feedtool_outlet_too_little_history", "1 when its history is too short to judge", label, registry=registry
    )
    flagged = Gauge("feedtool_outlet_flagged", "1 when the outlet is flagged", ["outlet", "flag"], registry=registry)
    empty = Gauge("feedtool_input_empty", "1 when an input folder holds no dump", ["folder"], registry=registry)
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
        if h.late_after:
            late_after.labels(h.outlet).set(datetime.fromisoformat(h.late_after).timestamp())
        unknown.labels(h.outlet).set(1 if h.lateness == "too little history" else 0)
        for flag in ("late", "failing", "thin"):
            flagged.labels(h.outlet, flag).set(1 if flag in h.flags else 0)
    for i in inputs:
        empty.labels(i.folder).set(1 if i.flags else 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)

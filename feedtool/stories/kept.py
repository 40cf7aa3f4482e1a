"""The store's stories kept in step with its entries, by every build, before it publishes.

The store marks the days whose articles changed (store/stories.py); this makes again the links of
those days' zones (zones.py), from the articles stored around them, and then the stories of every
linked group those links touch, or that holds an article changed only in what it publishes (its
author, say: its links stand, its story's row changes): the stories `group` makes of every
stored article, whatever order the articles came in, in whatever runs. A first build marks every day, and is one pass in
pieces; a cron run's new articles cost the weeks around them, however large the archive.

What changed is logged for publishing by change: each story made, changed or gone, with its date
before (the feed of stories), and each article whose "also reported by" changed (its pages).
Rules changed (`[stories]`, or this package's code) drop every story and mark every day: the
stories are made anew, and the next publish plans every document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from feedtool.derive.keys import code_digest
from feedtool.derive.merge import iso
from feedtool.rules import StoryRules
from feedtool.store import Member, Store, StoryRow, Unpacker, from_iso, texts_of
from feedtool.stories.grouping import RULES, Report, Rules, clusters, stories_of
from feedtool.stories.terms import figures
from feedtool.stories.zones import PIECE_ARTICLES, Zone, pieces, reads, zone_links, zones
from feedtool.workers import Setup, Workers

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
OFF = "off"  # what the store's stories are made with while stories are turned off


@dataclass(frozen=True)
class Kept:
    """What keeping the stories did: how many were made, changed or gone, and how many stand."""

    changed: int
    stories: int
    sizes: tuple[tuple[int, int], ...]  # (outlets spanned, how many stories span that many), fewest first


def rules_of(settings: StoryRules) -> Rules:
    """The grouping's rules from the config's: two articles that are each other's best match are
    linked at the default's mutual score, or at `similarity` when that is lower."""
    return Rules(
        window_hours=settings.window_hours,
        similarity=settings.similarity,
        mutual_similarity=min(RULES.mutual_similarity, settings.similarity),
    )


def made_with(settings: StoryRules) -> str:
    """The key of what stories are made with: the rules, and this package's code."""
    if not settings.enabled:
        return OFF
    shaping = json.dumps(asdict(rules_of(settings)), sort_keys=True)
    return hashlib.sha1(f"{code_digest('feedtool.stories')}\0{shaping}".encode()).hexdigest()


def keep(store: Store, settings: StoryRules, workers: Workers | None = None) -> Kept | None:
    """Make again the stories the entries changed since the last time reach; None when stories are off.

    The links of each piece of the zones are made on the build's `workers` when there are several
    pieces (a first build's, or a run's re-scrapes all over the archive), each task carrying the
    articles it reads; the build process writes them, a piece at a time, in order."""
    key = made_with(settings)
    if store.stories_made_with() != key:
        with store.transaction():
            store.forget_stories(key)
    revised = store.revised()
    if not settings.enabled:
        if revised:  # kept only for stories: while they are off, nothing reads them
            with store.transaction():
                store.revised_done(revised)
        return None
    rules = rules_of(settings)
    days = store.changed_days()
    # Entries changed in what they publish alone keep their links: their stories' rows are made again.
    touched: set[str] = set(revised)
    cut: list[Zone] = []
    for joined in zones((_day_number(day) for day in days), rules):
        articles = {_day_number(day): n for day, n in store.day_counts(_iso(joined[0]), _iso(joined[1]))}
        cut += pieces(joined, articles, PIECE_ARTICLES)
    touched.update(_remade(store, rules, cut, workers or Workers()))
    changed = 0
    if days or revised:
        with store.transaction():
            changed = _restory(store, sorted(touched), rules)
            store.days_done(days)
            store.revised_done(revised)
    sizes = store.story_sizes()
    return Kept(changed, sum(sizes.values()), tuple(sorted(sizes.items())))


def _remade(store: Store, rules: Rules, zones: Sequence[Zone], workers: Workers) -> set[str]:
    """The links of each zone made again, one transaction a zone; the articles they touch."""
    known: dict[int, bytes] = {}  # the compression dictionaries, each read once; a task carries those it names

    def jobs() -> Iterator[_Zone]:  # read as the map asks, a few zones ahead
        for zone in zones:
            first, last = reads(zone, rules)
            yield zone, *store.packed_reports(_day(first), _day(last + 1), known)

    # One zone is one task: a pool pays only when there are two to run side by side. Each carries
    # up to PIECE_ARTICLES articles and their margins, so only one a worker is in flight. Their
    # texts go as the store keeps them, compressed: the worker unpacks them, not the writer.
    made = workers.map(
        _links, jobs(), setup=Setup("stories", _reading, (rules,)), count=len(zones), chunksize=1, threshold=2,
        ahead=1,
    )  # fmt: skip
    touched: set[str] = set()
    for zone, links in zip(zones, made, strict=True):
        first_at, last_at = _iso(zone[0]), _iso(zone[1])
        # Every link of an article published in the zone now is made again here, and only those:
        # an article that moved out of it is another zone's, whichever is made first.
        ends = store.within(first_at, last_at)
        with store.transaction():  # a run stopped here leaves the days marked: the next makes them again
            store.replace_links(ends, links)
        touched.update(ends, store.members_within(first_at, last_at))
    return touched


# A zone's task: the zone, its articles (id, outlet, published, title, text frame), the dictionaries.
_Zone = tuple[Zone, list[tuple[str, str, str, str, bytes]], dict[int, bytes]]


@dataclass
class _Reading:
    """A worker's state for the stories: the rules, and the dictionaries the tasks so far carried."""

    rules: Rules
    unpacker: Unpacker = field(default_factory=Unpacker)


def _reading(rules: Rules) -> _Reading:
    return _Reading(rules)


def _links(state: _Reading, job: _Zone) -> list[tuple[float, str, str]]:
    """A worker's task: the links of one zone, from the articles it reads (stories/zones.py)."""
    zone, rows, dictionaries = job
    state.unpacker.carry(dictionaries)
    lead, unpack = state.rules.lead_chars, state.unpacker.unpack
    reports = [
        Report(i, outlet, from_iso(at), title, texts_of(unpack(text))[2][:lead]) for i, outlet, at, title, text in rows
    ]
    return zone_links(reports, zone, state.rules)


def _restory(store: Store, touched: Sequence[str], rules: Rules) -> int:
    """The stories of the articles a touched article reaches, by links or through a story they were
    in, made again from the stored links, written where they changed and logged; how many were
    made, changed or gone."""
    links, before = _linked_groups(store, touched)
    # Only an article with a link can be in a story: one with none stands alone, and nothing of
    # it is read (its text's lead, its figures). Most touched articles have none.
    members = store.members(sorted({i for _, a, b in links for i in (a, b)}), rules.lead_chars)
    stated = {i: figures(m.title, m.lead, lead_chars=rules.lead_chars) for i, m in members.items()}
    groups = clusters(links, {i: members[i].outlet for i in members}, stated, rules.story_figures)
    made = {story.id: _row(story.id, story.members, members) for story in stories_of(groups, _times(members))}
    written = [row for story_id, row in made.items() if before.get(story_id) != row]
    gone = sorted(before.keys() - made.keys())
    if not written and not gone:
        return 0
    store.write_stories(written, gone, before)
    store.set_members((m, row.id, members[m].published) for row in written for m in row.members)
    store.note_story_changes(
        {row.id: before[row.id].published if row.id in before else None for row in written}
        | {story_id: before[story_id].published for story_id in gone}
    )
    # An article's pages say who else reported it: those whose reporters changed are logged too.
    was = {m: row.reporters for row in before.values() for m in row.members}
    now = {m: row.reporters for row in made.values() for m in row.members}
    shown = sorted(i for i in was.keys() | now.keys() if was.get(i) != now.get(i))  # `placed` leaves out the pruned
    for entry_id, placed in store.placed(shown).items():
        store.note_change(entry_id, placed)
    store.bump_generation(len(written) + len(gone))
    return len(written) + len(gone)


def _linked_groups(store: Store, start: Iterable[str]) -> tuple[list[tuple[float, str, str]], dict[str, StoryRow]]:
    """The links and the stories (as they stand) of the articles reached from those given, them
    included, by any chain of stored links and of stored stories' members.

    A story that loses a link may keep others, between articles no change touched (the far end
    of a link lies up to a window outside the zone that made it again): its members are reached
    through the story, so that what is left of it is made into a story again, not dropped."""
    reached = set(start)
    links: set[tuple[float, str, str]] = set()
    stories: dict[str, StoryRow] = {}
    frontier = sorted(reached)
    while frontier:
        found = store.links_of(frontier)
        links.update(found)
        held = store.story_rows(sorted(set(store.stories_of(frontier).values()) - stories.keys()))
        stories.update(held)
        fresh = {i for _, a, b in found for i in (a, b)} | {m for row in held.values() for m in row.members}
        fresh -= reached
        reached |= fresh
        frontier = sorted(fresh)
    return sorted(links), stories


def _row(story_id: str, ids: Sequence[str], members: dict[str, Member]) -> StoryRow:
    """A story's row: dated by its first member, updated with its newest member's `updated`."""
    revision = json.dumps([(i, members[i].revision) for i in ids])
    reporters = json.dumps([(i, members[i].outlet, members[i].title) for i in ids], ensure_ascii=False)
    return StoryRow(
        story_id, members[ids[0]].published, max(members[i].updated for i in ids),
        hashlib.sha1(revision.encode()).hexdigest(), hashlib.sha1(reporters.encode()).hexdigest(), tuple(ids),
    )  # fmt: skip


def _times(members: dict[str, Member]) -> dict[str, int]:
    """Each article's published time in microseconds since the epoch, as `Report.at` counts it."""
    return {i: (from_iso(m.published) - _EPOCH) // _MICROSECOND for i, m in members.items()}


def _iso(at: int) -> str:
    """A time in microseconds since the epoch as the store writes times."""
    return iso(_EPOCH + at * _MICROSECOND)


def _day_number(day: str) -> int:
    return (date.fromisoformat(day) - _EPOCH.date()).days


def _day(number: int) -> str:
    return (_EPOCH.date() + timedelta(days=number)).isoformat()

"""The links a change can reach, made again from the articles near it: how the store's stories are kept.

`group` (grouping.py) links articles from the whole set; the store cannot hold the whole set in
memory, nor the signatures and scores `Grouping` (incremental.py) keeps. It keeps the links, and
makes again those of the time a change can reach, from the articles stored around it. What
reaches how far, with c = `context_days` and W the window:

1. An article added, changed or removed changes its day's term counts, so the signatures of the
   articles of the days within c of it: the *weighed* articles.
2. Their scores with the articles within W change, so the best matches of those.
3. A link depends on its pair's score and both best matches: the links that can change are those
   with an end within W of a weighed article. That span of time is the change's *zone*.
4. Deciding a link of the zone again needs the best match of each end: of the articles within W of
   the zone, each scored with every article within W of it, each weighed among the days within c
   of its own. So the articles read are those of the zone, 2W and c days either side (`reads`).

Every link with an end in a zone is made again here, and every other link stands: a zone's links
are exactly those `group` makes of the whole set. Stories are then the linked groups the zone's
links touch (grouping.clusters), made from the stored links, however far a group reaches.
A long zone (a first build, new rules) is cut into pieces of at most `PIECE_ARTICLES` articles,
each read with its own margins, so that what is held in memory is bounded at any size of archive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from feedtool.stories.grouping import (
    _DAY,
    Report,
    Rules,
    is_link,
    order,
    reading_of,
    sweep,
)
from feedtool.stories.similarity import Signature, context, signature

PIECE_ARTICLES = 10_000  # the most articles of a zone made again at once (a few hundred megabytes)

Zone = tuple[int, int]  # [first, last] microsecond since the epoch, both included


def zones(days: Iterable[int], rules: Rules) -> list[Zone]:
    """The zones of changes on these days (UTC days since the epoch), overlapping ones joined, in time order."""
    c, w = rules.context_days, rules.window
    joined: list[list[int]] = []
    for day in sorted(set(days)):
        lo, hi = (day - c) * _DAY - w, (day + c + 1) * _DAY - 1 + w
        if joined and lo <= joined[-1][1] + 1:
            joined[-1][1] = max(joined[-1][1], hi)
        else:
            joined.append([lo, hi])
    return [(lo, hi) for lo, hi in joined]


def pieces(zone: Zone, articles: Mapping[int, int], most: int = PIECE_ARTICLES) -> list[Zone]:
    """A zone cut at day boundaries into pieces of at most `most` articles (`articles`: how many each
    day has), but never less than a day: a first build's zone is the whole archive."""
    lo, hi = zone
    cut: list[Zone] = []
    start, held = lo, 0
    for day in range(lo // _DAY, hi // _DAY + 1):
        count = articles.get(day, 0)
        if held and held + count > most:
            cut.append((start, day * _DAY - 1))
            start, held = day * _DAY, 0
        held += count
    return [*cut, (start, hi)]


def reads(zone: Zone, rules: Rules) -> tuple[int, int]:
    """The first and last day (UTC days since the epoch) whose articles deciding a zone's links needs."""
    lo, hi = zone
    return (lo - 2 * rules.window) // _DAY - rules.context_days, (hi + 2 * rules.window) // _DAY + rules.context_days


def zone_links(reports: Iterable[Report], zone: Zone, rules: Rules) -> list[tuple[float, str, str]]:
    """The links (score, id, id; ids in order) with an end published within the zone, as `group` makes
    them of the whole set; `reports` must hold every article of the days `reads(zone)` names."""
    lo, hi = zone
    w = rules.window
    ordered = sorted(reports, key=order)
    readings = [reading_of(r, rules) for r in ordered]
    terms = [found.terms for found in readings]
    per_day: Counter[int] = Counter(r.day for r in ordered)
    df: dict[int, Counter[str]] = {}
    for report, found in zip(ordered, terms, strict=True):
        df.setdefault(report.day, Counter()).update(found.keys())
    # Scored: the articles within 2W of the zone, whose days' neighbours are all read.
    scored = [i for i, r in enumerate(ordered) if lo - 2 * w <= r.at <= hi + 2 * w]
    if not scored:
        return []
    among = range(scored[0], scored[-1] + 1)
    contexts = {day: context(day, rules.context_days, per_day, df) for day in {ordered[i].day for i in among}}
    stated = {ordered[i].id: readings[i].figures for i in among}
    del readings
    # Each article's terms let go once it is signed: held beside every signature, they took a
    # piece of 12,000 articles from 146 to 181 MiB.
    done: Counter[str] = Counter()
    sigs: list[Signature] = [{} for _ in ordered]
    for i in among:
        sigs[i] = signature(terms[i], *contexts[ordered[i].day], rules.signature_terms)
        terms[i] = done
    pairs, best = sweep(ordered, sigs, stated, rules, among)
    at = {ordered[i].id: ordered[i].at for i in among}
    return [
        (s, a, b) for s, a, b in pairs if (lo <= at[a] <= hi or lo <= at[b] <= hi) and is_link(s, a, b, best, rules)
    ]

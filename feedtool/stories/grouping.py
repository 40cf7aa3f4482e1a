"""Articles into stories, in one pass: the definition that the incremental form (incremental.py) keeps.

Two articles of different outlets published within `window_hours` of each other are compared by
their score: their similarity (similarity.py) times a decay from 1 for the same moment down to
1 - `decay` at the window's edge (reports of one event come within hours; the same two people's
next meeting comes days later). They are linked when

- the score is at least `similarity`, or
- the score is at least `mutual_similarity` and each is the other's best match: the article,
  of another outlet within the window, that scores highest with it. This is what links two
  reports in a small archive, where rarity cannot be told and every score is low (the seeds:
  RFI's and RFA's reports of Wang Yi's visit to Washington score 0.19).

Two articles whose figures contradict are never linked: each states some (terms.figures: the
magnitudes, counts, shares and days of the month it gives) and they share none, or each title
states figures the other article states nowhere. Told in the same words, two earthquakes a day
apart, or two days' counts of aircraft, are two events; what tells them apart is their figures.

Linked articles make a story, but not by every chain of links: an outlet reports an event once,
so a story holds at most one article of each outlet, and no two articles each stating
`story_figures` figures or more that share none (a chain would join the earthquakes through a
third report that states none of the figures). The links are taken strongest first (ties
by the entry ids), and each joins two groups unless they hold an article of the same outlet.
Plain chains of links, which a connected group would follow, joined whole weeks of one subject's
coverage into one "story" on corpus A of bench/stories.py. A group of two or more articles is a story;
an article in none stands alone.

A story's id is derived from its first member, the earliest by (published, entry id): a story
that grows at its newer end, as news does, keeps its id. When a new article joins two stories,
the merged story keeps the id of the one that began first, and the other's id is gone; when a
prune or a re-derivation parts a story, the part holding the first member keeps the id and the
other part takes its own first member's.

The grouping is a pure function of the set of articles and the rules: any order of arrival, any
split into runs, gives the same stories (tests/stories/test_stories.py holds `Grouping` equal to `group`).
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

from feedtool.errors import ConfigError
from feedtool.rules import STORY_LEAD_CHARS
from feedtool.stories.similarity import Signature, context, signature, similarity, strongest
from feedtool.stories.terms import Figures, Reading, counts, figures, read

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY = 86_400_000_000  # microseconds


@dataclass(frozen=True)
class Report:
    """One article as the grouping sees it: an entry's id, outlet, published time, title and text."""

    id: str
    outlet: str
    published: datetime  # aware
    title: str
    text: str

    @cached_property  # asked for every pair an article is compared in
    def at(self) -> int:
        """Microseconds since the epoch: an exact integer, so that the window is compared exactly."""
        return (self.published - _EPOCH) // _MICROSECOND

    @property
    def day(self) -> int:
        return self.at // _DAY


@dataclass(frozen=True)
class Rules:
    """What links two articles. The defaults were chosen on corpus A of bench/stories.py."""

    window_hours: float = 72.0
    similarity: float = 0.3
    mutual_similarity: float = 0.15  # enough for two articles that are each other's best match
    decay: float = 0.5  # the score's fall from the same moment to the window's edge
    context_days: int = 3  # rarity is counted among the articles of this many days either side
    signature_terms: int = 100
    candidate_terms: int = 25  # two articles are compared when they share one of each one's heaviest this many
    title_weight: int = 1
    lead_chars: int = STORY_LEAD_CHARS  # the store's lead digests cover these (rules.py)
    contradicting_figures: int = 1  # figures each of two articles states, none shared, that keep them apart
    story_figures: int = 2  # the same, for two articles of one story (linked through others)

    def __post_init__(self) -> None:
        if not self.window_hours > 0:
            raise ConfigError(f"[stories] window_hours must be more than 0, not {self.window_hours}")
        if not 0 < self.similarity <= 1 or not 0 < self.mutual_similarity <= self.similarity:
            raise ConfigError(
                f"[stories] similarity must be more than 0 and at most 1, not {self.similarity},"
                f" and mutual_similarity more than 0 and at most similarity, not {self.mutual_similarity}"
            )
        if (
            not 0 <= self.decay < 1 or self.context_days < 0 or self.signature_terms < 1 or self.title_weight < 1
            or self.candidate_terms < 1 or self.contradicting_figures < 1 or self.story_figures < 1
        ):  # fmt: skip
            raise ConfigError(
                "[stories] decay, context_days, signature_terms, candidate_terms, title_weight,"
                " contradicting_figures or story_figures is out of range"
            )

    @cached_property
    def window(self) -> int:
        return round(self.window_hours * 3_600_000_000)


RULES = Rules()


@dataclass(frozen=True)
class Story:
    """Articles of several outlets about one event. `members` are entry ids by (published, id)."""

    id: str
    members: tuple[str, ...]


def story_id(first: str) -> str:
    """A story's id, from the entry id of its first member: short and safe in a URL."""
    return hashlib.sha256(first.encode()).hexdigest()[:16]


def terms_of(report: Report, rules: Rules) -> Counter[str]:
    return counts(report.title, report.text, title_weight=rules.title_weight, lead_chars=rules.lead_chars)


def figures_of(report: Report, rules: Rules) -> Figures:
    return figures(report.title, report.text, lead_chars=rules.lead_chars)


def reading_of(report: Report, rules: Rules) -> Reading:
    """An article's terms and figures at once (a pass over many reads each article both ways)."""
    return read(report.title, report.text, title_weight=rules.title_weight, lead_chars=rules.lead_chars)


def contradict(a: Figures, b: Figures, least: int) -> bool:
    """Whether two articles' figures tell two events: each states `least` or more, none shared."""
    return len(a.stated) >= least and len(b.stated) >= least and a.stated.isdisjoint(b.stated)


def headlines_apart(a: Figures, b: Figures) -> bool:
    """Whether each article's title states figures that the other states nowhere: two days of a
    series ("35架次" and "39架次" in the titles), where one event's two reports may headline two of
    its figures, but each then states the other's in its lead."""
    return bool(a.headline and b.headline) and a.headline.isdisjoint(b.stated) and b.headline.isdisjoint(a.stated)


def signatures(reports: Sequence[Report], terms: Sequence[Counter[str]], rules: Rules) -> list[Signature]:
    """Each article's signature, weighed among the articles near it in time."""
    per_day: Counter[int] = Counter(r.day for r in reports)
    df: dict[int, Counter[str]] = {}
    for report, found in zip(reports, terms, strict=True):
        df.setdefault(report.day, Counter()).update(found.keys())
    contexts = {day: context(day, rules.context_days, per_day, df) for day in per_day}
    return [signature(found, *contexts[r.day], rules.signature_terms) for r, found in zip(reports, terms, strict=True)]


def score(a: Report, b: Report, sa: Signature, sb: Signature, rules: Rules, stated: tuple[Figures, Figures]) -> float:
    """How strongly two articles of different outlets within the window belong together (else 0);
    `stated`: the figures of each."""
    apart = abs(a.at - b.at)
    if a.outlet == b.outlet or apart > rules.window:
        return 0.0
    if contradict(*stated, rules.contradicting_figures) or headlines_apart(*stated):
        return 0.0
    return similarity(sa, sb) * (1.0 - rules.decay * apart / rules.window)


Best = tuple[float, str]  # an article's best match: its score and entry id (0.0, "") for none


def better(best: Best, s: float, other: str) -> Best:
    """The best of two matches: the higher score, on a tie the greater entry id."""
    return max(best, (s, other))


def is_link(s: float, a: str, b: str, best: Mapping[str, Best], rules: Rules) -> bool:
    if s >= rules.similarity:
        return True
    return s >= rules.mutual_similarity and best[a][1] == b and best[b][1] == a


def clusters(
    links: Iterable[tuple[float, str, str]], outlet: Mapping[str, str], stated: Mapping[str, Figures],
    least: int,
) -> list[list[str]]:  # fmt: skip
    """Linked articles into groups holding one article of an outlet at most, and no two whose
    figures (`stated`) contradict: the links taken strongest first (ties by the ids), each
    joining two groups whose outlets do not meet and whose figures do not clash."""
    parent: dict[str, str] = {}
    outlets: dict[str, set[str]] = {}
    members: dict[str, list[str]] = {}

    def clash(x: list[str], y: list[str]) -> bool:
        return any(contradict(stated[i], stated[j], least) for i in x for j in y)

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _, a, b in sorted(links, key=_strongest):
        for x in (a, b):
            if x not in parent:
                parent[x], outlets[x], members[x] = x, {outlet[x]}, [x]
        ra, rb = root(a), root(b)
        if ra != rb and outlets[ra].isdisjoint(outlets[rb]) and not clash(members[ra], members[rb]):
            parent[rb] = ra
            outlets[ra] |= outlets.pop(rb)
            members[ra] += members.pop(rb)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    return [g for g in groups.values() if len(g) > 1]


def _strongest(link: tuple[float, str, str]) -> tuple[float, str, str]:
    return (-link[0], link[1], link[2])


def stories_of(groups: Iterable[list[str]], at: Mapping[str, int]) -> list[Story]:
    """Groups as stories, members by (published, id), the id from the first."""
    made = []
    for group in groups:
        members = tuple(sorted(group, key=lambda i: (at[i], i)))
        made.append(Story(story_id(members[0]), members))
    return made


def group(reports: Iterable[Report], rules: Rules = RULES) -> tuple[Story, ...]:
    """The stories among `reports` (ids unique), in the order of their first members."""
    ordered = sorted(reports, key=order)
    if len({r.id for r in ordered}) != len(ordered):
        raise ValueError("each report's id must be unique")
    readings = [reading_of(r, rules) for r in ordered]
    sigs = signatures(ordered, [found.terms for found in readings], rules)
    stated = {r.id: found.figures for r, found in zip(ordered, readings, strict=True)}
    scored, best = sweep(ordered, sigs, stated, rules, range(len(ordered)))
    links = [(s, a, b) for s, a, b in scored if is_link(s, a, b, best, rules)]
    groups = clusters(links, {r.id: r.outlet for r in ordered}, stated, rules.story_figures)
    at = {r.id: r.at for r in ordered}
    return tuple(sorted(stories_of(groups, at), key=lambda s: (at[s.members[0]], s.members[0])))


def sweep(
    ordered: Sequence[Report], sigs: Sequence[Signature], stated: Mapping[str, Figures], rules: Rules,
    among: range,
) -> tuple[list[tuple[float, str, str]], dict[str, Best]]:  # fmt: skip
    """Every pair of the articles `ordered[among]` that scores above 0, and each one's best match;
    `stated`: the figures of each article.

    In time order: each article meets those of the last window that share one of its
    `candidate_terms` strongest terms among theirs (similarity.py says why not every term).

    Of those, most are of its own outlet or state figures that contradict its own: `score` gives
    such a pair 0. A week of a busy subject meets about five hundred articles an article and keeps
    one in a hundred, so the others are set aside first, by set operations over the articles of
    each outlet and of each figure, rather than pair by pair in Python.
    """
    scored: list[tuple[float, str, str]] = []
    best: dict[str, Best] = {ordered[i].id: (0.0, "") for i in among}
    postings: dict[str, deque[int]] = {}
    of_outlet: dict[str, set[int]] = {}
    stating: dict[str, set[int]] = {}  # a figure -> the articles that state it
    few: set[int] = set()  # the articles stating too few figures for any to contradict them
    least = rules.contradicting_figures
    for i in among:
        report = ordered[i]
        seen: set[int] = set()
        for term in strongest(sigs[i], rules.candidate_terms):
            posted = postings.setdefault(term, deque())
            while posted and report.at - ordered[posted[0]].at > rules.window:
                posted.popleft()
            seen.update(posted)
            posted.append(i)
        seen = seen.difference(of_outlet.setdefault(report.outlet, set()))
        figures = stated[report.id].stated
        if len(figures) >= least:
            seen = (seen & few).union(*(seen & stating[f] for f in figures if f in stating))
            for f in figures:
                stating.setdefault(f, set()).add(i)
        else:
            few.add(i)
        of_outlet[report.outlet].add(i)
        for j in seen:
            other = ordered[j]
            if (s := score(other, report, sigs[j], sigs[i], rules, (stated[other.id], stated[report.id]))) > 0:
                a, b = sorted((other.id, report.id))
                scored.append((s, a, b))
                best[a], best[b] = better(best[a], s, b), better(best[b], s, a)
    return scored, best


def order(report: Report) -> tuple[int, str]:
    """Articles in time order, ties by id: the order every pass over them takes."""
    return (report.at, report.id)

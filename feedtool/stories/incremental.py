"""Stories kept as articles arrive, change and are pruned: the same stories `group` makes of the set.

What one changed article (added, re-derived, or pruned) can reach, and so what is made again:

1. Its day's term counts change, so the signatures of the articles within `context_days` of
   that day change (similarity.py: rarity is counted among the days either side). Those are
   weighed again: the *weighed* set.
2. The scores of every pair with a weighed or removed article are computed again (its
   candidates: the articles within the window that share one of its strongest terms).
3. An article's best match changes only with its scores: best matches are found again for the
   weighed articles and every article that scored, before or now, with one of them.
4. A link depends on a pair's score and the two best matches: the links of the articles of
   step 3 are decided again; every other link stands.
5. A story depends on the links of its connected group of linked articles (grouping.clusters):
   the groups that a link made or lost in step 4 touches are made into stories again, with the
   stories they held before.

So a cron run's new articles of the last day cost the articles of a week (`context_days` either
side) and their neighbours, however large the archive; rarity counted over the whole archive
would make every run weigh the whole archive again. The store keeps less than this class does
in memory: the links and the stories, and the days that changed; what a change reaches is made
again from the articles stored around it (zones.py, kept.py), by the same steps.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from feedtool.stories.grouping import (
    _DAY,
    RULES,
    Best,
    Report,
    Rules,
    Story,
    better,
    clusters,
    is_link,
    reading_of,
    score,
    stories_of,
)
from feedtool.stories.similarity import Signature, context, signature, strongest
from feedtool.stories.terms import Figures


@dataclass(frozen=True)
class Changes:
    """What an update did to the stories: those new or with other members, and the ids gone."""

    made: tuple[Story, ...]
    gone: tuple[str, ...]


class Grouping:
    """The stories of a set of articles, kept as the set changes (add, remove)."""

    def __init__(self, rules: Rules = RULES) -> None:
        self.rules = rules
        self._reports: dict[str, Report] = {}
        self._terms: dict[str, Counter[str]] = {}
        self._figures: dict[str, Figures] = {}
        self._day_ids: dict[int, set[str]] = {}
        self._df: dict[int, Counter[str]] = {}
        self._sigs: dict[str, Signature] = {}
        self._posted_day: dict[str, int] = {}  # the day an article's signature terms are posted under
        self._postings: dict[int, dict[str, set[str]]] = {}  # day -> term -> articles
        self._scores: dict[str, dict[str, float]] = {}  # every pair that scored above 0, both ways
        self._best: dict[str, Best] = {}
        self._links: dict[str, dict[str, float]] = {}
        self._story_of: dict[str, str] = {}
        self._stories: dict[str, Story] = {}

    def stories(self) -> tuple[Story, ...]:
        """Every story, in the order of their first members (as `group` gives them)."""
        first = {story: self._reports[story.members[0]] for story in self._stories.values()}
        return tuple(sorted(self._stories.values(), key=lambda s: (first[s].at, first[s].id)))

    def add(self, reports: Iterable[Report]) -> Changes:
        """Articles new or changed (one with a known id replaces it: a re-derivation)."""
        return self._update(list(reports), ())

    def remove(self, ids: Iterable[str]) -> Changes:
        """Articles pruned; ids not held are ignored."""
        return self._update([], tuple(ids))

    def _update(self, arrived: list[Report], pruned: tuple[str, ...]) -> Changes:
        changed_days: set[int] = set()
        stale: set[str] = set()  # articles whose signature, scores and links are to be dropped
        for id_ in pruned:
            if id_ in self._reports:
                changed_days.add(self._forget(id_))
                stale.add(id_)
        for report in {r.id: r for r in arrived}.values():  # the last of one id in a batch wins
            if report.id in self._reports:
                changed_days.add(self._forget(report.id))
            stale.add(report.id)
            self._remember(report)
            changed_days.add(report.day)
        span = self.rules.context_days
        near = {d + k for d in changed_days for k in range(-span, span + 1)}
        weighed = {i for d in near for i in self._day_ids.get(d, ())}
        touched: set[str] = set()
        for id_ in weighed | stale:
            touched |= self._drop(id_)
        self._weigh(weighed)
        for id_ in weighed:
            touched |= self._score(id_)
        rematched = (weighed | touched) & self._reports.keys()
        for id_ in rematched:
            best: Best = (0.0, "")
            for other, s in self._scores.get(id_, {}).items():
                best = better(best, s, other)
            self._best[id_] = best
        return self._relink(rematched, touched | stale)

    def _remember(self, report: Report) -> None:
        reading = reading_of(report, self.rules)
        found = reading.terms
        self._reports[report.id] = report
        self._terms[report.id] = found
        self._figures[report.id] = reading.figures
        self._day_ids.setdefault(report.day, set()).add(report.id)
        self._df.setdefault(report.day, Counter()).update(found.keys())

    def _forget(self, id_: str) -> int:
        report = self._reports.pop(id_)
        found = self._terms.pop(id_)
        del self._figures[id_]
        day = report.day
        self._day_ids[day].discard(id_)
        df = self._df[day]
        df.subtract(found.keys())
        for term in found:
            if df[term] <= 0:
                del df[term]
        if not self._day_ids[day]:
            del self._day_ids[day], self._df[day]
        return day

    def _drop(self, id_: str) -> set[str]:
        """An article's signature, postings, scores and links dropped; the articles it scored with."""
        day = self._posted_day.pop(id_, None)
        if day is not None:
            terms = self._postings[day]
            for term in strongest(self._sigs.pop(id_), self.rules.candidate_terms):
                posted = terms[term]
                posted.discard(id_)
                if not posted:
                    del terms[term]
        neighbours = set(self._scores.pop(id_, {}))
        for other in neighbours:
            del self._scores[other][id_]
        for other in self._links.pop(id_, {}):
            del self._links[other][id_]
            neighbours.add(other)
        self._best.pop(id_, None)
        return neighbours

    def _weigh(self, ids: set[str]) -> None:
        contexts: dict[int, tuple[int, Counter[str]]] = {}
        count = {day: len(ids_) for day, ids_ in self._day_ids.items()}
        for id_ in ids:
            day = self._reports[id_].day
            if day not in contexts:
                contexts[day] = context(day, self.rules.context_days, count, self._df)
            sig = signature(self._terms[id_], *contexts[day], self.rules.signature_terms)
            self._sigs[id_] = sig
            self._posted_day[id_] = day
            terms = self._postings.setdefault(day, {})
            for term in strongest(sig, self.rules.candidate_terms):
                terms.setdefault(term, set()).add(id_)

    def _score(self, id_: str) -> set[str]:
        """The scores of an article with its candidates, kept both ways; the candidates that scored."""
        report, sig, rules = self._reports[id_], self._sigs[id_], self.rules
        days = range((report.at - rules.window) // _DAY, (report.at + rules.window) // _DAY + 1)
        candidates: set[str] = set()
        for day in days:
            if (terms := self._postings.get(day)) is not None:
                for term in strongest(sig, rules.candidate_terms):
                    candidates.update(terms.get(term, ()))
        candidates.discard(id_)
        scored = set()
        mine = self._scores.setdefault(id_, {})
        for other in candidates:
            s = score(
                report, self._reports[other], sig, self._sigs[other], rules, (self._figures[id_], self._figures[other])
            )
            if s > 0:
                mine[other] = s
                self._scores.setdefault(other, {})[id_] = s
                scored.add(other)
        return scored

    def _relink(self, rematched: set[str], touched: set[str]) -> Changes:
        """The links of `rematched` decided again, then the stories of every group a change reaches."""
        reached = set(touched)
        for id_ in rematched:
            for other in self._links.pop(id_, {}):
                self._links[other].pop(id_, None)
                reached.add(other)
        for id_ in rematched:
            for other, s in self._scores.get(id_, {}).items():
                if is_link(s, id_, other, self._best, self.rules):
                    self._links.setdefault(id_, {})[other] = s
                    self._links.setdefault(other, {})[id_] = s
                    reached.add(other)
        reached |= rematched
        before = {self._story_of[i] for i in reached if i in self._story_of}
        previous = {story: self._stories[story] for story in before}
        starts = (reached | {m for s in before for m in self._stories[s].members}) & self._reports.keys()
        for story in before:
            for member in self._stories.pop(story).members:
                self._story_of.pop(member, None)
        groups = []
        seen: set[str] = set()
        for start in starts:
            if start in seen:
                continue
            component, queue = [], deque([start])
            seen.add(start)
            while queue:
                node = queue.popleft()
                component.append(node)
                for other in self._links.get(node, {}):
                    if other not in seen:
                        seen.add(other)
                        queue.append(other)
            links = [(s, a, b) for a in component for b, s in self._links.get(a, {}).items() if a < b]
            outlets = {i: self._reports[i].outlet for i in component}
            groups += clusters(links, outlets, {i: self._figures[i] for i in component}, self.rules.story_figures)
        made = stories_of(groups, {i: self._reports[i].at for g in groups for i in g})
        for new in made:
            self._stories[new.id] = new
            for member in new.members:
                self._story_of[member] = new.id
        now = {s.id for s in made}
        return Changes(
            made=tuple(s for s in made if previous.get(s.id) != s),
            gone=tuple(sorted(before - now)),
        )

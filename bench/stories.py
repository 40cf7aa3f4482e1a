"""How well articles are grouped into stories, and at what cost: measured on two labelled corpora.

    python bench/stories.py            # writes bench/stories.json; a few minutes
    python bench/stories.py --quick    # fewer settings, nothing written

Corpus A (bench/stories_wire.py, diplomacy) is where the thresholds are chosen: every setting of
the grid is scored on it, and the best F1 among the settings that link the seeds' pair (RFI's and
RFA's reports of Wang Yi's visit to Washington) is taken. Corpus B (bench/stories_desks.py,
another generator: other news, outlets, scripts and distractors) is only reported, at the
settings chosen on A.

Precision and recall are over pairs: of the pairs of articles the grouping put in one story, the
share that report one event (precision); of the pairs that report one event, the share put in one
story (recall).

Two methods are compared, each with the same window, decay and one-article-per-outlet rule:
TF-IDF cosine over signatures (feedtool.stories, as shipped) and Jaccard similarity of the term
sets, which is what MinHash (datasketch) estimates: MinHash can only add its estimation error to
Jaccard's figures, so exact Jaccard is MinHash's best case.

Time per entry: `group()` over each corpus, and a cron run: `Grouping.add` of the last day's
articles to a Grouping that holds the rest. What one day's links cost as a day's articles grow,
and how many of a signature's terms find an article's candidates (`candidate_terms`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import stories_desks  # noqa: E402
import stories_wire  # noqa: E402

from feedtool.stories.grouping import (  # noqa: E402
    RULES,
    Report,
    Rules,
    clusters,
    contradict,
    figures_of,
    group,
    headlines_apart,
    terms_of,
)  # fmt: skip
from feedtool.stories.incremental import Grouping  # noqa: E402
from feedtool.stories.zones import zone_links  # noqa: E402

Labelled = list[tuple[Report, str | None]]


def pairs(groups: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups for pair in itertools.combinations(sorted(members), 2)}


def scored(corpus: Labelled, groups: Iterable[Sequence[str]]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a grouping against the corpus's labels."""
    events: dict[str, list[str]] = {}
    for report, label in corpus:
        if label is not None:
            events.setdefault(label, []).append(report.id)
    truth, found = pairs(events.values()), pairs(groups)
    right = len(truth & found)
    precision = right / len(found) if found else 1.0
    recall = right / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if right else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def seeds() -> list[Report]:
    from feedtool.config import load_config
    from feedtool.derive.normalise import Normaliser
    from feedtool.models import Entry

    normaliser = Normaliser(load_config(None).rules)
    found = []
    for path in sorted((HERE.parent / "seeds").glob("*.txt")):
        entry = normaliser.file(path.read_bytes(), str(path))
        assert isinstance(entry, Entry) and entry.published is not None
        found.append(Report(path.name[:3], entry.outlet, entry.published, entry.title, entry.search_text))
    return found


def jaccard_groups(corpus: Labelled, threshold: float, rules: Rules) -> list[list[str]]:
    """The same rule with Jaccard similarity of term sets in place of the signatures' cosine (and
    the same figures kept apart)."""
    reports = sorted((r for r, _ in corpus), key=lambda r: (r.at, r.id))
    terms = {r.id: frozenset(terms_of(r, rules)) for r in reports}
    stated = {r.id: figures_of(r, rules) for r in reports}
    links = []
    for i, a in enumerate(reports):
        for b in reports[i + 1 :]:
            if b.at - a.at > rules.window:
                break
            apart = contradict(stated[a.id], stated[b.id], rules.contradicting_figures)
            if a.outlet != b.outlet and not (apart or headlines_apart(stated[a.id], stated[b.id])):
                shared = len(terms[a.id] & terms[b.id])
                s = shared / (len(terms[a.id]) + len(terms[b.id]) - shared or 1)
                s *= 1.0 - rules.decay * (b.at - a.at) / rules.window
                if s >= threshold:
                    links.append((s, *sorted((a.id, b.id))))
    return clusters(links, {r.id: r.outlet for r in reports}, stated, rules.story_figures)


def by_density(rules: Rules, per_day: Sequence[int] = (27, 137, 400, 560)) -> list[dict[str, float]]:
    """What one day's links cost as the archive's articles a day grow: a cron run makes again the
    links of the days its articles touch (stories/zones.py), from every article of about three
    weeks around them, and compares every pair within the window. Corpus A's articles (seed 7,
    more of them), laid out evenly `per_day` a day over 21 days, and the links of one hour in
    the middle made: CPU seconds. 27 a day is bench/run.py's 20,000 articles over 730 days."""
    pool = [r for r, _ in stories_wire.reports(7, count=2400)]
    start = 1_704_067_200 * 1_000_000  # 2024-01-01, in microseconds as Report.at counts
    day = 86_400 * 1_000_000
    measured = []
    for n in per_day:
        laid = [
            Report(r.id, r.outlet, datetime.fromtimestamp((start + k * day // n) / 1e6, UTC), r.title, r.text)
            for k, r in enumerate(pool[: n * 21])
        ]  # fmt: skip
        zone = (start + 10 * day, start + 10 * day + day // 24)
        started = time.process_time()
        links = zone_links(laid, zone, rules)
        measured.append({"per_day": n, "articles_read": len(laid), "links": len(links),
                         "cpu_seconds": round(time.process_time() - started, 2)})  # fmt: skip
        print(measured[-1], flush=True)
    return measured


def by_candidate_terms(a: Labelled, b: Labelled, rules: Rules) -> list[dict[str, object]]:
    """How many of a signature's heaviest terms find an article's candidates: the scores on both
    corpora and the CPU of one day's links at 400 articles a day (as `by_density`), for each.
    The default is the fewest with which neither corpus's F1 falls below its F1 with every term."""
    tried = []
    for terms in (10, 15, 20, 25, 30, 40, rules.signature_terms):
        with_terms = replace(rules, candidate_terms=terms)
        found = {name: scored(corpus, [s.members for s in group([r for r, _ in corpus], with_terms)])
                 for name, corpus in (("A", a), ("B", b))}  # fmt: skip
        cost = by_density(with_terms, (400,))[0]["cpu_seconds"]
        tried.append({"candidate_terms": terms, **found, "cpu_seconds_at_400_a_day": cost})
        print(tried[-1], flush=True)
    return tried


def timed(corpus: Labelled, rules: Rules) -> dict[str, float]:
    """Milliseconds an entry: one pass over the corpus, and a cron run of its last day's articles."""
    reports = [r for r, _ in corpus]
    started = time.process_time()
    group(reports, rules)
    fresh = time.process_time() - started
    last = max(r.day for r in reports)
    grouping = Grouping(rules)
    grouping.add(r for r in reports if r.day < last)
    new = [r for r in reports if r.day == last]
    started = time.process_time()
    grouping.add(new)
    cron = time.process_time() - started
    return {
        "group_ms_per_entry": round(1000 * fresh / len(reports), 3),
        "cron_articles": len(new),
        "cron_ms_per_new_entry": round(1000 * cron / len(new), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    a, b = stories_wire.reports(1), stories_desks.reports(1)
    pair = seeds()
    grid = [(0.3, 0.15), (0.35, 0.2)] if args.quick else [
        (s, m) for s in (0.25, 0.3, 0.35, 0.4) for m in (0.1, 0.15, 0.2, 0.3, 0.4) if m <= s
    ]  # fmt: skip
    tried = []
    for similarity, mutual in grid:
        rules = replace(RULES, similarity=similarity, mutual_similarity=mutual)
        stories = group(pair, rules)
        links_seeds = any({"003", "004"} <= set(s.members) for s in stories)
        tried.append({"similarity": similarity, "mutual_similarity": mutual, "seeds_pair_linked": links_seeds,
                      "A": scored(a, [s.members for s in group([r for r, _ in a], rules)])})  # fmt: skip
        print(tried[-1], flush=True)
    chosen = max((t for t in tried if t["seeds_pair_linked"]), key=lambda t: t["A"]["f1"])
    rules = replace(RULES, similarity=chosen["similarity"], mutual_similarity=chosen["mutual_similarity"])
    tfidf = {"A": chosen["A"], "B": scored(b, [s.members for s in group([r for r, _ in b], rules)])}
    jaccard = []
    for threshold in (0.1, 0.15, 0.2, 0.25, 0.3):
        jaccard.append({"threshold": threshold, "A": scored(a, jaccard_groups(a, threshold, rules))})
        print(jaccard[-1], flush=True)
    best = max(jaccard, key=lambda t: t["A"]["f1"])
    best["B"] = scored(b, jaccard_groups(b, best["threshold"], rules))
    result = {
        "date": date.today().isoformat(),
        "command": "python bench/stories.py",
        "machine": {"cpus": 2, "python": platform.python_version(), "system": platform.system()},
        "corpora": {
            "A": {"articles": len(a), "events": len({x for _, x in a if x})},
            "B": {"articles": len(b), "events": len({x for _, x in b if x})},
        },
        "rules": asdict(rules),
        "tfidf": tfidf,
        "jaccard": best,
        "grid": tried,
        "jaccard_grid": jaccard,
        "time": {"A": timed(a, rules), "B": timed(b, rules)},
        "one_day_of_links_by_density": by_density(rules),
        "candidate_terms": by_candidate_terms(a, b, rules),
    }
    print(json.dumps({k: result[k] for k in ("rules", "tfidf", "jaccard", "time")}, indent=1))
    if not args.quick:
        (HERE / "stories.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()

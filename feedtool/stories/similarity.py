"""How alike two articles are: TF-IDF cosine over their strongest terms, rarity judged nearby in time.

A term weighs its count (terms.tf) times its rarity, idf = ln((1 + N) / (1 + df)) + 1, where N
is the number of articles and df the number holding the term. Each article keeps its
`signature_terms` heaviest terms, normalised to length one; two articles' similarity is the dot
product of their signatures, a cosine in [0, 1]. Two reports of one meeting share its rare
names and figures, which weigh most; two articles that merely share the week's vocabulary
(王毅, 加沙, 美国) share only light terms.

Why TF-IDF cosine and not MinHash (datasketch): measured on the labelled corpora
(bench/stories.py, docs/stories.md), Jaccard similarity of the term sets, which MinHash only
estimates, found fewer of the pairs at lower precision on both: paraphrase leaves two reports
with few terms in common among many, and Jaccard counts a shared 王毅 as much as a shared 方面.
MinHash's one advantage, finding candidates in sub-linear time, the grouping has anyway: it
compares an article only with those of the same few days that share one of its strongest terms.

Why only the strongest terms find candidates (`candidate_terms`, 25 of a signature's 100): two
reports of one event share its rare names and figures, which weigh most, so a pair that shares
none of each one's 25 heaviest terms scores too little to link. Every term found candidates
before, and a term as common as 美国 made each article meet nearly every other of its window:
on bench/stories.py's corpora, the 25 heaviest link the same pairs but for a few (precision and
recall 0.914 / 0.901 on A, against 0.910 / 0.903 with every term; on B the same, 0.912 / 0.932),
and one day's links at 400 articles a day take 5.1 s of CPU instead of 15.4 (docs/stories.md).

Why rarity nearby in time, not over the whole archive: N and df are counted over the articles
published within `context_days` days either side of the article's own UTC day. A whole-archive
count changes with every article added, so every article's weights would change with it, and a
grouping that must equal the one a single pass over the same articles makes (incremental equals
fresh) would have to weigh and compare the whole archive again on every run. Counted nearby, an
article added on one day changes the weights of the articles within `context_days` of it only,
and the links of those alone are made again (incremental.py). It also weighs what makes an
event stand out at the time: in the week of a visit its guest's name is in every report and
weighs little; what that one meeting discussed is what tells it from another.

Every figure here is computed so that it is the same float whatever order the articles came in:
sums by math.fsum (exactly rounded, so the order of the terms does not matter), ties in the
choice of the heaviest terms broken by the term.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from operator import itemgetter

from feedtool.stories.terms import tf

Signature = Mapping[str, float]  # term -> weight, the heaviest terms only, of length one


def idf(docs: int, df: int) -> float:
    """The smoothed inverse document frequency: a term in every article still weighs one, so that
    a small archive (three articles nearby) compares by counts rather than not at all."""
    return math.log((1 + docs) / (1 + df)) + 1.0


def signature(counts: Mapping[str, int], docs: int, df: Mapping[str, int], size: int) -> dict[str, float]:
    """An article's heaviest `size` terms, weighted by count and rarity among `docs` articles
    (`df`: how many of them hold each term), normalised to length one."""
    # The same floats as tf(count) * idf(docs, df[term]) term by term, made faster: an article's
    # terms share a few values of df, each weighed once, and tf(1) is 1.0.
    rarity: dict[int, float] = {}
    weights: list[tuple[str, float]] = []
    for term, count in counts.items():
        held = df.get(term, 0)
        if (weight := rarity.get(held)) is None:
            weight = rarity[held] = idf(docs, held)
        weights.append((term, weight if count == 1 else tf(count) * weight))
    weights.sort()  # by the term (each is once), then stably by weight: heaviest first, ties by the term
    weights.sort(key=itemgetter(1), reverse=True)
    top = weights[:size]
    norm = math.sqrt(math.fsum(w * w for _, w in top))
    return {term: w / norm for term, w in top} if norm else {}


def strongest(sig: Signature, most: int) -> Iterator[str]:
    """A signature's `most` heaviest terms, those that find its candidates (`signature` keeps
    the terms heaviest first, ties by the term)."""
    return islice(sig, most)


def similarity(a: Signature, b: Signature) -> float:
    """The cosine of two signatures: the same float for (a, b) and (b, a), in any order of terms."""
    return math.fsum([a[t] * b[t] for t in a.keys() & b.keys()])  # the shared terms, found by the set's C code


def context(day: int, days: int, count: Mapping[int, int], df: Mapping[int, Counter[str]]) -> tuple[int, Counter[str]]:
    """The articles a day's articles are weighed among: the number published within `days` days
    either side of `day`, and how many of them hold each term."""
    near = range(day - days, day + days + 1)
    return sum(count.get(d, 0) for d in near), _summed(df[d] for d in near if d in df)


def _summed(counters: Iterable[Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return total

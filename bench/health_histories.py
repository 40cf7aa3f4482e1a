"""How often `feedtool health` cries wolf, and how soon it sees a scraper stop: measured on generated
outlet histories with known stops.

    python bench/health_histories.py                 # 12 histories of each kind, 730 days, seeds 1 to 12
    python bench/health_histories.py --old           # the same, judged by the rule before (3 x median gap)
    python bench/health_histories.py --set factor=1.5 --set season_days=0   # other Rules

Each history is an outlet of one kind (below) publishing for two years, its dumps arriving a few
minutes after each article, with five stops of its scraper cut out of it at random times: 1, 3,
7, 14 and 30 days, in random order, weeks apart. Everything is drawn from one seeded generator
per history, so a run is the same on every machine.

The decision (feedtool.health.lateness.judge, a pure function of the arrivals and the time) is asked
what cron's hourly `feedtool health` would see. Within one silence the verdict turns from on
time to late and stays so (the silence grows; its allowance, from the dumps before it, moves
little as the window slides on), so it is asked at the end of every silence longer than the
rule's floor, and says when the silence turned late: the weeks from then to the silence's end
are weeks it was flagged in.

- A false alarm is an outlet-week in which the outlet was flagged late while publishing as it
  usually does (its holidays included): in a silence that no stop is part of. Weeks are counted
  from the fifth, less those wholly inside a stop.
- A stop of more than a week is missed unless the hourly run after it has been silent for two
  weeks (counted from its last dump before the stop) flags it: flagged by the end of the week in
  which the stop passed a week. Shorter stops need not be caught; the table gives, for stops of
  each length, the median days from the last dump to the flag, when one came before the outlet
  published again.

The rule before judged the gaps between articles' dates; here it is given the arrivals, which
come a few minutes after them.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feedtool.health.lateness import DAY, HOUR, RULES, Lateness, Rules, history_days, judge

START = datetime(2022, 3, 1, tzinfo=UTC).timestamp()
STOPS = (1, 3, 7, 14, 30)  # days
DEADLINE_DAYS = 14.0  # a stop of more than a week is flagged before it has been silent this long
FIRST_WEEK = 4  # weeks before are an outlet's first month, with too little history to judge


@dataclass(frozen=True)
class Timeline:
    kind: str
    arrivals: list[float]  # seconds since the epoch, sorted
    stops: list[tuple[float, float]]  # (start, days)
    end: float


def _poisson(rng: random.Random, mean: float) -> int:
    limit, n, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        n += 1
        p *= rng.random()
    return n


def _hourly(rng: random.Random, days: int, rate: Callable[[int, int], float]) -> Iterator[float]:
    """Articles arriving at random within each hour, at `rate(weekday, hour)` an hour (UTC)."""
    for d in range(days):
        day = START + d * DAY
        weekday = datetime.fromtimestamp(day, UTC).weekday()
        for h in range(24):
            for _ in range(_poisson(rng, rate(weekday, h))):
                yield day + (h + rng.random()) * HOUR


def _regular(rng: random.Random, days: int) -> Iterator[float]:
    """An outlet in UTC+8 publishing all day, about twenty articles, few at night."""
    return _hourly(rng, days, lambda wd, h: 1.2 if not 15 <= h < 23 else 0.15)


def _weekdays(rng: random.Random, days: int) -> Iterator[float]:
    """Office hours in UTC+8, Monday to Friday; nothing at weekends."""
    return _hourly(rng, days, lambda wd, h: 1.0 if wd < 5 and 1 <= h < 10 else 0.0)


def _nights(rng: random.Random, days: int) -> Iterator[float]:
    """Six hours a day only (a bureau abroad, or a site its scraper reaches at night)."""
    return _hourly(rng, days, lambda wd, h: 1.5 if 16 <= h < 22 else 0.0)


def _holidays(rng: random.Random, days: int) -> Iterator[float]:
    """A daily outlet of about seven articles that closes for ten days around the new year."""
    closed = []
    for year in (2022, 2023, 2024):
        first = datetime(year, 12, 23, tzinfo=UTC).timestamp() + rng.uniform(0, 2) * DAY
        closed.append((first, first + 10 * DAY))
    for t in _hourly(rng, days, lambda wd, h: 0.4 if not 15 <= h < 23 else 0.05):
        if not any(a <= t < b for a, b in closed):
            yield t


def _bursts(rng: random.Random, days: int) -> Iterator[float]:
    """Bursts of one to a dozen articles at irregular times: a few hours apart or a few days."""
    t, end = START, START + days * DAY
    while True:
        t += rng.lognormvariate(math.log(8.0), 0.8) * HOUR
        if t >= end:
            return
        for _ in range(1 + int(rng.expovariate(1 / 4))):
            yield t + rng.uniform(0, 1.5) * HOUR


def _bureau(rng: random.Random, days: int) -> Iterator[float]:
    """A bureau filing on Tuesdays and Fridays, one to three articles, skipping one filing in ten."""
    for d in range(days):
        day = START + d * DAY
        if datetime.fromtimestamp(day, UTC).weekday() in (1, 4) and rng.random() > 0.1:
            filed = day + rng.uniform(0, 4) * HOUR
            for _ in range(rng.randint(1, 3)):
                yield filed + rng.uniform(0, 0.5) * HOUR


def _sparse(rng: random.Random, days: int) -> Iterator[float]:
    """An irregular outlet, a median of 45 hours between articles and now and then two weeks."""
    t, end = START, START + days * DAY
    while (t := t + rng.lognormvariate(math.log(45.0), 0.74) * HOUR) < end:
        yield t


KINDS: dict[str, Callable[[random.Random, int], Iterator[float]]] = {
    "regular": _regular,
    "bursty": _bursts,
    "weekdays": _weekdays,
    "holidays": _holidays,
    "bureau": _bureau,
    "nights": _nights,
}
# Beyond what two weeks can tell: its own silences reach two weeks. Reported apart from the targets.
APART = {"sparse": _sparse}


def timeline(kind: str, seed: int, days: int = 730) -> Timeline:
    """One outlet's history: the articles of its kind, less its five stops, each arriving a few minutes late."""
    rng = random.Random(f"{kind} {seed}")
    published = sorted((KINDS | APART)[kind](rng, days))
    order = list(STOPS)
    rng.shuffle(order)
    stops, at = [], START + rng.uniform(60, 90) * DAY
    for length in order:
        stops.append((at, float(length)))
        at += (length + rng.uniform(30, 90)) * DAY
    assert at < START + days * DAY + 90 * DAY
    kept = [t for t in published if not any(s <= t < s + n * DAY for s, n in stops)]
    return Timeline(kind, sorted(t + rng.uniform(2, 45) * 60 for t in kept), stops, START + days * DAY)


Decide = Callable[[list[float], int, float], Lateness]  # (arrivals, index of the newest arrived, now)


def new_rule(rules: Rules = RULES) -> Decide:
    days = history_days(rules)

    def decide(arrivals: list[float], newest: int, now: float) -> Lateness:
        first = min(bisect_left(arrivals, now - days * DAY), newest)
        return judge(arrivals[first : newest + 1], now, rules=rules)

    return decide


def old_rule(arrivals: list[float], newest: int, now: float) -> Lateness:
    """The rule before: late past three times the median of its last twenty gaps, and never within the hour."""
    recent = arrivals[max(0, newest - 19) : newest + 1]
    gaps = [b - a for a, b in pairwise(recent)]
    if not gaps:
        return Lateness("too little history", None, "")
    late_after = arrivals[newest] + max(3 * median(gaps), HOUR)
    return Lateness("late" if now > late_after else "on time", late_after, "")


@dataclass
class Tally:
    weeks: int = 0
    false_weeks: int = 0
    caught: dict[int, int] = field(default_factory=dict)  # stops flagged by the deadline, by length
    stopped: dict[int, int] = field(default_factory=dict)  # stops, by length
    latency: dict[int, list[float]] = field(default_factory=dict)  # days from the last arrival to the flag

    def add(self, other: Tally) -> None:
        self.weeks += other.weeks
        self.false_weeks += other.false_weeks
        for n in STOPS:
            self.caught[n] = self.caught.get(n, 0) + other.caught.get(n, 0)
            self.stopped[n] = self.stopped.get(n, 0) + other.stopped.get(n, 0)
            self.latency.setdefault(n, []).extend(other.latency.get(n, []))

    @property
    def missed(self) -> int:
        return sum(self.stopped[n] - self.caught[n] for n in STOPS if n > 7)


def evaluate(line: Timeline, decide: Decide, floor_hours: float) -> Tally:
    """False alarms and stops caught in one history, asking `decide` where an hourly run could first see a flag."""
    tally = Tally()
    arrivals = line.arrivals
    week = 7 * DAY
    in_stop = [(s, s + n * DAY) for s, n in line.stops]
    flagged: set[int] = set()
    ends = [*arrivals[1:], line.end]
    for i, (last, until) in enumerate(zip(arrivals, ends, strict=True)):
        if until - last <= floor_hours * HOUR:
            continue
        seen = decide(arrivals, i, until - 1)
        if seen.verdict != "late" or any(s < until and last < e for s, e in in_stop):
            continue
        assert seen.late_after is not None
        flagged.update(range(int((seen.late_after - START) // week), int((until - 1 - START) // week) + 1))
    stopped_weeks = {w for s, e in in_stop for w in range(int((s - START) // week) + 1, int((e - START) // week))}
    counted = set(range(FIRST_WEEK, int((line.end - START) // week))) - stopped_weeks
    tally.weeks = len(counted)
    tally.false_weeks = len(flagged & counted)
    for s, days in line.stops:
        n = int(days)
        newest = bisect_left(arrivals, s + days * DAY) - 1  # its last arrival before the stop
        last, resumed = arrivals[newest], (arrivals[newest + 1] if newest + 1 < len(arrivals) else line.end)
        tally.stopped[n] = tally.stopped.get(n, 0) + 1
        at_deadline = decide(arrivals, newest, min(resumed - 1, last + DEADLINE_DAYS * DAY + HOUR))
        tally.caught[n] = tally.caught.get(n, 0) + (at_deadline.verdict == "late")
        seen = decide(arrivals, newest, resumed - 1)
        if seen.verdict == "late" and seen.late_after is not None:
            tally.latency.setdefault(n, []).append((seen.late_after - last) / DAY)
    return tally


def run(kinds: list[str], seeds: range, days: int, decide: Decide, floor_hours: float) -> dict[str, Tally]:
    found: dict[str, Tally] = {}
    for kind in kinds:
        found[kind] = Tally()
        for seed in seeds:
            found[kind].add(evaluate(timeline(kind, seed, days), decide, floor_hours))
    return found


def table(found: dict[str, Tally]) -> str:
    stops = " / ".join(str(n) for n in STOPS)
    lines = [
        f"| kind | outlet-weeks | false alarms | stops > 7 days caught | days to a flag, median ({stops}-day stops) |",
        "|---|---|---|---|---|",
    ]
    total = Tally()
    for kind, tally in found.items():
        if kind not in APART:
            total.add(tally)
        lines.append(_row(kind, tally))
    lines.append(_row("**all six**", total))
    return "\n".join(lines)


def _row(kind: str, t: Tally) -> str:
    long = [n for n in STOPS if n > 7]
    caught = sum(t.caught.get(n, 0) for n in long)
    stopped = sum(t.stopped.get(n, 0) for n in long)
    after = " / ".join(f"{median(t.latency[n]):.1f}" if t.latency.get(n) else "-" for n in STOPS)
    rate = 100 * t.false_weeks / t.weeks if t.weeks else 0.0
    return f"| {kind} | {t.weeks} | {t.false_weeks} ({rate:.2f}%) | {caught} of {stopped} | {after} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=12, help="histories of each kind (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="the first history's seed (default 1)")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--old", action="store_true", help="judge by the rule before: 3 x the median gap")
    parser.add_argument("--set", action="append", default=[], metavar="RULE=VALUE", help="change one of the Rules")
    args = parser.parse_args()
    rules = RULES
    for change in args.set:
        name, _, value = change.partition("=")
        rules = replace(rules, **{name: type(getattr(RULES, name))(value)})
    decide, floor = (old_rule, 1.0) if args.old else (new_rule(rules), rules.floor_hours)
    seeds = range(args.seed, args.seed + args.seeds)
    print("the rule before" if args.old else rules)
    print(table(run([*KINDS, *APART], seeds, args.days, decide, floor)))


if __name__ == "__main__":
    main()

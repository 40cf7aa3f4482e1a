"""When an outlet is late: silent for longer than its own history makes likely.

News outlets are irregular: nights, weekends, a bureau that files on Tuesdays and Fridays,
bursts of a dozen articles and then two quiet days, ten days shut around the new year. A rule
from the typical gap (the one before this: three times the median of its last twenty) calls
every night and weekend late. What tells a stopped scraper from a quiet outlet is the outlet's
own longest silences, so `judge` asks: is this silence longer than any it keeps as a habit?

- Time is counted in the hours the outlet usually publishes in (`UsualHours`): each hour of the
  week counts as much as the share of its dumps that arrive in it, so a week still lasts 168
  hours, but a weekend it never publishes in passes in minutes and its busy weekday mornings
  count for more. Its nights, weekends and filing days stop making its silences long: a
  weekday-only outlet that stops on Monday is flagged on Tuesday, not after the weekend.
- Late past `factor` times its longest silence of the last `window_days`, so counted. Silences
  far longer than all the others (`outlier_ratio`) are set aside as outages, not habits: one
  bad month does not blind the rule for half a year.
- A silence it kept at the same time a year ago (give or take `season_days`) excuses one as
  long now: its holidays. An outage a year ago excuses one now too, up to the two-week limit:
  the dates cannot tell the two apart.
- Whatever its history, late once silent `longest_days`: the window may hold a ladder of
  earlier outages, and two weeks is as long as a stopped scraper may go unnoticed. An outlet
  silent longer as a habit wants `[[outlet]] expect_every`, which decides alone when set.
- Never late within `floor_hours`: an hour's lull of an outlet that publishes every few
  minutes, as a scraper's restart makes, is not worth a mail. It changes nothing on the
  generated histories (the same figures with a floor of one hour), whose habits are longer.
- With too little history to know its rhythm (fewer than `min_arrivals` dumps in the window,
  or spanning less than `min_days`) the verdict says so, and turns late only at `longest_days`:
  an outlet whose only article is a year and a half old is late, not new.

Chosen by measurement: bench/health_histories.py cuts stops of 1 to 30 days into generated
histories of six kinds of outlet and asks this function what each hourly run would see; the
figures for the rule as it stands, and the one before, are in docs/operating.md ("How often it
is wrong"). The alternatives, each one Rules field changed (`--set`), on the same histories, as
false alarms in a hundred outlet-weeks and the median days to flag a 14-day stop:

- factor 1.5: 0.55 and 3.2 days. Faster, but nearly twice the false alarms, about one week in a
  hundred for bursty outlets and those that shut for the new year.
- plain hours, not usual ones (`quiet_share` huge): 0.22 and 6.1. As quiet, but a weekday-only
  outlet's stop is flagged after 10.6 days instead of 3.7: its weekends are its longest silences.
- without last year's holidays (`season_days=0`): 0.70 and 3.7. An outlet that shuts for the
  new year is flagged every year, 3.2% of its weeks instead of its first year's 1%.
- without setting outages aside (`outliers=0`): 0.17 and 14.0. After one stop the next is
  caught only at the two-week limit, for as long as the first stays in the window.
- without the two-week limit: 0.29, but 32 of the 144 stops of more than a week are not flagged
  within two weeks, 22 of them the twice-weekly bureau's, whose own silences run to ten days.

On the way, a factor of 1.33 or 1.5 without the two-week limit or the setting aside flagged
1.0 to 2.4 weeks in a hundred on a third of these histories, and missed stops that followed
earlier ones. A high quantile of its silences in place of the longest was not pursued: among a
bureau's few dozen silences in half a year a high quantile is the longest anyway, and among a
busy outlet's thousands one below the longest needs a larger factor, so no one factor suits both.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from heapq import nlargest
from itertools import accumulate, pairwise
from typing import Literal

Verdict = Literal["on time", "late", "too little history"]

HOUR = 3600.0
DAY = 86400.0
YEAR = 364 * DAY  # 52 weeks: a year ago on the same weekday
WEEK_HOURS = 168
MONDAY = 4 * DAY  # 1970-01-05T00:00Z, a Monday: hours of the week are counted from one


@dataclass(frozen=True)
class Rules:
    """The numbers lateness is decided with, each measured (bench/health_histories.py --set NAME=VALUE)."""

    window_days: float = 180.0  # the past its habits are read from: a few hundred silences of a daily outlet
    factor: float = 2.0  # late past this many times its longest silence in the window, in usual hours
    outliers: int = 3  # at most this many of its longest silences set aside as outages ...
    outlier_ratio: float = 3.0  # ... when each is this many times longer than the next
    season_days: float = 14.0  # a silence that began this close to a year before excuses one now (0: off)
    longest_days: float = 14.0  # late once silent this long, whatever its history
    floor_hours: float = 12.0  # never late sooner: not worth a mail
    quiet_share: float = 0.05  # an hour of the week it never publishes in counts this much of an average one
    min_arrivals: int = 20  # too little history below this many dumps in the window ...
    min_days: float = 28.0  # ... or when they span fewer days


RULES = Rules()


@dataclass(frozen=True)
class Lateness:
    """An outlet's lateness at one time: the verdict, and the numbers behind it."""

    verdict: Verdict
    late_after: float | None  # when the silence turns (or turned) late, in seconds since the epoch
    why: str  # the rule that decided, with its numbers


def history_days(rules: Rules = RULES) -> float:
    """How far back `judge` reads: its window, or a year and a season when it looks at last year."""
    return max(rules.window_days, YEAR / DAY + 3 * rules.season_days if rules.season_days else 0.0)


FUTURE_SLACK = 3600.0  # seconds a dump's time may be ahead of the clock and still count


def judge(
    arrivals: Sequence[float], now: float, expect_every_hours: float | None = None, rules: Rules = RULES
) -> Lateness:
    """Whether an outlet is late at `now`, from when its dumps arrived: seconds since the epoch,
    oldest first, those of the last `history_days(rules)` and its newest whenever it arrived.
    The operator's `expect_every_hours`, when set, decides alone. A dump dated ahead of `now`
    (past FUTURE_SLACK: a clock set wrong, not a dump from the future) is left out: it would make
    the outlet look fresh until that date."""
    arrivals = [a for a in arrivals if a <= now + FUTURE_SLACK]
    if not arrivals:
        return Lateness("too little history", None, "no dump of it has arrived")
    last = arrivals[-1]
    silent = max(now - last, 0.0) / HOUR
    if expect_every_hours:
        late_after = last + expect_every_hours * HOUR
        said = f"silent {_span(silent)}; its expect_every is {_span(expect_every_hours)}"
        return Lateness("late" if now > late_after else "on time", late_after, said)
    window = arrivals[bisect_left(arrivals, now - rules.window_days * DAY) :]
    longest = last + rules.longest_days * DAY
    span = (window[-1] - window[0]) / DAY if window else 0.0
    if len(window) < rules.min_arrivals or span < rules.min_days:
        said = (
            f"silent {_span(silent)}, late after {_span(rules.longest_days * 24)}: too little history to know its"
            f" rhythm, {len(window)} dumps over {span:.1f} days of the last {rules.window_days:.0f}"
            f" (it takes {rules.min_arrivals} over {rules.min_days:.0f})"
        )
        return Lateness("late" if now > longest else "too little history", longest, said)
    clock = UsualHours(window, rules.quiet_share)
    usual = clock.all(window)
    gaps = [b - a for a, b in pairwise(usual)]
    top = nlargest(rules.outliers + 1, range(len(gaps)), key=gaps.__getitem__)
    apart = [j + 1 for j in range(len(top) - 1) if gaps[top[j]] > rules.outlier_ratio * gaps[top[j + 1]]]
    aside = max(apart, default=0)  # every silence above the last such step is an outage
    habit = top[aside]
    by_habit = clock.after(last, rules.factor * gaps[habit])
    late_after = min(max(by_habit, last + rules.floor_hours * HOUR), longest)
    reason = (
        f": {rules.factor:g} times its longest silence of the last {rules.window_days:.0f} days"
        f" ({_span((window[habit + 1] - window[habit]) / HOUR)} from {_day(window[habit])}"
        f"{f', {aside} longer set aside as outages' if aside else ''}), counted in the hours it usually publishes in"
    )
    if late_after == longest:
        reason = f", the longest any outlet may be silent; its history alone would allow{reason[1:]}"
    elif late_after > by_habit:
        reason = f", the least before an outlet is late; its history alone would allow{reason[1:]}"
    holiday = _a_year_ago(arrivals, last, rules.season_days) if rules.season_days else None
    if holiday is not None and min(last + holiday[1], longest) > late_after:
        late_after = min(last + holiday[1], longest)
        reason = f": a year ago it was silent {_span(holiday[1] / HOUR)} from {_day(holiday[0])}"
    said = f"silent {_span(silent)}, late after {_span((late_after - last) / HOUR)}{reason}"
    return Lateness("late" if now > late_after else "on time", late_after, said)


def _a_year_ago(arrivals: Sequence[float], last: float, days: float) -> tuple[float, float] | None:
    """Its longest silence that it was in, or began, within `days` of a year before `last`: its start, and
    how long it lasted (seconds)."""
    lo = bisect_left(arrivals, last - YEAR - days * DAY)
    hi = bisect_right(arrivals, last - YEAR + days * DAY)
    if lo == 0 or hi >= len(arrivals):
        return None  # its history does not reach back a year, or it has been silent since
    i = max(range(lo - 1, hi), key=lambda i: arrivals[i + 1] - arrivals[i])
    return arrivals[i], arrivals[i + 1] - arrivals[i]


class UsualHours:
    """A clock that runs at the pace the outlet publishes: in each hour of the week, at the share of
    its dumps that arrived in that hour (and its neighbours, as schedules drift by an hour), so that
    a week lasts 168 hours but a weekend an outlet never publishes in passes in minutes, and a
    weekday morning it is busiest in counts for more than an hour."""

    def __init__(self, arrivals: Sequence[float], quiet_share: float) -> None:
        counts = [0] * WEEK_HOURS
        for t in arrivals:
            counts[int((t - MONDAY) // HOUR) % WEEK_HOURS] += 1
        smooth = [(counts[h - 1] + 2 * counts[h] + counts[(h + 1) % WEEK_HOURS]) / 4 for h in range(WEEK_HOURS)]
        floor = quiet_share * sum(smooth) / WEEK_HOURS
        scale = WEEK_HOURS / (sum(smooth) + floor * WEEK_HOURS)
        self.weights = [(s + floor) * scale for s in smooth]
        self.before = [0.0, *accumulate(self.weights)]  # usual hours from Monday 00:00 to each hour

    def at(self, t: float) -> float:
        """Usual hours from the epoch's first Monday to `t`."""
        weeks, into = divmod((t - MONDAY) / HOUR, WEEK_HOURS)
        h = int(into)
        return weeks * WEEK_HOURS + self.before[h] + (into - h) * self.weights[h]

    def all(self, times: Sequence[float]) -> list[float]:
        """`at` of each time, inlined: the benchmark asks it of thousands of arrivals, thousands of times."""
        before, weights = self.before, self.weights
        found = []
        for t in times:
            weeks, into = divmod((t - MONDAY) / HOUR, WEEK_HOURS)
            h = int(into)
            found.append(weeks * WEEK_HOURS + before[h] + (into - h) * weights[h])
        return found

    def after(self, start: float, usual: float) -> float:
        """The time at which `usual` usual hours have passed since `start`."""
        weeks, into = divmod(self.at(start) + usual, WEEK_HOURS)
        h = min(bisect_right(self.before, into) - 1, WEEK_HOURS - 1)
        return MONDAY + (weeks * WEEK_HOURS + h + (into - self.before[h]) / self.weights[h]) * HOUR


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def _span(hours: float) -> str:
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"

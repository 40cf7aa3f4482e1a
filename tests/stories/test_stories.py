"""Articles of several outlets about one event grouped into stories: on the seeds, on the labelled
corpora the suite generates, and the same stories however the articles arrive."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from helpers import SEEDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stories import pairs, scored
from stories_desks import reports as desk_reports
from stories_wire import reports as wire_reports

from feedtool.derive.normalise import Normaliser
from feedtool.models import Entry
from feedtool.stories.grouping import RULES, Report, group, story_id
from feedtool.stories.incremental import Grouping


def seed_reports(normaliser: Normaliser) -> dict[str, Report]:
    found = {}
    for path in sorted(SEEDS.glob("*.txt")):
        entry = normaliser.file(path.read_bytes(), str(path))
        assert isinstance(entry, Entry) and entry.published is not None
        found[path.name[:3]] = Report(entry.id, entry.outlet, entry.published, entry.title, entry.search_text)
    return found


def test_the_seeds_reports_of_wang_yis_visit_are_one_story_and_the_other_calls_are_not(normaliser: Normaliser) -> None:
    """RFI's "拜登敦促中国合作" and RFA's "美国务院发言人谈布林肯国务卿与中国外长王毅会面", both of
    2023-10-28 and in different words, are one story; RFI's 2023-12-06 call and Zaobao's 2022-11-01
    report are in none."""
    seeds = seed_reports(normaliser)
    (story,) = group(seeds.values())
    assert set(story.members) == {seeds["003"].id, seeds["004"].id}
    assert story.id == story_id(seeds["003"].id)  # the earlier report's
    assert seeds["001"].id not in story.members and seeds["002"].id not in story.members


@pytest.mark.parametrize(("corpus", "make"), [("A", wire_reports), ("B", desk_reports)])
def test_precision_and_recall_on_the_labelled_corpora(corpus: str, make: object) -> None:
    """The figures docs/stories.md reports (bench/stories.json), on the corpora made again here."""
    import json

    from helpers import ROOT

    labelled = make(1)  # type: ignore[operator]
    found = scored(labelled, [s.members for s in group([r for r, _ in labelled])])
    saved = json.loads((ROOT / "bench" / "stories.json").read_text("utf-8"))
    assert saved["rules"] == {k: getattr(RULES, k) for k in saved["rules"]}
    assert found == saved["tfidf"][corpus]
    assert found["recall"] >= 0.9


T0 = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
X = "外长王毅与国务卿布林肯在华盛顿会谈，讨论芬太尼管制和两军沟通渠道，会谈持续约七十分钟。"
Y = "台风海葵登陆花莲，造成三十二人受伤，铁路中断，气象署发布海上陆上警报。"


def article(id_: str, outlet: str, hours: float, text: str) -> Report:
    return Report(id_, outlet, T0 + timedelta(hours=hours), text[:12], text)


def test_a_story_keeps_its_id_as_it_grows_and_a_merged_story_keeps_the_earlier_ones() -> None:
    grouping = Grouping()
    made = grouping.add([article("a", "rfi", 0, X), article("b", "rfa", 1, X)])
    assert [s.members for s in made.made] == [("a", "b")] and made.gone == ()
    first = made.made[0].id
    assert first == story_id("a")
    grown = grouping.add([article("c", "dw", 2, X)])
    assert [(s.id, s.members) for s in grown.made] == [(first, ("a", "b", "c"))] and grown.gone == ()
    grouping.add([article("d", "bbc", 5, Y), article("e", "voa", 6, Y)])
    assert [s.members for s in grouping.stories()] == [("a", "b", "c"), ("d", "e")]
    # A later article of both stories' words joins them: the merged story is the earlier one's.
    merged = grouping.add([article("f", "zaobao", 7, X + Y)])
    assert [(s.id, s.members) for s in grouping.stories()] == [(first, ("a", "b", "c", "d", "e", "f"))]
    assert merged.gone == (story_id("d"),)
    assert grouping.stories() == group(article(i, o, h, t) for i, o, h, t in [
        ("a", "rfi", 0, X), ("b", "rfa", 1, X), ("c", "dw", 2, X), ("d", "bbc", 5, Y), ("e", "voa", 6, Y),
        ("f", "zaobao", 7, X + Y)])  # fmt: skip
    # Pruned, it parts them again; pruning the first member hands the id to the next.
    grouping.remove(["f"])
    assert [(s.id, s.members) for s in grouping.stories()] == [(first, ("a", "b", "c")), (story_id("d"), ("d", "e"))]
    grouping.remove(["a"])
    assert [s.id for s in grouping.stories()] == [story_id("b"), story_id("d")]


def test_articles_of_one_outlet_alone_or_far_apart_make_no_story() -> None:
    assert group([article("a", "rfi", 0, X), article("b", "rfi", 1, X)]) == ()
    assert group([article("a", "rfi", 0, X), article("b", "rfa", RULES.window_hours + 1, X)]) == ()


def test_two_articles_are_compared_only_through_their_strongest_terms() -> None:
    """A pair sharing only a light term (a word of the week: 美国) is not even scored; a busy
    window's every such pair is what made a day's links cost the square of its articles."""
    from dataclasses import replace

    from feedtool.stories.grouping import figures_of, sweep

    a, b = article("a", "rfi", 0, "外长会谈"), article("b", "rfa", 1, "台风登陆")
    stated = {r.id: figures_of(r, RULES) for r in (a, b)}

    def heavy(prefix: str) -> dict[str, float]:
        return {f"{prefix}{n:02d}": 1.0 - n / 100 for n in range(RULES.candidate_terms)}

    sigs = [{**heavy("甲"), "美国": 0.01}, {**heavy("乙"), "美国": 0.01}]
    assert sweep([a, b], sigs, stated, RULES, range(2))[0] == []
    wider = replace(RULES, candidate_terms=RULES.candidate_terms + 1)
    assert [(x, y) for _, x, y in sweep([a, b], sigs, stated, wider, range(2))[0]] == [("a", "b")]


@pytest.mark.parametrize("make", [wire_reports, desk_reports])
def test_the_pairs_set_aside_before_scoring_are_only_those_that_score_nothing(make: object) -> None:
    """`sweep` sets aside, by set operations, the candidates of the same outlet and those whose
    figures contradict; what it scores is every candidate pair that scores above 0, as comparing
    each pair of the window that shares a strongest term would find."""
    from feedtool.stories.grouping import order, reading_of, score, signatures, sweep
    from feedtool.stories.similarity import strongest

    ordered = sorted((r for r, _ in make(1)), key=order)  # type: ignore[operator]
    readings = [reading_of(r, RULES) for r in ordered]
    sigs = signatures(ordered, [found.terms for found in readings], RULES)
    stated = {r.id: found.figures for r, found in zip(ordered, readings, strict=True)}
    strong = [set(strongest(sig, RULES.candidate_terms)) for sig in sigs]
    expected, aside = set(), {"outlet": 0, "figures": 0, "unstated": 0}
    for i, j in itertools.combinations(range(len(ordered)), 2):
        a, b = ordered[i], ordered[j]
        if b.at - a.at > RULES.window or strong[i].isdisjoint(strong[j]):
            continue
        s = score(a, b, sigs[i], sigs[j], RULES, (stated[a.id], stated[b.id]))
        if a.outlet == b.outlet:
            aside["outlet"] += 1
        elif s == 0:
            aside["figures"] += 1
        elif not stated[a.id].stated or not stated[b.id].stated:
            aside["unstated"] += 1  # scored: no figure of one can contradict the other
        if s > 0:
            expected.add((s, *sorted((a.id, b.id))))
    assert all(aside.values()), aside  # the corpus has candidates of each kind
    found, _ = sweep(ordered, sigs, stated, RULES, range(len(ordered)))
    assert sorted(found) == sorted(expected)


def quake(city: str, magnitude: str, hurt: int, cracked: int) -> str:
    return (
        f"{city}今天发生规模{magnitude}地震，截至目前已有{hurt}人受伤送医。气象部门表示，这次地震的震中位于{city}外海，"
        f"{cracked}栋建筑出现裂缝。专家提醒，未来一周仍可能有规模5以上的余震，市府已成立应变中心。"
    )


def test_two_events_told_in_the_same_words_with_other_figures_are_two_stories() -> None:
    """Two earthquakes a day apart, reported in one template with their own figures, and a report
    of the first that gives none of them: the first's reports are one story, the second is not in
    it, neither linked directly nor through the report without figures."""
    first, second = quake("熊本", "7.9", 161, 27), quake("大阪", "7.8", 43, 18)
    vague = "熊本今天发生强烈地震，多人受伤送医。气象部门表示，这次地震的震中位于外海，多栋建筑出现裂缝。专家提醒，未来一周仍可能有余震。"
    reports = [
        article("a", "rfi", 0, first), article("b", "rfa", 2, first), article("c", "dw", 20, second),
        article("d", "voa", 10, vague),
    ]  # fmt: skip
    stories = group(reports)
    assert not any({"a", "c"} <= set(s.members) or {"b", "c"} <= set(s.members) for s in stories), stories
    assert any({"a", "b"} <= set(s.members) for s in stories)
    grouping = Grouping()
    for report in reversed(reports):
        grouping.add([report])
    assert grouping.stories() == stories


POOL = [r for r, _ in wire_reports(3, count=12)]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[Report]], list[str], list[Report], list[Report]]:
    """Arrivals of a pool of articles: in any order, split into runs; some pruned, some re-derived."""
    order = draw(st.permutations(POOL))
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=6)))
    runs = [order[i:j] for i, j in itertools.pairwise([0, *cuts, len(order)])]
    pruned = draw(st.lists(st.sampled_from([r.id for r in POOL]), max_size=6, unique=True))
    rederived = [
        Report(r.id, r.outlet, r.published, other.title, other.text)
        for r, other in draw(st.lists(st.tuples(st.sampled_from(POOL), st.sampled_from(POOL)), max_size=4))
    ]
    return runs, pruned, rederived, order


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories())
def test_incremental_equals_fresh_in_any_order_and_split(
    history: tuple[list[list[Report]], list[str], list[Report], list[Report]],
) -> None:
    """Runs of arrivals, then prunes and re-derivations: after each, the stories are those one pass
    over the articles then held makes (`group`)."""
    runs, pruned, rederived, _ = history
    grouping, held = Grouping(), {}
    for run in runs:
        grouping.add(run)
        held.update((r.id, r) for r in run)
        assert grouping.stories() == group(held.values())
    grouping.remove(pruned)
    for id_ in pruned:
        held.pop(id_, None)
    assert grouping.stories() == group(held.values())
    grouping.add(rederived)
    held.update((r.id, r) for r in rederived)
    assert grouping.stories() == group(held.values())


def test_the_pool_of_the_property_test_holds_stories_to_merge_and_part() -> None:
    """The property test is only as good as its pool: it must hold stories of three or more."""
    stories = group(POOL)
    assert len(stories) >= 5 and max(len(s.members) for s in stories) >= 3
    assert pairs(s.members for s in stories)


def drills(day: int, planes: int, ships: int) -> str:
    return (
        f"【中央社台北{day}日電】国防部今天上午公布，昨天6时至今天6时侦获共机{planes}架次、共舰{ships}艘在台海周边活动。"
        "国军运用联合情监侦掌握，并派遣任务机、舰艇及岸置飞弹系统监控应处。"
    )


def test_a_day_of_the_month_is_a_date_not_a_count_of_another_days_report() -> None:
    """A daily series in one template: the 12th's 13 ships are not the 13th's dateline, so the two
    days' reports state no figure in common and are two stories; one day's reports are one."""
    from feedtool.stories.terms import figures

    twelfth, thirteenth = drills(12, 35, 13), drills(13, 39, 8)
    assert figures("", twelfth, lead_chars=600).stated == {"12日", "35", "13"}
    assert figures("", thirteenth, lead_chars=600).stated == {"13日", "39"}
    reports = [article("a", "rfi", 0, twelfth), article("b", "rfa", 2, twelfth), article("c", "dw", 24, thirteenth)]
    stories = group(reports)
    assert [s.members for s in stories] == [("a", "b")], stories


def test_two_days_of_a_series_headlined_with_their_own_figures_are_two_stories() -> None:
    """Each title states a count the other report states nowhere: two days of the series, though
    their leads share a figure; two reports of one day that headline two of its figures are one."""

    def lead(planes: int) -> str:
        return f"国防部今天上午公布，侦获共机{planes}架次在台海周边活动，其中17架次逾越海峡中线。国军派遣任务机、舰艇监控应处。"

    reports = [
        Report("a", "rfi", T0, "共机35架次扰台", lead(35)),
        Report("b", "rfa", T0 + timedelta(hours=2), "国防部：侦获共机35架次", lead(35)),
        Report("c", "dw", T0 + timedelta(hours=24), "共机39架次扰台", lead(39)),
    ]  # fmt: skip
    assert [s.members for s in group(reports)] == [("a", "b")]


def test_an_articles_terms_are_every_pair_of_its_han_and_kana_runs_and_its_latin_words(normaliser: Normaliser) -> None:
    """terms.py's regexes against a plain reading of what they find: each run of Han or kana
    characters, cut at any other character and at every function character, gives every pair of
    neighbours in it (at odd offsets as well as even ones); the title counts `title_weight` times."""
    import re
    from collections import Counter

    from feedtool.stories.terms import _CJK, _FUNCTION, _LATIN, counts, fold

    def pairs_of(text: str) -> list[str]:
        found, run = [], ""
        for ch in [*text, " "]:
            if re.fullmatch(f"[{_CJK}]", ch) and not _FUNCTION.fullmatch(ch):
                run += ch
                continue
            found += [run[i : i + 2] for i in range(len(run) - 1)]
            run = ""
        return found

    def expected(title: str, lead: str, weight: int) -> Counter[str]:
        words = [w.replace(",", "") for w in _LATIN.findall(lead) + _LATIN.findall(title) * weight]
        return Counter(pairs_of(lead) + pairs_of(title) * weight + [w for w in words if len(w) > 1 or w.isdigit()])

    texts = [(r.title, r.text) for r in seed_reports(normaliser).values()] + [
        ("中国", "中国人民"), ("三个字", "五个字的句"), ("𠀀𠀁𠀂", "カタカナと漢字ひらがな"), ("", "的"), ("a中b国c", "中 国"),
    ]  # fmt: skip
    for title, text in texts:
        assert counts(title, text, title_weight=2, lead_chars=600) == expected(fold(title), fold(text[:600]), 2)
    assert counts("", "中国人民的朋友", title_weight=1, lead_chars=600) == Counter(["中国", "国人", "人民", "朋友"])

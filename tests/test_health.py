"""`feedtool health`: a scraper that stopped, one whose dumps turned to rejects, one whose articles
turned thin, each flagged; one merely slow but regular, not. Through the CLI, against a clock
FEEDTOOL_NOW fixes, with the Prometheus file read back by prometheus_client's own parser."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import dump, make_config, run_cli
from prometheus_client.parser import text_string_to_metric_families

from feedtool.build import build

NOW = datetime(2024, 6, 1, tzinfo=UTC)
TEXT = "<p>" + "这是一篇正常长度的新闻报道，内容充实。" * 20 + "</p>"


def _write(folder: Path, name: str, text: str, when: datetime) -> None:
    path = folder / name
    path.write_text(text, "utf-8")
    os.utime(path, (when.timestamp(), when.timestamp()))


def _article(folder: Path, host: str, n: int, when: datetime, body: str = TEXT) -> None:
    stamp = str(int(when.timestamp() * 1000))
    _write(folder, f"{host}-{n:03d}.txt", dump(title=f"{host} {n}", url=f"https://{host}/news/{n}", body=body,
                                                stamp=stamp), when + timedelta(minutes=30))  # fmt: skip


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(20):
        _article(folder, "www.rfi.fr", n, NOW - timedelta(days=40 - n))  # daily, then nothing for 20 days
        _article(folder, "www.zaobao.com", n, NOW - timedelta(days=5 + 7 * (19 - n)))  # weekly, on time
        _article(folder, "www.dw.com", n, NOW - timedelta(hours=12 * (20 - n)))  # twice a day ...
        body = TEXT if n < 14 else "<p>请稍候。</p>"  # ... the BBC's newest six turned to a challenge page
        _article(folder, "www.bbc.com", n, NOW - timedelta(hours=6 * (20 - n)), body)
    for n in range(20, 32):  # ... and DW's newest dumps have lost their titles
        _write(folder, f"www.dw.com-{n:03d}.txt", dump(title="", url=f"https://www.dw.com/news/{n}"),
               NOW - timedelta(hours=5 - n / 10))  # fmt: skip
    return folder


def _health(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code, out, _ = run_cli(capsys, "health", *args)
    return code, out


def test_each_kind_of_trouble_is_flagged_and_a_slow_regular_outlet_is_not(
    tmp_path: Path, archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, [archive])
    build(config, workers=1)
    monkeypatch.setenv("FEEDTOOL_NOW", NOW.isoformat())
    metrics = tmp_path / "metrics" / "feedtool.prom"
    code, out = _health(capsys, "-c", str(config.path), "--json", "--prometheus", str(metrics))
    assert code == 1
    flags = {o["outlet"]: o["flags"] for o in json.loads(out)["outlets"]}
    assert flags == {"rfi": ["late"], "zaobao": [], "dw": ["failing"], "bbc": ["thin"]}
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text("utf-8"))}
    flagged = {(s.labels["outlet"], s.labels["flag"]): s.value for s in families["feedtool_outlet_flagged"].samples}
    assert flagged[("rfi", "late")] == 1 and flagged[("zaobao", "late")] == 0 and flagged[("bbc", "thin")] == 1
    assert families["feedtool_rejected_dumps"].samples[0].value == 12
    gaps = {s.labels["outlet"]: s.value for s in families["feedtool_outlet_usual_gap_seconds"].samples}
    assert gaps["zaobao"] == 7 * 86400
    # -q: silent on what is well, one line for each outlet in trouble, and exit 1 for cron to mail.
    code, out = _health(capsys, "-c", str(config.path), "-q")
    assert code == 1 and sorted(line.split()[0] for line in out.splitlines()) == ["bbc", "dw", "rfi"]
    assert "silent 21.0 days, late after 14.0 days: too little history to know its rhythm" in out


def test_an_expected_cadence_in_the_config_decides_lateness(
    tmp_path: Path, archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = '[[outlet]]\nslug = "rfi"\nexpect_every = 720\n[[outlet]]\nslug = "zaobao"\nexpect_every = 24'
    config = make_config(tmp_path, [archive], extra=extra)
    build(config, workers=1)
    monkeypatch.setenv("FEEDTOOL_NOW", NOW.isoformat())
    code, out = _health(capsys, "-c", str(config.path), "--json")
    flags = {o["outlet"]: o["flags"] for o in json.loads(out)["outlets"]}
    assert code == 1 and flags["rfi"] == [] and flags["zaobao"] == ["late"]


def test_all_well_is_exit_0_and_silent_with_q(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(40):
        _article(folder, "www.rfi.fr", n, NOW - timedelta(days=40 - n))
    config = make_config(tmp_path, [folder])
    build(config, workers=1)
    monkeypatch.setenv("FEEDTOOL_NOW", NOW.isoformat())
    assert _health(capsys, "-c", str(config.path), "-q") == (0, "")
    code, out = _health(capsys, "-c", str(config.path))
    assert code == 0 and out.startswith("rfi            ok")


def test_an_irregular_outlet_is_judged_by_its_own_silences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven days without an article is nothing for an outlet that has kept twelve silences longer
    than that in 600 days, most of its gaps near two days; a week is a lot for a daily one."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    usual = [20, 30, 38, 45, 45, 52, 60, 75]  # hours: a median of 45
    long = [7.5, 8, 8.5, 9, 9.5, 10, 10.5, 11, 11.5, 12, 12.5, 13]  # days
    gaps = [timedelta(hours=usual[n % 8]) for n in range(300)]
    for n, days in enumerate(long):
        gaps[12 + 24 * n] = timedelta(days=days)
    when = NOW - timedelta(days=7)
    for n, gap in enumerate(gaps):
        _article(folder, "www.zaobao.com", n, when)
        when -= gap
    assert sum(gaps, timedelta()) > timedelta(days=600)
    for n in range(120):  # daily, until nine days ago
        _article(folder, "www.rfa.org", n, NOW - timedelta(days=9 + n, hours=n % 5))
    config = make_config(tmp_path, [folder])
    build(config, workers=1)
    monkeypatch.setenv("FEEDTOOL_NOW", NOW.isoformat())
    code, out = _health(capsys, "-c", str(config.path), "--json")
    outlets = {o["outlet"]: o for o in json.loads(out)["outlets"]}
    assert code == 1 and outlets["zaobao"]["flags"] == [] and outlets["zaobao"]["lateness"] == "on time"
    assert outlets["zaobao"]["lateness_why"].startswith("silent 7.0 days, late after 14.0 days, the longest any")
    assert outlets["rfa"]["flags"] == ["late"]
    assert outlets["rfa"]["why"] == [
        "silent 9.0 days, late after 2.9 days: 2 times its longest silence of the last 180 days (25.0 hours from"
        " 2024-01-26), counted in the hours it usually publishes in"
    ]


def test_too_little_history_is_said_and_an_outlet_whose_only_entry_is_old_is_late(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    _article(folder, "www.rfa.org", 0, NOW - timedelta(days=542))
    for n in range(3):
        _article(folder, "www.dw.com", n, NOW - timedelta(days=3 - n))
    config = make_config(tmp_path, [folder])
    build(config, workers=1)
    monkeypatch.setenv("FEEDTOOL_NOW", NOW.isoformat())
    code, out = _health(capsys, "-c", str(config.path), "--json")
    outlets = {o["outlet"]: o for o in json.loads(out)["outlets"]}
    assert code == 1 and outlets["rfa"]["flags"] == ["late"] and outlets["rfa"]["lateness"] == "late"
    assert outlets["rfa"]["why"][0].startswith("silent 542.0 days, late after 14.0 days: too little history")
    assert outlets["dw"]["flags"] == [] and outlets["dw"]["lateness"] == "too little history"
    assert outlets["dw"]["late_after"] == (NOW - timedelta(days=1) + timedelta(minutes=30, days=14)).isoformat()
    code, out = _health(capsys, "-c", str(config.path))
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert lines["dw"].startswith("dw             new          3 entries, newest 2024-05-31; silent 23.5 hours")
    assert "too little history to know its rhythm, 3 dumps over 2.0 days of the last 180 (it takes 20 over 28)" in out
    assert lines["rfa"].startswith("rfa            LATE")


def test_an_input_folder_without_dumps_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scraper writing to the wrong folder leaves the one feedtool reads empty: no outlet in the store tells."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(40):  # an outlet that is well: what is flagged below is the folders alone
        _article(folder, "www.rfi.fr", n, NOW - timedelta(days=40 - n))
    build(make_config(tmp_path, [folder]), workers=1)
    empty, hidden, missing = tmp_path / "empty", tmp_path / "hidden", tmp_path / "missing"
    (empty / "2024" / "05").mkdir(parents=True)
    (hidden / ".partial").mkdir(parents=True)
    (hidden / ".partial" / "x.txt").write_text("not yet a dump", "utf-8")
    config = make_config(tmp_path, [folder, empty, hidden, missing])
    monkeypatch.setenv("FEEDTOOL_NOW", NOW.isoformat())
    metrics = tmp_path / "feedtool.prom"
    code, out = _health(capsys, "-c", str(config.path), "--json", "--prometheus", str(metrics))
    doc = json.loads(out)
    inputs = {i["folder"]: i for i in doc["inputs"]}
    assert code == 1 and [o["flags"] for o in doc["outlets"]] == [[]] and inputs[str(folder)]["flags"] == []
    assert [inputs[str(f)]["flags"] for f in (empty, hidden, missing)] == [["empty"]] * 3
    assert inputs[str(missing)]["why"] == [f"input folder {missing} does not exist"]
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text("utf-8"))}
    empties = {s.labels["folder"]: s.value for s in families["feedtool_input_empty"].samples}
    assert empties == {str(folder): 0, str(empty): 1, str(hidden): 1, str(missing): 1}
    code, out, err = run_cli(capsys, "health", "-c", str(config.path), "-q")
    assert code == 1 and len(out.splitlines()) == 3
    assert f"input          EMPTY    input folder {empty} holds no dump: is its scraper writing to another" in out
    assert err == f"feedtool: error: 3 input folders without dumps: {empty}, {hidden}, {missing}\n"


@pytest.mark.slow
def test_on_generated_histories_a_stop_is_caught_and_a_quiet_week_rarely_flagged() -> None:
    """The decision judged as bench/health_histories.py judges it, on a small run: outlets of six kinds
    (regular, bursty, weekdays only, shut for the new year, a twice-weekly bureau, nights only), two
    years each with stops of 1 to 30 days cut in. At most one outlet-week in a hundred flagged while
    the outlet publishes as usual, and every stop of more than a week flagged within two weeks."""
    from health_histories import KINDS, STOPS, new_rule, run

    from feedtool.health.lateness import RULES

    found = run(list(KINDS), range(1, 3), 730, new_rule(), RULES.floor_hours)
    weeks = sum(t.weeks for t in found.values())
    false_weeks = sum(t.false_weeks for t in found.values())
    assert weeks > 1000 and false_weeks <= weeks / 100
    assert sum(t.stopped[n] for t in found.values() for n in STOPS if n > 7) == 2 * 2 * len(KINDS)
    assert sum(t.missed for t in found.values()) == 0


def test_a_dump_dated_ahead_of_the_clock_does_not_hide_a_stop() -> None:
    from feedtool.health.lateness import judge

    now = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    daily = [now - 20 * 86400 - n * 86400 for n in range(200)][::-1]  # daily for 200 days, silent 20 days
    assert judge(daily, now).verdict == "late"
    assert judge([*daily, now + 365 * 86400], now).verdict == "late"  # one dump a year ahead (a wrong clock)

"""The documentation site builds with warnings as errors, and the README stays a front door."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

README = (ROOT / "README.md").read_text("utf-8")


@pytest.mark.slow
def test_the_docs_build_with_warnings_as_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    config_page = (tmp_path / "site" / "config" / "index.html").read_text("utf-8")
    assert "max_dump_bytes" in config_page and "keep_days" in config_page  # the reference was made


def test_the_config_reference_shows_every_key_the_config_knows() -> None:
    """Made from the starter config, checked against the schema: a key added to one alone fails."""
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import hooks
    finally:
        sys.path.pop(0)
    from feedtool.config import _SCHEMA

    table = hooks.config_reference()
    for name, keys in _SCHEMA.items():
        for key in keys:
            assert f"[{name}] {key}`" in table or f"[[{name}]] {key}`" in table, (name, key)


def test_the_readme_is_a_front_door() -> None:
    assert len(README) <= 12_000
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", quick, re.S)
    assert len(commands) == 1 and len(commands[0].strip().splitlines()) == 2  # exactly two commands
    install_run, test = commands[0].strip().splitlines()
    assert "feedtool build" in install_run and "seeds" in install_run
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert test in ci, "CI runs the Quick start's second command as it is written"
    for page in re.findall(r"\(docs/([a-z-]+\.md)\)", README):
        assert (ROOT / "docs" / page).is_file(), page
    # No lab notebook: no commit hashes or talk of how the work was organised.
    assert not re.search(r"`[0-9a-f]{7}`|\bissue\b|design card|this round", README, re.I)


def test_the_search_page_of_the_docs_says_the_bounds_the_code_keeps() -> None:
    """The numbers a subscriber or operator reads in docs/search.md are the code's own."""
    from feedtool.search import language as query
    from feedtool.search import rsshub as feedquery
    from feedtool.web import answers, app, budget

    words = {0.5: "half a second", 2: "two", 8: "eight", 10.0: "ten seconds", 15.0: "fifteen\n  seconds",
             20: "twenty", 0.1: "a tenth of a second", 60.0: "half after a minute"}  # fmt: skip
    text = (ROOT / "docs" / "search.md").read_text("utf-8")
    for phrase in (
        f"at most {feedquery.MAX_ITEMS} entries a page",
        f"at most {feedquery.MAX_SCANNED:,} entries",
        f"at most {feedquery.PATTERN_BYTES >> 20} MiB",
        f"over {query.MAX_QUERY} characters, over {query.MAX_TERMS} terms",
        f"at most {app.MAX_QUERY_PARAMS} parameters and {app.MAX_ADDRESS:,} bytes of\n  address",
        f"at most {words[budget.CPU_SECONDS]} of\n  its own work",
        f"and {words[budget.WALL_SECONDS]} in all",
        f"at most {words[budget.SLOTS]} answers are made at once",
        f"waits {words[budget.TURN_SECONDS]} at most",
        f"past {budget.MAX_WAITING} waiting in all",
        f"started as though it had spent {words[budget.UNSEEN_SECONDS]}",
        f"what an answer cost counts {words[budget.COST_HALF_LIFE]}",
        f"at most {feedquery.MAX_PROGRAM:,} steps",
        f"the first {feedquery.MAX_FILTERED:,} characters",
        f"more than {words[budget.WAITING_PER_CLIENT]} waiting",
        f"{words[answers.PAGE_SIZE]} a page",
        "<!-- query-parameters -->",
    ):
        assert phrase in text, phrase


def test_the_readme_reports_the_benchmark_as_saved() -> None:
    """The README's performance figures are bench/results.json's (`bench/run.py --save` writes it)."""
    import json

    data = json.loads((ROOT / "bench" / "results.json").read_text("utf-8"))
    readme = (ROOT / "README.md").read_text("utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and " articles |" not in line]
    for run in data["runs"]:
        if "queries" not in run:
            continue
        steps = {step["step"].split(" rebuild")[0].removeprefix("feedtool "): step for step in run["steps"]}
        word = run["queries"]["word search (20 hits, snippets)"]
        feed = run["queries"]["query feed: q + filter_title, one outlet, Atom"]
        size = f"{run['articles']:,}" + (", one folder" if run.get("layout") == "flat" else "")
        size += ", stories on" if run.get("stories") else ""
        row = next((r for r in rows if r.startswith(f"| {size} |")), None)
        assert row is not None, f"the README has no row for {size} articles"
        for figure in (
            f"{steps['cold build']['seconds']:,.0f} s",
            f"{steps['no-op']['seconds']:.2f} s",
            f"{word['median_ms']:.1f} / {word['p99_ms']:.1f} ms",
            f"{feed['median_ms']:.1f} / {feed['p99_ms']:.1f} ms",
            f"{run['queries']['index_share']:.0%}",
        ):
            assert figure in row, (figure, row)


def test_the_serving_page_says_the_bounds_the_server_keeps() -> None:
    from feedtool.web import app, server

    text = " ".join((ROOT / "docs" / "serving.md").read_text("utf-8").split())
    for phrase in (
        f"must arrive within {server.HEADER_SECONDS:g} seconds",
        f"a head over {server.MAX_HEAD_BYTES // 1024} KiB is a 431",
        f"an address over {app.MAX_ADDRESS:,} bytes a 414",
        f"at most {server.MAX_CONNECTIONS:,} connections at once, and {server.PER_ADDRESS} from one address",
        f"none of an answer for {server.WRITE_SECONDS:g} seconds",
        f"closed after {server.KEEP_ALIVE_SECONDS} seconds idle",
    ):
        assert phrase in text, phrase


def test_the_api_reference_shows_every_public_name() -> None:
    """docs/reference.md is made from the docstrings by mkdocstrings; a name added to feedtool's
    __all__ without a place on it fails here."""
    import feedtool

    shown = set(re.findall(r"^::: feedtool\.(\w+)$", (ROOT / "docs" / "reference.md").read_text("utf-8"), re.M))
    assert shown == set(feedtool.__all__) - {"__version__"}


def test_the_example_of_the_python_page_runs_on_the_seeds(tmp_path: Path) -> None:
    """docs/python.md's first example, run as it is written, in a project over the seeds."""
    page = (ROOT / "docs" / "python.md").read_text("utf-8")
    example = page.split("```python\n", 1)[1].split("```", 1)[0]
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    (tmp_path / "feedtool.toml").write_text('[build]\ninputs = ["seeds"]\n', "utf-8")
    ran = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "5 new" in ran.stdout and (tmp_path / "out" / "all" / "atom.xml").is_file()

"""The CLI as a new user and cron meet it: help, exit codes, one-line errors, quiet success."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import ROOT, SEEDS, dump, run_cli

from feedtool import __version__
from feedtool.config import load_config
from feedtool.store import Store

COMMANDS = ["build", "ingest", "publish", "serve", "check", "stats", "rejects", "init", "prune"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory laid out like the repository: feedtool.toml and seeds/."""
    shutil.copy(ROOT / "feedtool.toml", tmp_path / "feedtool.toml")
    shutil.copytree(SEEDS, tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDTOOL_CONFIG", raising=False)
    return tmp_path


run = run_cli


def feedtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FEEDTOOL_CONFIG"} | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "feedtool", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_version(capsys) -> None:
    assert run(capsys, "--version") == (0, f"feedtool, version {__version__}\n", "")


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(capsys, command: str | None) -> None:
    code, out, err = run(capsys, *([command] if command else []), "--help")
    assert code == 0 and out.startswith("Usage: feedtool") and err == ""


# Each command feedtool lists, run to success in a built project: its arguments, and whether what
# it prints is an answer asked for (-q keeps it, and drops only what the command says of itself).
QUIET_RUNS: dict[str, tuple[list[str], bool]] = {
    "build": ([], False),
    "ingest": ([], False),
    "publish": ([], False),
    "check": ([], False),
    "health": ([], False),
    "init": (["other.toml"], False),
    "prune": (["--before", "2000-01-01"], False),
    "rejects": ([], True),
    "search": (["台湾"], True),
    "stats": ([], True),
    "serve": ([], False),  # run apart: it serves until stopped
}


def test_every_command_takes_q_and_v_and_with_q_is_silent_on_success(project: Path) -> None:
    """Walks the commands `feedtool --help` lists: each takes -q/--quiet and -v/--verbose, and
    with -q prints nothing of its own when it succeeds (a rejected dump on disk, a search that finds
    nothing: the notes those give go too)."""
    listed = feedtool("--help", cwd=project).stdout.split("Commands:")[1]
    commands = re.findall(r"^  ([a-z]+) ", listed, re.MULTILINE)
    assert sorted(commands) == sorted(QUIET_RUNS)
    for command in commands:
        usage = feedtool(command, "--help", cwd=project).stdout
        assert "-q, --quiet" in usage and "-v, --verbose" in usage, command
    (project / "seeds" / "broken.txt").write_text("no header", "utf-8")
    for command, (args, answers) in QUIET_RUNS.items():
        if command == "serve":
            continue
        said = feedtool(command, *args, cwd=project)
        assert said.returncode == 0, (command, said.stderr)
        (project / "other.toml").unlink(missing_ok=True)
        quiet = feedtool(command, "-q", *args, cwd=project)
        assert (quiet.returncode, quiet.stderr) == (0, ""), command
        assert quiet.stdout == (said.stdout if answers else ""), command
    nothing = feedtool("search", "-q", "没有这个词", cwd=project)
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "")
    assert feedtool("search", "没有这个词", cwd=project).stderr == "feedtool: nothing found\n"
    _serves_quietly(project)


def _serves_quietly(project: Path) -> None:
    """`feedtool serve -q` serves, and says nothing from start to stop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "FEEDTOOL_CONFIG"} | {"PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "feedtool", "serve", "-q", "--port", str(port)], cwd=project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(600):  # until it listens (or has died)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/all/atom.xml") as reply:
                    assert reply.status == 200
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.1)
        else:
            raise AssertionError("feedtool serve never answered")
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert (server.returncode, out, err) == (0, "", "")


def test_build_then_a_quiet_noop_build_prints_nothing(project: Path) -> None:
    first = feedtool("build", cwd=project)
    assert first.returncode == 0 and first.stderr == ""
    assert first.stdout.startswith(
        "feedtool: 5 new, 0 updated, 0 unchanged, 0 rejected; 31 files written, 0 removed in "
    )
    again = feedtool("build", "-q", cwd=project)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert (project / "out" / "all" / "atom.xml").is_file()
    assert (project / ".feedtool" / "state.sqlite3").is_file()


def test_ingest_then_publish_is_a_build(project: Path, capsys) -> None:
    assert run(capsys, "ingest", "-q") == (0, "", "")
    assert not (project / "out").exists()
    code, out, _ = run(capsys, "publish")
    assert code == 0 and "31 files written" in out


def test_options_override_the_config(project: Path, capsys) -> None:
    code, out, _ = run(
        capsys,
        "build",
        "-i",
        "seeds",
        "-o",
        "site",
        "--state",
        "st/db.sqlite3",
        "--base-url",
        "https://feeds.example.org/x",
    )
    assert code == 0 and "5 new" in out
    assert "https://feeds.example.org/x/all/atom.xml" in (project / "site" / "feeds.opml").read_text("utf-8")
    assert (project / "st" / "db.sqlite3").is_file()


def test_config_from_the_environment(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "other.toml").write_text('[build]\noutput = "elsewhere"\n')
    monkeypatch.setenv("FEEDTOOL_CONFIG", str(project / "other.toml"))
    assert run(capsys, "build", "-q")[0] == 0
    assert (project / "elsewhere" / "index.html").is_file()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[site\ntitle = 'x'", "feedtool.toml: invalid TOML: "),
        (
            "[site]\ntitel = 'x'",
            "feedtool.toml: unknown key 'titel' in [site] (known keys: base_url, description, language, templates, title)",
        ),
        ("[sites]\ntitle = 'x'", "feedtool.toml: unknown table 'sites'"),
        ("[feeds]\nmax_items = 0", "feedtool.toml: [feeds] max_items must be a whole number from 1 to 100,000"),
        (
            "[feeds]\narchive_items = 2.5",
            "feedtool.toml: [feeds] archive_items must be a whole number from 1 to 100,000",
        ),
        ("[feeds]\nmax_items = 99999999999999999999", "[feeds] max_items must be a whole number from 1 to 100,000"),
        ("[store]\nlock_timeout = nan", "[store] lock_timeout must be a number of seconds from 0 to 86400"),
        ("[store]\nlock_timeout = inf", "[store] lock_timeout must be a number of seconds from 0 to 86400"),
        ("[build]\ndump_seconds = 0", "[build] dump_seconds must be a number of seconds from 0.1 to 3600"),
        ("[build]\nmax_dump_bytes = -1", "[build] max_dump_bytes must be a whole number from 1,024 to 1,073,741,824"),
        ("[build]\nfollow_links = 'yes'", "[build] follow_links must be true or false"),
        ("[clean]\nlazy_src = ['']", "[clean] lazy_src must be a list of non-empty strings"),
        ("[clean]\nremove = [' ']", "[clean] remove must be a list of non-empty strings"),
        (
            "[[topic]]\nslug = 'x'\ntitle = 'x'\nany = ['']",
            "[[topic]] #1: [topic] any must be a list of non-empty strings",
        ),
        (
            "[[topic]]\nslug = 'x'\ntitle = 'x'\nany = ['a']\nnone = ['']",
            "[topic] none must be a list of non-empty strings",
        ),
        (
            "[clean]\nurl_dates = ['/(\\d{4})/(\\d\\d)/']",
            "[clean] url_dates pattern '/(\\\\d{4})/(\\\\d\\\\d)/' lacks the group(s) (?P<d>...), (?P<m>...), (?P<y>...)",
        ),
        (
            "[[outlet]]\nslug = 'x'\nname = 'X'\nhosts = ['x.example']\ntimezone = 'Asia'",
            "unknown timezone 'Asia' for 'x'",
        ),
        ("[feeds]\nformats = ['atom', 'rdf']", "feedtool.toml: [feeds] formats must be some of atom, rss, json"),
        ("[site]\nbase_url = 'feeds.example.org'", "feedtool.toml: [site] base_url must be an absolute http(s) URL"),
        ("[[topic]]\nslug = 'Bad Slug'\ntitle = 'x'\nany = ['x']", "slug must be lower-case letters"),
        ("[[topic]]\nslug = 'x'\ntitle = 'x'", "topic 'x' needs at least one term in any = [...]"),
        (
            "[[topic]]\nslug = 'x'\ntitle = 'x'\nany = ['a']\noutlets = ['nope']",
            "topic 'x' names unknown outlet(s): nope",
        ),
        (
            "[[outlet]]\nslug = 'x'\nname = 'X'\nhosts = ['x.example']\ntimezone = 'Mars/Base'",
            "unknown timezone 'Mars/Base' for 'x'",
        ),
        ("[clean]\nremove = ['div[']", "bad CSS selector 'div['"),
        ("[clean]\nremove_text = ['(unclosed']", "bad regular expression '(unclosed'"),
        ("[clean]\nremove_text = ['(?i)werbung']", "[clean] remove_text: the patterns cannot be combined"),
        ("[clean]\nremove = ['p::first-line']", "bad CSS selector 'p::first-line'"),
        ("[[outlet]]\nslug = 'new'", "outlet 'new' needs a name"),
        (
            "[[outlet]]\nslug = 'a'\nname = 'A'\nhosts = ['a.example', 'x.example']\n"
            "[[outlet]]\nslug = 'b'\nname = 'B'\nhosts = ['b.example', 'X.example.']",
            "feedtool.toml: [[outlet]] #2: outlets 'a' and 'b' both list the host 'x.example';"
            " an article's host must name one outlet",
        ),
        (
            "[site]\nlanguage = 'english'",
            "feedtool.toml: [site] language must be a BCP 47 language tag (en, fr-FR, zh-Hant), not 'english'",
        ),
        (
            "[[outlet]]\nslug = 'x'\nname = 'X'\nhosts = ['x.example']\nlanguage = 'fr_FRANCE'",
            "feedtool.toml: [[outlet]] #1: [outlet] language must be a BCP 47 language tag (en, fr-FR, zh-Hant),"
            " not 'fr_FRANCE'",
        ),
        (
            "[[outlet]]\nslug = 'rfi-cn'\nname = 'RFI 中文'\nhosts = ['rfi.fr']",
            "feedtool.toml: [[outlet]] #1: outlets 'rfi' (built-in) and 'rfi-cn' both list the host 'rfi.fr';"
            " an article's host must name one outlet",
        ),
    ],
)
def test_a_broken_config_is_one_line_and_exit_2(project: Path, capsys, config: str, message: str) -> None:
    (project / "feedtool.toml").write_text(config, "utf-8")
    code, out, err = run(capsys, "build")
    assert code == 2 and out == ""
    assert err.startswith("feedtool: error: ") and err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_invalid_toml_names_the_line(project: Path, capsys) -> None:
    (project / "feedtool.toml").write_text("[site]\ntitle = 'ok'\nbase_url = \n", "utf-8")
    assert "line 3" in run(capsys, "build")[2]


def test_a_missing_config_named_on_the_command_line(project: Path, capsys) -> None:
    code, _, err = run(capsys, "build", "-c", "nope.toml")
    assert (code, err) == (2, "feedtool: error: nope.toml: config file not found\n")


def test_a_missing_input_folder_is_named(project: Path, capsys) -> None:
    code, _, err = run(capsys, "build", "-i", "missing-folder")
    assert code == 2 and err.startswith("feedtool: error: input folder missing-folder does not exist;")
    assert not (project / ".feedtool").exists() and not (project / "out").exists()  # nothing made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--bogus"], "No such option '--bogus'"),
        (["serve", "--port", "99999"], "Invalid value for '--port'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["prune"], "say what to prune"),
        (["prune", "--before", "yesterday"], "Invalid value for '--before'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(project: Path, capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("feedtool: error: ")


def test_rejected_dumps_are_reported_and_strict_fails(project: Path, capsys) -> None:
    (project / "seeds" / "empty.txt").write_bytes(b"")
    (project / "seeds" / "js.txt").write_text(dump(url="javascript:alert(1)"), "utf-8")
    code, out, err = run(capsys, "build")
    assert code == 0 and "2 rejected" in out and "2 dumps rejected; 'feedtool rejects' lists them" in err
    code, out, _ = run(capsys, "rejects")
    assert out.splitlines() == [
        f"{project / 'seeds' / 'empty.txt'}: empty file",
        f"{project / 'seeds' / 'js.txt'}: URL is not http(s): javascript:alert(1)",
    ]
    code, out, _ = run(capsys, "rejects", "--json")
    assert [r["reason"] for r in json.loads(out)] == ["empty file", "URL is not http(s): javascript:alert(1)"]
    (project / "seeds" / "empty2.txt").write_text(" ")
    # Every run counts the rejected dumps on disk, not only those it read: --strict fails every time.
    for _ in range(2):
        code, _, err = run(capsys, "build", "--strict", "-q")
        assert code == 1 and err == "feedtool: error: 3 dumps rejected (--strict); 'feedtool rejects' lists them\n"
    # Nothing else was lost: the five good articles are all still published.
    assert len(json.loads((project / "out" / "all" / "feed.json").read_text("utf-8"))["items"]) == 5
    # A deleted dump leaves the store, its rejection with it.
    (project / "seeds" / "empty.txt").unlink()
    (project / "seeds" / "empty2.txt").unlink()
    code, out, err = run(capsys, "build", "--strict")
    assert code == 1 and "1 rejected" in out and "1 dump rejected (--strict)" in err
    (project / "seeds" / "js.txt").unlink()
    code, out, _ = run(capsys, "build", "--strict")
    assert code == 0 and "5 unchanged, 0 rejected" in out
    assert run(capsys, "rejects")[1] == ""
    assert run(capsys, "stats", "--json")[1].count('"rejected": 0') == 1


def test_an_input_folder_with_no_dumps_is_named_on_every_run_and_fails_strict(project: Path) -> None:
    """A scraper writing to the wrong folder: the input it should fill holds nothing (a hidden file,
    an empty folder), which every build says until it holds a dump; --strict fails, -q is silent."""
    wrong = project / "scraped"
    (wrong / "2024" / "06").mkdir(parents=True)
    (wrong / ".lock").write_text("")
    config = project / "feedtool.toml"
    config.write_text(config.read_text("utf-8").replace('inputs = ["seeds"]', 'inputs = ["seeds", "scraped"]'))
    said = "feedtool: input folder scraped holds no dumps; is the scraper writing elsewhere?\n"
    for new in ("5 new", "0 new"):
        result = feedtool("build", cwd=project)
        assert (result.returncode, result.stderr) == (0, said) and new in result.stdout
    quiet = feedtool("build", "-q", cwd=project)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    strict = feedtool("build", "--strict", "-q", cwd=project)
    assert (strict.returncode, strict.stdout) == (1, "")
    assert strict.stderr == "feedtool: error: input folder scraped holds no dumps (--strict)\n"
    with Store(project / ".feedtool" / "state.sqlite3", root=project) as store:
        assert store.empty_inputs() == [str(wrong)]  # for `feedtool health`
    (wrong / "2024" / "06" / "a.txt").write_text(dump(url="https://www.rfi.fr/cn/a/found"), "utf-8")
    found = feedtool("build", "--strict", cwd=project)
    assert (found.returncode, found.stderr) == (0, "") and "1 new" in found.stdout
    with Store(project / ".feedtool" / "state.sqlite3", root=project) as store:
        assert store.empty_inputs() == []


def test_warnings_name_the_file(project: Path, capsys) -> None:
    broken = dump(title="头标题", url="https://www.zaobao.com/a", front_matter='title: "unclosed')
    (project / "seeds" / "broken-fm.txt").write_text(broken, "utf-8")
    code, out, err = run(capsys, "build")
    assert code == 0 and "6 new" in out
    assert "broken-fm.txt: front matter is not valid YAML" in err


def test_stats(project: Path, capsys) -> None:
    run(capsys, "build", "-q")
    code, out, _ = run(capsys, "stats", "--json")
    data = json.loads(out)
    assert code == 0 and data["entries"] == 5 and data["rejected"] == 0
    assert data["outlets"]["rfi"]["entries"] == 3 and data["topics"]["taiwan"] == 2
    code, out, _ = run(capsys, "stats")
    assert out.startswith("5 entries from 5 files, 0 rejected, 0 pruned\n") and "outlet rfi" in out


def test_init_writes_a_neutral_commented_starter(tmp_path: Path, capsys, monkeypatch) -> None:
    """Every table there with its keys commented, a placeholder input, no topic active; in a new
    folder the first build says what to set and makes nothing; a second init is a usage error."""
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "init")[0] == 0
    text = (tmp_path / "feedtool.toml").read_text("utf-8")
    config = load_config(tmp_path / "feedtool.toml")
    assert config.topics == () and config.inputs == (tmp_path / "dumps",)
    assert "# [[topic]]" in text and "# [[outlet]]" in text
    for table in ("[site]", "[build]", "[store]", "[feeds]", "[urls]", "[clean]"):
        assert table in text
    code, _, err = run(capsys, "build")
    assert code == 2 and "input folder" in err and "dumps does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedtool.toml"]
    code, _, err = run(capsys, "init")
    assert code == 2 and "already exists; pass --force" in err
    assert run(capsys, "init", "--force")[0] == 0


def test_the_starter_config_shows_the_defaults() -> None:
    """It says its values are the defaults: a default changed in the code alone would make that untrue."""
    starter, defaults = load_config(ROOT / "feedtool" / "starter.toml"), load_config(None)
    for name in ("site", "rules", "max_items", "archive_items", "formats", "opml_format", "lock_timeout"):
        assert getattr(starter, name) == getattr(defaults, name), name


def test_languages_are_bcp47_tags_in_their_standard_form(tmp_path: Path) -> None:
    """Each written as it may be, each published as its standard tag; an outlet that names none
    speaks the site's language, and a built-in outlet overridden keeps its own."""
    path = tmp_path / "feedtool.toml"
    path.write_text(
        "[site]\nlanguage = 'zh-hant'\n"
        "[[outlet]]\nslug = 'guardian'\nname = 'The Guardian'\nhosts = ['theguardian.com']\nlanguage = 'en-gb'\n"
        "[[outlet]]\nslug = 'lemonde'\nname = 'Le Monde'\nhosts = ['lemonde.fr']\n"
        "[[outlet]]\nslug = 'cna'\nname = 'CNA'\n",
        "utf-8",
    )
    config = load_config(path)
    assert config.site.language == "zh-Hant" and config.rules.language == "zh-Hant"
    languages = {o.slug: o.language for o in config.rules.outlets}
    assert (languages["guardian"], languages["lemonde"], languages["cna"], languages["rfi"]) == (
        "en-GB", "zh-Hant", "zh-TW", "zh-CN",
    )  # fmt: skip
    assert load_config(None).rules.language == load_config(None).site.language == "zh-CN"


def test_the_built_in_outlets_languages_are_standard_tags() -> None:
    """The registry's own are taken as they are written, unchecked on every run."""
    import langcodes

    for outlet in load_config(None).rules.outlets:
        assert langcodes.tag_is_valid(outlet.language), outlet.slug
        assert langcodes.standardize_tag(outlet.language) == outlet.language, outlet.slug


LOCAL = "links point at http://127.0.0.1:8000/, where feedtool serve listens (no [site] base_url)"


def test_without_a_base_url_the_build_and_check_say_the_links_are_local(project: Path) -> None:
    """No base URL configured: every link is the local server's. The build's summary says so once,
    check says the output is fit only for serving here; -q silences both. Once one is configured,
    check finds every document not yet published under it, until a build publishes them there."""
    config = project / "feedtool.toml"
    config.write_text(re.sub(r"(?m)^base_url = .*\n", "", config.read_text("utf-8")), "utf-8")
    built = feedtool("build", cwd=project)
    assert built.returncode == 0 and built.stdout.count(LOCAL) == 1 and built.stdout.count("\n") == 1
    assert feedtool("publish", cwd=project).stdout.count(LOCAL) == 1
    assert feedtool("build", "-q", cwd=project).stdout == ""
    checked = feedtool("check", cwd=project)
    assert (checked.returncode, checked.stdout) == (0, "feedtool: 31 documents checked, no problems\n")
    assert checked.stderr == (
        "feedtool: the output's links are under http://127.0.0.1:8000/, where feedtool serve listens"
        " (no [site] base_url): fit only for serving on this machine\n"
    )
    quiet = feedtool("check", "-q", cwd=project)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    config.write_text(
        config.read_text("utf-8").replace("[site]\n", '[site]\nbase_url = "https://feeds.example.org/"\n')
    )
    moved = feedtool("check", cwd=project)
    assert moved.returncode == 1 and moved.stderr == "feedtool: error: 30 problems in 31 documents under out\n"
    documents = [line.split(": ")[0] for line in moved.stdout.splitlines()]  # each once; style.css links nothing
    assert len(set(documents)) == 30 and "out/style.css" not in documents
    assert all("is not under the base URL https://feeds.example.org/" in line for line in moved.stdout.splitlines())
    assert (
        "out/all/atom.xml: self link http://127.0.0.1:8000/all/atom.xml is not under the base URL"
        " https://feeds.example.org/ ([site] base_url); 'feedtool build' publishes it there\n"
    ) in moved.stdout
    rebuilt = feedtool("build", cwd=project)
    assert rebuilt.returncode == 0 and LOCAL not in rebuilt.stdout
    checked = feedtool("check", cwd=project)
    assert (checked.returncode, checked.stderr) == (0, "")


def test_check_finds_a_damaged_document(project: Path, capsys) -> None:
    run(capsys, "build", "-q")
    code, out, _ = run(capsys, "check")
    assert code == 0 and "31 documents checked, no problems" in out
    (project / "out" / "outlets" / "rfi" / "rss.xml").write_text("<rss><channel><title>x</")
    code, out, err = run(capsys, "check")
    assert code == 1 and "outlets/rfi/rss.xml: not a valid feed" in out and "1 problems in 31 documents" in err


def _items(project: Path, feed: str = "all") -> list[str]:
    return [i["id"] for i in json.loads((project / "out" / feed / "feed.json").read_text("utf-8"))["items"]]


def test_a_prune_stays_done_through_every_kind_of_build_until_lifted(project: Path, capsys) -> None:
    run(capsys, "build", "-q")
    code, out, _ = run(capsys, "prune", "--before", "2023-01-01")
    assert code == 0 and "removed 1 entry (published before 2023-01-01), kept out as prune 1" in out
    run(capsys, "publish", "-q")
    assert len(_items(project)) == 4 and not (project / "out" / "outlets" / "zaobao").exists()
    # A changed cleaning rule, a forced re-derivation, a rescan, a new re-scrape: never back.
    toml = project / "feedtool.toml"
    toml.write_text(toml.read_text("utf-8").replace("remove = []", 'remove = ["strong"]', 1), "utf-8")
    for args in (["build"], ["build", "--rederive"], ["build", "--rescan"]):
        assert run(capsys, *args, "-q")[0] == 0
        assert len(_items(project)) == 4, args
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["pruned"] == 1
    assert run(capsys, "prune", "--list")[1].startswith("1: published before 2023-01-01 (since ")
    code, out, _ = run(capsys, "prune", "--lift", "1")
    assert code == 0 and "lifted prune 1" in out
    run(capsys, "build", "-q")
    assert len(_items(project)) == 5 and (project / "out" / "outlets" / "zaobao").exists()
    assert run(capsys, "prune", "--list")[1] == ""


def test_a_takedown_by_any_address_of_the_article(project: Path, capsys) -> None:
    run(capsys, "build", "-q")
    rfi = _items(project, "outlets/rfi")
    target = rfi[0].replace("https://", "http://") + "?utm_source=newsletter"  # another address of it
    code, out, _ = run(capsys, "prune", "--url", target)
    assert code == 0 and "removed 1 entry" in out
    run(capsys, "build", "-q")
    assert rfi[0] not in _items(project) and len(_items(project)) == 4
    (project / "seeds" / "again.txt").write_text(dump(title="重新抓取", url=rfi[0]), "utf-8")  # scraped again
    run(capsys, "build", "-q")
    assert rfi[0] not in _items(project)
    code, out, err = run(capsys, "prune", "--url", "https://www.rfi.fr/cn/never-seen")
    assert code == 0 and "no entry has the address https://www.rfi.fr/cn/never-seen" in err
    assert "removed 0 entries" in out


def test_prune_by_outlet_and_its_mistakes(project: Path, capsys) -> None:
    run(capsys, "build", "-q")
    code, out, _ = run(capsys, "prune", "--outlet", "rfi")
    assert code == 0 and "removed 3 entries (from rfi)" in out
    run(capsys, "publish", "-q")
    assert not (project / "out" / "outlets" / "rfi").exists()
    assert len(_items(project)) == 2
    code, _, err = run(capsys, "prune", "--outlet", "nope")
    assert code == 2 and "no outlet 'nope'; known outlets: " in err and "rfi" in err
    code, _, err = run(capsys, "prune", "--lift", "9")
    assert code == 2 and "no prune 9 (in force: 1;" in err
    code, _, err = run(capsys, "prune", "--url", "javascript:alert(1)")
    assert code == 2 and "URL is not http(s)" in err


def test_an_internal_error_is_one_line_and_a_traceback_only_with_v(project: Path, capsys, monkeypatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("feedtool.build.build", boom)
    code, _, err = run(capsys, "build")
    assert (code, err) == (1, "feedtool: internal error: RuntimeError: disk on fire (run with -v for details)\n")
    code, _, err = run(capsys, "build", "-v")
    assert code == 1 and "Traceback" in err


def test_reports_before_any_build_say_so(project: Path, capsys) -> None:
    for command in ("stats", "rejects"):
        code, _, err = run(capsys, command)
        assert code == 1 and "no store at .feedtool/state.sqlite3; run 'feedtool build' first" in err
    assert not (project / ".feedtool").exists()


def test_a_progress_bar_only_for_a_terminal(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, "build")
    assert code == 0 and "reading dumps" in err and "writing feeds" in err
    (project / "seeds" / "x.txt").write_text(dump(url="https://www.rfi.fr/cn/x"), "utf-8")
    code, _, err = run(capsys, "build", "-q")
    assert (code, err) == (0, "")


def test_rederive_reads_every_dump_again_and_rewrites_nothing_that_is_the_same(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "build")[0] == 0
    code, out, _ = run(capsys, "build", "--rederive")
    assert code == 0
    assert out.strip().startswith(
        "feedtool: rules or feedtool changed, every dump read again: 0 new, 0 updated, 5 unchanged"
    )
    assert "; 0 files written, 0 removed" in out


def test_a_new_outlet_without_hosts_is_a_config_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "feedtool.toml").write_text('[[outlet]]\nslug = "new"\nname = "New"\n', "utf-8")
    code, _, err = run(capsys, "build")
    assert code == 2 and "outlet 'new' needs hosts = [...]" in err and "Traceback" not in err


def test_a_retention_policy_prunes_by_age_on_every_build(project: Path, capsys, monkeypatch) -> None:
    """[store] keep_days, against the clock FEEDTOOL_NOW fixes: what ages out stays out, and comes
    back when the policy is removed."""
    monkeypatch.setenv("FEEDTOOL_NOW", "2023-11-01T00:00:00Z")
    toml = project / "feedtool.toml"
    plain = toml.read_text("utf-8")
    toml.write_text(plain.replace("lock_timeout = 30", "lock_timeout = 30\nkeep_days = 30"), "utf-8")
    run(capsys, "build", "-q")
    assert len(_items(project)) == 4  # the 2022 article is older than 30 days
    (project / "seeds" / "old.txt").write_text(dump(url="https://www.rfi.fr/cn/old", stamp="1577836800000"), "utf-8")
    run(capsys, "build", "-q")
    assert len(_items(project)) == 4  # a dump of 2020 arriving late ages out at once
    monkeypatch.setenv("FEEDTOOL_NOW", "2023-12-01T00:00:00Z")
    run(capsys, "build", "-q")
    assert len(_items(project)) == 1  # a month later, all but one seed is older than 30 days
    toml.write_text(plain, "utf-8")
    run(capsys, "build", "-q")
    assert len(_items(project)) == 6
    monkeypatch.setenv("FEEDTOOL_NOW", "yesterday")
    toml.write_text(plain.replace("lock_timeout = 30", "lock_timeout = 30\nkeep_days = 30"), "utf-8")
    code, _, err = run(capsys, "build")
    assert code == 2 and "FEEDTOOL_NOW='yesterday' is not an ISO 8601 time" in err


def test_a_project_folder_moved_whole_builds_as_a_no_op(project: Path, capsys, monkeypatch) -> None:
    """Dump paths are kept relative to the config's folder, and so is the output the config's digest
    names: moved elsewhere (input, config, store and output together), nothing is read again,
    nothing planned or rewritten, nothing stale listed."""
    (project / "seeds" / "broken.txt").write_bytes(b"")
    run(capsys, "build", "-q")
    moved = project.parent / "moved"
    shutil.move(project, moved)
    monkeypatch.chdir(moved)
    import feedtool.publish.run

    decided = []
    decide = feedtool.publish.run.decide
    monkeypatch.setattr(feedtool.publish.run, "decide", lambda facts: decided.append(decide(facts)) or decided[-1])
    code, out, _ = run(capsys, "build")
    assert code == 0 and "0 new, 0 updated, 5 unchanged, 1 rejected; 0 files written, 0 removed" in out
    assert decided == ["nothing"]  # not a plan of every document, which finds them all as they were
    assert run(capsys, "rejects")[1] == f"{moved / 'seeds' / 'broken.txt'}: empty file\n"
    assert json.loads(run(capsys, "stats", "--json")[1])["files"] == 6


def test_a_store_that_kept_absolute_paths_is_made_relative(project: Path, capsys) -> None:
    run(capsys, "build", "-q")
    store = project / ".feedtool" / "state.sqlite3"
    db = sqlite3.connect(store)
    with db:  # as a store before schema 10 kept them
        db.execute("UPDATE sources SET path = ? || substr(path, 2)", (str(project),))
        db.execute(
            "UPDATE folders SET path = CASE path WHEN '.' THEN ? ELSE ? || substr(path, 2) END", (str(project),) * 2
        )
        db.execute("DELETE FROM meta WHERE key = 'paths'")
    db.close()
    code, out, _ = run(capsys, "build")
    assert code == 0 and "0 new, 0 updated, 5 unchanged" in out
    db = sqlite3.connect(store)
    assert {p[:2] for (p,) in db.execute("SELECT path FROM sources")} == {"./"}
    db.close()


def test_the_command_leaves_the_librarys_logging_as_it_found_it(project: Path, capsys, monkeypatch) -> None:
    """A program that runs the command in its own process (as tests and wrappers do), then calls
    the library, hears the library as it set it up: no handler left on a stream since closed or
    swapped, no level left from -v."""
    import logging

    from feedtool import open_archive

    logger = logging.getLogger("feedtool")
    before = (list(logger.handlers), logger.level, logger.propagate)
    monkeypatch.chdir(project)
    code, _, err = run_cli(capsys, "build", "-v")
    assert code == 0 and "wrote all/atom.xml" in err  # -v spoke while the command ran
    assert (list(logger.handlers), logger.level, logger.propagate) == before
    open_archive(project / "feedtool.toml").build(workers=1)
    assert capsys.readouterr().err == ""  # the library's records go where the program sends them

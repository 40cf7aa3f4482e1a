"""The benchmark: feedtool's cold, no-op and +1% builds on a generated archive, side by side with Hugo.

    python bench/run.py                      # 20,000 articles (about 26,500 dumps), seed 1
    python bench/run.py --articles 2000      # a quick look
    python bench/run.py --layout flat        # every dump in one folder, as some scrapers write them
    python bench/run.py --stories            # with stories on

Each step runs the real `feedtool build -q` in a subprocess; wall time is measured around it and
peak memory is the largest sum of resident memory over the process and its workers, sampled
from /proc every 20 ms, beside the same sum of proportional memory (PSS: pages a forked worker
shares with the build counted once), sampled as often as a tenth of a core allows, as the kernel
counts it by walking every page. When the `hugo` command is present (Debian package `hugo`), Hugo builds
RSS for the same articles laid out as posts with front matter, in the same run, so the figures
are ratios on the same machine. The steps that can be repeated without changing what they
measure (the no-op rebuild, Hugo's cold build from an empty output folder) run three times and
report the median, as a shared machine's speed drifts between runs; so does the incremental
run, each time with a fresh batch of new articles and re-scrapes of the same size, and the cron
run, each time with a fresh CRON_DUMPS new dumps. The dumps are filed in a folder per day, or
with `--layout flat` all in one folder, which every scraper run changes: then every build lists
the whole archive and matches it against the store. Last, search
and query feeds are timed on the store the builds left (bench/queries.py). Results go
to stdout as a Markdown table and to bench/work/results.json; the generated archive, its store
and output are removed afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from corpus import generate  # noqa: E402

from feedtool.derive.dump import parse_dump  # noqa: E402
from feedtool.errors import Rejected  # noqa: E402
from feedtool.ingest.scan import RACY_SECONDS  # noqa: E402

INCREMENTAL_RUNS = 3
CRON_DUMPS = 100  # new dumps a cron run brings: a scraper's few minutes


@dataclass
class Measure:
    step: str
    seconds: float
    peak_mib: float
    files: int
    peak_pss_mib: float  # the same, with pages shared between processes counted once, shared out


PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
# PSS is read again after PSS_SHARE times what reading it took: the kernel counts it by walking
# every page (25 ms over a million-article build's 700 MB), so a build's sampler takes at most a
# tenth of a core for it, and a small process's PSS is read at every sample.
PSS_SHARE = 10


def _tree(root: int) -> list[int]:
    """A process and all its descendants, from each thread's children in /proc: no walk of every
    process on the machine, which at 50 samples a second took a third of a core from the build."""
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    stack += map(int, fh.read().split())
        except OSError:
            continue
    return pids


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError):
        return 0


def _pss_kib(pid: int) -> int:
    """Proportional memory, which the kernel counts by walking the process's pages (PSS_SHARE)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def measure(
    step: str, command: list[str], files: int, cwd: Path, *, runs: int = 1, before: Callable[[], None] | None = None
) -> Measure:
    """The median wall time of `runs` runs (each after `before`), and the largest peak memory."""
    times = []
    peak = peak_pss = 0.0
    for _ in range(runs):
        if before is not None:
            before()
        seconds, peak_mib, pss_mib = _run(step, command, cwd)
        times.append(seconds)
        peak, peak_pss = max(peak, peak_mib), max(peak_pss, pss_mib)
    return Measure(step, round(statistics.median(times), 3), round(peak, 1), files, round(peak_pss, 1))


def _run(step: str, command: list[str], cwd: Path) -> tuple[float, float, float]:
    peak = peak_pss = 0
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        next_pss = 0.0
        while not done.is_set():
            tree = _tree(process.pid)
            peak = max(peak, sum(map(_rss_kib, tree)))
            if (now := time.monotonic()) >= next_pss:
                peak_pss = max(peak_pss, sum(map(_pss_kib, tree)))
                next_pss = now + PSS_SHARE * (time.monotonic() - now)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"{step} failed ({process.returncode}):\n{out}\n{err}")
    return seconds, peak / 1024, peak_pss / 1024


def compile_bytecode(cwd: Path) -> None:
    """Compile the bytecode of the feedtool the builds will import, as pip does when it installs one.

    A checkout installed editable, on a machine that sets PYTHONDONTWRITEBYTECODE (as container
    images often do), would otherwise compile every module it imports on every run: about 70 ms of
    a cron run that a user's installed feedtool never pays.
    """
    # Asked from where the builds run, so that it is the feedtool on their sys.path.
    found = subprocess.run(
        [sys.executable, "-c", "import feedtool, os; print(os.path.dirname(feedtool.__file__))"],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    compileall.compile_dir(found.stdout.strip(), quiet=1)


def hugo_site(dumps: Path, site: Path) -> int:
    """The parseable dumps as Hugo posts with front matter, and a config that renders only RSS."""
    shutil.rmtree(site, ignore_errors=True)
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "http://127.0.0.1:8000/"\ntitle = "bench"\n'
        'disableKinds = ["sitemap", "robotsTXT", "404"]\n'
        '[taxonomies]\ncategory = "categories"\n'
        '[outputs]\nhome = ["RSS"]\nsection = ["RSS"]\ntaxonomy = ["RSS"]\nterm = ["RSS"]\npage = []\n'
        "[services.rss]\nlimit = 50\n",
        "utf-8",
    )
    count = 0
    for path in sorted(p for p in dumps.rglob("*") if p.is_file()):
        try:
            d = parse_dump(path.read_bytes(), str(path))
        except Rejected:
            continue
        when = d.front_matter_date or d.timestamp
        date = f"date: {when:%Y-%m-%dT%H:%M:%SZ}\n" if when else ""
        host = d.url.split("/")[2].lower()
        front = f"---\ntitle: {json.dumps(d.title, ensure_ascii=False)}\n{date}categories: [{json.dumps(host)}]\n---\n"
        (posts / f"{path.stem}.html").write_text(front + d.html, "utf-8")
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--no-hugo", action="store_true", help="skip Hugo even when it is installed")
    parser.add_argument(
        "--batch", type=int, help="new articles in the incremental run (default 1%%; a quarter as many re-scrapes too)"
    )
    parser.add_argument(
        "--layout", choices=["days", "flat"], default="days", help="dumps in a folder per day, or all in one folder"
    )
    parser.add_argument("--stories", action="store_true", help="with [stories] enabled = true (off by default)")
    parser.add_argument("--keep", action="store_true", help="keep the generated archive, store and output afterwards")
    parser.add_argument("--save", action="store_true", help="keep the figures in bench/results.json, for the docs")
    args = parser.parse_args()

    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    dumps = work / "dumps"
    flat = args.layout == "flat"
    manifest = generate(dumps, args.articles, args.seed, flat=flat)
    # An archive at rest, as a first build meets it: folders changed within RACY_SECONDS of a build
    # are listed again by the next one (ingest/scan.py), and every folder of a corpus written a moment
    # ago would be, making the first no-op a second cold listing.
    time.sleep(RACY_SECONDS)
    config = (HERE.parent / "feedtool.toml").read_text("utf-8").replace('inputs = ["seeds"]', 'inputs = ["dumps"]')
    if args.stories:
        config = config.replace("\nenabled = false ", "\nenabled = true  ", 1)
        assert "\nenabled = true " in config, "feedtool.toml's [stories] switch is not where the benchmark looks"
    (work / "feedtool.toml").write_text(config, "utf-8")
    feedtool = [sys.executable, "-m", "feedtool", "build", "-q", "-c", str(work / "feedtool.toml")]
    compile_bytecode(work)
    results = [
        measure("feedtool cold build", feedtool, manifest.files, work),
        measure("feedtool no-op rebuild", feedtool, manifest.files, work, runs=3),
    ]
    sizes = {"dumps": _megabytes(dumps), "store": _megabytes(work / ".feedtool"), "output": _megabytes(work / "out")}
    # Hugo builds the archive feedtool's cold build read, before the incremental batches add to it.
    hugo_steps = []
    if shutil.which("hugo") and not args.no_hugo:
        posts = hugo_site(dumps, work / "hugo")
        hugo = ["hugo", "--quiet", "--source", str(work / "hugo"), "--destination", str(work / "hugo" / "public")]
        public = work / "hugo" / "public"
        hugo_steps.append(
            measure(
                "hugo cold build (RSS only)", hugo, posts, work, runs=3,
                before=lambda: shutil.rmtree(public, ignore_errors=True),
            )
        )  # fmt: skip
    batch = args.batch or max(1, args.articles // 100)
    # An incremental run cannot be repeated as it was, but one like it can: a fresh batch of the
    # same size each time, the median of three reported, as a single run moves with the machine.
    batches: list[int] = []

    def next_batch() -> None:
        start = args.articles + len(batches) * batch
        batches.append(generate(dumps, batch, args.seed, start=start, rescrape_of=batch // 4, flat=flat).files)

    incremental = measure("incremental", feedtool, 0, work, runs=INCREMENTAL_RUNS, before=next_batch)
    files = int(statistics.median(batches))
    label = "+1%" if args.batch is None else f"+{files} dumps"
    results.append(replace(incremental, step=f"feedtool {label} rebuild", files=files))
    # A cron run: new articles, one at a time, until they make CRON_DUMPS dumps (an article may come
    # with re-scrapes); numbered after every incremental batch, so each is news.
    numbered = [args.articles + INCREMENTAL_RUNS * batch]
    cron_batches: list[int] = []

    def cron_batch() -> None:
        written = 0
        while written < CRON_DUMPS:
            written += generate(dumps, 1, args.seed, start=numbered[0], flat=flat).files
            numbered[0] += 1
        cron_batches.append(written)

    cron = measure("cron", feedtool, 0, work, runs=INCREMENTAL_RUNS, before=cron_batch)
    files = int(statistics.median(cron_batches))
    results += [replace(cron, step=f"feedtool cron run ({CRON_DUMPS} new dumps)", files=files), *hugo_steps]

    # Search and query feeds, asked of the store as the builds left it (bench/queries.py).
    import queries

    asked = queries.run(work / "feedtool.toml")
    hugo_cold = next((r.seconds for r in results if r.step.startswith("hugo")), None)
    where = "in one folder" if flat else "in a folder per day"
    print(f"\n{manifest.files} dumps {where}, {len(manifest.articles)} articles, {os.cpu_count()} cores\n")
    print("| step | files | wall s | peak MiB (RSS summed) | peak MiB (PSS) | x Hugo cold |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = f"{r.seconds / hugo_cold:.2f}" if hugo_cold else "-"
        print(f"| {r.step} | {r.files} | {r.seconds:.2f} | {r.peak_mib:.0f} | {r.peak_pss_mib:.0f} | {ratio} |")
    print("\nafter the cold build, MB: " + ", ".join(f"{name} {size:,.0f}" for name, size in sizes.items()))
    print("\nqueries: " + json.dumps(asked, ensure_ascii=False, indent=2))
    report = {
        "articles": len(manifest.articles), "dumps": manifest.files, "layout": args.layout, "stories": args.stories,
        "steps": [asdict(r) for r in results],
        "megabytes_after_cold_build": sizes, "queries": asked,
    }  # fmt: skip
    (work / "results.json").write_text(json.dumps(report, indent=2), "utf-8")
    if args.save:
        given = sys.argv[1:]
        asked = [a for a, before in zip(given, ["", *given[:-1]], strict=True) if "--work" not in (a, before)]
        _save(report, " ".join(["python", "bench/run.py", *asked]))
    if not args.keep:  # a million articles leave tens of gigabytes behind
        for made in work.iterdir():
            if made.name != "results.json":
                if made.is_dir():
                    shutil.rmtree(made)
                else:
                    made.unlink()


def _save(report: dict[str, object], command: str) -> None:
    """Keep this run in bench/results.json (one run a size, the newest), with the machine and date:
    the documentation's Performance page is made from that file."""
    import platform

    path = HERE / "results.json"
    saved = json.loads(path.read_text("utf-8")) if path.is_file() else {"runs": []}

    def kind(run: dict[str, object]) -> tuple[object, ...]:
        """One run is kept a size, layout and switch of stories (runs saved before layouts: day folders)."""
        return (run["articles"], run.get("layout", "days"), run.get("stories", False))

    runs = [run for run in saved["runs"] if kind(run) != kind(report)] + [report]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    saved = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(), "memory_gib": round(memory / 2**30),
            "python": platform.python_version(), "system": platform.platform(terse=True),
        },
        "commands": sorted({*saved.get("commands", []), command}),
        "runs": sorted(runs, key=kind),
    }  # fmt: skip
    path.write_text(json.dumps(saved, indent=2) + "\n", "utf-8")


def _megabytes(folder: Path) -> float:
    """Everything in a folder, as the disk counts it: a store's write-ahead log and lock included."""
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file()) / 1e6


if __name__ == "__main__":
    main()

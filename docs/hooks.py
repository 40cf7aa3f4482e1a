"""mkdocs hooks: the pages that must not drift from the code are made from it when the site is built.

- `<!-- config-reference -->` becomes the table of every config key, its default and meaning,
  read from feedtool's starter config (what `feedtool init` writes: every key, with its default
  and a comment), checked against the config's schema so that a key the code knows and the
  starter does not is a build error.
- `<!-- bench-results -->` becomes the tables of `bench/results.json`, as `bench/run.py` wrote it.
- `<!-- soak-results -->` becomes the table of `bench/soak.json`, as `bench/soak.py --save` wrote it.
- `<!-- cluster-results -->` becomes the table of `bench/cluster.json`, as `bench/cluster.py --save` wrote it.
- `<!-- query-parameters -->` becomes the table of a query feed's parameters, from search/rsshub.py's
  own list, the one the code takes them by.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_KEY = re.compile(r"^(?:# )?(?P<key>[a-z_]+) = (?P<value>.+?)(?:\s{2,}# (?P<comment>.*))?$")
_TABLE = re.compile(r"^(?:# )?(?P<table>\[\[?[a-z]+\]?\])$")


def config_reference() -> str:
    """Every key of the starter config, table by table, as a Markdown table."""
    from feedtool.config import _SCHEMA

    text = resources.files("feedtool").joinpath("starter.toml").read_text("utf-8")
    rows, table, seen = [], "", set()
    for line in text.splitlines():
        if found := _TABLE.match(line.strip()):
            table = found["table"]
            continue
        found = _KEY.match(line.strip())
        if not found or not table:
            continue
        name = table.strip("[]")
        seen.add((name, found["key"]))
        comment = (found["comment"] or "").replace("|", "\\|")
        value = found["value"].strip().replace("|", "\\|")
        optional = line.startswith("#") or "example" in comment
        shown = f"`{value}` (example)" if optional and "example" in comment else f"`{value}`"
        meaning = comment.replace("example: ", "").replace("example", "").strip(" :")
        rows.append(f"| `{table} {found['key']}` | {shown} | {meaning} |")
    missing = sorted(f"[{t}] {k}" for t, keys in _SCHEMA.items() for k in keys if (t, k) not in seen)
    if missing:
        raise ValueError(f"the starter config does not show these keys: {', '.join(missing)}")
    return "| key | default | meaning |\n|---|---|---|\n" + "\n".join(rows)


def bench_results() -> str:
    """The benchmark's results file as tables: the machine and date once, then each size's figures."""
    data = json.loads((ROOT / "bench" / "results.json").read_text("utf-8"))
    machine = data["machine"]
    said = [
        f"Measured on {data['date']}, on {machine['cpus']} CPUs and {machine['memory_gib']} GiB"
        f" ({machine['system']}, Python {machine['python']}), by "
        + ", ".join(f"`{command}`" for command in data["commands"])
        + "."
    ]
    for run in data["runs"]:
        where = ", all in one folder" if run.get("layout") == "flat" else ""  # else a folder per day
        stories = ", stories on" if run.get("stories") else ""
        said.append(f"\n### {run['articles']:,} articles ({run['dumps']:,} dumps{where}{stories})\n")
        said.append("| step | dumps | wall time | peak memory, summed RSS | peak PSS |")
        said.append("|---|---:|---:|---:|---:|")
        for step in run["steps"]:
            said.append(
                f"| {step['step']} | {step['files']:,} | {step['seconds']:.2f} s | {step['peak_mib']:,.0f} MiB"
                f" | {step['peak_pss_mib']:,.0f} MiB |"
            )
        sizes = run["megabytes_after_cold_build"]
        said.append(
            "\nAfter the cold build: " + ", ".join(f"{name} {size:,.0f} MB" for name, size in sizes.items()) + "."
        )
        if "queries" in run:
            said.append(_queries(run["queries"]))
    return "\n".join(said)


def soak_results() -> str:
    """bench/soak.json as a table: each run of `bench/soak.py`, the code it measured, what it saw."""
    runs = json.loads((ROOT / "bench" / "soak.json").read_text("utf-8"))["runs"]
    said = [
        "| code | minutes | requests (errors) | query feed, median / p99 | search, median / p99"
        " | static, median / p99 | memory start → max → end | store handles | slowloris held | load at start |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        asked = run["requests"]
        errors = sum(sum(kind["errors"].values()) for kind in asked.values())
        rss, held = run["rss_mib"], run["hostile"]["slowloris"]["held_max_s"]
        said.append(
            f"| {run['code']['commit']} | {run['seconds'] / 60:g} | {sum(k['count'] for k in asked.values()):,}"
            f" ({errors}) | "
            + " | ".join(
                f"{asked[k]['median_ms']:g} / {asked[k]['p99_ms']:g} ms" for k in ("query feed", "search", "static")
            )
            + f" | {rss['start']:g} → {rss['max']:g} → {rss['end']:g} MiB | {run['store_fds_max']} | {held:g} s"
            + f" | {run['machine']['load_average_before'][0]:g} |"
        )
    said.append("\nMeasured by " + "; ".join(f"`{run['command']}` ({run['date']})" for run in runs) + ".")
    return "\n".join(said)


def cluster_results() -> str:
    """bench/cluster.json as a table: a cold build locally and on clusters of several workers."""
    run = json.loads((ROOT / "bench" / "cluster.json").read_text("utf-8"))
    dumps = run["dumps"]
    said = [
        "| executor | worker processes | wall s | build process CPU, ms a dump | workers' CPU, ms a dump |",
        "|---|---:|---:|---:|---:|",
    ]
    for build in run["builds"]:
        said.append(
            f"| {build['executor']} | {build['workers']} | {build['seconds']:.1f}"
            f" | {1000 * build['build_cpu'] / dumps:.2f} | {1000 * build['workers_cpu'] / dumps:.2f} |"
        )
    writer = min(build["build_cpu"] for build in run["builds"]) / dumps
    said.append(
        f"\n{run['articles']:,} articles ({dumps:,} dumps) on {run['cpus']} cores, measured by `{run['command']}`"
        f" ({run['date']}). The build process's own CPU, at best {1000 * writer:.2f} ms a dump, caps a build at"
        f" about {1 / writer:,.0f} dumps a second however many workers serve it."
    )
    return "\n".join(said)


def _queries(asked: dict[str, Any]) -> str:
    """A run's search and query feed timings (bench/queries.py), and the index's share of the store."""
    rows = [
        f"| {name} | {t['asked']} | {t['median_ms']:.1f} ms | {t['p99_ms']:.1f} ms | {t['max_ms']:.1f} ms |"
        for name, t in asked.items()
        if isinstance(t, dict)
    ]
    return (
        f"\nSearch and query feeds over {asked['entries']:,} entries, after the incremental rebuilds"
        " (`bench/queries.py`):\n\n| question | asked | median | 99th percentile | slowest |\n"
        "|---|---:|---:|---:|---:|\n" + "\n".join(rows) + f"\n\nThe full-text index: {asked['index_mb']:,.0f} MB"
        f" of the store's {asked['store_mb']:,.0f} MB ({asked['index_share']:.0%})."
    )


def query_parameters() -> str:
    """The query feed parameters, one row each, from feedtool.search.rsshub.PARAMETERS."""
    from feedtool.search.rsshub import PARAMETERS

    rows = [f"| `{name}` | {meaning} |" for name, meaning in PARAMETERS.items()]
    return "| parameter | meaning |\n|---|---|\n" + "\n".join(rows)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if "<!-- query-parameters -->" in markdown:
        markdown = markdown.replace("<!-- query-parameters -->", query_parameters())
    if "<!-- config-reference -->" in markdown:
        markdown = markdown.replace("<!-- config-reference -->", config_reference())
    if "<!-- soak-results -->" in markdown:
        markdown = markdown.replace("<!-- soak-results -->", soak_results())
    if "<!-- cluster-results -->" in markdown:
        markdown = markdown.replace("<!-- cluster-results -->", cluster_results())
    if "<!-- bench-results -->" in markdown:
        markdown = markdown.replace("<!-- bench-results -->", bench_results())
    return markdown

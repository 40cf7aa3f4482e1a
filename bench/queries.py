"""Search and query feeds timed on a built archive: what `feedtool serve` and `feedtool search` answer.

    python bench/queries.py bench/work/feedtool.toml     # after `bench/run.py --keep`

Each kind of question is asked a few hundred times with different words, in process, through
the same calls the server makes (web.answers.Archive, search.search), against the store as the
build left it: a word search (one page of hits with snippets, the search page's work), a
filtered query feed (`?q=word&filter_title=…`, rendered as Atom), and a filtered feed without
a search (`?filterout=…`, the newest entries through an expression). The words are the
corpus's own, common ones (found in a third of the articles) and rare ones (an article number).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from corpus import OUTLETS, TITLE_WORDS  # noqa: E402

from feedtool.config import load_config  # noqa: E402
from feedtool.search.hits import Search, search  # noqa: E402
from feedtool.search.rsshub import from_params  # noqa: E402
from feedtool.store import Store  # noqa: E402
from feedtool.web.answers import Archive  # noqa: E402
from feedtool.web.budget import Budget  # noqa: E402

LATIN = ["Blinken", "markets", "Beijing", "officials", "volatile", "quarter"]


def _timed(ask: Callable[[int], object], times: int) -> dict[str, float]:
    spent = []
    for n in range(times):
        started = time.perf_counter()
        ask(n)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return {
        "asked": times,
        "median_ms": round(statistics.median(spent), 1),
        "p99_ms": round(spent[min(len(spent) - 1, int(len(spent) * 0.99))], 1),
        "max_ms": round(spent[-1], 1),
    }


def index_share(store_path: Path) -> dict[str, float]:
    """The full-text index's pages against the whole store's, from SQLite's own page table."""
    db = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True)
    pages = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    db.close()
    total = sum(pages.values())
    index = sum(
        size for name, size in pages.items() if name.startswith("search") or name.startswith("sqlite_autoindex_search")
    )
    return {
        "store_mb": round(total / 1e6, 1),
        "index_mb": round(index / 1e6, 1),
        "index_share": round(index / total, 3),
    }


def _budget() -> Budget:
    budget = Budget()
    budget.start()
    return budget


def run(config_path: Path, times: int = 300, seed: int = 1) -> dict[str, object]:
    config = load_config(config_path)
    archive = Archive(config)
    store = Store.reader(config.store)
    rng = random.Random(seed)
    articles = int(store.db.execute("SELECT count(*) FROM entries").fetchone()[0])
    words = [*TITLE_WORDS, *LATIN]

    def word(n: int) -> str:
        return str(rng.randrange(articles)) if n % 3 == 0 else rng.choice(words)

    def word_search(n: int) -> object:
        return search(store, Search(word(n), limit=20))

    def filtered_feed(n: int) -> object:
        outlet = OUTLETS[n % len(OUTLETS)].slug
        asked = from_params({"q": [rng.choice(TITLE_WORDS)], "filter_title": ["|".join(rng.sample(TITLE_WORDS, 2))]})
        assert asked is not None
        return archive.feed(store, _budget(), f"outlets/{outlet}", "atom", asked, datetime.now(UTC))

    def filterout_feed(n: int) -> object:
        asked = from_params({"filterout": [rng.choice(TITLE_WORDS)], "limit": ["20"]})
        assert asked is not None
        return archive.feed(store, _budget(), "all", "rss", asked, datetime.now(UTC))

    results: dict[str, object] = {
        "entries": articles,
        "word search (20 hits, snippets)": _timed(word_search, times),
        "query feed: q + filter_title, one outlet, Atom": _timed(filtered_feed, times),
        "query feed: filterout, all outlets, RSS": _timed(filterout_feed, times),
    }
    results.update(index_share(config.store))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--times", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(run(args.config, args.times), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

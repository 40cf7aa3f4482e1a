"""feedtool: scraped news dumps in, clean Atom / RSS / JSON feeds out.

The stages, in the order data flows through them:

    dump.py       one dump file      -> Dump        (parsed, not yet trusted)
    normalise.py  Dump               -> Entry       (with clean.py, urls.py, outlets.py, dates.py)
    store.py      Entry              -> SQLite      (merge, dedupe by canonical URL)
    ingest.py     folders of dumps   -> store       (incremental, parallel)
    topics.py     entry text         -> topic slugs
    feeds.py      stored entries     -> feed documents (Atom, RSS, JSON Feed)
    site.py       feed list          -> OPML, index.html
    publish.py    documents          -> files under out/ (atomic, only what changed)
    build.py      the above, under a lock
    cli.py        the click layer; nothing below imports click
"""

__version__ = "0.1.0"

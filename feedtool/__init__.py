"""feedtool: scraped news dumps in, clean Atom / RSS / JSON feeds out.

The stages, in the order data flows through them (rules.py and models.py hold the records they
pass; config.py reads the rules):

    dump.py       one dump file      -> Dump        (parsed, not yet trusted)
    normalise.py  Dump               -> Entry       (with clean.py, urls.py, outlets.py, dates.py)
    store.py      Entry              -> SQLite      (merge, dedupe by canonical URL)
    ingest.py     folders of dumps   -> store       (incremental, parallel)
    topics.py     entry text         -> topic slugs
    feeds.py      stored entries     -> feed documents (Atom, RSS, JSON Feed)
    pages.py      feeds, entries     -> HTML pages for people (Jinja2)
    site.py       feed list          -> OPML
    publish.py    documents          -> files under out/ (atomic, only what changed)
    build.py      the above, under a lock
    cli.py        the click layer; nothing below imports click
"""

__version__ = "0.1.0"

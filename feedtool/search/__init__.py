"""Asking the archive: the search language, its hits, and RSSHub's feed parameters.

- `language`: a search as a person types it, to an FTS5 expression or a reason it cannot be.
- `hits`: a search run against the store, its hits and their order.
- `rsshub`: a feed address's query string (RSSHub's parameters) to what to pick and how to show it.
- `folding`: a filter's expression with each Chinese character standing for all its forms (`fold=1`).

The text the index holds is derive/indexed.py's, made where a dump is read.
"""

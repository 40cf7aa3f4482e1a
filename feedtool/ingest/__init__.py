"""Folders of dumps into the store, touching only what changed.

- `scan`: which files may have changed since the last run, without a stat per dump.
- `run`: the ingest itself: workers read, hash and derive (derive/); this process writes.
- `apply`: one derived scrape applied to the store, as derive/merge.py decides.
"""

"""Outlet health: whether each scraper is still bringing articles, and whether they are articles.

- `lateness`: when an outlet is late, from its own history (pure).
- `verdicts`: each outlet's verdict from the store's history, and its Prometheus metrics.
"""

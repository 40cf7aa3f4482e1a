"""The store into files under out/: feeds, archives, pages and the OPML list, only what changed.

- `decision`: whether a publish writes nothing, plans by change or plans everything (pure).
- `plan`: which documents to write, each with a fingerprint of all it is made from.
- `run`: the publish itself: renders in the workers, writes each file whole or not at all.
- `feeds`: Atom, RSS and JSON Feed documents. `pages`: the HTML pages (templates/).
  `site`: the OPML list and the static files. `check`: every document read back as a reader would.
"""

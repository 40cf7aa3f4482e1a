"""Turning one dump into an entry: a pure stage, the same bytes and rules giving the same entry.

- `dump`: a file's parts (front matter, millisecond comment, Markdown title line, HTML), decoded.
- `clean`, `selectors`: the article alone, as safe HTML, by the rule tables' selectors.
- `urls`: the canonical URL, an entry's identity. `outlets`: which outlet a URL belongs to.
- `dates`: dates written by people. `limits`: bounds on reading one dump. `topics`: topic matching
  across simplified and traditional Chinese.
- `normalise`: a dump to an entry, each field from its best source. `indexed`: the text the
  full-text index holds. `merge`: one more scrape of an article and what the stored entry becomes.
- `keys`: fingerprints of this package's code and the rules; a store whose entries were derived
  under others derives them again.

Nothing here reads the store or writes a file: ingest/ does, with what this package decides.
"""

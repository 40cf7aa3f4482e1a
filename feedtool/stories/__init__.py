"""Stories: the articles of several outlets that report one event, grouped (pure, not yet stored).

- `terms`: an article's terms: names, places, figures and words, simplified and traditional alike.
- `similarity`: how alike two articles are: TF-IDF cosine, rarity counted among the articles
  published near them in time.
- `grouping`: the rule that links two articles and makes stories of the links, and the stories'
  ids; `group()` applies it to a set of articles in one pass.
- `incremental`: `Grouping`, the same stories kept as articles arrive, change or are pruned,
  recomputing only what a change can reach.

Nothing here reads the store or writes a file: given the entries' (id, outlet, published, title,
text), it says which stories they make.
"""

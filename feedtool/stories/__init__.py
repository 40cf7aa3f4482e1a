"""Stories: the articles of several outlets that report one event, grouped, and kept in the store.

- `terms`: an article's terms: names, places, figures and words, simplified and traditional alike.
- `similarity`: how alike two articles are: TF-IDF cosine, rarity counted among the articles
  published near them in time.
- `grouping`: the rule that links two articles and makes stories of the links, and the stories'
  ids; `group()` applies it to a set of articles in one pass.
- `incremental`: `Grouping`, the same stories kept in memory as articles arrive, change or are
  pruned, recomputing only what a change can reach.
- `zones`: the links a change can reach, made again from the articles published around it.
- `kept`: the store's stories kept in step with its entries by every build (the store keeps the
  links and marks the days that changed; store/stories.py).

All but `kept` are pure: given the entries' (id, outlet, published, title, text), they say which
stories they make. `kept` reads and writes the store, and is the only module here that does.
"""

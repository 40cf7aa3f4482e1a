"""The store's stories made again after a change (stories/kept.py), on a store set up by hand: the
links a zone leaves decide the stories, including those of articles no change touched."""

from __future__ import annotations

import json
from pathlib import Path

from feedtool.store import Store
from feedtool.store.packing import pack_text
from feedtool.stories import kept
from feedtool.stories.grouping import RULES, story_id


def _stories(store: Store) -> list[list[str]]:
    return [json.loads(members) for (members,) in store.db.execute("SELECT members FROM stories ORDER BY id")]


def test_a_story_that_loses_a_link_is_made_again_of_the_members_still_linked(tmp_path: Path) -> None:
    """X, Y and V (three outlets, two days apart) are one story through the links X-Y and Y-V.
    X's zone is made again without X-Y (X's best match changed, say); Y and V lie outside it and
    are not touched, and their link stands: they stay a story, and the pages of all three change."""
    with Store(tmp_path / "state.sqlite3") as store:
        db = store.db
        with store.transaction():
            for outlet in ("o1", "o2", "o3"):
                db.execute(
                    "INSERT INTO outlets (slug, name, homepage, language) VALUES (?, ?, '', 'en')", (outlet, outlet)
                )
            for entry, outlet, day in (("X", "o1", "10"), ("Y", "o2", "12"), ("V", "o3", "14")):
                at = f"2024-05-{day}T00:00:00Z"
                db.execute(
                    "INSERT INTO entries (id, url, outlet, title, tags, language, published, updated, shown, revision,"
                    " text) VALUES (?, '', ?, ?, '[]', 'en', ?, ?, ?, 'r', ?)",
                    (entry, outlet, f"title {entry}", at, at, at, pack_text("", "", f"lead {entry}")),
                )
            db.execute("INSERT INTO story_links (a, b, score) VALUES ('X', 'Y', 0.5), ('V', 'Y', 0.5)")
            kept._restory(store, ["V", "X", "Y"], RULES)
        assert _stories(store) == [["X", "Y", "V"]]
        with store.transaction():  # published: changes are logged from here
            store.published_all({}, {}, whole=False, config="", newest="")
        with store.transaction():
            store.replace_links(["X"], [])
            kept._restory(store, ["X"], RULES)
        assert _stories(store) == [["Y", "V"]]
        assert sorted(db.execute("SELECT entry_id, story FROM story_members")) == [
            ("V", story_id("Y")),
            ("Y", story_id("Y")),
        ]
        assert sorted(i for (i,) in db.execute("SELECT entry_id FROM changes")) == ["V", "X", "Y"]

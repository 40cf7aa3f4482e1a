"""Sources: every dump file read, what it gave (an entry or a rejection), and the folders listed.

The file index answers "has this file changed since it was read?" from a stat alone, and the
content hash "has this content been read under another path?"; both only for rows of the
current derivation (see derivations.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence, Set

from feedtool.models import FolderMark, Rejection
from feedtool.store.derivations import Derivations
from feedtool.store.packing import pack_listing, unpack_listing
from feedtool.store.records import FileStat, Known, filled_from
from feedtool.store.sql import in_chunks

# A stored path made real in SQL, the project folder its parameter: "./a/b.txt" -> root + "/a/b.txt".
_REAL_PATH = "CASE WHEN substr(path, 1, 2) = './' THEN ? || substr(path, 2) ELSE path END"


class Sources(Derivations):
    def unmatched(
        self, stats: Iterable[tuple[str, int, int]], folders: Iterable[str], paths: Iterable[str] = ()
    ) -> tuple[list[tuple[str, int, int]], list[str]]:
        """The files of `stats` (path, size, mtime_ns) that the file index does not hold as they are (new
        or changed), and the paths it holds under `folders` or among `paths` that are not in `stats`.

        The file index is read by folder, as a build lists only the folders that changed, and under
        the current derivation (stale rows are left out, so their files count as changed). Its rows
        are matched against the listing as SQLite gives them, with the stored path made the real one
        in SQL: a scraper's one flat folder of a million dumps is listed whole on every run, and a
        path converted in Python, a dict entry kept and a folder name taken for each known file were
        half of such a run (6 s of 12). What is left in Python is one set lookup per row, and work
        per change.
        """
        ranges = _outermost(self.stored_path(folder) for folder in folders)
        # The files named one by one (rejected ones in folders not listed), but for those read by folder.
        # By prefix, in C: at a million dumps a run names ten thousand rejected ones, and walking up
        # each one's folders was a tenth of a build with nothing to do.
        inside = tuple(folder if folder.endswith("/") else folder + "/" for folder in ranges)
        alone = [path for path in map(self.stored_path, paths) if not path.startswith(inside)]
        real, given = ("path", ()) if self.root is None else (_REAL_PATH, (self.root,))
        select = f"SELECT {real}, size, mtime_ns FROM sources WHERE derivation = ? AND "
        queries = [
            *((select + "path >= ? AND path < ?", (folder + "/", folder + chr(ord("/") + 1))) for folder in ranges),
            *((select + f"path IN ({marks})", tuple(chunk)) for chunk, marks in in_chunks(alone)),
        ]
        remaining = set(stats)
        take = remaining.remove
        unlisted: list[str] = []
        for query, args in queries:
            for row in self.db.execute(query, (*given, self.derivation, *args)):
                try:
                    take(row)
                except KeyError:  # not listed as it is: changed, or not listed at all
                    unlisted.append(row[0])
        changed = {path for path, _, _ in remaining}
        return list(remaining), [path for path in unlisted if path not in changed]

    def rejected_paths(self) -> set[str]:
        """The files read under the current derivation that were rejected."""
        query = "SELECT path FROM sources WHERE rejected IS NOT NULL AND derivation = ?"
        return {self.real_path(path) for (path,) in self.db.execute(query, (self.derivation,))}

    def folder_marks(self) -> dict[str, FolderMark]:
        """What each folder held when listed under the current derivation (see ingest/scan.py)."""
        query = "SELECT path, mtime_ns, files, subfolders FROM folders WHERE derivation = ?"
        return {
            self.real_path(path): FolderMark(mtime_ns, files, tuple(json.loads(subfolders)))
            for path, mtime_ns, files, subfolders in self.db.execute(query, (self.derivation,))
        }

    def listed_before(self) -> bool:
        """Whether a build has marked any folder, under any derivation: a store with none lists them all."""
        return self.db.execute("SELECT 1 FROM folders LIMIT 1").fetchone() is not None

    def set_folder_marks(self, marks: dict[str, FolderMark]) -> None:
        derivation = self.derivation
        self.db.execute("DELETE FROM folders")
        self.db.executemany(
            "INSERT INTO folders (path, mtime_ns, files, subfolders, derivation) VALUES (?, ?, ?, ?, ?)",
            (
                (
                    self.stored_path(path),
                    mark.mtime_ns,
                    mark.files,
                    json.dumps(mark.subfolders, ensure_ascii=False),
                    derivation,
                )
                for path, mark in marks.items()
            ),
        )

    def folder_listing(self, folder: str) -> str | None:
        """What the last build that listed a folder whole under the current derivation found in it, as
        ingest/scan.py writes it, if one did."""
        query = "SELECT names FROM listings WHERE folder = ? AND derivation = ?"
        row = self.db.execute(query, (self.stored_path(folder), self.derivation)).fetchone()
        return None if row is None else unpack_listing(row[0])

    def set_folder_listings(self, listings: dict[str, str], reached: Set[str]) -> None:
        """Keep these folders' listings; forget those of folders not reached by this build's walk, so that
        a folder deleted and made again, or moved out of the inputs and back, is listed anew."""
        derivation = self.derivation
        there = {self.stored_path(folder) for folder in reached}
        self.db.execute("DELETE FROM listings WHERE derivation <> ?", (derivation,))
        stale = [(folder,) for (folder,) in self.db.execute("SELECT folder FROM listings") if folder not in there]
        self.db.executemany("DELETE FROM listings WHERE folder = ?", stale)
        self.db.executemany(
            "INSERT OR REPLACE INTO listings (folder, names, derivation) VALUES (?, ?, ?)",
            ((self.stored_path(folder), pack_listing(text), derivation) for folder, text in listings.items()),
        )

    def empty_inputs(self) -> list[str]:
        """The input folders the last build that read dumps found no dump in, anywhere under them
        (a scraper writing to another folder): the build says so, and `feedtool health` may."""
        return [self.real_path(path) for path in json.loads(self.get_meta("empty_inputs") or "[]")]

    def set_empty_inputs(self, folders: Sequence[str]) -> None:
        self.set_meta("empty_inputs", json.dumps([self.stored_path(f) for f in folders], ensure_ascii=False))

    def known(self, hashes: Iterable[str]) -> dict[str, Known]:
        """What each of these contents gave under the current derivation, where it gave an entry or
        a rejection, by hash: a build asks for each batch of files it hashed at once."""
        found: dict[str, Known] = {}
        derivation = self.derivation
        for chunk, marks in in_chunks(sorted(set(hashes))):
            query = (
                "SELECT s.sha256, s.entry_id, s.rejected, s.text_hash, s.published, s.published_rank,"
                " s.warnings, e.shown, e.author_from, e.image_from, e.tags_from"
                " FROM sources s LEFT JOIN entries e ON e.id = s.entry_id"
                f" WHERE s.sha256 IN ({marks}) AND s.derivation = ?"
                " AND (s.entry_id IS NOT NULL OR s.rejected IS NOT NULL)"
            )
            for sha256, entry_id, rejected, text_hash, published, rank, warnings, shown, *filled in self.db.execute(
                query, (*chunk, derivation)
            ):
                if sha256 not in found:  # the first row of a content's, as its index gives them
                    keys = () if shown is None else (shown, *(filled_from(k, shown) for k in filled))
                    found[sha256] = Known(entry_id, rejected, text_hash, published, rank, warnings, keys)
        return found

    def add_copy(self, stat: FileStat, sha256: str, known: Known, published: str | None) -> None:
        """The same bytes under another path, inert (Known.inert): recorded against the same entry, not
        parsed again, with its own claim on the date (`published`)."""
        self.db.execute(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, entry_id, text_hash, published,"
            " published_rank, rejected, warnings, derivation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.stored_path(stat.path), stat.size, stat.mtime_ns, sha256, known.entry_id, known.text_hash,
             published, known.published_rank, known.rejected, known.warnings, self.derivation),
        )  # fmt: skip

    def add_rejection(self, stat: FileStat, rejection: Rejection) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, rejected, derivation, outlet)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.stored_path(stat.path), stat.size, stat.mtime_ns, rejection.sha256, rejection.reason,
             self.derivation, rejection.outlet),
        )  # fmt: skip

    def forget_files(self, paths: Iterable[str]) -> None:
        """Files no longer on disk: their rows go, rejections included. Not those read under an older
        derivation and still giving an entry: they are what keeps an entry whose dumps are gone
        (derivations.finish_derivation)."""
        self.db.executemany(
            "DELETE FROM sources WHERE path = ? AND (derivation = ? OR entry_id IS NULL)",
            ((self.stored_path(path), self.derivation) for path in paths),
        )

    def rejected_count(self) -> int:
        """How many dumps on disk are rejected: those read under the current derivation."""
        query = "SELECT count(*) FROM sources WHERE rejected IS NOT NULL AND derivation = ?"
        return int(self.db.execute(query, (self.derivation,)).fetchone()[0])

    def rejects(self) -> list[tuple[str, str]]:
        """Every rejected dump on disk with its reason (as of the last build)."""
        query = "SELECT path, rejected FROM sources WHERE rejected IS NOT NULL AND derivation = ? ORDER BY path"
        return [(self.real_path(path), reason) for path, reason in self.db.execute(query, (self.derivation,))]


def _outermost(folders: Iterable[str]) -> set[str]:
    """The folders but those inside another of them: each row is read once."""
    given = set(folders)
    return {folder for folder in given if not _under(folder, given)}


def _under(path: str, folders: set[str]) -> bool:
    """Whether a path lies strictly under one of these folders."""
    above = os.path.dirname(path)
    while above not in folders:
        higher = os.path.dirname(above)
        if higher == above:
            return False
        above = higher
    return True

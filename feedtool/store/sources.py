"""Sources: every dump file read, what it gave (an entry or a rejection), and the folders listed.

The file index answers "has this file changed since it was read?" from a stat alone, and the
content hash "has this content been read under another path?"; both only for rows of the
current derivation (see derivations.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from feedtool.models import Rejection
from feedtool.scan import FolderMark
from feedtool.store.connection import in_chunks
from feedtool.store.derivations import Derivations
from feedtool.store.records import FileStat, Known


class Sources(Derivations):
    def file_index(self, folders: Iterable[str], paths: Sequence[str] = ()) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of the files under these folders, and of these files, read under
        the current derivation.

        Stale ones are left out. By folder, as a build lists only the folders that changed: read
        whole, this index was a quarter of a no-op build at a million dumps.
        """
        derivation = self.derivation
        query = "SELECT path, size, mtime_ns FROM sources WHERE path >= ? AND path < ? AND derivation = ?"
        found: dict[str, tuple[int, int]] = {}
        real = self.real_path
        for folder in map(self.stored_path, folders):
            rows = self.db.execute(query, (folder + "/", folder + chr(ord("/") + 1), derivation))
            found.update((real(p), (s, m)) for p, s, m in rows)
        for chunk, marks in in_chunks([self.stored_path(p) for p in paths]):
            query = f"SELECT path, size, mtime_ns FROM sources WHERE path IN ({marks}) AND derivation = ?"
            found.update((real(p), (s, m)) for p, s, m in self.db.execute(query, (*chunk, derivation)))
        return found

    def rejected_paths(self) -> set[str]:
        """The files read under the current derivation that were rejected."""
        query = "SELECT path FROM sources WHERE rejected IS NOT NULL AND derivation = ?"
        return {self.real_path(path) for (path,) in self.db.execute(query, (self.derivation,))}

    def folder_marks(self) -> dict[str, FolderMark]:
        """What each folder held when listed under the current derivation (see scan.py)."""
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

    def empty_inputs(self) -> list[str]:
        """The input folders the last build that read dumps found no dump in, anywhere under them
        (a scraper writing to another folder): the build says so, and `feedtool health` may."""
        return [self.real_path(path) for path in json.loads(self.get_meta("empty_inputs") or "[]")]

    def set_empty_inputs(self, folders: Sequence[str]) -> None:
        self.set_meta("empty_inputs", json.dumps([self.stored_path(f) for f in folders], ensure_ascii=False))

    def known(self, sha256: str) -> Known | None:
        """What these bytes gave under the current derivation, if they gave an entry or a rejection."""
        row = self.db.execute(
            "SELECT s.entry_id, s.rejected, s.text_hash, s.published, s.published_rank, s.warnings,"
            " e.shown, e.author_from, e.image_from, e.tags_from FROM sources s LEFT JOIN entries e ON e.id = s.entry_id"
            " WHERE s.sha256 = ? AND s.derivation = ? AND (s.entry_id IS NOT NULL OR s.rejected IS NOT NULL) LIMIT 1",
            (sha256, self.derivation),
        ).fetchone()
        if row is None:
            return None
        entry_id, rejected, text_hash, published, rank, warnings, *keys = row
        return Known(entry_id, rejected, text_hash, published, rank, warnings, tuple(k for k in keys if k is not None))

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

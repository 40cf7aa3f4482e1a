"""Folders of dumps -> the files that may have changed since the last build, without a stat per dump.

A folder's mtime changes when a name in it is added, removed or renamed, and not otherwise. So a
folder whose mtime is the one recorded after the last build holds the same files, and is not
listed: its files count as unchanged, and the build walks on into the subfolders recorded with
it. On an archive kept in dated folders, a cron run lists today's folder and stats a few
thousand folders, not a million files (a stat each was most of a no-op build at a million).

What a folder's mtime does not show is a dump rewritten in place under the same name. Dumps are
written once by the scrapers that feedtool reads (a re-scrape is a new file), and the two cases
where a person rewrites one are covered: a rejected dump is stat-ed on every build, so fixing it
is noticed, and `feedtool build --rescan` lists every folder. A re-derivation (see ingest/run.py)
lists every folder too: the marks belong to the derivation they were taken under.

A folder changed in the same tick of the file system's clock as the build listed it could gain a
file the listing missed and keep its mtime; so a folder modified within the last
RACY_SECONDS is listed but not marked, and is listed again next time (git's "racy" rule).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path

from feedtool.errors import InputError
from feedtool.models import FolderMark

log = logging.getLogger("feedtool")

RACY_SECONDS = 2.0
# The store keeps an mtime in a signed 64-bit integer of nanoseconds: until 2262. A file dated past
# that (a clock gone wrong, a hostile archive) is listed with this mtime and rejected (ingest/run.py).
MTIME_MAX = 2**63 - 1


@dataclass
class Scan:
    """The files of the folders listed, and the marks to record once they are all in the store."""

    listed: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, mtime_ns)
    rechecked: list[tuple[str, int, int]] = field(default_factory=list)  # rejected files in folders not listed
    unchanged: int = 0  # files in folders not listed, less those rechecked
    marks: dict[str, FolderMark] = field(default_factory=dict)
    # Names that are not UTF-8 (as the file system gave them, undecodable bytes as \xNN): the store
    # cannot key them, so they are reported as rejected on every build until renamed.
    unnamed: list[str] = field(default_factory=list)
    listed_folders: set[str] = field(default_factory=set)  # whose every file is in `listed`
    listed_in: set[str] = field(default_factory=set)  # every folder listed, whole or not: where `listed` lies
    reached: set[str] = field(default_factory=set)  # every folder there now, listed or not
    gone: list[str] = field(default_factory=list)  # rejected dumps no longer there
    empty_inputs: list[Path] = field(default_factory=list)  # input folders with no file anywhere under them

    @property
    def files(self) -> int:
        return len(self.listed) + len(self.rechecked) + self.unchanged

    def unmark(self, path: str) -> None:
        """A file of this folder could not be read: list the folder again next time."""
        self.marks.pop(os.path.dirname(path), None)

    def listed_above(self, path: str) -> bool:
        """Whether the nearest folder above `path` that is there now was listed whole.

        Then a file read by an earlier build and not among those listed is gone: deleted itself,
        or with the folders between (a month of dumps deleted at once). Under a folder not listed,
        or not listed whole, nothing is known to have moved.
        """
        folder = os.path.dirname(path)
        while folder not in self.reached:
            above = os.path.dirname(folder)
            if above == folder:
                return False  # under no input folder
            folder = above
        return folder in self.listed_folders


def scan(
    inputs: Iterable[Path], marks: dict[str, FolderMark], rejected: Set[str], *, now_ns: int, follow_links: bool = False
) -> Scan:
    """Every dump file under the inputs in a folder changed since its mark; hidden files and folders skipped.

    `rejected` are the paths of dumps rejected before: stat-ed even in unchanged folders.
    Plain tuples and os.scandir (its entries save a system call and a Path object per file):
    a listed folder may hold a million dumps.

    Each real folder is walked once, whatever links lead to it, so a link loop cannot multiply
    the walk. A symbolic link is followed only out of the input folders, and only when
    `follow_links` says so (a link to /etc is not an archive); one that stays inside leads to a
    file or folder read under its own path.
    """
    found = Scan()
    skipped: set[str] = set()
    unreadable: set[str] = set()  # folders that could not be listed
    recent = now_ns - int(RACY_SECONDS * 1e9)
    roots = [os.path.realpath(root) for root in inputs]
    walker = _Walker(roots, follow_links, found)
    for root in inputs:
        if not root.is_dir():
            what = "is not a folder" if root.exists() else "does not exist"
            raise InputError(f"input folder {root} {what}")
        before = found.files + len(found.unnamed)
        folders = [os.path.abspath(root)]
        while folders:
            folder = folders.pop()
            try:
                st = os.stat(folder)
            except OSError:
                continue  # removed while the build ran
            found.reached.add(folder)
            if (st.st_dev, st.st_ino) in walker.seen:
                continue  # met before by another path: an input inside another, or a link
            walker.seen.add((st.st_dev, st.st_ino))
            mtime_ns = st.st_mtime_ns
            mark = marks.get(folder)
            if mark is not None and mark.mtime_ns == mtime_ns:
                found.marks[folder] = mark
                skipped.add(folder)
                found.unchanged += mark.files
                folders.extend(f"{folder}/{name}" for name in mark.subfolders)
                continue
            try:
                files, subfolders, whole = walker.list(folder)
            except OSError as exc:
                log.warning("%s: cannot list: %s", folder, exc.strerror)
                unreadable.add(folder)
                continue
            found.listed_in.add(folder)
            if whole:
                found.listed_folders.add(folder)
            if mtime_ns < recent and whole:
                found.marks[folder] = FolderMark(mtime_ns, files, tuple(sorted(subfolders)))
            folders.extend(f"{folder}/{name}" for name in subfolders)
        top = os.path.abspath(root)
        if top in unreadable:
            continue  # said above, with its cause: not "holds no dumps"
        if found.files + len(found.unnamed) == before and not (
            _holds_files(top, found) or _holds_files(os.path.realpath(root), found)  # an input linking to another
        ):
            found.empty_inputs.append(root)
    _recheck(found, skipped, rejected)
    return found


def _holds_files(root: str, found: Scan) -> bool:
    """Whether files found so far lie under `root`: an input inside another one was walked as part of
    it, and found nothing of its own. Asked only of an input whose own walk found no file."""
    prefix = root + os.sep
    return (
        any(path.startswith(prefix) for path, _, _ in found.listed)
        or any(mark.files for folder, mark in found.marks.items() if folder == root or folder.startswith(prefix))
        or any(name.startswith(prefix) for name in found.unnamed)
    )


class _Walker:
    """Lists folders into a Scan, deciding which names to take: the rules of `scan` on links and names."""

    def __init__(self, roots: list[str], follow_links: bool, found: Scan) -> None:
        self.roots = roots
        self.follow_links = follow_links
        self.found = found
        self.seen: set[tuple[int, int]] = set()  # (device, inode) of the folders walked

    def list(self, folder: str) -> tuple[int, list[str], bool]:
        """Append the folder's files to the scan; return how many, its subfolders' names, and whether
        every name could be looked at (a folder with one that could not is listed again next time)."""
        files, subfolders, whole = 0, [], True
        listed = self.found.listed
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name[0] == ".":
                    continue
                try:
                    if entry.is_symlink() and not self._follow(entry.path):
                        continue
                    if not _utf8(entry.name):
                        self.found.unnamed.append(os.fsencode(entry.path).decode("utf-8", "backslashreplace"))
                        whole = False  # listed again, and reported again, until it is renamed
                    elif entry.is_file():
                        st = entry.stat()
                        listed.append((entry.path, st.st_size, min(st.st_mtime_ns, MTIME_MAX)))
                        files += 1
                    elif entry.is_dir():
                        subfolders.append(entry.name)
                    elif entry.is_symlink():  # followed, to nothing: an unmounted disk, a link broken for now
                        log.warning("%s: a link to %s, which cannot be reached; what it led to is kept as it was",
                                    entry.path, os.readlink(entry.path))  # fmt: skip
                        whole = False  # not listed whole: nothing under the link is taken for deleted
                except OSError:
                    whole = False
        return files, subfolders, whole

    def _follow(self, path: str) -> bool:
        """Whether to follow a link: out of the input folders, if the config says so; inside, never,
        as its target is read under its own path."""
        target = os.path.realpath(path)
        inside = any(target == root or target.startswith(root + os.sep) for root in self.roots)
        if not inside and not self.follow_links:
            log.info("%s: a link out of the input folders, not followed ([build] follow_links)", path)
        return self.follow_links and not inside


def _utf8(name: str) -> bool:
    """Whether a name from the file system is UTF-8 (Python decodes other bytes to lone surrogates).

    Asked of every name in a listed folder: an ASCII name, the common case, is told by a flag
    Python keeps, without encoding it."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _recheck(found: Scan, skipped: Set[str], rejected: Set[str]) -> None:
    """Rejected dumps in folders not listed are stat-ed one by one: someone may have fixed them in place."""
    for path in rejected:
        if os.path.dirname(path) not in skipped:
            continue
        try:
            st = os.stat(path)
        except FileNotFoundError:
            found.gone.append(path)
            continue
        except OSError:
            continue
        found.rechecked.append((path, st.st_size, min(st.st_mtime_ns, MTIME_MAX)))
        found.unchanged -= 1

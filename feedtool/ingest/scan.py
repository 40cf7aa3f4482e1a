"""Folders of dumps -> the files that may have changed since the last build, without a stat per dump.

A folder's mtime changes when a name in it is added, removed or renamed, and not otherwise. So a
folder whose mtime is the one recorded after the last build holds the same files, and is not
listed: its files count as unchanged, and the build walks on into the subfolders recorded with
it. On an archive kept in dated folders, a cron run lists today's folder and stats a few
thousand folders, not a million files (a stat each was most of a no-op build at a million).

A folder whose mtime moved is listed, and its listing compared with the one kept from the last
build (its names, each with its inode): only a name not there before, or there under another
inode (a dump replaced by a rename, as atomic writers do), is stat-ed. A scraper that writes
every dump into one folder moves its mtime on every run, and a cron run then lists a million
names but stats only the hundred new ones; a stat each was most of such a run. The listing
itself is the floor: the directory is the only place the new names are.

What neither shows is a dump rewritten in place under the same name (same inode). Dumps are
written once by the scrapers that feedtool reads (a re-scrape is a new file), and the cases where
that does not hold are covered: a rejected dump is stat-ed on every build, so fixing it is
noticed; a dump modified within RACY_SECONDS of its listing (a scraper still writing it) is
stat-ed again by the next build, until it is settled; and `feedtool build --rescan` lists and
stats every folder. A re-derivation (see ingest/run.py) lists every folder too: the marks and
listings belong to the derivation they were taken under.

A folder changed in the same tick of the file system's clock as the build listed it could gain a
file the listing missed and keep its mtime; so a folder modified within the last
RACY_SECONDS is listed but not marked, and is listed again next time (git's "racy" rule). Its
listing is kept all the same: what the next listing finds is compared with it name by name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Set
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
    rechecked: list[tuple[str, int, int]] = field(default_factory=list)  # rejected, in folders not stat-ed whole
    unchanged: int = 0  # files taken as unchanged without a stat, less those rechecked
    marks: dict[str, FolderMark] = field(default_factory=dict)
    # Names that are not UTF-8 (as the file system gave them, undecodable bytes as \xNN): the store
    # cannot key them, so they are reported as rejected on every build until renamed.
    unnamed: list[str] = field(default_factory=list)
    listed_folders: set[str] = field(default_factory=set)  # whose every file is in `listed`
    listed_in: set[str] = field(default_factory=set)  # every folder listed and stat-ed, whole or not
    # Folders compared with their kept listing: their files in `listed` are the ones stat-ed, the
    # paths below; the rest are unchanged, and `gone` has those no longer there.
    named: list[str] = field(default_factory=list)
    # To keep: the listings of folders listed whole, anew, as one string a folder (LISTED_APART
    # between lines, as a million small strings would outlive the listing in the build process).
    listings: dict[str, str] = field(default_factory=dict)
    reached: set[str] = field(default_factory=set)  # every folder there now, listed or not
    gone: list[str] = field(default_factory=list)  # dumps known to be no longer there
    gone_folders: list[str] = field(default_factory=list)  # subfolders no longer there, of folders compared
    empty_inputs: list[Path] = field(default_factory=list)  # input folders with no file anywhere under them

    @property
    def files(self) -> int:
        return len(self.listed) + len(self.rechecked) + self.unchanged

    def unmark(self, path: str) -> None:
        """A file of this folder could not be read: list the folder again next time, and compare
        it with the listing kept before this build, where the file is not yet."""
        folder = os.path.dirname(path)
        self.marks.pop(folder, None)
        self.listings.pop(folder, None)

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


# A folder's listing as kept by the store: one "inode/name" a file ("0/name": stat it again), one
# "d/name" a subfolder, and "./inode" of the folder itself.
Listing = set[str]
_SUBFOLDER = "d/"
_ITSELF = "./"
LISTED_APART = "\0"  # between the lines of a listing kept: no file name holds it


def scan(
    inputs: Iterable[Path],
    marks: dict[str, FolderMark],
    rejected: Set[str],
    *,
    now_ns: int,
    follow_links: bool = False,
    listing: Callable[[str], str | None] = lambda folder: None,
) -> Scan:
    """Every dump file under the inputs in a folder changed since its mark; hidden files and folders skipped.

    `rejected` are the paths of dumps rejected before: stat-ed even in unchanged folders.
    `listing` gives a folder's listing kept from the last build that listed it (`Scan.listings`), if any.
    Plain tuples and os.scandir (its entries save a system call and a Path object per file):
    a listed folder may hold a million dumps.

    Each real folder is walked once, whatever links lead to it, so a link loop cannot multiply
    the walk. A symbolic link is followed only out of the input folders, and only when
    `follow_links` says so (a link to /etc is not an archive); one that stays inside leads to a
    file or folder read under its own path.
    """
    found = Scan()
    trusted: set[str] = set()  # folders whose known files were not stat-ed
    unreadable: set[str] = set()  # folders that could not be listed
    recent = now_ns - int(RACY_SECONDS * 1e9)
    roots = [os.path.realpath(root) for root in inputs]
    walker = _Walker(roots, follow_links, found, recent)
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
                trusted.add(folder)
                found.unchanged += mark.files
                folders.extend(f"{folder}/{name}" for name in mark.subfolders)
                continue
            kept = _parsed(listing(folder))
            itself = f"{_ITSELF}{st.st_ino}"
            if kept is not None and itself not in kept:
                kept = None  # the listing of another folder under this path, since deleted
            try:
                if kept is None:
                    files, subfolders, whole = walker.list_with_stats(folder, itself)
                else:
                    files, subfolders, whole = walker.list_against(folder, itself, kept)
            except OSError as exc:
                log.warning("%s: cannot list: %s", folder, exc.strerror)
                unreadable.add(folder)
                continue
            if kept is None:
                found.listed_in.add(folder)
                if whole:
                    found.listed_folders.add(folder)
            else:
                trusted.add(folder)  # its rejected files are rechecked, as in a folder not listed
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
    _recheck(found, trusted, rejected)
    return found


def _parsed(text: str | None) -> Listing | None:
    return None if text is None else set(text.split(LISTED_APART))


def _holds_files(root: str, found: Scan) -> bool:
    """Whether files found so far lie under `root`: an input inside another one was walked as part of
    it, and found nothing of its own. Asked only of an input whose own walk found no file."""
    prefix = root + os.sep
    return (
        any(path.startswith(prefix) for path, _, _ in found.listed)
        or any(mark.files for folder, mark in found.marks.items() if folder == root or folder.startswith(prefix))
        or any(name.startswith(prefix) for name in found.unnamed)
    )


@dataclass
class _Listing:
    """A folder as it is being listed: its subfolders, and whether every name in it could be looked at."""

    folder: str
    subfolders: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # the lines of links followed to files: stat-ed every time
    whole: bool = True


class _Walker:
    """Lists folders into a Scan, deciding which names to take: the rules of `scan` on links and names."""

    def __init__(self, roots: list[str], follow_links: bool, found: Scan, recent: int) -> None:
        self.roots = roots
        self.follow_links = follow_links
        self.found = found
        self.recent = recent  # an mtime from which a file may still be being written
        self.seen: set[tuple[int, int]] = set()  # (device, inode) of the folders walked

    def list_with_stats(self, folder: str, itself: str) -> tuple[int, list[str], bool]:
        """Append every file of the folder to the scan, stat-ed; return how many, its subfolders'
        names, and whether every name could be looked at (a folder with one that could not is
        listed again next time)."""
        listing = _Listing(folder)
        lines: list[str] = []
        for line in self._lines(listing):
            try:
                lines.append(self._stat(folder, line))
            except OSError:
                listing.whole = False
        files = len(lines)
        if listing.whole:
            lines += [itself, *(_SUBFOLDER + name for name in listing.subfolders)]
            self.found.listings[folder] = LISTED_APART.join(lines)
        return files, listing.subfolders, listing.whole

    def list_against(self, folder: str, itself: str, kept: Listing) -> tuple[int, list[str], bool]:
        """As `list_with_stats`, stat-ing only the files not in the folder's kept listing as they are:
        the others are unchanged (the rejected among them are rechecked, as in a folder not listed),
        and those of the kept listing not found again are gone, with every file under a subfolder
        no longer there.

        Set operations over the lines, in C: at a million names, a Python step a name is most of
        the run, and a Python object a name beyond its line hundreds of megabytes."""
        listing = _Listing(folder)
        found = set(self._lines(listing))
        files = len(found)
        found.update([itself, *(_SUBFOLDER + name for name in listing.subfolders)])
        new = found - kept  # names not there before, there under another inode, or to stat again
        new.update(listing.links)
        stated: dict[str, str] = {}  # a file's line as found -> as kept, for the files stat-ed
        for line in new:
            if line[0].isdigit():  # a file's (not a subfolder's, not the folder's own)
                try:
                    stated[line] = self._stat(folder, line)
                except OSError:
                    listing.whole = False
                    stated[line] = ""
                else:
                    self.found.named.append(f"{folder}/{line.partition('/')[2]}")
        self.found.unchanged += files - len(stated)
        gone = kept - found
        if gone and listing.whole:  # not found again, unless under another inode
            names = {line.partition("/")[2] for line in stated}
            for line in gone:
                if line.startswith(_SUBFOLDER):
                    self.found.gone_folders.append(f"{folder}/{line[len(_SUBFOLDER) :]}")
                elif line[0].isdigit() and (name := line.partition("/")[2]) not in names:
                    self.found.gone.append(f"{folder}/{name}")
        if listing.whole and (gone or new):
            found -= stated.keys()
            found.update(stated.values())
            self.found.listings[folder] = LISTED_APART.join(found)
        return files, listing.subfolders, listing.whole

    def _lines(self, listing: _Listing) -> list[str]:
        """The folder's files to take, by the rules on links and names, as lines "inode/name" ("0/name"
        for a link followed: its inode is the link's, whatever its target becomes); its subfolders
        and whether every name could be looked at noted in `listing`. Raises OSError for the folder.

        A plain file, nearly every dump, is told from what the folder's listing gives (its type) and
        kept as its line alone, in C; any other name is set aside and goes through the rules one by
        one. No DirEntry is kept: a million of them would be half a gigabyte."""
        aside: list[os.DirEntry[str]] = []

        def set_aside(entry: os.DirEntry[str]) -> bool:
            aside.append(entry)
            return False

        folder = listing.folder
        with os.scandir(folder) as listed:
            lines = [
                f"{entry.inode()}/{entry.name}"
                for entry in listed
                if (entry.name[0] != "." and entry.is_file(follow_symlinks=False)) or set_aside(entry)
            ]
        if not all(map(str.isascii, lines)):
            named = [line for line in lines if line.isascii() or _utf8(line)]
            for line in set(lines) - set(named):
                path = f"{folder}/{line.partition('/')[2]}"
                self.found.unnamed.append(os.fsencode(path).decode("utf-8", "backslashreplace"))
                listing.whole = False  # listed again, and reported again, until it is renamed
            lines = named
        for entry in aside:
            if entry.name[0] == ".":
                continue
            try:
                if entry.is_symlink() and not self._follow(entry.path):
                    continue
                if not _utf8(entry.name):
                    self.found.unnamed.append(os.fsencode(entry.path).decode("utf-8", "backslashreplace"))
                    listing.whole = False
                elif entry.is_file():  # a link followed (a plain file is not set aside)
                    listing.links.append(f"0/{entry.name}")
                elif entry.is_dir():
                    listing.subfolders.append(entry.name)
                elif entry.is_symlink():  # followed, to nothing: an unmounted disk, a link broken for now
                    log.warning("%s: a link to %s, which cannot be reached; what it led to is kept as it was",
                                entry.path, os.readlink(entry.path))  # fmt: skip
                    listing.whole = False  # not listed whole: nothing under the link is taken for deleted
            except OSError:
                listing.whole = False
        return lines + listing.links

    def _stat(self, folder: str, line: str) -> str:
        """Add a file to the scan with its stat; return its line for the folder's listing: as found,
        or "0/name" for one modified so lately that it may still be being written, so that the
        next build stats it again. Raises OSError, when it cannot be stat-ed."""
        name = line.partition("/")[2]
        path = f"{folder}/{name}"
        st = os.stat(path)
        mtime_ns = min(st.st_mtime_ns, MTIME_MAX)
        self.found.listed.append((path, st.st_size, mtime_ns))
        return line if mtime_ns < self.recent else f"0/{name}"

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


def _recheck(found: Scan, trusted: Set[str], rejected: Set[str]) -> None:
    """Rejected dumps in folders not listed, or whose known files were not stat-ed, are stat-ed one
    by one: someone may have fixed them in place."""
    stated = {*found.named, *found.gone}  # looked at already
    for path in rejected:
        if os.path.dirname(path) not in trusted or path in stated:
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

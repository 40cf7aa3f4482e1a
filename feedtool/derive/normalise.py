"""A Dump -> an Entry: every field taken from the best source the dump offers.

This is the one place that knows the precedence between sources (front matter over the
millisecond comment over the date line over the URL), so the rest of feedtool deals only in
clean entries.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from functools import cached_property

from feedtool.derive.clean import Cleaner
from feedtool.derive.dates import date_from_url
from feedtool.derive.dump import parse_dump
from feedtool.derive.indexed import cut_texts
from feedtool.derive.limits import Overtime, deadline, too_large
from feedtool.derive.outlets import OutletRegistry
from feedtool.derive.topics import fold
from feedtool.derive.urls import Canonicaliser
from feedtool.errors import Rejected
from feedtool.models import UNFORESEEN, DateSource, Dump, Entry, Rejection
from feedtool.rules import Rules

log = logging.getLogger("feedtool")

_LINK_IN_DUMP = re.compile(rb"\]\((https?://[^)\s]{1,2000})\)")  # the address in a dump's [title](url) line


class Normaliser:
    """Holds the compiled rules; one per process (workers build their own)."""

    def __init__(self, rules: Rules, known_domains: frozenset[str] = frozenset()) -> None:
        self.rules = rules
        self.urls = Canonicaliser(rules)
        self.outlets = OutletRegistry(rules, known_domains)

    @cached_property
    def cleaner(self) -> Cleaner:
        return Cleaner(self.rules.clean)

    def entry(self, dump: Dump, canonical: str | None = None) -> Entry:
        """`canonical` is the entry's id when already known: the identity rules have not changed."""
        canonical = canonical or self.urls.canonicalise(dump.url)
        clean = self.rules.clean
        outlet = self.outlets.for_url(canonical, dump.author)
        article = self.cleaner.clean(dump.html, dump.url, outlet)
        published, source = _best_date(
            (dump.front_matter_date, DateSource.FRONT_MATTER),
            (dump.timestamp, DateSource.TIMESTAMP),
            (article.dateline, DateSource.DATELINE),
            (date_from_url(canonical, clean.url_dates, outlet.timezone, clean.bounded), DateSource.URL),
        )
        tags = tuple(t for t in dump.tags if not self.outlets.confirms(outlet, t))
        author = article.author
        if author is None and dump.author and not self.outlets.confirms(outlet, dump.author):
            # A front matter author that is not the outlet's own name is a person.
            author = dump.author
        search_text = fold(f"{dump.title}\n{article.text}")
        return Entry(
            id=canonical,
            url=dump.url,
            title=dump.title,
            outlet=outlet.slug,
            outlet_name=outlet.name,
            outlet_homepage=outlet.homepage,
            outlet_domain=self.outlets.discovered_domain(outlet),
            language=outlet.language,
            content=article.content,
            summary=article.summary,
            search_text=search_text,
            # Here, in a worker, not in the build process that indexes it.
            indexed=cut_texts(dump.title, article.summary, search_text),
            published=published,
            published_source=source,
            author=author,
            image=article.image,
            tags=tags,
            source_path=dump.path,
            source_sha256=dump.sha256,
            warnings=dump.warnings,
        )

    def _outlet_of(self, data: bytes) -> str | None:
        """The outlet a rejected dump's [title](url) line names, if it has one that reads."""
        found = _LINK_IN_DUMP.search(data[:8192])
        if found is None:
            return None
        try:
            return self.outlets.for_url(self.urls.canonicalise(found[1].decode("utf-8", "replace")), None).slug
        except Exception:  # noqa: BLE001: only a label for a rejection; none is as good
            return None

    def file(self, data: bytes, path: str, canonical: str | None = None) -> Entry | Rejection:
        """The whole per-file stage; a rejection is a value here, never an exception.

        Whatever goes wrong with one dump, a bug in a library it alone meets included, is that
        dump's rejection, with the reason: no single file stops a build (derive/limits.py).
        """
        limits = self.rules.limits
        try:
            if len(data) > limits.max_dump_bytes:
                raise Rejected(too_large(len(data), limits.max_dump_bytes))
            with deadline(limits.dump_seconds):
                return self.entry(parse_dump(data, path), canonical)
        except Rejected as exc:  # where its address says whose it is, counted against that outlet (health)
            return Rejection(path, hashlib.sha256(data).hexdigest(), exc.reason, self._outlet_of(data))
        except Overtime:
            reason = f"reading it took over {limits.dump_seconds:g} s ([build] dump_seconds)"
        except MemoryError:
            reason = "reading it ran out of memory"
        except RecursionError:
            reason = "it is nested too deeply to read"
        except Exception:  # noqa: BLE001: the one place every failure on one dump becomes its rejection
            # A fault of feedtool's own, or of a library it alone meets: the traceback is for -v.
            log.info("%s: an unexpected error reading it:", path, exc_info=True)
            reason = UNFORESEEN
        return Rejection(path=path, sha256=hashlib.sha256(data).hexdigest(), reason=reason)


def _best_date(*candidates: tuple[datetime | None, DateSource]) -> tuple[datetime | None, DateSource | None]:
    for value, source in candidates:
        if value is not None:
            return value, source
    return None, None

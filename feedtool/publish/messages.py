"""The words around the articles, in the site's language: message catalogues, and dates as that language writes them.

Every label on the pages, and the few words feedtool writes into the feeds themselves (an outlet
feed's description, an archive document's title, the OPML list's groups), is an English message
looked up in a gettext catalogue: `locale/<name>/LC_MESSAGES/feedtool.po` beside this module,
compiled to the `.mo` next to it, which is what is read. English, simplified and traditional
Chinese are shipped.

`[site] language`, a BCP 47 tag, finds the nearest catalogue (`candidates`): Chinese by its script,
written or implied by the region (zh-TW, zh-HK and zh-MO are traditional, every other region
simplified); any other language by its subtags, most specific first; English when none fits. An
operator adds catalogues in a `locale/` folder of the `[site] templates` folder, laid out the
same, as `.po` files (no compiling): one for a new language, or one for a shipped language that
changes some of its messages, the others staying as shipped. A message a catalogue lacks is shown
in English.

Dates are written by Babel from a CLDR pattern that is itself a message (context "date pattern"),
so a catalogue decides the order and the words of a date too: "2023年10月14日 15:45 中欧夏令时间".

The catalogues are parsed, and Babel loaded, on first use: a build with nothing to publish only
hashes their files, to know that they have not changed.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property, lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from feedtool.config import Site
from feedtool.errors import ConfigError

if TYPE_CHECKING:  # Babel loads only when words or dates are wanted
    from babel import Locale
    from babel.support import Translations

DOMAIN = "feedtool"
SHIPPED = ("en", "zh_Hans", "zh_Hant")
FALLBACK = "en"
TRADITIONAL = frozenset({"TW", "HK", "MO"})  # regions whose Chinese is written in traditional characters
_SUBTAGS = re.compile(r"[-_]")
_VERSION = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.M)


def N_(message: str) -> str:
    """A message marked where it is defined, for the catalogues; it is translated where it is shown."""
    return message


DESCRIPTION = N_("News feeds rebuilt from scraped articles")  # the all-outlets feed's, unless [site] description


def candidates(tag: str) -> tuple[str, ...]:
    """The catalogue names a language tag would take, nearest first: "zh-HK" -> zh_Hant_HK, zh_Hant."""
    parts = [part for part in _SUBTAGS.split(tag.strip()) if part]
    if not parts:
        return ()
    language = parts[0].lower()
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    region = next(
        (p.upper() for p in parts[1:] if (len(p) == 2 and p.isalpha()) or (len(p) == 3 and p.isdigit())), None
    )
    if language == "zh" and script is None:
        script = "Hant" if region in TRADITIONAL else "Hans"
    names = []
    if script and region:
        names.append(f"{language}_{script}_{region}")
    if script:
        names.append(f"{language}_{script}")
    if region and language != "zh":  # zh_TW would say nothing zh_Hant does not
        names.append(f"{language}_{region}")
    if language != "zh" or not script:
        names.append(language)
    return tuple(names)


def _babel_version() -> str:
    """Babel's version, read from its package without importing it or the package metadata (tens of
    milliseconds cold): every build asks, one with nothing to publish too."""
    spec = find_spec("babel")
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    found = _VERSION.search(origin.read_text("utf-8")) if origin is not None and origin.is_file() else None
    return found.group(1) if found else "?"


def _shipped(name: str) -> bytes | None:
    path = resources.files("feedtool.publish").joinpath("locale", name, "LC_MESSAGES", f"{DOMAIN}.mo")
    return path.read_bytes() if path.is_file() else None


@dataclass(frozen=True)
class Messages:
    """The catalogue of one site: its words, and its dates."""

    language: str = FALLBACK  # [site] language, a BCP 47 tag
    folder: Path | None = None  # an operator's catalogues: NAME/LC_MESSAGES/feedtool.po under it

    @classmethod
    def of(cls, language: str, templates: Path | None) -> Messages:
        """A site's catalogue, with the operator's from the `locale/` folder of their templates folder."""
        return cls(language, templates / "locale" if templates is not None else None)

    @cached_property
    def catalogue(self) -> str:
        """The name of the catalogue the site's language takes: "zh_Hant"."""
        return next((n for n in candidates(self.language) if n in SHIPPED or self._own(n)), FALLBACK)

    def _own(self, name: str) -> Path | None:
        path = self.folder / name / "LC_MESSAGES" / f"{DOMAIN}.po" if self.folder is not None else None
        return path if path is not None and path.is_file() else None

    @cached_property
    def fingerprint(self) -> str:
        """What the words and dates are made of: the catalogue's files, and the Babel whose CLDR data
        names the time zones."""
        digest = hashlib.sha1(f"{self.catalogue}\0{self.language}\0{_babel_version()}".encode())
        digest.update(_shipped(self.catalogue) or _shipped(FALLBACK) or b"")
        own = self._own(self.catalogue)
        if own is not None:
            digest.update(b"\0" + own.read_bytes())
        return digest.hexdigest()

    @cached_property
    def translations(self) -> Translations:
        """The shipped catalogue (English for a language only the operator's has), theirs merged over it."""
        own = self._own(self.catalogue)
        stamp = (own.stat().st_mtime_ns, own.stat().st_size) if own is not None else None
        return _translations(self.catalogue, own, stamp)

    def site(self, site: Site) -> Site:
        """The site as its pages and feeds show it: without a description of its own, the catalogue's."""
        return site if site.description else replace(site, description=self.gettext(DESCRIPTION))

    def check(self) -> None:
        """Read the catalogue now, so a broken one is one line naming its file and line, before any work."""
        _ = self.translations

    def gettext(self, message: str) -> str:
        return str(self.translations.gettext(message))

    def pgettext(self, context: str, message: str) -> str:
        return str(self.translations.pgettext(context, message))

    @cached_property
    def _locale(self) -> Locale:
        """Babel's locale for dates: the site's own tag where the catalogue is of its language (zh-HK
        names zones as Hong Kong does), else the catalogue's, so that dates and words agree."""
        from babel import Locale, UnknownLocaleError

        tag = self.language.replace("-", "_")
        same = tag.split("_")[0].lower() == self.catalogue.split("_")[0]
        for name in (tag, self.catalogue, FALLBACK) if same else (self.catalogue, FALLBACK):
            try:
                return Locale.parse(name)
            except (ValueError, UnknownLocaleError):
                continue
        raise AssertionError("Babel knows no English")  # pragma: no cover

    @cached_property
    def _patterns(self) -> tuple[str, str]:
        return (
            # Translators: a CLDR date pattern (unicode.org/reports/tr35/tr35-dates.html): when an
            # article was published. zzzz is its time zone's name, in this language.
            self.pgettext("date pattern", "yyyy-MM-dd HH:mm zzzz"),
            # Translators: a CLDR date pattern: the day of a feed's newest article.
            self.pgettext("date pattern", "yyyy-MM-dd"),
        )

    def when(self, moment: datetime, zone: str | None = None) -> str:
        """A time as the site's language writes it, with its zone's name; in `zone` when given (an outlet's)."""
        from babel.dates import format_datetime

        return format_datetime(
            moment.astimezone(ZoneInfo(zone)) if zone else moment, self._patterns[0], locale=self._locale
        )

    def day(self, moment: datetime, zone: str | None = None) -> str:
        """The day of a time, as the site's language writes it; in `zone` when given."""
        from babel.dates import format_datetime

        return format_datetime(
            moment.astimezone(ZoneInfo(zone)) if zone else moment, self._patterns[1], locale=self._locale
        )


@lru_cache(maxsize=8)
def _translations(name: str, own: Path | None, stamp: tuple[int, int] | None) -> Translations:
    """Read once a process for each catalogue (and each version of the operator's, by `stamp`): the
    server asks for the words of each answer, and a worker for those of each page."""
    from babel.support import Translations

    shipped = _shipped(name) or _shipped(FALLBACK)
    translations = Translations(io.BytesIO(shipped) if shipped else None, domain=DOMAIN)
    if own is not None:
        translations.merge(Translations(io.BytesIO(_compiled(own)), domain=DOMAIN))
    return translations


def _compiled(path: Path) -> bytes:
    """An operator's .po as the .mo it compiles to; a mistake in it is a ConfigError naming the file and line."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileError, read_po

    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, abort_invalid=True)
    except PoFileError as exc:
        said = str(exc).rsplit(" on ", 1)[0]  # Babel ends it with its own count of lines, from 0
        raise ConfigError(f"{path}, line {exc.lineno + 1}: {said}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the catalogue: {exc}") from None
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    return compiled.getvalue()

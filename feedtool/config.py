"""The config file: TOML read with tomllib, checked key by key, merged over the built-in registry.

Every rule feedtool applies to dumps (what to strip, which hosts are one outlet, which query
parameters are tracking) lives in `registry.toml` beside this module; a config file extends those
tables with the same keys. Unknown keys are errors, so a typo never silently does nothing.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from feedtool.errors import ConfigError
from feedtool.models import FeedFormat
from feedtool.rules import DEFAULT_LANGUAGE, CleanRules, Limits, Outlet, Rules, StoryRules, Topic
from feedtool.workers.cluster import address_of

DEFAULT_CONFIG_NAME = "feedtool.toml"
CONFIG_ENV = "FEEDTOOL_CONFIG"
FORMATS: tuple[FeedFormat, ...] = ("atom", "rss", "json")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Site:
    title: str = "feedtool"
    description: str = ""  # unset: the site's catalogue's (publish/messages.py)
    base_url: str = "http://127.0.0.1:8000/"  # where `feedtool serve` listens by default
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Config:
    path: Path | None
    site: Site
    inputs: tuple[Path, ...]
    output: Path
    store: Path
    rules: Rules
    topics: tuple[Topic, ...] = ()
    max_items: int = 50
    archive_items: int = 100
    formats: tuple[FeedFormat, ...] = FORMATS
    opml_format: FeedFormat = "atom"
    lock_timeout: float = 30.0
    templates: Path | None = None  # a folder of templates overriding the built-in ones by name
    follow_links: bool = False  # follow symbolic links that lead out of the input folders (ingest/scan.py)
    keep_days: int | None = None  # the retention policy: entries published longer ago are pruned (prunes.py)
    # Whether the config or the command line gave [site] base_url: without one, every link is the
    # local server's (Site.base_url's default), which a build and `feedtool check` say.
    base_url_set: bool = False
    # Where a build's stages run: "local" (this machine's cores), or "dask:tcp://HOST:PORT", a Dask
    # scheduler's address (workers/cluster.py).
    executor: str = "local"
    stories: StoryRules = field(
        default_factory=StoryRules
    )  # articles of several outlets about one event grouped (stories/)

    @property
    def root(self) -> Path:
        """The project folder the store keeps dump paths relative to: the config's, else the one
        holding the store (the folder above a `.feedtool/` store folder)."""
        if self.path is not None:
            return self.path.parent
        folder = self.store.parent
        return folder.parent if folder.name == ".feedtool" else folder

    def outlet(self, slug: str) -> Outlet | None:
        return next((o for o in self.rules.outlets if o.slug == slug), None)


# The schema: table -> key -> checker. A checker returns the value converted, or raises ValueError
# with what was expected. Written out here rather than with a schema library because the messages
# must name the file, the table and the key, and the whole schema is thirty lines.


Checker = Callable[[Any], Any]


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("a string")
    return v


def _strs(v: Any) -> tuple[str, ...]:
    # An empty term, selector or pattern matches everything: never what was meant.
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise ValueError("a list of non-empty strings")
    return tuple(v)


def _whole(low: int, high: int) -> Checker:
    def check(v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
            raise ValueError(f"a whole number from {low:,} to {high:,}")
        return v

    return check


def _seconds(low: float, high: float) -> Checker:
    def check(v: Any) -> float:
        if not isinstance(v, int | float) or isinstance(v, bool) or not low <= v <= high:  # NaN fails too
            raise ValueError(f"a number of seconds from {low:g} to {high:g}")
        return float(v)

    return check


def _hours(v: Any) -> float:
    if not isinstance(v, int | float) or isinstance(v, bool) or not 0.01 <= v <= 24 * 366:
        raise ValueError("a number of hours from 0.01 to 8784")
    return float(v)


def _share(v: Any) -> float:
    if not isinstance(v, int | float) or isinstance(v, bool) or not 0 < v <= 1:
        raise ValueError("a number more than 0 and at most 1")
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def _str_map(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise ValueError("a table of strings")
    return tuple(sorted(v.items()))


_CLEAN_KEYS: dict[str, Checker] = {name: _strs for name in CleanRules.__dataclass_fields__ if name != "bounded"}
_SCHEMA: dict[str, dict[str, Checker]] = {
    "site": {"title": _str, "description": _str, "base_url": _str, "language": _str, "templates": _str},
    "store": {"path": _str, "lock_timeout": _seconds(0, 86_400), "keep_days": _whole(1, 100_000)},
    "build": {
        "inputs": _strs, "output": _str, "follow_links": _bool, "executor": _str,
        "max_dump_bytes": _whole(1024, 2**30), "dump_seconds": _seconds(0.1, 3600),
    },
    "feeds": {
        "max_items": _whole(1, 100_000), "archive_items": _whole(1, 100_000), "formats": _strs, "opml_format": _str,
    },
    "urls": {"tracking_params": _strs, "host_aliases": _str_map},
    "clean": _CLEAN_KEYS,
    "outlet": {
        "slug": _str, "name": _str, "hosts": _strs, "homepage": _str, "language": _str,
        "timezone": _str, "icon": _str, "aliases": _strs, "remove": _strs, "remove_text": _strs,
        "dateline_formats": _strs, "expect_every": _hours,
    },
    "stories": {"enabled": _bool, "window_hours": _hours, "similarity": _share},
    "topic": {
        "slug": _str, "title": _str, "description": _str, "any": _strs, "all": _strs,
        "none": _strs, "outlets": _strs,
    },
}  # fmt: skip
_ARRAY_TABLES = {"outlet", "topic"}


def _check(where: str, name: str, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    spec = _SCHEMA[name]
    checked = {}
    for key, value in table.items():
        if key not in spec:
            known = ", ".join(sorted(spec))
            raise ConfigError(f"{where}: unknown key '{key}' in [{name}] (known keys: {known})")
        try:
            checked[key] = spec[key](value)
        except ValueError as exc:
            raise ConfigError(f"{where}: [{name}] {key} must be {exc}") from None
    return checked


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None


def _tables(where: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Check every table of a parsed document; return them by name (arrays as lists)."""
    out: dict[str, Any] = {}
    for name, value in doc.items():
        if name not in _SCHEMA:
            known = ", ".join(f"[{n}]" if n not in _ARRAY_TABLES else f"[[{n}]]" for n in _SCHEMA)
            raise ConfigError(f"{where}: unknown table '{name}' (known: {known})")
        if name in _ARRAY_TABLES:
            if not isinstance(value, list):
                raise ConfigError(f"{where}: {name} must be written [[{name}]]")
            out[name] = [_check(f"{where}: [[{name}]] #{i + 1}", name, t) for i, t in
                         enumerate(value)]  # fmt: skip
        else:
            out[name] = _check(where, name, value)
    return out


def _builtin() -> dict[str, Any]:
    text = resources.files("feedtool").joinpath("registry.toml").read_text("utf-8")
    return _tables("built-in registry", tomllib.loads(text))


def _language_tag(key: str, tag: str, known: frozenset[str]) -> str:
    """A language as its standard BCP 47 tag (`zh-hant` is `zh-Hant`, `en_us` `en-US`), or a
    ConfigError naming the key (`key`: the file, table and key) for what is none (`english`).

    Feeds, pages and OPML publish it as it stands, and a reader picks fonts, hyphenation and
    speech by it. Loading langcodes' registry of tags costs a command 25 ms, so a tag the built-in
    registry uses (`known`, held standard by a test) is taken as it is.
    """
    if tag in known:
        return tag
    import langcodes

    if langcodes.tag_is_valid(tag):  # False, never an error, for what does not parse
        return str(langcodes.standardize_tag(tag))
    raise ConfigError(f"{key} must be a BCP 47 language tag (en, fr-FR, zh-Hant), not {tag!r}")


def _make_outlet(where: str, raw: dict[str, Any], base: Outlet | None, language: str, known: frozenset[str]) -> Outlet:
    """An outlet from its table (over `base`, the built-in one of that slug); one that names no
    language, and overrides none, speaks `language`, the site's."""
    slug = raw.get("slug", base.slug if base else None)
    if not slug or not SLUG_RE.match(slug):
        raise ConfigError(f"{where}: slug must be lower-case letters, digits and '-', got {slug!r}")
    if base is None and "name" not in raw:
        raise ConfigError(f"{where}: outlet '{slug}' needs a name")
    if base is None and not raw.get("hosts"):
        raise ConfigError(f"{where}: outlet '{slug}' needs hosts = [...], the sites its articles are on")
    fields = {k: v for k, v in raw.items() if k != "slug"}
    if "language" in fields:
        fields["language"] = _language_tag(f"{where}: [outlet] language", fields["language"], known)
    elif base is None:
        fields["language"] = language
    outlet = replace(base, **fields) if base else Outlet(slug=slug, **fields)
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(outlet.timezone)
    except (KeyError, ValueError, OSError):  # not found, not a key, or a folder of zones ("Asia")
        raise ConfigError(f"{where}: unknown timezone {outlet.timezone!r} for '{slug}'") from None
    hosts = tuple(h.lower().strip(".") for h in outlet.hosts)
    # The feed's home page: feed readers link the outlet's feed to it, and RSS requires one.
    return replace(outlet, hosts=hosts, homepage=outlet.homepage or f"https://{hosts[0]}/")


def _check_hosts(outlets: tuple[Outlet, ...], tables: dict[str, str]) -> None:
    """One host, one outlet: of two outlets listing the same host, the first would take every
    article from it and the second never get a feed, with nothing to say why."""
    owner: dict[str, Outlet] = {}
    for outlet in outlets:
        for host in outlet.hosts:
            first = owner.setdefault(host, outlet)
            if first is not outlet:
                named = [f"'{o.slug}'" + ("" if o.slug in tables else " (built-in)") for o in (first, outlet)]
                raise ConfigError(
                    f"{tables.get(outlet.slug) or tables[first.slug]}: outlets {named[0]} and {named[1]} both list"
                    f" the host '{host}'; an article's host must name one outlet"
                )


def _make_topic(where: str, raw: dict[str, Any], outlets: set[str]) -> Topic:
    slug = raw.get("slug", "")
    if not SLUG_RE.match(slug):
        raise ConfigError(f"{where}: slug must be lower-case letters, digits and '-', got {slug!r}")
    if "title" not in raw:
        raise ConfigError(f"{where}: topic '{slug}' needs a title")
    if not raw.get("any"):
        raise ConfigError(f"{where}: topic '{slug}' needs at least one term in any = [...]")
    unknown = [o for o in raw.get("outlets", ()) if o not in outlets]
    if unknown:
        raise ConfigError(f"{where}: topic '{slug}' names unknown outlet(s): {', '.join(unknown)}")
    return Topic(**raw)


def _check_patterns(where: str, user: dict[str, Any]) -> None:
    """Fail at load time, naming the rule, rather than in a worker halfway through a build.

    Only the config's own rules are checked (the built-in ones are covered by tests), so a config
    without cleaning rules never pays for importing the regex module or the selector compiler.
    """
    clean, outlets = user.get("clean", {}), user.get("outlet", [])
    regexes = [p for key in ("remove_links", "remove_text", "url_dates") for p in clean.get(key, ())]
    regexes += [p for o in outlets for p in o.get("remove_text", ())]
    if regexes:
        _check_regexes(where, regexes, clean)
    selectors = [
        *clean.get("remove", ()),
        *clean.get("captions", ()),
        *(s for o in outlets for s in o.get("remove", ())),
    ]
    if not selectors:
        return
    from cssselect import SelectorError

    from feedtool.derive.selectors import Selection

    for selector in selectors:
        try:
            Selection.compile((selector,))
        except SelectorError as exc:
            msg = str(exc).splitlines()[0]
            raise ConfigError(f"{where}: bad CSS selector {selector!r}: {msg}") from None


def _check_regexes(where: str, regexes: list[str], clean: dict[str, Any]) -> None:
    """Compiled by the engine they run on (derive/limits.py), loaded only for a config that has any."""
    import regex

    for pattern in regexes:
        try:
            regex.compile(pattern)
        except regex.error as exc:
            raise ConfigError(f"{where}: bad regular expression {pattern!r}: {exc}") from None
    for pattern in clean.get("url_dates", ()):
        missing = {"y", "m", "d"} - set(regex.compile(pattern).groupindex)
        if missing:
            groups = ", ".join(f"(?P<{g}>...)" for g in sorted(missing))
            raise ConfigError(f"{where}: [clean] url_dates pattern {pattern!r} lacks the group(s) {groups}")
    for key in ("remove_links", "remove_text"):
        # Each list is matched as one alternation, where a global flag such as (?i) would apply to
        # every rule of the list (regex) or is an error (re): asked of re, which names it.
        try:
            re.compile("|".join(f"(?:{p})" for p in clean.get(key, ())))
        except re.error as exc:
            if "global flags" not in str(exc):
                continue  # syntax only the regex module reads, checked above
            raise ConfigError(
                f"{where}: [clean] {key}: the patterns cannot be combined ({exc}); "
                "write flags as a group, like (?i:...)"
            ) from None


def find_config(explicit: Path | None) -> Path | None:
    """The config to use: the one named, else $FEEDTOOL_CONFIG, else ./feedtool.toml if present."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.is_file() else None


def load_config(
    path: Path | None,
    *,
    inputs: tuple[Path, ...] = (),
    output: Path | None = None,
    store: Path | None = None,
    base_url: str | None = None,
    executor: str | None = None,
) -> Config:
    """Read the config (or none) and apply command-line overrides, which win over the file.

    Paths in the file are relative to the file's folder; paths from the command line are relative
    to the working directory, as a shell user expects.
    """
    builtin = _builtin()
    user = _tables(str(path), _read_toml(path)) if path else {}
    where = str(path) if path else "config"
    root = path.parent if path else Path(".")

    site_table = dict(user.get("site", {}))
    known = frozenset(o["language"] for o in builtin["outlet"] if "language" in o) | {Site.language}
    language = _language_tag(f"{where}: [site] language", site_table.get("language", Site.language), known)
    site_table["language"] = language

    by_slug = {o["slug"]: _make_outlet("built-in registry", o, None, language, known) for o in builtin["outlet"]}
    tables: dict[str, str] = {}  # slug -> where the config writes that outlet
    for i, raw in enumerate(user.get("outlet", [])):
        slug = raw.get("slug", "")
        tables[slug] = f"{where}: [[outlet]] #{i + 1}"
        by_slug[slug] = _make_outlet(tables[slug], raw, by_slug.get(slug), language, known)
    outlets = tuple(by_slug.values())
    _check_hosts(outlets, tables)

    user_clean = user.get("clean", {})
    clean = CleanRules(**{k: v + user_clean.get(k, ()) for k, v in builtin["clean"].items()})
    from_config = [p for key in ("remove_links", "remove_text", "url_dates") for p in user_clean.get(key, ())]
    from_config += [p for o in user.get("outlet", []) for p in o.get("remove_text", ())]
    clean = replace(clean, bounded=tuple(sorted(set(from_config))))
    urls = user.get("urls", {})
    tracking = builtin["urls"]["tracking_params"] + urls.get("tracking_params", ())
    _check_patterns(where, user)

    topics = tuple(
        _make_topic(f"{where}: [[topic]] #{i + 1}", raw, set(by_slug)) for i, raw in enumerate(user.get("topic", []))
    )
    seen: set[str] = set()
    for topic in topics:
        if topic.slug in seen:
            raise ConfigError(f"{where}: two topics have the slug '{topic.slug}'")
        seen.add(topic.slug)

    templates = root / site_table.pop("templates") if "templates" in site_table else None
    if templates is not None and not templates.is_dir():
        raise ConfigError(f"{where}: [site] templates: {templates} is not a folder")
    site = Site(**site_table)
    base_url_set = base_url is not None or "base_url" in site_table
    if base_url is not None:
        site = replace(site, base_url=base_url)
    if not re.match(r"^https?://[^/\s]+", site.base_url):
        raise ConfigError(f"{where}: [site] base_url must be an absolute http(s) URL")
    site = replace(site, base_url=site.base_url.rstrip("/") + "/")

    feeds = user.get("feeds", {})
    formats = feeds.get("formats", FORMATS)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"{where}: [feeds] formats must be some of {', '.join(FORMATS)}")
    opml_format = feeds.get("opml_format", formats[0])
    if opml_format not in formats:
        raise ConfigError(f"{where}: [feeds] opml_format must be one of the formats published")

    build = user.get("build", {})
    limits = Limits(**{k: build[k] for k in ("max_dump_bytes", "dump_seconds") if k in build})
    store_table = user.get("store", {})
    config_inputs = tuple(root / p for p in build.get("inputs", ())) or (root / "seeds",)
    given, executor = executor, executor if executor is not None else build.get("executor", Config.executor)
    try:
        address_of(executor)
    except ConfigError as exc:
        raise ConfigError(str(exc) if given is not None else f"{where}: [build] {exc}") from None
    return Config(
        path=path,
        site=site,
        inputs=inputs or config_inputs,
        output=output or root / build.get("output", "out"),
        store=store or root / store_table.get("path", ".feedtool/state.sqlite3"),
        rules=Rules(
            clean=clean,
            outlets=outlets,
            tracking_params=tracking,
            host_aliases=urls.get("host_aliases", ()),
            limits=limits,
            language=language,
        ),
        follow_links=build.get("follow_links", Config.follow_links),
        keep_days=store_table.get("keep_days"),
        topics=topics,
        max_items=feeds.get("max_items", Config.max_items),
        archive_items=feeds.get("archive_items", Config.archive_items),
        formats=tuple(formats),
        opml_format=opml_format,
        lock_timeout=store_table.get("lock_timeout", Config.lock_timeout),
        templates=templates,
        base_url_set=base_url_set,
        executor=executor,
        stories=StoryRules(**user.get("stories", {})),
    )

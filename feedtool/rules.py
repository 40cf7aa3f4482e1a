"""The rules feedtool applies to dumps, as records: what to strip, which hosts are one outlet, which
query parameters are tracking, what a topic matches.

Data, not code: the built-in tables are `registry.toml`, a config file extends them (config.py
reads both into these records), and the stages only apply them. A layer below every stage and the
config alike, so that none of them reaches up into another to share a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# [site] language when a config sets none, and so the language of an outlet that names none.
DEFAULT_LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class CleanRules:
    remove: tuple[str, ...] = ()
    remove_attr_prefixes: tuple[str, ...] = ()
    remove_links: tuple[str, ...] = ()
    remove_text: tuple[str, ...] = ()
    lazy_src: tuple[str, ...] = ()
    captions: tuple[str, ...] = ()
    byline_labels: tuple[str, ...] = ()
    dateline_formats: tuple[str, ...] = ()
    url_dates: tuple[str, ...] = ()
    # The regular expressions among these (and the outlets' remove_text) that came from a config
    # file rather than the built-in registry: they run time-bounded (derive/limits.py).
    bounded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    hosts: tuple[str, ...] = ()
    homepage: str = ""
    language: str = DEFAULT_LANGUAGE  # a BCP 47 tag in its standard form (config.py makes it so)
    timezone: str = "UTC"
    icon: str | None = None
    aliases: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    remove_text: tuple[str, ...] = ()
    dateline_formats: tuple[str, ...] = ()
    expect_every: float | None = None  # hours: late when nothing arrives for longer (feedtool health)


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    description: str = ""
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    """How much one dump may cost to read (derive/limits.py): past either bound it is rejected, with the reason."""

    max_dump_bytes: int = 16 * 2**20  # the largest real article HTML seen is a few hundred kilobytes
    dump_seconds: float = 20.0  # a large, cluttered article cleans in well under a second


# What the stories read of an article's text: its first this many characters (stories/terms.py says
# why the lead). The store digests the same characters (store/packing.py, `lead_digest`), to tell an
# edit that changes what the stories read from one past it.
STORY_LEAD_CHARS = 600


@dataclass(frozen=True)
class StoryRules:
    """Whether articles of several outlets about one event are grouped into stories, and by what
    (the rest of the rule is feedtool.stories.grouping.Rules, whose defaults these are)."""

    # Off unless asked for: a cron run's grouping grows with the square of the articles a day
    # (docs/stories.md: 0.12 s of CPU at 27 a day, 11 s at 560), too much to spend unasked.
    enabled: bool = False
    window_hours: float = 72.0  # two reports of one event are published within this many hours
    similarity: float = 0.3  # the score that links two articles (0 to 1)


@dataclass(frozen=True)
class Rules:
    """Everything the normaliser needs, small and picklable so worker processes get a copy."""

    clean: CleanRules = field(default_factory=CleanRules)
    outlets: tuple[Outlet, ...] = ()
    tracking_params: tuple[str, ...] = ()
    host_aliases: tuple[tuple[str, str], ...] = ()
    limits: Limits = field(default_factory=Limits)
    # The language of an outlet no rule lists, found by its host (derive/outlets.py): [site] language.
    language: str = DEFAULT_LANGUAGE

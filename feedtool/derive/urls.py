"""Canonical article URLs: the identity that makes one article one entry, forever.

w3lib does the hard, standard part (percent-escape normalisation, UTF-8 encoding of raw Unicode,
query sorting, dropping the fragment). On top of it go the rules w3lib leaves to the caller,
all driven by data from the registry and the config: scheme folded to https, default port
dropped, tracking parameters dropped, mirror hosts folded into their outlet's canonical host.

The tracking parameters are matched here rather than by w3lib's `url_query_cleaner`, which drops
the keys found in a set, exactly as written: it cannot say a family (`utm_*`, `at_*`, `ns_*`,
`WT.*`, most of the list), a key in any case (the Guardian's `CMP`, also seen as `cmp`), or a key
only with one value (`from=rss`); and by default it keeps only the first of a repeated key, which
would change identities that stand. The list itself is data (registry.toml, `[urls]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from feedtool.errors import Rejected
from feedtool.rules import Rules

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def host_matches(host: str, suffix: str) -> bool:
    """True when host is suffix or a subdomain of it (www.rfi.fr matches rfi.fr, xrfi.fr does not)."""
    return host == suffix or host.endswith("." + suffix)


@dataclass(frozen=True)
class Canonicaliser:
    """Built once per process from the rules; canonicalise() is then a pure function."""

    rules: Rules

    @cached_property
    def _tracking(self) -> tuple[frozenset[str], tuple[str, ...], frozenset[tuple[str, str]]]:
        names, prefixes, pairs = set(), [], set()
        for rule in self.rules.tracking_params:
            if rule.endswith("*"):
                prefixes.append(rule[:-1].lower())
            elif "=" in rule:
                name, value = rule.split("=", 1)
                pairs.add((name.lower(), value.lower()))
            else:
                names.add(rule.lower())
        return frozenset(names), tuple(prefixes), frozenset(pairs)

    @cached_property
    def _aliases(self) -> tuple[tuple[str, str], ...]:
        """(mirror, canonical) host pairs, longest mirror first so the most specific wins."""
        pairs = [(m, o.hosts[0]) for o in self.rules.outlets for m in o.hosts[1:]]
        pairs += list(self.rules.host_aliases)
        return tuple(sorted(pairs, key=lambda p: -len(p[0])))

    def _is_tracking(self, param: str) -> bool:
        names, prefixes, pairs = self._tracking
        name, _, value = param.partition("=")
        name, value = unquote_plus(name).lower(), unquote_plus(value).lower()
        return name in names or name.startswith(prefixes) or (name, value) in pairs

    def fold_host(self, host: str) -> str:
        for mirror, canonical in self._aliases:
            if host_matches(host, mirror):
                return host[: len(host) - len(mirror)] + canonical
        return host

    def canonicalise(self, url: str) -> str:
        """The identity of an article URL. Raises Rejected for what is not an http(s) URL."""
        parts = check_http_url(url)
        try:
            parts = urlsplit(canonicalize_url(urlunsplit(parts), keep_fragments=False))
        except ValueError:  # w3lib checks a bracketed host that urlsplit lets by: "https://a.b[::1]c"
            raise Rejected(f"URL is not valid: {_shown(url)}") from None
        host = (parts.hostname or "").rstrip(".")
        host = self.fold_host(host)
        port = parts.port if parts.port and str(parts.port) != _DEFAULT_PORTS[parts.scheme] else None
        netloc = f"{host}:{port}" if port else host
        query = "&".join(p for p in parts.query.split("&") if p and not self._is_tracking(p))
        return urlunsplit(("https", netloc, parts.path or "/", query, ""))


def check_http_url(url: str) -> SplitResult:
    """Split an absolute http(s) URL, or reject it with a reason a person understands."""
    shown = _shown(url)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise Rejected(f"URL is not valid: {shown}") from None
    scheme = parts.scheme.lower()
    if scheme and scheme not in _DEFAULT_PORTS:
        raise Rejected(f"URL is not http(s): {shown}")
    if not scheme or not parts.hostname:
        raise Rejected(f"URL is not absolute: {shown}")
    return parts._replace(scheme=scheme)


def _shown(url: str) -> str:
    """A URL as a reason quotes it: whole, or its first 77 characters."""
    return url if len(url) <= 80 else url[:77] + "..."

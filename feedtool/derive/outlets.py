"""Which outlet published an article, from its URL's host.

Known outlets come from the registry and the config. An unknown host still yields an outlet,
named after its registrable domain (found with tldextract and the public suffix list it ships,
never fetched), so no article is ever dropped for coming from a site nobody listed yet; it speaks
the site's language (`[site] language`), as a listed outlet that names none does.

Loading tldextract takes 0.2 s (it imports requests), in every worker. So the domains it found
are remembered in the store and handed back to the next build's workers: a host under one of
them is answered from that set, and an incremental build never loads the list again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

from feedtool.derive.urls import host_matches
from feedtool.rules import Outlet, Rules


@dataclass(frozen=True)
class OutletRegistry:
    rules: Rules
    known_domains: frozenset[str] = frozenset()  # registrable domains of unlisted outlets, from earlier builds

    @cached_property
    def _by_host(self) -> tuple[tuple[str, Outlet], ...]:
        """(host suffix, outlet), longest suffix first: cn.nytimes.com wins over nytimes.com."""
        pairs = [(h, o) for o in self.rules.outlets for h in o.hosts]
        return tuple(sorted(pairs, key=lambda p: -len(p[0])))

    @cached_property
    def _extract(self):  # type: ignore[no-untyped-def]
        import tldextract

        # The snapshot bundled with tldextract: no network, no cache folder written.
        return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def for_url(self, url: str, display_name: str | None = None) -> Outlet:
        """The outlet of a canonical URL. display_name (front matter author) names unknown ones."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        for suffix, outlet in self._by_host:
            if host_matches(host, suffix):
                return outlet
        domain, learnable = self._domain(host)
        return Outlet(
            slug=domain.replace(".", "-").lower(),
            name=display_name or domain,
            hosts=(domain,) if learnable else (),
            homepage=f"{parts.scheme}://{host}/",
            language=self.rules.language,
        )

    def _domain(self, host: str) -> tuple[str, bool]:
        """(registrable domain, whether any host under it has the same one).

        A host that is itself a public suffix (co.uk) stands for itself, but must not be
        remembered: every site under it has a registrable domain of its own.
        """
        labels = host.split(".")
        for i in range(len(labels)):
            if (suffix := ".".join(labels[i:])) in self.known_domains:
                return suffix, True
        ext = self._extract(host)
        return ".".join(p for p in (ext.domain, ext.suffix) if p) or host, bool(ext.domain)

    def discovered_domain(self, outlet: Outlet) -> str | None:
        """The domain to remember for an outlet found through the public suffix list, not the rules."""
        return outlet.hosts[0] if outlet.hosts and outlet not in self._listed else None

    @cached_property
    def _listed(self) -> frozenset[Outlet]:
        return frozenset(self.rules.outlets)

    def confirms(self, outlet: Outlet, name: str) -> bool:
        """Whether a front matter author/category is just the outlet's own name, not a person or tag."""
        folded = name.strip().casefold()
        return folded in {n.casefold() for n in (outlet.name, outlet.slug, *outlet.aliases)}

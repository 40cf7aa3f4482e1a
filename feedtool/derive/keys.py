"""Fingerprints of how entries are derived: when one changes, the store derives its entries again.

Hashing the code itself, rather than trusting a version number, means no release can forget to
say that entries come out differently. The code is this whole package, every module in it: a
module added, moved in or renamed is covered without a list to keep. (Library versions are not in
it: reading them costs a no-op build 75 ms. After upgrading lxml or nh3, `feedtool build
--rederive` does the same.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from importlib import resources

from feedtool.rules import Rules

PACKAGE = "feedtool.derive"


def code_digest(package: str = PACKAGE) -> str:
    """A hash of every Python file of the package, by name and bytes, in name order."""
    digest = hashlib.sha1()
    files = sorted((f for f in resources.files(package).iterdir() if f.name.endswith(".py")), key=lambda f: f.name)
    for file in files:
        digest.update(f"{file.name}\0".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def identity_key(rules: Rules) -> str:
    """A fingerprint of what decides an entry's identity, its canonical URL: the URL rules and their code.

    While it stands, a dump read again under changed cleaning rules keeps the id it had, and is
    not canonicalised again.
    """
    code = resources.files(PACKAGE).joinpath("urls.py").read_bytes()
    rules_part = [rules.tracking_params, rules.host_aliases, [(o.slug, o.hosts) for o in rules.outlets]]
    return hashlib.sha1(code + json.dumps(rules_part).encode()).hexdigest()


def derivation_key(rules: Rules) -> str:
    """A fingerprint of everything an entry is derived with: the rules and this package's code.

    Not the outlets' icons and homepages, which only the published documents show.
    """
    shaping = asdict(rules)
    for outlet in shaping["outlets"]:
        del outlet["icon"], outlet["homepage"], outlet["expect_every"]
    return hashlib.sha1(f"{code_digest()}\0{json.dumps(shaping, sort_keys=True)}".encode()).hexdigest()

"""Whether a publish writes nothing, plans by change, or plans every document: one pure decision.

Every fact it weighs is read first (publish/run.py), named here, and the decision is a function of
them alone, so that each way a publish can go is one branch with its test (tests/test_decision.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PublishMode = Literal["nothing", "by_change", "whole"]


@dataclass(frozen=True)
class PublishFacts:
    """What the store and the output say before a publish."""

    marked: bool  # the store and the config are as they were when everything was last published
    intact: bool  # every published file is still the one written then (same size and mtime)
    same_config: bool  # the config is the one the output was last published with, whole
    logged: bool  # the log of changes says where every change was (not overflowed, nothing removed)
    feeds_known: bool  # every feed was published before: none is new (an outlet's first entry)
    entries_kept: bool  # every entry the log names is still in the store


def decide(facts: PublishFacts) -> PublishMode:
    """Nothing when nothing changed; by change when the log can say what the changes reached, over
    an output that is as it was published, from the same config; otherwise every document."""
    if facts.marked and facts.intact:
        return "nothing"
    if facts.intact and facts.same_config and facts.logged and facts.feeds_known and facts.entries_kept:
        return "by_change"
    return "whole"

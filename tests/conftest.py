from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from feedtool.config import load_config
from feedtool.normalise import Normaliser

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def normaliser() -> Normaliser:
    return Normaliser(load_config(None).rules)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A private copy of the seeds, so a test may add, touch or delete dumps."""
    folder = tmp_path / "dumps"
    shutil.copytree(SEEDS, folder)
    return folder


def dump(title: str = "标题", url: str = "https://www.rfi.fr/cn/中国/20231014-test", body: str = "<p>正文。</p>",
         stamp: str | None = "1697291102000", front_matter: str | None = None) -> str:  # fmt: skip
    """The text of a dump in the bare style (or with front matter), for fixtures."""
    parts = []
    if front_matter is not None:
        parts.append(f"---\n{front_matter}\n---")
    if stamp is not None:
        parts.append(f"<!--{stamp}-->")
    parts.append(f"[{title}]({url})")
    parts.append("------\n")
    parts.append(body)
    return "\n".join(parts)

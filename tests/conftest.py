"""The suite's fixtures; what the tests share besides them is in helpers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SEEDS

from feedtool.config import load_config
from feedtool.derive.normalise import Normaliser


@pytest.fixture(scope="session")
def normaliser() -> Normaliser:
    return Normaliser(load_config(None).rules)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A private copy of the seeds, so a test may add, touch or delete dumps."""
    folder = tmp_path / "dumps"
    shutil.copytree(SEEDS, folder)
    return folder

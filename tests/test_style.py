"""The code base stays lint-clean and formatted: ruff, configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT


def test_ruff_check() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_ruff_format() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_feedgen_is_bounded_above() -> None:
    """feeds.py depends on feedgen's exact pretty-printing: a new minor release must be a deliberate step."""
    import tomllib

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    (feedgen,) = [d for d in dependencies if d.startswith("feedgen")]
    assert "<" in feedgen


@pytest.mark.slow
def test_mypy_strict() -> None:
    """Types checked as pyproject.toml's [tool.mypy] says: strict, with each exception explained there."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]

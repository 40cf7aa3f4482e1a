"""The code base stays lint-clean and formatted: ruff, configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT


def test_ruff_check() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_ruff_format() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_feedgen_is_bounded_above() -> None:
    """publish/feeds.py depends on feedgen's exact pretty-printing: a new minor release must be a deliberate step."""
    import tomllib

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    (feedgen,) = [d for d in dependencies if d.startswith("feedgen")]
    assert "<" in feedgen


def test_every_package_installed_for_feedtool_and_its_extras_is_pinned() -> None:
    """constraints.txt, which the README's Quick start and CI install with, pins every package that
    feedtool's dependencies and its test and bench extras bring in, down to their own dependencies:
    a dependency added to pyproject.toml alone, or a library that starts needing another, fails here."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = [line for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines() if line and line[0] != "#"]
    assert all(line.count("==") == 1 for line in lines), "pins are exact"
    pinned = {canonicalize_name(line.split("==")[0]) for line in lines}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    extras = project["optional-dependencies"]
    todo = [Requirement(r) for r in [*project["dependencies"], *extras["test"], *extras["bench"]]]
    seen: set[str] = set()
    while todo:
        wanted = todo.pop()
        name = canonicalize_name(wanted.name)
        assert name in pinned, f"{wanted.name} is needed but not pinned in constraints.txt"
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = [Requirement(r) for r in requires(wanted.name) or []]
        except PackageNotFoundError:  # not installed (bench's, with only the test extras): its name was checked
            continue
        todo += [
            need for need in needs
            if need.marker is None or any(need.marker.evaluate({"extra": e}) for e in wanted.extras or {""})
        ]  # fmt: skip
    assert len(seen) > 60  # the walk went down to the dependencies' dependencies


@pytest.mark.slow
def test_mypy_strict() -> None:
    """Types checked as pyproject.toml's [tool.mypy] says: strict, with each exception explained there."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_module_is_over_500_lines_and_no_import_cycle() -> None:
    """The tree a newcomer reads: modules short enough to read in one sitting, and imports that go
    one way, so that any module can be read knowing only those below it. Imports made inside a
    function count too: they are the same dependency, only later."""
    import ast

    package = ROOT / "feedtool"
    modules = {
        ".".join(("feedtool", *path.relative_to(package).with_suffix("").parts)).removesuffix(".__init__"): path
        for path in package.rglob("*.py")
    }
    long = [
        f"{path.relative_to(ROOT)}: {n}" for path in modules.values() if (n := len(path.read_text().splitlines())) > 500
    ]
    assert long == []
    imports: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = imports.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                # `from package import module` depends on the module; `from package import name` on
                # the package's __init__ (a package's parents run first on any import, and are not
                # counted: feedtool's __init__ is the public API, which imports the stages).
                inner = [f"{node.module}.{alias.name}" for alias in node.names]
                named = [m for m in inner if m in modules] or [node.module]
            elif isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                continue
            found.update(other for other in named if other in modules and other != name)

    def cycle_from(start: str) -> list[str] | None:
        path, seen = [start], set()

        def walk(name: str) -> list[str] | None:
            for other in sorted(imports[name]):
                if other == start:
                    return [*path, start]
                if other not in seen:
                    seen.add(other)
                    path.append(other)
                    if (found := walk(other)) is not None:
                        return found
                    path.pop()
            return None

        return walk(start)

    cycles = [cycle for name in sorted(modules) if (cycle := cycle_from(name)) is not None]
    assert cycles == [], " -> ".join(cycles[0])


def test_the_stage_packages_say_what_they_own_and_depend_one_way() -> None:
    """The tree shows the architecture: each package's opening docstring says what it owns, and
    the packages import one another in one direction (derive below store below ingest, publish
    and search; the web and the command line above them all), so a package can be read knowing
    only those below it."""
    import ast

    package = ROOT / "feedtool"
    packages = sorted(path.parent.name for path in package.glob("*/__init__.py"))
    assert [p for p in packages if not ast.get_docstring(ast.parse((package / p / "__init__.py").read_text()))] == []
    depends: dict[str, set[str]] = {p: set() for p in packages}
    for name in packages:
        for path in (package / name).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("feedtool."):
                    other = node.module.split(".")[1]
                    if other in depends and other != name:
                        depends[name].add(other)
    order: list[str] = []
    while remaining := [p for p in packages if p not in order]:
        ready = [p for p in remaining if depends[p] <= set(order)]
        assert ready, f"packages importing each other: { {p: sorted(depends[p] - set(order)) for p in remaining} }"
        order += ready

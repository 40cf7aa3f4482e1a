"""feedtool's version: its one home, read by the build backend (pyproject.toml) and shown in the feeds' generator."""

__version__ = "0.1.0"

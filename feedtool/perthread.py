"""One object per thread, for the C libraries whose objects must not be used by two threads at once.

OpenCC's converter crashes the process when two threads convert at once. A build uses it from one
thread (its workers are processes), but `feedtool serve` answers searches from many threads: each
gets its own. (zstandard's objects, likewise not to be shared, belong to a store connection, which
one thread uses: store/packing.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


def per_thread(make: Callable[[], T]) -> Callable[[], T]:
    """`make`, called once in each thread that asks; that thread's object after."""
    local = threading.local()

    @wraps(make)
    def get() -> T:
        made: T | None = getattr(local, "made", None)
        if made is None:
            made = make()
            local.made = made
        return made

    return get

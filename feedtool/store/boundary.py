"""The store's edge: the database's own errors become feedtool's `StoreError` here, once.

Every public method of `Store` is wrapped when the class is made (`translating`), as the `reader`
library wraps its storage's methods: callers catch one typed error and never import sqlite3, and
a store on another database would change this module, not its callers. What a method returns
lazily is wrapped too (an iterator, a context manager such as a transaction, whose COMMIT can
fail at its exit), since the database can fail there as well.
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from feedtool.errors import StoreError

BackendError = sqlite3.Error  # the database's errors: named in this module alone

C = TypeVar("C", bound=type)


def store_failure(path: Path, exc: BaseException) -> StoreError:
    """What went wrong with the store, said truthfully, with the remedy that works.

    A damaged file fails every build the same way: the remedy is to make the store anew from the
    dumps, which are the source of truth. A full disk or a passing I/O error is not damage: what
    was committed is kept, and the next build carries on.
    """
    text = str(exc)
    if type(exc) is sqlite3.DatabaseError or any(words in text for words in ("malformed", "not a database")):
        return StoreError(
            f"{path}: the store is damaged ({text}). The dumps are the source of truth: move it aside"
            f" (mv {path} {path}.damaged) and run 'feedtool build' to make it anew from them"
        )
    return StoreError(f"{path}: {text}; what was committed before is kept, and the next build carries on from it")


def translating(cls: C) -> C:
    """`cls` with each public method and property (and `__enter__`/`__exit__`) raising StoreError for
    the backend's errors."""
    for name in dir(cls):
        if name.startswith("_") and name not in ("__enter__", "__exit__"):
            continue
        attribute = inspect.getattr_static(cls, name)
        if inspect.isfunction(attribute):
            setattr(cls, name, _translated(attribute))
        elif isinstance(attribute, property) and attribute.fget is not None:  # a read of the store too
            setattr(cls, name, property(_translated(attribute.fget), attribute.fset, attribute.fdel, attribute.__doc__))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
        except BackendError as exc:
            raise store_failure(self.path, exc) from None
        if result is self or result is None:
            return result
        if isinstance(result, Iterator):
            return _iterated(self.path, result)
        if isinstance(result, AbstractContextManager):
            return _Within(self.path, result)
        return result

    wrapper.__translated__ = True  # type: ignore[attr-defined]  # for the test that every method is
    return wrapper


def _iterated(path: Path, iterator: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from iterator
    except BackendError as exc:
        raise store_failure(path, exc) from None


class _Within(AbstractContextManager[Any]):
    """A context manager of the store's (a transaction, a snapshot) whose entry and exit translate."""

    def __init__(self, path: Path, inner: AbstractContextManager[Any]) -> None:
        self.path, self.inner = path, inner

    def __enter__(self) -> Any:
        try:
            return self.inner.__enter__()
        except BackendError as exc:
            raise store_failure(self.path, exc) from None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        try:
            return self.inner.__exit__(kind, exc, trace)
        except BackendError as error:
            raise store_failure(self.path, error) from None

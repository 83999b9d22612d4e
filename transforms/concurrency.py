"""Thread switching for the ingest's mix of Arrow kernels and Python loops.

The ingest overlaps GIL-free Arrow work (sorts, takes, Parquet encoding) with Python work that
holds the GIL (SHA-256 digests of order keys, pandas and pandera bookkeeping). With CPython's
default 5 ms switch interval, a thread coming back from each short Arrow call waits up to 5 ms
for a Python loop to yield the GIL: on 1M rows that convoy cost ~0.5-1 s of a ~5 s plan
(measured with `python -m benchmarks ingest`). A 0.5 ms interval hands the GIL over ten times
sooner, at a negligible cost to the loop itself.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

SWITCH_INTERVAL_S = 0.0005

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def responsive_gil(interval: float = SWITCH_INTERVAL_S) -> Iterator[None]:
    """Lower the interpreter's thread switch interval for the block (never raise it)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def with_responsive_gil(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of `responsive_gil`, for the stage functions that overlap threads."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with responsive_gil():
            return fn(*args, **kwargs)

    return wrapper

"""What the stage modules share: progress callbacks, the resolution they pass along."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ledger import CacheEntry

from .plan import Plan, Rejected
from .report import ProgressEvent

log = logging.getLogger("purchase_sync.submit")

Progress = Callable[[ProgressEvent], None] | None
Budget = Callable[[int], Awaitable[None]] | None


@dataclass
class Resolution:
    """What resolve (and pre-price) decided for the purchases that may be sent."""

    plans: list[Plan] = field(default_factory=list)  # in input order
    rejected: dict[str, Rejected] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)  # lookup failed: stay planned
    items: dict[tuple[str, str], CacheEntry] = field(default_factory=dict)


def emit(on_progress: Progress, event: ProgressEvent) -> None:
    if on_progress is not None:
        try:
            on_progress(event)
        except Exception:  # a progress display must never break a money-moving stage
            log.exception("on_progress callback failed")

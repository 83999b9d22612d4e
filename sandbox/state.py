"""What one sandbox holds: config, catalog, order store, tokens, clock, counters, fault RNGs."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from sandbox.catalog import Catalog, get_catalog
from sandbox.config import STARTUP_ONLY, SandboxConfig
from sandbox.lifecycle import Schedule
from sandbox.store import OrderStore, StoredOrder
from sandbox.tokens import Tokens

#: Second fault RNG's seed offset: the faults added later draw from their own stream, so the
#: original six faults decide exactly as they did for a given seed.
_EXTRA_SEED = 0x5EED_FA17


class Clock:
    """The sandbox's time for everything it writes into orders: real time plus an offset.

    The offset only grows (a test moves time forward), so modification times never go back.
    """

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def move(self, *, advance_s: float | None = None, offset_s: float | None = None) -> None:
        """Move forward by `advance_s`, or to `offset_s` ahead of real time; never back."""
        if (advance_s is None) == (offset_s is None):
            raise ValueError("give one of advance_s or offset_s")
        if offset_s is not None:
            target = round(offset_s * 1000)
        else:
            target = self.offset_ms + round(float(advance_s or 0) * 1000)
        if target < self.offset_ms:
            raise ValueError(
                f"the clock only moves forward (offset {self.offset_ms / 1000:g} s now)"
            )
        self.offset_ms = target

    def as_dict(self) -> dict[str, Any]:
        return {"now_ms": self.now_ms(), "offset_s": self.offset_ms / 1000}


class Stats:
    """What the sandbox did, for `GET /_sandbox/stats`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.rejections: Counter[str] = Counter()
        self.n: Counter[str] = Counter()
        self.max_inflight_seen = 0

    def as_dict(self, inflight: int, store: OrderStore, clock: Clock) -> dict[str, Any]:
        n = self.n
        # an outer id created more than once has orders from more than one create call
        creates_per_outer = (
            len({store.orders[p].create_no for p in pids}) for pids in store.by_outer.values()
        )
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "responses_by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "rate_limited": n["rate_limited"] + n["rate_limited_inflight"],
            "rate_limited_inflight": n["rate_limited_inflight"],
            "errors_5xx": n["errors_5xx"],
            "resets": n["resets"],
            "lost_responses": n["lost_responses"],
            "late_commits": n["late_commits"],
            "late_commits_done": n["late_commits_done"],
            "error_envelopes": n["error_envelopes"],
            "error_envelopes_after_commit": n["error_envelopes_after_commit"],
            "query_filters_ignored": n["query_filters_ignored"],
            "query_short_pages": n["query_short_pages"],
            "query_totals_omitted": n["query_totals_omitted"],
            "creates_committed": n["creates_committed"],
            "purchase_orders_committed": n["purchase_orders_committed"],
            "creates_deduplicated": n["creates_deduplicated"],
            "cancels_committed": n["cancels_committed"],
            "cancels_applied": n["cancels_applied"],
            "cancels_too_late": n["cancels_too_late"],
            "payments": n["payments"],
            "shipments": n["shipments"],
            "auto_closed": n["auto_closed"],
            "business_rejections": sum(self.rejections.values()),
            "rejections_by_code": dict(self.rejections),
            "auth_failures": n["auth_failures"],
            "refreshes": n["refreshes"],
            "refresh_failures": n["refresh_failures"],
            "inflight": inflight,
            "max_inflight_seen": self.max_inflight_seen,
            "orders_stored": len(store.orders),
            "outer_ids_stored": len(store.by_outer),
            "duplicate_outer_ids": sum(1 for c in creates_per_outer if c > 1),
            "clock": clock.as_dict(),
        }


class SandboxState:
    """Config, catalog, order store, tokens, clock, counters and the fault RNGs of one sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config.model_copy()
        self.config = config.model_copy()
        self.extra_faults = self.config.draws_extra_faults()
        self.catalog: Catalog = get_catalog()
        self.store: OrderStore | None = None
        self.stats = Stats()
        self.clock = Clock()
        self.schedule = Schedule()
        self.rng = random.Random(config.seed)
        self.rng_extra = random.Random(config.seed ^ _EXTRA_SEED)
        # request ids: not the fault RNG (keeps fault draws reproducible), and not os.urandom,
        # whose syscall gives the GIL away to the store's writer thread on every request
        self.rng_ids = random.Random()
        self.inflight = 0
        self.tokens = Tokens(self.config)
        #: commits scheduled by the late-commit fault; lost if the sandbox stops first
        self.late_commits: set[asyncio.Task[None]] = set()
        self.catalog_dump: bytes | None = None

    @property
    def orders(self) -> OrderStore:
        assert self.store is not None, "the order store opens with the app"
        return self.store

    def changed(self, order: StoredOrder, *, new: bool = False) -> None:
        """Mark a new or changed order for the next commit; keep its version while the query
        lags, so the query can go on showing the previous one."""
        if not new:
            self.orders.touch(order)
        if self.config.query_lag_s > 0:
            order.remember()

    def cancel_late_commits(self) -> None:
        """Drop every late commit not yet done (a crashed backend, or a reset)."""
        for task in self.late_commits:
            task.cancel()
        self.late_commits.clear()

    async def reset(self, restore_config: bool) -> None:
        if restore_config:
            self.config = self.initial_config.model_copy()
            self.extra_faults = self.config.draws_extra_faults()
        self.cancel_late_commits()
        await self.orders.clear()
        self.schedule.clear()
        self.stats = Stats()
        self.clock = Clock()
        self._seed(self.config.seed)
        self.tokens = Tokens(self.config)

    def _seed(self, seed: int) -> None:
        self.rng.seed(seed)
        self.rng_extra.seed(seed ^ _EXTRA_SEED)

    def update_config(self, changes: dict[str, Any]) -> None:
        fixed = sorted(set(changes) & STARTUP_ONLY)
        if fixed:
            raise ValueError(f"{fixed} can only be set at start-up")
        data = self.config.model_dump()
        data.update(changes)
        new = SandboxConfig.model_validate(data)
        if new.seed != self.config.seed:
            self._seed(new.seed)
        self.config = new
        self.extra_faults = new.draws_extra_faults()

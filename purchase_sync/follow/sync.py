"""The status sync: follow every created purchase that is not final through the order query.

Two ways to ask, both paged by the query's largest page (50) and complete-or-raise
(`shanjing.lookup.complete_pages`):

- by ids: the followed purchase ids, 50 per query, `concurrency` queries in flight: exactly
  ceil(n / 50) calls when every answer is one page, the fewest the page size allows;
- by modification window: every order changed since the last sync's window ended (minus a lag,
  because the query shows a change a little after it happened), in pages of 50. Purchases this
  sync has never observed, or last saw with an undocumented status, are still asked for by id. Used (`mode="auto"`) once a watermark
  exists and is not older than `window_max_age_s`.

Every query first takes one slot of the shared API budget (the Prefect global concurrency
limit the create stage uses) when one is given; the client's own rate limit applies as for
creation. A batch whose answer is incomplete is reported and left as it was: its purchases keep
their previous status until the next sync.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from purchase_sync.follow.ledger_view import CreatedPurchase, created_purchases
from purchase_sync.follow.rules import FollowSettings, is_final, status_is_known
from purchase_sync.follow.store import FollowStore
from shanjing import IncompleteLookupError, PurchaseOrder, ShanjingClient, ShanjingError
from shanjing.lookup import complete_pages

__all__ = ["Budget", "SyncReport", "order_rows", "sync_statuses"]

log = logging.getLogger("purchase_sync.follow")

Budget = Callable[[int], Awaitable[None]] | None
WATERMARK = "window_end_ms"


@dataclass
class SyncReport:
    """What one sync did: how many purchases it followed, what it asked and what it learnt."""

    mode: str = "ids"
    followed: int = 0  # remote purchases not final before this sync
    observed: int = 0  # of them, seen in an answer now
    missing: list[str] = field(default_factory=list)  # asked by id, not in the answer
    changes: int = 0  # status / refund-status changes recorded
    query_calls: int = 0
    min_query_calls: int = 0  # the fewest calls the page size allows for what was asked
    unknown_statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    window: tuple[int, int] | None = None
    window_orders: int = 0  # orders the window returned (ours or not)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "followed": self.followed,
            "observed": self.observed,
            "missing": len(self.missing),
            "changes": self.changes,
            "query_calls": self.query_calls,
            "min_query_calls": self.min_query_calls,
            "unknown_statuses": dict(self.unknown_statuses),
            "errors": list(self.errors),
            "window": list(self.window) if self.window else None,
            "duration_s": round(self.duration_s, 3),
        }


def order_rows(
    order: PurchaseOrder, outer_id: str, line_of_sub: dict[str, str], payment_url: str | None
) -> tuple[dict, list[dict]]:
    """The follow_purchases row and follow_sub_orders rows of one answered purchase."""
    purchase = {
        "purchase_id": order.purchase_id,
        "outer_purchase_id": order.outer_purchase_id or outer_id,
        "status": order.status,
        "status_known": status_is_known(order.status),
        "purchase_amount_fen": order.purchase_amount,
        "pay_amount_fen": order.pay_amount,
        "pay_time_ms": order.pay_time,
        "next_close_ms": order.next_close_time_without_payment,
        "close_time_ms": order.close_time,
        "close_reason": order.close_reason,
        "payment_url": order.payment_url or payment_url,
        "modify_time_ms": order.modify_time,
        "logistics": json.dumps(order.logistics_numbers),
    }
    subs = [
        {
            "sub_purchase_order_id": sub.sub_purchase_order_id,
            "purchase_id": order.purchase_id,
            "outer_purchase_id": purchase["outer_purchase_id"],
            "order_line_no": sub.order_line_no or line_of_sub.get(sub.sub_purchase_order_id),
            "status": sub.status,
            "pay_amount_fen": sub.pay_amount,
            "close_time_without_payment_ms": sub.close_time_without_payment,
            "close_reason": sub.close_reason,
            "refund_status": sub.refund_status,
            "logistics": json.dumps(sub.logistics_numbers),
            "modify_time_ms": order.modify_time,
        }
        for sub in order.sub_orders
    ]
    return purchase, subs


class _Sync:
    def __init__(
        self,
        client: ShanjingClient,
        store: FollowStore,
        created: dict[str, CreatedPurchase],
        settings: FollowSettings,
        budget: Budget,
        report: SyncReport,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.budget = budget
        self.report = report
        self.outer_of: dict[str, str] = {}
        self.url_of: dict[str, str | None] = {}
        self.line_of_sub: dict[str, str] = {}
        for p in created.values():
            for pid in p.purchase_ids:
                self.outer_of[pid] = p.outer_purchase_id
                self.url_of[pid] = p.payment_url
            for ln in p.lines:
                if ln.sub_purchase_order_id:
                    self.line_of_sub[ln.sub_purchase_order_id] = ln.order_line_no

    async def _fetch(self, filters: dict[str, Any], page_no: int, size: int):
        if self.budget is not None:
            await self.budget(1)
        self.report.query_calls += 1
        page = await self.client.query_orders(**filters, page_no=page_no, page_size=size)
        return page, ""

    async def _record(self, orders: Iterable[PurchaseOrder]) -> None:
        rows, subs = [], []
        for order in orders:
            outer = self.outer_of.get(order.purchase_id)
            if outer is None:
                continue  # not one of ours (a window shows every order of the account)
            p, s = order_rows(order, outer, self.line_of_sub, self.url_of.get(order.purchase_id))
            rows.append(p)
            subs += s
            if not status_is_known(order.status):
                self.report.unknown_statuses[order.status] += 1
            for sub in order.sub_orders:
                if not status_is_known(sub.status):
                    self.report.unknown_statuses[sub.status] += 1
        if rows:
            self.report.observed += len(rows)
            # not `changes += await ...`: that reads the counter before the await, and
            # concurrent batches would overwrite each other's counts
            changes = await asyncio.to_thread(self.store.record, rows, subs)
            self.report.changes += changes

    async def by_ids(self, ids: list[str]) -> None:
        size = self.settings.page_size
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        self.report.min_query_calls += len(batches)
        sem = asyncio.Semaphore(self.settings.concurrency)

        async def one(batch: list[str]) -> None:
            wanted = frozenset(batch)
            async with sem:
                try:
                    found = await complete_pages(
                        lambda no, sz: self._fetch({"purchase_ids": batch}, no, sz),
                        lambda order: order.purchase_id in wanted,
                        what=f"status of {len(batch)} purchase(s) from {batch[0]}",
                        page_size=size,
                        max_pages=20,
                    )
                except (IncompleteLookupError, ShanjingError) as exc:
                    self.report.errors.append(f"{type(exc).__name__}: {exc}")
                    return
            seen = {o.purchase_id for o in found}
            self.report.missing += [pid for pid in batch if pid not in seen]
            await self._record(found)

        await asyncio.gather(*(one(b) for b in batches))

    async def by_window(self, start_ms: int, end_ms: int) -> bool:
        size = self.settings.page_size
        self.report.window = (start_ms, end_ms)

        def matches(order: PurchaseOrder) -> bool:
            t = order.modify_time
            return t is not None and start_ms <= t < end_ms

        filters = {
            "modify_time_start": start_ms,
            "modify_time_end": end_ms,
            "sort_type": "ASC",
            "sort_field": "modify_time",
        }
        try:
            found = await complete_pages(
                lambda no, sz: self._fetch(filters, no, sz),
                matches,
                what=f"orders modified in [{start_ms}, {end_ms})",
                page_size=size,
                max_pages=100_000,
            )
        except (IncompleteLookupError, ShanjingError) as exc:
            self.report.errors.append(f"{type(exc).__name__}: {exc}")
            return False
        self.report.window_orders = len(found)
        self.report.min_query_calls += max(1, math.ceil(len(found) / size))
        await self._record(found)
        return True


def _followed_ids(
    created: dict[str, CreatedPurchase], seen: dict[str, dict]
) -> tuple[list[str], list[str]]:
    """(purchase ids to follow, of them those a window cannot be trusted for: never observed,
    or last seen with a status nobody documented, which are asked for by id every time)."""
    follow, by_id = [], []
    for p in created.values():
        for pid in p.purchase_ids:
            row = seen.get(pid)
            if row is None or not row["status_known"]:
                follow.append(pid)
                by_id.append(pid)
            elif not is_final(row["status"]):
                follow.append(pid)
    return follow, by_id


async def sync_statuses(
    client: ShanjingClient,
    store: FollowStore,
    ledger_engine: sa.Engine,
    settings: FollowSettings | None = None,
    *,
    budget: Budget = None,
    clock_ms: Callable[[], int] | None = None,
    outer_ids: Iterable[str] | None = None,
) -> SyncReport:
    """Follow every created, not-final purchase (or those of `outer_ids`); record what the
    query says. `clock_ms` is the supplier's "now" for the window (default: this machine's)."""
    settings = settings or FollowSettings()
    now_ms = clock_ms or (lambda: int(time.time() * 1000))
    t0 = time.perf_counter()
    report = SyncReport()
    await asyncio.to_thread(store.create_schema)
    created = await asyncio.to_thread(created_purchases, ledger_engine, outer_ids)
    seen = await asyncio.to_thread(
        store.purchase_rows, [pid for p in created.values() for pid in p.purchase_ids]
    )
    follow, unseen = _followed_ids(created, seen)
    report.followed = len(follow)
    sync = _Sync(client, store, created, settings, budget, report)

    mark = await asyncio.to_thread(store.get_meta, WATERMARK)
    end = now_ms() - int(settings.window_lag_s * 1000)
    use_window = (
        settings.mode == "window"
        or (
            settings.mode == "auto"
            and mark is not None
            and end - int(mark) <= settings.window_max_age_s * 1000
        )
    ) and outer_ids is None
    if use_window and mark is not None and follow:
        report.mode = "window"
        start = int(mark) - int(settings.window_lag_s * 1000)
        ok = await sync.by_window(start, max(end, start + 1))
        if unseen:
            await sync.by_ids(unseen)
        if ok:
            await asyncio.to_thread(store.set_meta, WATERMARK, str(max(end, start + 1)))
    else:
        report.mode = "ids"
        if follow:
            await sync.by_ids(follow)
        if outer_ids is None and not report.errors:
            # everything was read by id up to now: later syncs may go by window from here
            await asyncio.to_thread(store.set_meta, WATERMARK, str(end))
    report.duration_s = time.perf_counter() - t0
    if report.unknown_statuses:
        log.warning("status values nobody documented: %s", dict(report.unknown_statuses))
    return report

"""One follow run, as the command and the Prefect flow both do it:

    sync statuses -> settle open cancels -> (cancel what the export cancelled) -> report

`run_follow` needs a client, the database URL (the ledger's) and, for cancels, the ingest's
`order_lines` of a later export. It writes the lists under `out` and returns a `FollowResult`
whose `summary` goes to summary.json / the run report and whose `attention.headline()` is the
sentence the run ends with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from purchase_sync.follow.cancel import CancelReport, plan_cancels, send_cancels, settle_cancels
from purchase_sync.follow.report import Attention, attention, status_mix, write_attention
from purchase_sync.follow.rules import FollowSettings
from purchase_sync.follow.store import FollowStore
from purchase_sync.follow.sync import Budget, SyncReport, sync_statuses
from shanjing import ShanjingClient

__all__ = ["FollowResult", "run_follow"]


@dataclass
class FollowResult:
    sync: SyncReport
    cancel: CancelReport
    attention: Attention
    summary: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """The sync could not read some statuses, or a cancel is left unknown."""
        return bool(self.sync.errors) or bool(self.cancel.outcomes.get("unknown"))


async def run_follow(
    client: ShanjingClient,
    store: FollowStore,
    settings: FollowSettings,
    *,
    ledger_engine: Any,
    out: str | Path | None = None,
    order_lines: pa.Table | None = None,
    budget: Budget = None,
    clock_ms: Callable[[], int] | None = None,
    run_id: str = "local",
) -> FollowResult:
    """Sync, settle cancels, cancel what `order_lines` cancelled, list what needs a person."""
    started = time.perf_counter()
    now_ms = clock_ms or (lambda: int(time.time() * 1000))
    sync = await sync_statuses(
        client, store, ledger_engine, settings, budget=budget, clock_ms=clock_ms
    )
    cancel = CancelReport()
    await settle_cancels(
        client, store, settings, ledger_engine=ledger_engine, budget=budget, report=cancel
    )
    if order_lines is not None:
        await asyncio.to_thread(plan_cancels, order_lines, store, ledger_engine, settings, cancel)
        if cancel.planned and not settings.dry_run:
            await send_cancels(
                cancel.planned, client, store, settings, run_id=run_id, budget=budget, report=cancel
            )
    extra = cancel.returns + cancel.partial
    att = await asyncio.to_thread(
        attention, store, ledger_engine, now_ms(), settings.horizon_s, extra
    )
    att.cancels_held = cancel.refused_by_guard
    for status, n in sync.unknown_statuses.items():
        att.unknown_statuses.setdefault(status, n)
    summary = {
        "run_id": run_id,
        "dry_run": settings.dry_run,
        "headline": att.headline(),
        "remote_status_mix": await asyncio.to_thread(status_mix, store),
        "to_pay": len(att.to_pay),
        "to_pay_fen": sum(int(r["amount_fen"] or 0) for r in att.to_pay),
        "closed_unpaid": len(att.closed_unpaid),
        "returns_to_handle": len(att.returns),
        "unknown_statuses": att.unknown_statuses,
        "sync": sync.as_dict(),
        "cancel": cancel.as_dict(),
        "would_cancel" if settings.dry_run else "cancelled": [i.as_dict() for i in cancel.planned],
        "duration_s": round(time.perf_counter() - started, 3),
    }
    result = FollowResult(sync=sync, cancel=cancel, attention=att, summary=summary)
    if out is not None:
        result.paths = await asyncio.to_thread(write_attention, out, att, summary)
        summary["outputs"] = result.paths
    return result

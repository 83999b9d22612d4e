"""The whole submit stage in one call: register -> reconcile -> resolve -> (pre-price) ->
rails -> create, with one report (the worker and the benchmarks use it; the Prefect flow runs
the stages as tasks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ledger import Ledger
from schemas.records import PlannedPurchase
from shanjing import ShanjingClient

from .common import emit, log
from .create import create
from .price import pre_price
from .reconcile import reconcile
from .register import register
from .report import ProgressEvent, SubmitReport
from .resolve import resolve
from .settings import SubmitSettings


def read_final_states(ledger: Ledger, ids: list[str], report: SubmitReport) -> None:
    """The ledger states of `ids` at the end of a run (`unknown` counts those still in flight),
    what the whole ledger still owes, and the purchases that need a person."""
    report.final_states = ledger.counts(ids)
    report.unknown = report.final_states.get("unknown", 0) + report.final_states.get(
        "submitting", 0
    )
    report.owed = ledger.owed()
    report.owed_age_s = (
        ledger.clock() - report.owed.oldest_created_at
        if report.owed.oldest_created_at is not None
        else None
    )
    report.trouble = ledger.trouble(ids)


async def run_submit(
    purchases: list[PlannedPurchase],
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    budget: Callable[[int], Awaitable[None]] | None = None,
    rebuilt: bool = False,
) -> SubmitReport:
    """register -> reconcile -> resolve -> (pre-price) -> rails -> create, with one report.

    A dry run writes no purchase state (only the resolution cache) and sends no create.
    Raises `ReauthorizationRequired` (a UserError) after writing every outcome, if the API
    refuses the refresh token.
    """
    t0 = time.perf_counter()
    busy0, cpu0 = ledger.busy_s, ledger.cpu_s
    report = SubmitReport(run_id=run_id, dry_run=settings.dry_run, purchases_in=len(purchases))
    ids = [p.outer_purchase_id for p in purchases]
    try:
        await asyncio.to_thread(ledger.create_schema)
        await register(
            purchases,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
            rebuilt=rebuilt,
        )
        await reconcile(
            client=client,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
        )
        resolution = await resolve(
            purchases,
            client=client,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
        )
        if settings.pre_price or settings.dry_run:
            resolution = await pre_price(
                resolution,
                client=client,
                ledger=ledger,
                settings=settings,
                run_id=run_id,
                report=report,
                on_progress=on_progress,
            )
        await create(
            resolution,
            client=client,
            ledger=ledger,
            settings=settings,
            run_id=run_id,
            report=report,
            on_progress=on_progress,
            budget=budget,
        )
    finally:
        if not settings.dry_run:
            try:
                await asyncio.to_thread(read_final_states, ledger, ids, report)
            except Exception:  # the report must not hide the original error
                log.exception("could not read the final ledger counts")
        report.client_stats = client.stats.snapshot()
        report.ledger_s = ledger.busy_s - busy0
        report.ledger_cpu_s = ledger.cpu_s - cpu0
        report.total_s = time.perf_counter() - t0
        emit(
            on_progress,
            ProgressEvent(
                "done",
                len(purchases),
                len(purchases),
                report.created,
                report.failed_total,
                report.unknown,
                report.stopped_reason or "",
            ),
        )
    return report

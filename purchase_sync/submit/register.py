"""Stage 1, register: make the ledger know every purchase (nothing is written in a dry run)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pyarrow as pa

from ledger import Ledger, RegisterReport
from schemas.records import PlannedPurchase

from .common import Progress, emit
from .report import ProgressEvent, SubmitReport
from .settings import SubmitSettings


async def register(
    purchases: Sequence[PlannedPurchase] | pa.Table,
    *,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
    rebuilt: bool = False,
) -> RegisterReport:
    """Register every purchase, in bulk: the ingest's purchases table (`outer_purchase_id`,
    `payload`, `payload_hash`) or records. With `rebuilt` (the ledger was lost) new rows are
    looked up before their first create."""
    if settings.dry_run:
        rep = RegisterReport()
    elif isinstance(purchases, pa.Table):
        table = purchases.select(["outer_purchase_id", "payload", "payload_hash"])
        rep = await asyncio.to_thread(
            ledger.register_table, table, run_id, settings.reprocess, rebuilt=rebuilt
        )
    else:
        rep = await asyncio.to_thread(
            ledger.register, purchases, run_id, settings.reprocess, rebuilt=rebuilt
        )
    if report is not None:
        report.registered = rep
        report.purchases_in = len(purchases)
        report.already_created = rep.already_created
    emit(on_progress, ProgressEvent("register", len(purchases), len(purchases)))
    return rep

"""Stage 4, pre-price: `order/render` for each plan. Unavailable SKUs fail the purchase (the
create would be refused the same way), price changes are reported and the render prices used.
"""

from __future__ import annotations

import asyncio

from ledger import Ledger
from shanjing import (
    BusinessError,
    ReauthorizationRequired,
    RenderItem,
    ShanjingClient,
    ShanjingError,
)

from .common import Progress, Resolution, emit, log
from .plan import Plan, Rejected, to_address, warehouse_address, with_render_prices
from .report import PriceChange, ProgressEvent, SubmitReport, Verdict
from .settings import SubmitSettings


async def pre_price(
    resolution: Resolution,
    *,
    client: ShanjingClient,
    ledger: Ledger,
    settings: SubmitSettings,
    run_id: str,
    report: SubmitReport | None = None,
    on_progress: Progress = None,
) -> Resolution:
    """Price each purchase with `order/render`: unavailable SKUs fail the purchase (the create
    would be refused the same way), price changes are reported and the render prices used."""
    sem = asyncio.Semaphore(settings.resolve_concurrency)
    priced: dict[str, Plan] = {}
    rejected: dict[str, Rejected] = {}
    changes: list[PriceChange] = []
    calls = 0

    async def price(plan: Plan) -> None:
        nonlocal calls
        p = plan.purchase
        items = [
            RenderItem(mp_id=q.mp_id, mp_sku_id=q.mp_sku_id, quantity=q.line.quantity)
            for q in plan.lines
        ]
        async with sem:
            calls += 1
            try:
                result = await client.render_order(
                    items, to_address(settings, p), warehouse_address(settings)
                )
            except ReauthorizationRequired:
                raise
            except BusinessError as exc:
                rejected[p.outer_purchase_id] = Rejected(exc.code, f"render: {exc.message}")
                return
            except ShanjingError as exc:
                log.warning("render %s: %s (priced by product/get)", p.outer_purchase_id, exc)
                priced[p.outer_purchase_id] = plan
                return
        if result.unavailable:
            u = result.unavailable[0]
            rejected[p.outer_purchase_id] = Rejected(
                u.error_code or "SKU_UNAVAILABLE",
                f"render: {len(result.unavailable)} SKU(s) unavailable, e.g. "
                f"{u.mp_id}/{u.mp_sku_id}: {u.reason or u.error_msg or ''}".rstrip(),
            )
            return
        unit: dict[tuple[str, str], int] = {}
        for group in result.groups:
            for info in group.items:
                money = info.discount_price or info.origin_price
                if money is not None and money.amount is not None:
                    unit[(str(info.mp_id), str(info.mp_sku_id))] = money.amount
        by_line: dict[str, int] = {}
        for q in plan.lines:
            new = unit.get((q.mp_id, q.mp_sku_id))
            if new is None:
                continue
            by_line[q.line.order_line_no] = new
            if new != q.unit_price_fen:
                changes.append(
                    PriceChange(p.outer_purchase_id, q.line.order_line_no, q.unit_price_fen, new)
                )
        priced[p.outer_purchase_id] = with_render_prices(plan, by_line, result.total_amount)

    await asyncio.gather(*(price(plan) for plan in resolution.plans))
    out = Resolution(
        plans=[
            priced[pl.outer_purchase_id]
            for pl in resolution.plans
            if pl.outer_purchase_id in priced
        ],
        rejected={**resolution.rejected, **rejected},
        unresolved=list(resolution.unresolved),
        items=resolution.items,
    )
    if rejected and not settings.dry_run:
        await asyncio.to_thread(
            ledger.mark_failed, run_id, [(oid, r.code, r.message) for oid, r in rejected.items()]
        )
    if report is not None:
        report.render_calls += calls
        report.unavailable += sum(1 for r in rejected.values() if "UNAVAILABLE" in r.code)
        report.price_changes.extend(changes)
        for oid, rej in rejected.items():
            report.failed[rej.code] += 1
            report.verdicts[oid] = Verdict("failed", rej.code, rej.message)
    emit(
        on_progress,
        ProgressEvent(
            "pre_price",
            calls,
            len(resolution.plans),
            failed=len(rejected),
            message=f"{len(changes)} price change(s)",
        ),
    )
    return out

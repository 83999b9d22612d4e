"""The results table: one row per marketplace order line, with its purchase's remote side.

A purchase line may merge several marketplace order lines (Lazada exports one row per unit).
Given the ingest's `order_lines` table, each row carries its own line's supplier quantity
(line quantity x the SKU map's multiplier) and revenue (what the buyer paid for it), and the
supplier's estimate is split in proportion to the quantities. Without it (records read back
from the ledger), the purchase line's totals are spread evenly. Either way every column sums
exactly per purchase line (the first rows take the remainder).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ledger import Ledger, LineResult, PurchaseRecord
from purchase_sync.results import RESULT_COLUMNS
from schemas.records import PlannedLine, PlannedPurchase

from .plan import OK, item_key, match_sku
from .report import SubmitReport

CENT = Decimal("0.01")
# The contract columns of results.parquet, then what makes the margin visible.
COLUMNS = (*RESULT_COLUMNS, "revenue", "revenue_currency")
STRING_COLUMNS = tuple(
    c for c in COLUMNS if c not in ("quantity", "estimate_amount", "revenue", "updated_at")
)


def _spread_int(total: int | None, n: int) -> list[int | None]:
    if total is None:
        return [None] * n
    q, r = divmod(total, n)
    return [q + (1 if i < r else 0) for i in range(n)]


def _split_int(total: int | None, weights: list[int]) -> list[int | None]:
    """`total` in proportion to `weights` (whole units, remainder on the first rows)."""
    if total is None or not sum(weights):
        return _spread_int(total, len(weights))
    parts = [total * w // sum(weights) for w in weights]
    rest = _spread_int(total - sum(parts), len(weights))
    return [p + (r or 0) for p, r in zip(parts, rest, strict=True)]


# (outer_purchase_id, order_line_id) -> (supplier quantity, revenue) of one bought order line
LineTruth = dict[tuple[str, str], tuple[int, Decimal]]


def line_truth(order_lines: pa.Table) -> LineTruth:
    """Each bought line's own quantity (x multiplier) and revenue, from `Ingested.order_lines`."""
    bought = order_lines.filter(pc.is_valid(order_lines["outer_purchase_id"]))
    quantity = pc.multiply(bought["quantity"], bought["qty_multiplier"])
    return {
        (pid, lid): (q, paid)
        for pid, lid, q, paid in zip(
            bought["outer_purchase_id"].to_pylist(),
            bought["order_line_id"].to_pylist(),
            quantity.to_pylist(),
            bought["paid_price"].to_pylist(),
            strict=True,
        )
    }


def _spread_money(total: Decimal | None, n: int) -> list[Decimal | None]:
    """Split to the cent, remainder on the first rows, so the parts sum to the total."""
    if total is None:
        return [None] * n
    cents = int((total * 100).to_integral_value())
    return [None if c is None else (Decimal(c) / 100).quantize(CENT) for c in _spread_int(cents, n)]


def results_frame(
    ledger: Ledger,
    purchases: list[PlannedPurchase],
    run_id: str,
    *,
    report: SubmitReport | None = None,
    order_lines: pa.Table | None = None,
) -> pd.DataFrame:
    """Results of `purchases` as the ledger knows them now (interface.md columns, ids as strings,
    plus `revenue`/`revenue_currency` so the margin is visible).

    `estimate_amount` is in `estimate_currency` units (CNY, Decimal); `status` is the ledger
    state, or for a dry run (pass its `report`) the verdict: would_create, failed, held, ...
    `order_lines` (`Ingested.order_lines`) gives each row its own line's quantity and revenue.
    """
    truth = line_truth(order_lines) if order_lines is not None else {}
    ids = [p.outer_purchase_id for p in purchases]
    records = ledger.results_rows(ids)
    keys = {item_key(ln) for p in purchases for ln in p.lines}
    cache = ledger.cache_get(keys, float("inf"))
    dry = report is not None and report.dry_run
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for p in purchases:
        rec = records.get(p.outer_purchase_id)
        verdict = report.verdicts.get(p.outer_purchase_id) if report is not None else None
        if dry or rec is None:
            status = verdict.status if verdict else ("would_create" if dry else "not_registered")
            if rec is not None and dry and verdict is None:
                status = rec.state.value
            code = verdict.error_code if verdict else None
            message = verdict.error_message if verdict else None
            updated = now
        else:
            status, code, message = rec.state.value, rec.error_code, rec.error_message
            updated = datetime.fromtimestamp(rec.updated_at, UTC)
        for ln in p.lines:
            rows.extend(
                _line_rows(p, ln, rec, cache, status, code, message, run_id, updated, truth)
            )
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in STRING_COLUMNS:
        df[col] = df[col].astype("string")
    df["quantity"] = df["quantity"].astype("Int64")
    df["updated_at"] = pd.to_datetime(df["updated_at"], utc=True)
    return df


def _line_rows(
    p: PlannedPurchase,
    ln: PlannedLine,
    rec: PurchaseRecord | None,
    cache: dict[tuple[str, str], Any],
    status: str,
    code: str | None,
    message: str | None,
    run_id: str,
    updated: datetime,
    truth: LineTruth,
) -> list[dict[str, Any]]:
    remote: LineResult | None = rec.lines.get(ln.order_line_no) if rec else None
    mp_id = remote.mp_id if remote else None
    mp_sku_id = remote.mp_sku_id if remote else None
    supplier = remote.supplier if remote else None
    if mp_id is None:
        entry = cache.get(item_key(ln))
        if entry is not None and entry.status == OK:
            mp_id = entry.mp_id
            sku = match_sku(ln, entry.data.get("skus", []))
            mp_sku_id = str(sku["mp_sku_id"]) if sku and sku.get("mp_sku_id") else None
            supplier = supplier or entry.data.get("supplier")
    purchase_id = remote.purchase_id if remote else None
    if purchase_id is None and rec is not None and rec.purchase_ids:
        purchase_id = ",".join(rec.purchase_ids)
    estimate_fen = remote.estimate_amount if remote else None
    order_lines = ln.order_line_ids or ("",)
    n = len(order_lines)
    own = [truth.get((p.outer_purchase_id, i)) for i in order_lines]
    if all(own):  # each row's own line, from the ingest's order lines
        quantities: list[int | None] = [q for q, _ in own]  # type: ignore[misc]
        revenues: list[Decimal | None] = [paid for _, paid in own]  # type: ignore[misc]
        estimates = _split_int(estimate_fen, quantities)  # type: ignore[arg-type]
    else:
        quantities = _spread_int(ln.quantity, n)
        revenues = _spread_money(ln.revenue, n)
        estimates = _spread_int(estimate_fen, n)
    out = []
    for i, order_line_id in enumerate(order_lines):
        est = estimates[i]
        out.append(
            {
                "outer_purchase_id": p.outer_purchase_id,
                "marketplace": p.marketplace,
                "country": p.country,
                "order_number": p.order_number,
                "order_line_id": order_line_id or None,
                "seller_sku": ln.seller_sku,
                "quantity": quantities[i],
                "source_item_id": ln.source_item_id,
                "source_sku_id": ln.source_sku_id or None,
                "mp_id": mp_id,
                "mp_sku_id": mp_sku_id,
                "status": status,
                "purchase_id": purchase_id,
                "sub_purchase_order_id": remote.sub_purchase_order_id if remote else None,
                "supplier": supplier,
                "estimate_amount": None if est is None else (Decimal(est) / 100).quantize(CENT),
                "estimate_currency": (remote.estimate_currency or "CNY")
                if remote and est is not None
                else None,
                "payment_url": rec.payment_url if rec else None,
                "error_code": code,
                "error_message": message,
                "run_id": run_id,
                "updated_at": updated,
                "revenue": revenues[i],
                "revenue_currency": p.currency,
            }
        )
    return out

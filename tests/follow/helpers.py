"""Build what a later export's ingest hands the cancel step: `order_lines` rows."""

from __future__ import annotations

import pyarrow as pa

from schemas.records import PlannedPurchase


def export_lines(
    purchases: list[PlannedPurchase], statuses: dict[str, str] | None = None
) -> pa.Table:
    """One `order_lines` row per marketplace line of the purchases, status `ready_to_ship`
    unless `statuses` (order_line_id -> status) says otherwise."""
    statuses = statuses or {}
    rows = []
    for p in purchases:
        for ln in p.lines:
            for olid in ln.order_line_ids:
                rows.append(
                    {
                        "marketplace": p.marketplace,
                        "country": p.country,
                        "order_number": p.order_number,
                        "order_line_id": olid,
                        "status": statuses.get(olid, "ready_to_ship"),
                        "disposition": "skipped_status" if olid in statuses else "purchasable",
                    }
                )
    return pa.Table.from_pylist(rows)


def cancel_all(purchases: list[PlannedPurchase]) -> dict[str, str]:
    return {olid: "canceled" for p in purchases for ln in p.lines for olid in ln.order_line_ids}

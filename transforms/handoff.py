"""Purchases as `PlannedPurchase` records, for the code that still sends them one by one.

The ingest hands tables on (`Ingested.purchases`, `.purchase_lines`); the ledger and the submit
stage take one object per purchase until they read the tables themselves. This builds them the
plain way, one Python object per purchase and line: fine for a night's orders, slow for a
million, which is why nothing on the ingest's own path calls it. Each record carries the
payload hash the ingest computed for it, so no one recomputes it one purchase at a time.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.records import PlannedLine, PlannedPurchase, Receiver


def to_planned_purchases(purchases: pa.Table, purchase_lines: pa.Table) -> list[PlannedPurchase]:
    """One record per purchase row (lines in `order_line_no` order; null text as "")."""
    lines_by_purchase: dict[str, list[PlannedLine]] = {}
    for row in purchase_lines.to_pylist():
        lines_by_purchase.setdefault(row["outer_purchase_id"], []).append(
            PlannedLine(
                order_line_no=row["order_line_no"],
                source_platform=row["source_platform"],
                source_item_id=row["source_item_id"],
                source_sku_id=row["source_sku_id"] or "",
                source_spec_id=row["source_spec_id"] or "",
                quantity=int(row["quantity"]),
                seller_sku=row["seller_sku"],
                title=row["title"] or "",
                order_line_ids=tuple(row["order_line_ids"]),
                revenue=row["revenue"],
            )
        )
    planned = []
    for row in purchases.to_pylist():
        lines = sorted(
            lines_by_purchase.get(row["outer_purchase_id"], ()),
            key=lambda ln: int(ln.order_line_no),
        )
        planned.append(
            PlannedPurchase(
                outer_purchase_id=row["outer_purchase_id"],
                marketplace=row["marketplace"],
                country=row["country"],
                order_number=row["order_number"],
                ordered_at=row["ordered_at"],
                currency=row["currency"],
                receiver=Receiver(**{f: row[f"receiver_{f}"] or "" for f in _RECEIVER}),
                lines=tuple(lines),
                revenue=row["revenue"],
            ).known_payload_hash(row["payload_hash"])
        )
    return planned


_RECEIVER = ("name", "phone", "country", "state", "city", "district", "address", "zip")

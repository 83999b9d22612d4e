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
    """One record per purchase row (lines in `order_line_no` order; null text as "").

    Column by column (`to_pylist` of each), not row dicts: a million rows in seconds."""
    lines_by_purchase: dict[str, list[PlannedLine]] = {}
    for pid, no, platform, item, sku, spec, quantity, seller_sku, title, ids, revenue in zip(
        *(purchase_lines[c].to_pylist() for c in _LINE_COLUMNS), strict=True
    ):
        lines_by_purchase.setdefault(pid, []).append(
            PlannedLine(
                order_line_no=no,
                source_platform=platform,
                source_item_id=item,
                source_sku_id=sku or "",
                source_spec_id=spec or "",
                quantity=int(quantity),
                seller_sku=seller_sku,
                title=title or "",
                order_line_ids=tuple(ids),
                revenue=revenue,
            )
        )
    planned = []
    receivers = zip(*(purchases[f"receiver_{f}"].to_pylist() for f in _RECEIVER), strict=True)
    for row, receiver in zip(
        zip(*(purchases[c].to_pylist() for c in _PURCHASE_COLUMNS), strict=True),
        receivers,
        strict=True,
    ):
        pid, marketplace, country, order_number, ordered_at, currency, revenue, digest = row
        lines = sorted(lines_by_purchase.get(pid, ()), key=lambda ln: int(ln.order_line_no))
        planned.append(
            PlannedPurchase(
                outer_purchase_id=pid,
                marketplace=marketplace,
                country=country,
                order_number=order_number,
                ordered_at=ordered_at,
                currency=currency,
                receiver=Receiver(*(value or "" for value in receiver)),
                lines=tuple(lines),
                revenue=revenue,
            ).known_payload_hash(digest)
        )
    return planned


_LINE_COLUMNS = ("outer_purchase_id", "order_line_no", "source_platform", "source_item_id",
                 "source_sku_id", "source_spec_id", "quantity", "seller_sku", "title",
                 "order_line_ids", "revenue")  # fmt: skip
_PURCHASE_COLUMNS = ("outer_purchase_id", "marketplace", "country", "order_number", "ordered_at",
                     "currency", "revenue", "payload_hash")  # fmt: skip
_RECEIVER = ("name", "phone", "country", "state", "city", "district", "address", "zip")

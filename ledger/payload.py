"""PlannedPurchase <-> JSON, so the ledger alone can resend a purchase without the input files.

Ids stay strings, money stays a Decimal string, times are ISO 8601 with their offset: the
round trip is exact (`from_json(to_json(p)) == p`), which is what lets the stored payload hash
be checked against the one a later run computes.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.records import PlannedLine, PlannedPurchase, Receiver


def to_dict(p: PlannedPurchase) -> dict[str, Any]:
    """A JSON-ready dict: every value a string, int, list or dict (never a float)."""
    return {
        "outer_purchase_id": p.outer_purchase_id,
        "marketplace": p.marketplace,
        "country": p.country,
        "order_number": p.order_number,
        "ordered_at": p.ordered_at.isoformat(),
        "currency": p.currency,
        "revenue": str(p.revenue),
        "receiver": {
            "name": p.receiver.name,
            "phone": p.receiver.phone,
            "country": p.receiver.country,
            "state": p.receiver.state,
            "city": p.receiver.city,
            "district": p.receiver.district,
            "address": p.receiver.address,
            "zip": p.receiver.zip,
        },
        "lines": [
            {
                "order_line_no": ln.order_line_no,
                "source_platform": ln.source_platform,
                "source_item_id": ln.source_item_id,
                "source_sku_id": ln.source_sku_id,
                "source_spec_id": ln.source_spec_id,
                "quantity": ln.quantity,
                "seller_sku": ln.seller_sku,
                "title": ln.title,
                "order_line_ids": list(ln.order_line_ids),
                "revenue": str(ln.revenue),
            }
            for ln in p.lines
        ],
    }


def from_dict(d: dict[str, Any]) -> PlannedPurchase:
    """The inverse of `to_dict`."""
    return PlannedPurchase(
        outer_purchase_id=d["outer_purchase_id"],
        marketplace=d["marketplace"],
        country=d["country"],
        order_number=d["order_number"],
        ordered_at=datetime.fromisoformat(d["ordered_at"]),
        currency=d["currency"],
        revenue=Decimal(d["revenue"]),
        receiver=Receiver(**d["receiver"]),
        lines=tuple(
            PlannedLine(
                order_line_no=ln["order_line_no"],
                source_platform=ln["source_platform"],
                source_item_id=ln["source_item_id"],
                source_sku_id=ln["source_sku_id"],
                source_spec_id=ln["source_spec_id"],
                quantity=int(ln["quantity"]),
                seller_sku=ln["seller_sku"],
                title=ln["title"],
                order_line_ids=tuple(ln["order_line_ids"]),
                revenue=Decimal(ln["revenue"]),
            )
            for ln in d["lines"]
        ),
    )


def to_json(p: PlannedPurchase) -> str:
    return json.dumps(to_dict(p), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str) -> PlannedPurchase:
    return from_dict(json.loads(text))

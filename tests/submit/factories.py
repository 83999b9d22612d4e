"""Build PlannedPurchase objects directly, with catalog ids the sandbox knows (docs in sandbox/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from schemas.records import PlannedLine, PlannedPurchase, Receiver, outer_purchase_id

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def taobao_item(i: int) -> tuple[str, str]:
    """Generated taobao item i (in the pool unless i % 50 == 49) and its first SKU."""
    return str(800000000000 + i), str(9000000000000 + i * 10)


def line(
    no: int = 1,
    item: str = "718293045561",
    sku: str = "5219384756012",
    *,
    platform: str = "taobao",
    spec: str = "",
    quantity: int = 1,
    revenue: str = "50.00",
    order_line_ids: tuple[str, ...] | None = None,
) -> PlannedLine:
    return PlannedLine(
        order_line_no=str(no),
        source_platform=platform,
        source_item_id=item,
        source_sku_id=sku,
        source_spec_id=spec,
        quantity=quantity,
        seller_sku=f"SKU-{item}-{sku or spec}",
        title=f"item {item}",
        order_line_ids=order_line_ids or (f"OL{item}{no}",),
        revenue=Decimal(revenue),
    )


def purchase(
    order_number: str,
    lines: tuple[PlannedLine, ...] | None = None,
    *,
    currency: str = "MYR",
    revenue: str | None = None,
    minutes: int = 0,
) -> PlannedPurchase:
    lines = lines or (line(),)
    total = sum((ln.revenue for ln in lines), Decimal("0"))
    return PlannedPurchase(
        outer_purchase_id=outer_purchase_id("lazada", "MY", order_number),
        marketplace="lazada",
        country="MY",
        order_number=order_number,
        ordered_at=BASE_TIME + timedelta(minutes=minutes),
        currency=currency,
        receiver=Receiver(
            name="Siti Test",
            phone="60123456789",
            country="Malaysia",
            state="Selangor",
            city="Shah Alam",
            address="1 Jalan Test",
            zip="40000",
        ),
        lines=tuple(lines),
        revenue=Decimal(revenue) if revenue is not None else total,
    )


def many(n: int, *, start: int = 0, revenue: str = "500.00") -> list[PlannedPurchase]:
    """n one-line purchases over generated taobao items (skipping the not-in-pool ones)."""
    out = []
    i = start
    while len(out) < n:
        if i % 50 != 49:
            item, sku = taobao_item(i % 10000)
            out.append(
                purchase(
                    f"9{i:011d}",
                    (line(1, item, sku, revenue=revenue),),
                    minutes=i,
                )
            )
        i += 1
    return out

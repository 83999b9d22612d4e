"""Helpers for the ingest tests: tiny literal order-line and SKU-map tables with real types."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from schemas.contracts import OrderLines, Rejects, SkuMap
from schemas.marketplaces import COUNTRIES
from schemas.types import arrow_schema
from transforms.pipeline import decide_and_group
from transforms.statuses import purchasable_statuses
from transforms.window import as_window

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
ORDER_LINES = arrow_schema(OrderLines)
SKU_MAP = arrow_schema(SkuMap)
REJECTS = arrow_schema(Rejects)


def line(
    order_line_id: str,
    order_number: str = "100000000000001",
    seller_sku: str = "SKU-A",
    *,
    marketplace: str = "lazada",
    country: str = "MY",
    status: str = "pending",
    paid: str = "10.00",
    quantity: int = 1,
    local: str = "2026-11-25 10:00",
    updated: str | None = None,
    **extra: object,
) -> dict:
    """One canonical order line; `local` is the shop's wall clock, UTC is derived from it."""
    created = dt.datetime.fromisoformat(local)
    offset = dt.timedelta(hours=COUNTRIES[country].utc_offset)
    values = {
        "marketplace": marketplace,
        "country": country,
        "order_number": order_number,
        "order_line_id": order_line_id,
        "seller_sku": seller_sku,
        "platform_sku_id": None,
        "quantity": quantity,
        "unit_price": Decimal(paid),
        "paid_price": Decimal(paid),
        "currency": COUNTRIES[country].currency,
        "ordered_at": (created - offset).replace(tzinfo=dt.UTC),
        "ordered_at_local": created,
        "updated_at": (dt.datetime.fromisoformat(updated) - offset).replace(tzinfo=dt.UTC)
        if updated
        else None,
        "status": status,
        "item_name": f"Item {seller_sku}",
        "variation": None,
        "receiver_name": "Nur Aisyah",
        "receiver_phone": "60123456780",
        "receiver_country": COUNTRIES[country].name,
        "receiver_state": "Selangor",
        "receiver_city": "Shah Alam",
        "receiver_district": "Seksyen 7",
        "receiver_address": "No. 12, Jalan Mawar",
        "receiver_zip": "40000",
        "source_file": "export.csv",
    }
    values.update(extra)
    return values


def lines_table(rows: list[dict], *, keep_rows: bool = False) -> pa.Table:
    """Order lines as `read_file` makes them; rows numbered 2, 3, ... by position unless
    `keep_rows` (then each row carries its own `source_row`)."""
    if not keep_rows:
        rows = [dict(r, source_row=2 + i) for i, r in enumerate(rows)]
    return pa.Table.from_pylist(rows, schema=ORDER_LINES)


def map_row(
    seller_sku: str,
    item: str = "718293045561",
    sku: str | None = "5219384756012",
    *,
    marketplace: str = "lazada",
    country: str = "MY",
    platform: str = "taobao",
    spec: str | None = None,
    multiplier: int = 1,
    status: str = "approved",
    platform_sku_id: str | None = None,
) -> dict:
    return {
        "marketplace": marketplace,
        "country": country,
        "seller_sku": seller_sku,
        "platform_item_id": None,
        "platform_sku_id": platform_sku_id,
        "source_platform": platform,
        "source_item_id": item,
        "source_sku_id": sku,
        "source_spec_id": spec,
        "source_sku_props": None,
        "qty_multiplier": multiplier,
        "supplier_shop": None,
        "status": status,
        "source_url": None,
    }


def sku_map_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SKU_MAP)


def reject(order_number: str | None, *, marketplace: str = "lazada", country: str | None = "MY",
           row: int = 99) -> dict:  # fmt: skip
    """A row rejected while reading (it holds its order)."""
    return {"source_file": "export.csv", "source_row": row, "order_line_id": None,
            "order_number": order_number, "reason_code": "BAD_PRICE", "reason": "x",
            "column": "paidPrice", "value": None, "marketplace": marketplace, "country": country}  # fmt: skip


class Plan:
    """What `decide_and_group` made of some literal lines, with lookups for the tests."""

    def __init__(self, rows, sku_map, *, since=None, until=None, statuses=None, read_rejects=()):
        read = pa.Table.from_pylist(list(read_rejects), schema=REJECTS)
        self.order_lines, self.purchases, self.purchase_lines, self.rejects = decide_and_group(
            lines_table(rows) if isinstance(rows, list) else rows,
            read,
            sku_map,
            window=as_window(since, until),
            statuses=purchasable_statuses(statuses),
        )
        self.rule_rejects = self.rejects.slice(read.num_rows)

    def dispositions(self) -> dict[str, str]:
        return dict(
            zip(
                self.order_lines["order_line_id"].to_pylist(),
                self.order_lines["disposition"].to_pylist(),
                strict=True,
            )
        )

    def reasons(self) -> dict[str, str]:
        return dict(
            zip(
                self.rule_rejects["order_line_id"].to_pylist(),
                self.rule_rejects["reason_code"].to_pylist(),
                strict=True,
            )
        )


@pytest.fixture
def data_dir() -> Path:
    return DATA

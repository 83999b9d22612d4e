"""Helpers for the ingest tests: tiny literal order-line frames and SKU maps with real dtypes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from schemas.ingest import COUNTRIES
from transforms.frames import to_frame

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"

ORDER_LINE_SCHEMA = pa.schema(
    [
        ("marketplace", pa.string()),
        ("country", pa.string()),
        ("order_number", pa.string()),
        ("order_line_id", pa.string()),
        ("seller_sku", pa.string()),
        ("platform_sku_id", pa.string()),
        ("quantity", pa.int64()),
        ("unit_price", pa.decimal128(18, 2)),
        ("paid_price", pa.decimal128(18, 2)),
        ("currency", pa.string()),
        ("ordered_at", pa.timestamp("us", tz="UTC")),
        ("ordered_at_local", pa.timestamp("us")),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("item_name", pa.string()),
        ("variation", pa.string()),
        ("receiver_name", pa.string()),
        ("receiver_phone", pa.string()),
        ("receiver_country", pa.string()),
        ("receiver_state", pa.string()),
        ("receiver_city", pa.string()),
        ("receiver_district", pa.string()),
        ("receiver_address", pa.string()),
        ("receiver_zip", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)
SKU_MAP_SCHEMA = pa.schema(
    [
        ("marketplace", pa.string()),
        ("country", pa.string()),
        ("seller_sku", pa.string()),
        ("platform_item_id", pa.string()),
        ("platform_sku_id", pa.string()),
        ("source_platform", pa.string()),
        ("source_item_id", pa.string()),
        ("source_sku_id", pa.string()),
        ("source_spec_id", pa.string()),
        ("source_sku_props", pa.string()),
        ("qty_multiplier", pa.int64()),
        ("supplier_shop", pa.string()),
        ("status", pa.string()),
        ("source_url", pa.string()),
    ]
)


def line(
    order_line_id: str,
    order_number: str = "100000000000001",
    seller_sku: str = "SKU-A",
    *,
    country: str = "MY",
    status: str = "pending",
    paid: str = "10.00",
    local: str = "2026-11-25 10:00",
    updated: str | None = None,
    **extra: object,
) -> dict:
    """One canonical order line; `local` is the shop's wall clock, UTC is derived from it."""
    created = dt.datetime.fromisoformat(local)
    offset = dt.timedelta(hours=COUNTRIES[country][1])
    values = {
        "marketplace": "lazada",
        "country": country,
        "order_number": order_number,
        "order_line_id": order_line_id,
        "seller_sku": seller_sku,
        "platform_sku_id": None,
        "quantity": 1,
        "unit_price": Decimal(paid),
        "paid_price": Decimal(paid),
        "currency": COUNTRIES[country][0],
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
        "receiver_country": COUNTRIES[country][2],
        "receiver_state": "Selangor",
        "receiver_city": "Shah Alam",
        "receiver_district": "Seksyen 7",
        "receiver_address": "No. 12, Jalan Mawar",
        "receiver_zip": "40000",
        "source_file": "export.csv",
    }
    values.update(extra)
    return values


def lines_frame(rows: list[dict], *, keep_rows: bool = False) -> pd.DataFrame:
    """Order lines with the dtypes `read_exports` produces; rows numbered 2, 3, ... by position
    unless `keep_rows` (then each row carries its own `source_row`)."""
    if not keep_rows:
        rows = [dict(r, source_row=2 + i) for i, r in enumerate(rows)]
    return to_frame(pa.Table.from_pylist(rows, schema=ORDER_LINE_SCHEMA))


def map_row(
    seller_sku: str,
    item: str = "718293045561",
    sku: str | None = "5219384756012",
    *,
    country: str = "MY",
    platform: str = "taobao",
    spec: str | None = None,
    multiplier: int = 1,
    status: str = "approved",
    platform_sku_id: str | None = None,
) -> dict:
    return {
        "marketplace": "lazada",
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


def sku_map_frame(rows: list[dict]) -> pd.DataFrame:
    return to_frame(pa.Table.from_pylist(rows, schema=SKU_MAP_SCHEMA))


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (None for nulls, Decimal, datetime) via Arrow."""
    return pa.Table.from_pandas(frame, preserve_index=False).to_pylist()


@pytest.fixture
def data_dir() -> Path:
    return DATA

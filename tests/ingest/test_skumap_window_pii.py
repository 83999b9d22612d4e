"""The SKU map loader, the window parser and PII masking."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.contracts import SkuMap
from schemas.errors import UserError
from schemas.types import check
from tests.ingest.conftest import DATA
from transforms import load_sku_map, mask_pii, parse_window

# --- SKU map -------------------------------------------------------------------------------------


def test_sku_map_loads_as_text_with_integer_multiplier():
    sku_map = load_sku_map(DATA / "sku_map.csv")
    check(SkuMap, sku_map)
    assert sku_map.num_rows == 37
    assert set(sku_map["marketplace"].to_pylist()) == {"lazada", "shopee", "tiktok"}
    row = next(r for r in sku_map.to_pylist() if r["seller_sku"] == "CAP-BSB-2PK")
    assert row["qty_multiplier"] == 2
    assert row["source_item_id"] == "612345678901"
    assert row["source_spec_id"] == "2ba3d63866a71fbae83909d9b4814f01"
    assert sku_map.schema.field("source_sku_id").type == pa.string()


def test_sku_map_from_parquet_and_xlsx_alike(tmp_path):
    frame = pd.read_csv(DATA / "sku_map.csv", dtype=str, keep_default_na=False)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "m.parquet")
    assert load_sku_map(tmp_path / "m.parquet").num_rows == 37


def test_sku_map_ids_that_went_through_a_spreadsheet_float_are_repaired(tmp_path):
    text = (DATA / "sku_map.csv").read_text()
    mangled = text.replace("612345678901,", "612345678901.0,", 1)
    assert mangled != text
    (tmp_path / "m.csv").write_text(mangled)
    ids = load_sku_map(tmp_path / "m.csv")["source_item_id"].to_pylist()
    assert "612345678901" in ids and not any("." in i for i in ids)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("sku_map_conflict.csv", "BAG-TOTE-BLK.*conflicting rows"),
        ("sku_map_bad_multiplier.csv", "qty_multiplier '1.5'"),
        ("sku_map_missing_column.csv", "missing column.*source_item_id"),
        ("nope.csv", "does not exist"),
    ],
)
def test_bad_sku_map_is_a_user_error_naming_the_problem(name, message):
    with pytest.raises(UserError, match=message):
        load_sku_map(DATA / name)


def test_sku_map_contract_failures_name_the_row(tmp_path):
    text = (DATA / "sku_map.csv").read_text(encoding="utf-8").replace("718293045561", "7.18E+11", 1)
    (tmp_path / "m.csv").write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=r"row 2 source_item_id: '7\.18E\+11'"):
        load_sku_map(tmp_path / "m.csv")


def test_no_sku_map_is_a_user_error():
    with pytest.raises(UserError, match="--sku-map"):
        load_sku_map(None)


# --- window --------------------------------------------------------------------------------------


def test_window_bounds_parse_dates_and_datetimes():
    w = parse_window("2026-11-25", "2026-11-26T06:30")
    assert w.since == dt.datetime(2026, 11, 25) and w.until == dt.datetime(2026, 11, 26, 6, 30)
    aware = parse_window("2026-11-25T00:00+08:00", None)
    assert aware.since.utcoffset() == dt.timedelta(hours=8) and aware.until is None
    assert parse_window(None, None).since is None


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("25/11/2026", None, "--since '25/11/2026' is not a date"),
        (None, "tomorrow", "--until 'tomorrow'"),
        ("2026-11-26", "2026-11-25", "empty window"),
        ("2026-11-26", "2026-11-26", "empty window"),
    ],
)
def test_bad_window_is_a_user_error(since, until, message):
    with pytest.raises(UserError, match=message):
        parse_window(since, until)


# --- PII -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "masked"),
    [
        ("Nur Aisyah Kamal", "name", "N***l"),
        ("60123456780", "phone", "60*******80"),
        ("+60 12-345 6780", "phone", "60*******80"),
        ("123", "phone", "***"),
        ("No. 12, Jalan Mawar", "address", "No.***"),
        ("ali@example.my", "email", "a***@example.my"),
        ("40000", "postcode", "40***"),
        ("secret", "text", "s***"),
        (None, "name", ""),
        ("  ", "name", ""),
    ],
)
def test_mask_pii(value, kind, masked):
    assert mask_pii(value, kind) == masked

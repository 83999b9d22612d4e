"""TikTok Shop exports: every quirk of the format (marketplace-exports.md, section 3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from schemas.exports import TIKTOK_DESCRIPTIONS, TIKTOK_ID, TIKTOK_MY, TIKTOK_TH, TIKTOK_VN
from synthetic import files
from tests.ingest.conftest import DATA
from transforms.formats import match_header
from transforms.readers import read_file
from transforms.tiktok import FORMAT

HEADER = ("Order ID", "Order Status", "Order Substatus", "SKU ID", "Seller SKU", "Product Name",
          "Quantity", "SKU Unit Original Price", "SKU Subtotal After Discount", "Created Time",
          "Paid Time", "Recipient", "Phone #", "Zipcode", "Country", "Province", "District",
          "Districts", "Detail Address")  # fmt: skip
GOOD = {"Order ID": "579123456789012345", "Order Status": "To ship",
        "Order Substatus": "Awaiting shipment", "SKU ID": "1729384756102938475",
        "Seller SKU": "TS-RED-M", "Product Name": "เสื้อยืดคอกลม", "Quantity": "2",
        "SKU Unit Original Price": "259", "SKU Subtotal After Discount": "458",
        "Created Time": "14/03/2026 09:12:33\t", "Paid Time": "14/03/2026 09:13:02\t",
        "Recipient": "สมชาย ใจดี", "Phone #": "(+66)812345678", "Zipcode": "10270",
        "Country": "Thailand", "Province": "สมุทรปราการ", "District": "เมืองสมุทรปราการ",
        "Districts": "สำโรงเหนือ", "Detail Address": "99/12 ซอยสุขุมวิท 101"}  # fmt: skip
DESCRIPTION = {name: TIKTOK_DESCRIPTIONS.get(name, "") for name in HEADER}


def tiktok(tmp_path: Path, *rows: dict, header=HEADER, described=True):
    table = pa.table({h: pa.array([r.get(h) for r in rows], pa.string()) for h in header})
    path = tmp_path / "tiktok.csv"
    after = [DESCRIPTION.get(h, "") for h in header] if described else None
    files.write_csv(table, path, after=after)
    report, lines, rejects = read_file(path)
    return report, (lines.to_pylist() if lines is not None else []), rejects.to_pylist()


@pytest.mark.parametrize(
    ("name", "first_row", "country", "district"),
    [("tiktok_th.csv", 3, "TH", "สำโรงเหนือ"), ("tiktok_my.xlsx", 3, "MY", None),
     ("tiktok_vn.csv", 2, "VN", "Phường Phố Huế")],
)  # fmt: skip
def test_each_address_layout_with_or_without_the_description_row(
    name, first_row, country, district
):
    report, lines, rejects = read_file(DATA / name)
    assert (report.marketplace, report.rows, report.error, rejects.num_rows) == (
        "tiktok", 5, None, 0)  # fmt: skip
    got = lines.to_pylist()
    assert got[0]["source_row"] == first_row
    assert {r["country"] for r in got} == {country}
    assert [r["quantity"] for r in got] == [2, 1, 3, 1, 1]
    assert got[0]["receiver_city"] and got[0]["receiver_state"]
    assert got[0]["receiver_district"] == district  # MY: State and Post Town only


def test_every_layout_is_recognised():
    for header in (TIKTOK_TH, TIKTOK_MY, TIKTOK_VN, TIKTOK_ID):
        assert match_header(FORMAT, header).usable
    assert len(TIKTOK_TH) == 63


def test_the_description_row_is_skipped_when_there_is_one(tmp_path):
    report, lines, rejects = tiktok(tmp_path, GOOD, described=True)
    assert (report.rows, rejects, [r["source_row"] for r in lines]) == (1, [], [3])
    report, lines, rejects = tiktok(tmp_path, GOOD, described=False)
    assert (report.rows, rejects, [r["source_row"] for r in lines]) == (1, [], [2])


def test_a_broken_first_row_is_not_taken_for_a_description(tmp_path):
    _, lines, rejects = tiktok(tmp_path, dict(GOOD, **{"Order ID": "5.79123E+17"}), GOOD,
                               described=False)  # fmt: skip
    assert [(r["source_row"], r["reason_code"]) for r in rejects] == [(2, "BAD_ID")]
    assert [r["source_row"] for r in lines] == [3]


def test_times_ending_in_a_tab_are_read(tmp_path):
    _, (got,), _ = tiktok(tmp_path, GOOD)
    assert got["ordered_at_local"] == dt.datetime(2026, 3, 14, 9, 12, 33)
    assert got["ordered_at"] == dt.datetime(2026, 3, 14, 2, 12, 33, tzinfo=dt.UTC)  # TH +7
    assert got["updated_at"] == dt.datetime(2026, 3, 14, 2, 13, 2, tzinfo=dt.UTC)  # paid


def test_quantity_and_the_lines_amount(tmp_path):
    _, (got,), _ = tiktok(tmp_path, GOOD)
    assert (got["quantity"], got["unit_price"], got["paid_price"]) == (
        2, Decimal("259.00"), Decimal("458.00"))  # fmt: skip
    _, lines, rejects = tiktok(tmp_path, dict(GOOD, Quantity="0"))
    assert lines == [] and rejects[0]["reason_code"] == "BAD_QUANTITY"


def test_the_line_is_order_and_sku_id(tmp_path):
    _, (got,), _ = tiktok(tmp_path, GOOD)
    assert got["order_line_id"] == "579123456789012345:1729384756102938475"
    assert (got["seller_sku"], got["platform_sku_id"]) == ("TS-RED-M", "1729384756102938475")


@pytest.mark.parametrize(
    ("status", "substatus", "canonical"),
    [("To ship", "Awaiting shipment", "awaiting_shipment"),
     ("To ship", "Awaiting collection", "awaiting_collection"),
     ("Shipped", "In transit", "in_transit"), ("Completed", "Delivered", "delivered"),
     ("Cancelled", "Cancelled", "cancelled"), ("To ship", None, "to_ship"),
     ("รอจัดส่ง", None, "to_ship")],
)  # fmt: skip
def test_the_substatus_is_the_status_and_order_status_stands_in(
    tmp_path, status, substatus, canonical
):
    row = dict(GOOD, **{"Order Status": status, "Order Substatus": substatus})
    _, (got,), _ = tiktok(tmp_path, row)
    assert got["status"] == canonical


def test_an_unknown_substatus_is_rejected_naming_its_column(tmp_path):
    _, lines, rejects = tiktok(tmp_path, dict(GOOD, **{"Order Substatus": "Awaiting pickup"}))
    assert lines == [] and (rejects[0]["reason_code"], rejects[0]["column"]) == (
        "UNKNOWN_STATUS", "Order Substatus")  # fmt: skip


def test_phones_are_dialable_and_a_masked_one_is_none(tmp_path):
    _, (got,), _ = tiktok(tmp_path, GOOD)
    assert got["receiver_phone"] == "+66812345678"
    _, (got,), _ = tiktok(tmp_path, dict(GOOD, **{"Phone #": "(+66)81*****78"}))
    assert got["receiver_phone"] is None


def test_the_country_column_is_required_and_known(tmp_path):
    _, lines, rejects = tiktok(tmp_path, dict(GOOD, Country="Atlantis"))
    assert lines == [] and rejects[0]["reason_code"] == "UNKNOWN_COUNTRY"
    header = tuple(h for h in HEADER if h != "Country")
    report, _, rejects = tiktok(tmp_path, GOOD, header=header)
    assert report.error.startswith("MISSING_COLUMN") and rejects[0]["column"] == "Country"

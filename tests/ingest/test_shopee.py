"""Shopee exports: every quirk of the format (marketplace-exports.md, section 2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from schemas.exports import SHOPEE_EN, SHOPEE_EN_PH, SHOPEE_TH, SHOPEE_VI, SHOPEE_ZH
from synthetic import files
from tests.ingest.conftest import DATA
from transforms.formats import match_header
from transforms.readers import read_file
from transforms.shopee import FORMAT

# The minimal English header a test file needs, and one good line of MY order O1.
HEADER = ("Order ID", "Order Status", "Order Creation Date", "Order Paid Time",
          "Parent SKU Reference No.", "SKU Reference No.", "Original Price", "Deal Price",
          "Quantity", "Receiver Name", "Phone Number", "Delivery Address", "City", "Province",
          "Country", "Zip Code")  # fmt: skip
GOOD = {"Order ID": "260314AAAA0001", "Order Status": "To ship",
        "Order Creation Date": "2026-03-14 09:12", "Order Paid Time": "2026-03-14 09:13",
        "Parent SKU Reference No.": "BAG-TOTE", "SKU Reference No.": "BAG-TOTE-BLK",
        "Original Price": "59.00", "Deal Price": "45.90", "Quantity": "2",
        "Receiver Name": "Nur Aisyah Kamal", "Phone Number": "60123456780",
        "Delivery Address": "No. 12, Jalan Mawar 3/2, 40000 Shah Alam, Selangor",
        "City": "Shah Alam", "Province": "Selangor", "Country": "MY", "Zip Code": "40000"}  # fmt: skip


def shopee(tmp_path: Path, *rows: dict, header=HEADER, **options):
    """Write rows (English names; missing cells blank) as a Shopee CSV and read it back."""
    table = pa.table({h: pa.array([r.get(h) for r in rows], pa.string()) for h in header})
    path = tmp_path / "shopee.csv"
    files.write_csv(table, path, **options)
    report, lines, rejects = read_file(path)
    return report, (lines.to_pylist() if lines is not None else []), rejects.to_pylist()


@pytest.mark.parametrize(
    ("name", "style", "country"),
    [("shopee_en.xlsx", "en", "MY"), ("shopee_en_ph.csv", "en", "PH"),
     ("shopee_th_cp874.csv", "th", "TH"), ("shopee_vi.xlsx", "vi", "VN"),
     ("shopee_zh.csv", "zh", "MY")],
)  # fmt: skip
def test_every_header_language_gives_the_same_lines(name, style, country):
    report, lines, rejects = read_file(DATA / name)
    assert (report.marketplace, report.header, report.rows, report.error) == (
        "shopee", style, 5, None)  # fmt: skip
    assert rejects.num_rows == 0
    got = lines.to_pylist()
    assert {r["country"] for r in got} == {country}
    assert [r["seller_sku"] for r in got] == ["BAG-TOTE-BLK", "TS-RED-M", "CAP-BSB-2PK",
                                              "TS-RED-M", "BAG-TOTE-BLK"]  # fmt: skip
    assert [r["quantity"] for r in got] == [2, 1, 3, 1, 1]
    assert [r["status"] for r in got] == ["ready_to_ship"] * 3 + ["cancelled", "ready_to_ship"]
    assert got[0]["order_line_id"] == got[0]["order_number"] + ":BAG-TOTE-BLK"
    assert got[0]["ordered_at_local"] == dt.datetime(2026, 3, 14, 9, 12)


def test_all_five_header_lists_are_recognised_with_every_column_they_have():
    for header in (SHOPEE_EN, SHOPEE_EN_PH, SHOPEE_TH, SHOPEE_VI, SHOPEE_ZH):
        match = match_header(FORMAT, header)
        assert match.usable
        assert {"order_number", "status", "created", "seller_sku", "deal_price", "quantity",
                "name", "address", "country"} <= set(match.columns)  # fmt: skip


def test_ph_money_headers_carry_a_currency_suffix():
    match = match_header(FORMAT, SHOPEE_EN_PH)
    assert match.currency == "PHP"
    renamed = ["Deal Price (PHP)" if h == "Deal Price" else h for h in SHOPEE_EN_PH]
    assert match_header(FORMAT, renamed).columns["deal_price"] == "Deal Price (PHP)"


def test_the_currency_suffix_gives_the_country_and_must_agree_with_it(tmp_path):
    header = (*HEADER, "Total Discount(PHP)")
    _, lines, _ = shopee(tmp_path, dict(GOOD, Country=None), header=header)
    assert [(r["country"], r["currency"]) for r in lines] == [("PH", "PHP")]
    _, lines, rejects = shopee(tmp_path, GOOD, header=header)  # Country MY under PHP amounts
    assert lines == [] and [r["reason_code"] for r in rejects] == ["COUNTRY_MISMATCH"]


def test_header_found_below_title_rows(tmp_path):
    title = [["Order Export"], ["Shop: example", "2026-03-14"], []]
    report, lines, _ = shopee(tmp_path, GOOD, dict(GOOD, **{"SKU Reference No.": "X"}),
                              before=title)  # fmt: skip
    assert report.rows == 2
    assert [r["source_row"] for r in lines] == [5, 6]  # header on row 4


def test_header_found_below_title_rows_of_a_workbook(tmp_path):
    table = pa.table({h: pa.array([GOOD.get(h)], pa.string()) for h in HEADER})
    path = tmp_path / "shopee.xlsx"
    files.write_xlsx(table, path, before=[["Order Export"], ["Shop: example"]])
    report, lines, rejects = read_file(path)
    assert (report.format, report.marketplace, report.rows, rejects.num_rows) == (
        "xlsx", "shopee", 1, 0)  # fmt: skip
    assert lines["source_row"].to_pylist() == [4]  # header on row 3
    assert lines["order_line_id"].to_pylist() == ["260314AAAA0001:BAG-TOTE-BLK"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp874"])
def test_thai_headers_in_every_csv_encoding(tmp_path, encoding):
    thai = {"Order ID": "หมายเลขคำสั่งซื้อ", "Order Status": "สถานะการสั่งซื้อ",
            "Order Creation Date": "วันที่ทำการสั่งซื้อ", "SKU Reference No.":
            "เลขอ้างอิง SKU (SKU Reference No.)", "Deal Price": "ราคาขาย", "Quantity": "จำนวน",
            "Receiver Name": "ชื่อผู้รับ", "Delivery Address": "ที่อยู่ในการจัดส่ง", "Country": "ประเทศ"}  # fmt: skip
    row = {thai[k]: v for k, v in GOOD.items() if k in thai}
    row.update({thai["Order Status"]: "ที่ต้องจัดส่ง", thai["Country"]: "ไทย",
                thai["Receiver Name"]: "สมชาย ใจดี"})  # fmt: skip
    report, lines, _ = shopee(tmp_path, row, header=tuple(thai.values()), encoding=encoding)
    assert (report.header, report.error) == ("th", None)
    assert [(r["country"], r["status"], r["receiver_name"]) for r in lines] == [
        ("TH", "ready_to_ship", "สมชาย ใจดี")]  # fmt: skip


def test_a_bom_does_not_hide_the_first_header(tmp_path):
    report, lines, _ = shopee(tmp_path, GOOD, encoding="utf-8-sig")
    assert report.error is None and lines[0]["order_number"] == "260314AAAA0001"


def test_order_level_values_repeat_on_every_line(tmp_path):
    second = dict(GOOD, **{"SKU Reference No.": "TS-RED-M", "Deal Price": "29.90", "Quantity": "1"})
    _, lines, _ = shopee(tmp_path, GOOD, second)
    assert len({(r["receiver_name"], r["receiver_address"], r["ordered_at"]) for r in lines}) == 1
    assert [r["order_line_id"] for r in lines] == ["260314AAAA0001:BAG-TOTE-BLK",
                                                   "260314AAAA0001:TS-RED-M"]  # fmt: skip


def test_line_amount_is_deal_price_times_quantity(tmp_path):
    _, (got,), _ = shopee(tmp_path, GOOD)
    assert (got["quantity"], got["unit_price"], got["paid_price"]) == (
        2, Decimal("59.00"), Decimal("91.80"))  # fmt: skip


@pytest.mark.parametrize("quantity", ["0", "1.5", "two", "-1", "10000"])
def test_a_quantity_that_is_not_a_whole_number_of_units_is_rejected(tmp_path, quantity):
    _, lines, rejects = shopee(tmp_path, dict(GOOD, Quantity=quantity))
    assert lines == []
    assert [(r["reason_code"], r["column"], r["value"]) for r in rejects] == [
        ("BAD_QUANTITY", "Quantity", quantity)]  # fmt: skip


def test_the_parent_sku_stands_in_for_a_missing_variation_sku(tmp_path):
    _, lines, rejects = shopee(tmp_path, dict(GOOD, **{"SKU Reference No.": None}))
    assert rejects == [] and lines[0]["seller_sku"] == "BAG-TOTE"
    _, lines, rejects = shopee(
        tmp_path, dict(GOOD, **{"SKU Reference No.": None, "Parent SKU Reference No.": None})
    )
    assert lines == [] and rejects[0]["reason_code"] == "MISSING_VALUE"


@pytest.mark.parametrize(
    ("shown", "status"),
    [("To ship", "ready_to_ship"), ("READY_TO_SHIP", "ready_to_ship"), ("Unpaid", "unpaid"),
     ("Shipping", "shipped"), ("Completed", "completed"), ("Cancelled", "cancelled"),
     ("ที่ต้องจัดส่ง", "ready_to_ship"), ("ยกเลิกแล้ว", "cancelled"),
     ("ผู้ซื้อได้รับสินค้าแล้ว โปรดทราบว่าผู้ซื้อสามารถยื่นคำขอคืนเงิน/คืนสินค้าได้จนถึง 2026-06-07",
      "to_confirm_receive"),
     ("Chờ lấy hàng", "ready_to_ship"), ("Đã hủy", "cancelled"), ("待出货", "ready_to_ship"),
     ("待出貨", "ready_to_ship"), ("已完成", "completed")],
)  # fmt: skip
def test_status_display_values_in_every_language(tmp_path, shown, status):
    _, lines, _ = shopee(tmp_path, dict(GOOD, **{"Order Status": shown}))
    assert lines[0]["status"] == status


def test_an_unknown_status_is_rejected(tmp_path):
    _, lines, rejects = shopee(tmp_path, dict(GOOD, **{"Order Status": "Processing"}))
    assert lines == [] and rejects[0]["reason_code"] == "UNKNOWN_STATUS"
    assert rejects[0]["reason"] == "Order Status is not a known Shopee order status"


def test_the_latest_event_time_is_the_lines_update_time(tmp_path):
    _, (got,), _ = shopee(tmp_path, GOOD)
    assert got["updated_at"] == dt.datetime(2026, 3, 14, 1, 13, tzinfo=dt.UTC)  # paid, MY +8


def test_shopee_order_ids_are_letters_and_digits(tmp_path):
    _, lines, rejects = shopee(tmp_path, dict(GOOD, **{"Order ID": "2603-14AB"}))
    assert lines == [] and rejects[0]["reason_code"] == "BAD_ID"

"""Lazada exports on tiny literal tables: header matching, each cell rule, receivers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from schemas.exports import LAZADA_CURRENT, LAZADA_LEGACY
from transforms.cells import parse_local_time, parse_money
from transforms.formats import match_header
from transforms.lazada import DATES, FORMAT, READER
from transforms.normalise import normalise

GOOD = {
    "orderItemId": "212345678911234",
    "orderNumber": "212345678901234",
    "sellerSku": "BAG-TOTE-BLK",
    "lazadaSku": "3069252927_MY-15298395971",
    "createTime": "14 Mar 2026 09:12",
    "updateTime": "14 Mar 2026 09:40",
    "status": "pending",
    "paidPrice": "42.90",
    "unitPrice": "45.90",
    "itemName": "Canvas Tote Bag",
    "shippingName": "Nur Aisyah Kamal",
    "shippingAddress": "No. 12, Jalan Mawar 3/2",
    "shippingAddress3": "Selangor",
    "shippingAddress4": "Shah Alam",
    "shippingAddress5": "Seksyen 7",
    "shippingPhone": "60123456780",
    "shippingCity": "Shah Alam",
    "shippingPostCode": "40000",
    "shippingCountry": "Malaysia",
}


def run(*rows: dict, headers: dict | None = None, malformed=()):
    """normalise() over literal rows (dicts of text; missing keys are absent columns);
    `headers` renames columns (camelCase -> the file's own names)."""
    headers = headers or {}
    columns = sorted({k for r in rows for k in r})
    table = pa.table({headers.get(c, c): pa.array([r.get(c) for r in rows], pa.string())
                      for c in columns})  # fmt: skip
    numbers = np.arange(2, 2 + len(rows), dtype=np.int64)
    match = match_header(FORMAT, table.column_names)
    lines, rejects = normalise(READER, match, table, numbers, "f.csv", malformed)
    return lines.to_pylist(), rejects.to_pylist()


def one_reject(**changes: object) -> dict:
    lines, rejects = run(dict(GOOD, **changes))
    assert lines == []
    assert len(rejects) == 1
    return rejects[0]


# --- headers -------------------------------------------------------------------------------------


def test_current_header_matches_every_used_column():
    match = match_header(FORMAT, LAZADA_CURRENT)
    assert match.style == "current"
    assert match.missing == [] and match.duplicated == []
    assert match.columns["order_item_id"] == "orderItemId"


def test_legacy_display_names_map_to_the_same_columns():
    match = match_header(FORMAT, LAZADA_LEGACY)
    assert match.style == "legacy"
    assert match.missing == []
    assert match.columns["created"] == "Created at"
    assert match.columns["phone"] == "Shipping Phone Number"
    assert match.columns["postcode"] == "Shipping Postcode"


def test_oldest_variant_item_id_and_case_and_spacing_are_tolerated():
    header = ["Item Id", "ORDER NUMBER", "seller_sku", "Created At", "status ", "Paid Price",
              "Shipping Name", "Shipping Address", "Shipping Country"]  # fmt: skip
    match = match_header(FORMAT, header)
    assert match.missing == []
    assert match.columns["order_item_id"] == "Item Id"
    assert match.columns["seller_sku"] == "seller_sku"


def test_missing_required_and_country_source_are_named():
    header = [c for c in LAZADA_CURRENT if c not in ("sellerSku", "lazadaSku", "shippingCountry")]
    assert match_header(FORMAT, header).missing == ["sellerSku", "lazadaSku or shippingCountry"]


def test_two_headers_for_one_column_is_reported():
    assert match_header(FORMAT, [*LAZADA_CURRENT, "Order Item Id"]).duplicated == ["orderItemId"]


# --- a good row ----------------------------------------------------------------------------------


def test_good_row_becomes_a_canonical_line():
    lines, rejects = run(GOOD)
    assert rejects == []
    (got,) = lines
    assert got["marketplace"] == "lazada"
    assert got["country"] == "MY" and got["currency"] == "MYR"
    assert got["order_number"] == "212345678901234"
    assert got["order_line_id"] == "212345678911234"
    assert got["platform_sku_id"] == "15298395971"
    assert got["quantity"] == 1
    assert got["paid_price"] == Decimal("42.90") and got["unit_price"] == Decimal("45.90")
    assert got["ordered_at_local"] == dt.datetime(2026, 3, 14, 9, 12)
    assert got["ordered_at"] == dt.datetime(2026, 3, 14, 1, 12, tzinfo=dt.UTC)  # MY is +08:00
    assert got["receiver_country"] == "Malaysia"
    assert (got["receiver_state"], got["receiver_city"], got["receiver_district"]) == (
        "Selangor",
        "Shah Alam",
        "Seksyen 7",
    )
    assert got["source_file"] == "f.csv" and got["source_row"] == 2


def test_status_spellings_are_normalised():
    lines, _ = run(dict(GOOD, status="Ready to ship"), dict(GOOD, status="Package Returned"),
                   dict(GOOD, status="Lost by 3PL"))  # fmt: skip
    assert [r["status"] for r in lines] == ["ready_to_ship", "package_returned", "lost_by_3pl"]


def test_shop_time_zone_follows_the_country():
    th = dict(GOOD, lazadaSku="2455667788_TH-9900112233", shippingCountry="Thailand")
    (line,), _ = run(th)
    assert line["ordered_at"] == dt.datetime(2026, 3, 14, 2, 12, tzinfo=dt.UTC)  # +07:00


def test_country_from_shipping_country_when_lazada_sku_is_absent():
    row = {k: v for k, v in GOOD.items() if k != "lazadaSku"}
    (line,), _ = run(dict(row, shippingCountry="Philippines"))
    assert (line["country"], line["currency"], line["platform_sku_id"]) == ("PH", "PHP", None)


def test_old_lazada_sku_forms_give_the_country():
    (a, b), _ = run(
        dict(GOOD, lazadaSku="232611001_SGAMZ-356805001", shippingCountry="Singapore"),
        dict(GOOD, lazadaSku="BE494HLAAUE3SGAMZ-39898", shippingCountry="Singapore"),
    )
    assert (a["country"], a["platform_sku_id"]) == ("SG", "356805001")
    assert (b["country"], b["platform_sku_id"]) == ("SG", None)


def test_float_rendered_ids_are_repaired_when_exact():
    (line,), _ = run(dict(GOOD, orderItemId="212345678911234.0", orderNumber="212345678901234.0"))
    assert line["order_line_id"] == "212345678911234"
    assert line["order_number"] == "212345678901234"


# --- receivers -----------------------------------------------------------------------------------


def test_thai_bilingual_parts_keep_the_english_half():
    th = dict(GOOD, lazadaSku="2455667788_TH-9900112233", shippingCountry="Thailand",
              shippingAddress="99/12 ซอยสุขุมวิท 101", shippingAddress3="สมุทรปราการ/ Samut Prakan",
              shippingAddress4="เมืองสมุทรปราการ/ Mueang Samut Prakan",
              shippingAddress5="สำโรงเหนือ/ Samrong Nuea", shippingCity=None)  # fmt: skip
    (line,), _ = run(th)
    assert line["receiver_state"] == "Samut Prakan"
    assert line["receiver_city"] == "Mueang Samut Prakan"
    assert line["receiver_district"] == "Samrong Nuea"
    assert line["receiver_address"] == "99/12 ซอยสุขุมวิท 101"  # the street stays as written


def test_slashes_outside_thai_text_are_left_alone():
    (line,), _ = run(dict(GOOD, shippingAddress3="Kuala Lumpur / Wilayah"))
    assert line["receiver_state"] == "Kuala Lumpur / Wilayah"


def test_singapore_without_city_is_addressed_to_singapore():
    sg = dict(GOOD, lazadaSku="1_SG-2", shippingCountry="Singapore", shippingCity=None,
              shippingAddress3=None, shippingAddress4=None, shippingAddress5=None,
              shippingPostCode="521123")  # fmt: skip
    (line,), _ = run(sg)
    assert line["receiver_city"] == "Singapore"
    assert line["receiver_state"] is None and line["receiver_zip"] == "521123"


def test_postcode_leading_zeros_restored_per_country():
    my = dict(GOOD, shippingPostCode="1000")  # Perlis, 01000, read as a number
    sg = dict(GOOD, lazadaSku="1_SG-2", shippingCountry="Singapore", shippingPostCode="18956")
    ph = dict(GOOD, lazadaSku="1_PH-2", shippingCountry="Philippines", shippingPostCode="1100.0")
    lines, _ = run(my, sg, ph)
    assert [r["receiver_zip"] for r in lines] == ["01000", "018956", "1100"]


def test_phone_from_a_float_cell_and_punctuation_is_cleaned():
    lines, _ = run(dict(GOOD, shippingPhone="60123456789.0"),
                   dict(GOOD, shippingPhone="+60 12-345 6789"),
                   dict(GOOD, shippingPhone=None, shippingPhone2="0123456789"))  # fmt: skip
    assert [r["receiver_phone"] for r in lines] == ["60123456789", "+60123456789", "0123456789"]


def test_second_address_line_is_joined():
    (line,), _ = run(dict(GOOD, shippingAddress2="Taman Sri Melati"))
    assert line["receiver_address"] == "No. 12, Jalan Mawar 3/2, Taman Sri Melati"


# --- one reject per rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "column"),
    [
        ({"createTime": "31 Feb 2026 10:00"}, "BAD_DATE", "createTime"),
        ({"createTime": "2026/03/14"}, "BAD_DATE", "createTime"),
        ({"createTime": "14 Mar 1999 10:00"}, "BAD_DATE", "createTime"),
        ({"updateTime": "yesterday"}, "BAD_DATE", "updateTime"),
        ({"paidPrice": "12,90"}, "BAD_PRICE", "paidPrice"),
        ({"paidPrice": "-1.00"}, "BAD_PRICE", "paidPrice"),
        ({"paidPrice": "1.005"}, "BAD_PRICE", "paidPrice"),
        ({"paidPrice": "1000000000000.00"}, "BAD_PRICE", "paidPrice"),
        ({"unitPrice": "RM45"}, "BAD_PRICE", "unitPrice"),
        ({"status": "awaiting_pickup"}, "UNKNOWN_STATUS", "status"),
        ({"status": None}, "MISSING_VALUE", "status"),
        ({"sellerSku": None}, "MISSING_VALUE", "sellerSku"),
        ({"shippingName": None}, "MISSING_VALUE", "shippingName"),
        ({"orderItemId": "2.12345678911234E+14"}, "BAD_ID", "orderItemId"),
        ({"orderNumber": "ABC-1"}, "BAD_ID", "orderNumber"),
        ({"orderNumber": "9" * 41}, "FIELD_TOO_LONG", "orderNumber"),
        ({"itemName": "x" * 1001}, "FIELD_TOO_LONG", "itemName"),
        ({"sellerSku": "=1+1"}, "FORMULA_INJECTION", "sellerSku"),
        ({"itemName": "@SUM(A1:A9)"}, "FORMULA_INJECTION", "itemName"),
        ({"variation": "-2+3"}, "FORMULA_INJECTION", "variation"),
        ({"shippingAddress": "+cmd"}, "FORMULA_INJECTION", "shippingAddress"),
        ({"shippingPhone": "=A1"}, "FORMULA_INJECTION", "shippingPhone"),
        ({"lazadaSku": "1_XX-2", "shippingCountry": "Atlantis"}, "UNKNOWN_COUNTRY", "lazadaSku"),
        ({"shippingCountry": "Thailand"}, "COUNTRY_MISMATCH", "shippingCountry"),
    ],
)
def test_each_rule_rejects_with_its_reason(changes, code, column):
    reject = one_reject(**changes)
    assert reject["reason_code"] == code
    assert reject["column"] == column
    assert reject["source_file"] == "f.csv" and reject["source_row"] == 2
    assert reject["reason"]


def test_thai_text_is_counted_in_characters_not_bytes():
    lines, rejects = run(dict(GOOD, itemName="เสื้อ" * 150))  # 750 characters, 2250 bytes
    assert len(lines) == 1 and rejects == []


def test_phone_with_plus_and_digits_is_not_a_formula():
    lines, rejects = run(dict(GOOD, shippingPhone="+60123456780"))
    assert rejects == [] and lines[0]["receiver_phone"] == "+60123456780"


def test_first_rule_broken_is_the_reason():
    reject = one_reject(sellerSku="=HYPERLINK()", paidPrice="oops", status="weird")
    assert reject["reason_code"] == "FORMULA_INJECTION"


def test_personal_values_are_masked_in_rejects():
    reject = one_reject(shippingName="=Nur Aisyah Kamal")
    assert reject["value"] == "=***l"
    assert "Aisyah" not in reject["value"]


def test_rejects_name_the_files_own_header():
    _, rejects = run(dict(GOOD, createTime="never"), headers={"createTime": "Created at"})
    assert rejects[0]["marketplace"] == "lazada" and rejects[0]["country"] == "MY"
    assert rejects[0]["column"] == "Created at"
    assert rejects[0]["reason"].startswith("Created at ")


def test_good_rows_of_a_file_with_bad_rows_go_on():
    lines, rejects = run(
        GOOD, dict(GOOD, orderItemId="2", paidPrice="x"), dict(GOOD, orderItemId="3")
    )
    assert [r["order_line_id"] for r in lines] == ["212345678911234", "3"]
    assert [r["source_row"] for r in lines] == [2, 4]
    assert [(r["source_row"], r["reason_code"]) for r in rejects] == [(3, "BAD_PRICE")]


def test_malformed_rows_from_the_parser_are_rejects():
    lines, rejects = run(GOOD, malformed=[(3, "a,b")])
    assert len(lines) == 1
    assert (rejects[0]["reason_code"], rejects[0]["source_row"]) == ("MALFORMED_ROW", 3)


# --- parsers -------------------------------------------------------------------------------------


def test_parse_local_time_formats():
    text = pa.array(["14 Mar 2026 09:12", "3 Jun 2026 20:41", "14 Mar 2026 09:12:33",
                     "2026-03-14 09:12:00", "2026-03-14 09:12", "2026-03-14T09:12:00",
                     None, "31 Feb 2026 10:00"])  # fmt: skip
    parsed, bad = parse_local_time(text, DATES)
    assert parsed.to_pylist()[:6] == [
        dt.datetime(2026, 3, 14, 9, 12),
        dt.datetime(2026, 6, 3, 20, 41),
        dt.datetime(2026, 3, 14, 9, 12, 33),
        dt.datetime(2026, 3, 14, 9, 12),
        dt.datetime(2026, 3, 14, 9, 12),
        dt.datetime(2026, 3, 14, 9, 12),
    ]
    assert bad.to_pylist() == [False] * 6 + [False, True]


def test_parse_money_is_exact_and_strict():
    value, bad = parse_money(
        pa.array(["42.90", "42.9", "42", "42.900", "0.10", "42.905", "1e3", None])
    )
    assert value.to_pylist()[:5] == [Decimal("42.90"), Decimal("42.90"), Decimal("42.00"),
                                     Decimal("42.90"), Decimal("0.10")]  # fmt: skip
    assert bad.to_pylist() == [False] * 5 + [True, True, False]


def test_chunked_columns_parse_like_one_array():
    text = pa.chunked_array(
        [["14 Mar 2026 09:12", "bad"], ["15 Mar 2026 09:12", "14 Mar 2026 09:12"]]
    )
    parsed, bad = parse_local_time(text, DATES)
    assert parsed.to_pylist() == [dt.datetime(2026, 3, 14, 9, 12), None,
                                  dt.datetime(2026, 3, 15, 9, 12), dt.datetime(2026, 3, 14, 9, 12)]  # fmt: skip
    assert bad.to_pylist() == [False, True, False, False]

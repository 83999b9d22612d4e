"""The rules (transforms.rules) and the grouping on tiny literal order lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from schemas.contracts import PlannedOrderLines, PurchaseLines, Purchases
from schemas.records import PlannedPurchase, outer_purchase_id
from schemas.types import check
from tests.ingest.conftest import Plan, line, map_row, reject, sku_map_table
from transforms import to_planned_purchases

MAP = sku_map_table(
    [
        map_row("SKU-A", "718293045561", "5219384756012"),
        map_row("SKU-B", "718293045561", "5219384756013"),
        map_row("SKU-A2", "718293045561", "5219384756012"),  # a second listing of SKU-A's item
        map_row(
            "SKU-C", "554456348334", None, platform="1688", spec="b266e0726506185beaf205cbae88530d"
        ),
        map_row("SKU-2PK", "612345678901", "4951323355700", platform="1688", multiplier=2),
        map_row("SKU-PEND", status="pending"),
        map_row("SKU-A", country="TH"),
        *[map_row("SKU-A", marketplace=m) for m in ("shopee", "tiktok")],
        *[
            map_row(
                "SKU-2PK",
                "612345678901",
                "4951323355700",
                platform="1688",
                multiplier=2,
                marketplace=m,
            )
            for m in ("shopee", "tiktok")
        ],
    ]
)


def plan(rows, sku_map=MAP, **kw) -> Plan:
    return Plan(rows, sku_map, **kw)


def rows_of(table) -> list[dict]:
    return table.to_pylist()


def test_units_of_one_sku_become_one_line_with_summed_quantity():
    r = plan([line("1", seller_sku="SKU-A"), line("2", seller_sku="SKU-A"),
              line("3", seller_sku="SKU-B")])  # fmt: skip
    (p,) = rows_of(r.purchases)
    assert p["outer_purchase_id"] == outer_purchase_id("lazada", "MY", "100000000000001")
    assert (p["n_lines"], p["units"], p["quantity"]) == (2, 3, 3)
    assert p["revenue"] == Decimal("30.00") and p["currency"] == "MYR"
    lines = {ln["order_line_no"]: ln for ln in rows_of(r.purchase_lines)}
    assert lines["1"]["source_sku_id"] == "5219384756012" and lines["1"]["quantity"] == 2
    assert lines["1"]["order_line_ids"] == ["1", "2"]
    assert lines["2"]["source_sku_id"] == "5219384756013" and lines["2"]["quantity"] == 1


def test_two_seller_skus_of_one_supplier_sku_merge():
    r = plan([line("1", seller_sku="SKU-A"), line("2", seller_sku="SKU-A2")])
    (pl,) = rows_of(r.purchase_lines)
    assert pl["quantity"] == 2 and pl["seller_sku"] == "SKU-A,SKU-A2"
    assert pl["order_line_ids"] == ["1", "2"]


def test_multiplier_scales_quantity_not_units_or_revenue():
    r = plan([line("1", seller_sku="SKU-2PK", paid="12.50"),
              line("2", seller_sku="SKU-2PK", paid="12.50")])  # fmt: skip
    (pl,) = rows_of(r.purchase_lines)
    assert (pl["units"], pl["quantity"], pl["revenue"]) == (2, 4, Decimal("25.00"))


@pytest.mark.parametrize("marketplace", ["shopee", "tiktok"])
def test_quantity_of_multi_unit_lines_times_the_multiplier(marketplace):
    """A Shopee/TikTok line carries its quantity: purchase quantity = sum(quantity x multiplier)."""
    status = {"shopee": "ready_to_ship", "tiktok": "awaiting_shipment"}[marketplace]
    r = plan([
        line("O1:SKU-2PK", "O1", "SKU-2PK", marketplace=marketplace, status=status, quantity=3,
             paid="37.50"),
        line("O1:SKU-A", "O1", "SKU-A", marketplace=marketplace, status=status, quantity=2,
             paid="20.00"),
    ])  # fmt: skip
    (p,) = rows_of(r.purchases)
    assert (p["units"], p["quantity"], p["revenue"]) == (5, 3 * 2 + 2, Decimal("57.50"))
    by_sku = {ln["seller_sku"]: ln for ln in rows_of(r.purchase_lines)}
    assert (by_sku["SKU-2PK"]["units"], by_sku["SKU-2PK"]["quantity"]) == (3, 6)
    assert (by_sku["SKU-A"]["units"], by_sku["SKU-A"]["quantity"]) == (2, 2)


def test_line_numbers_follow_source_item_and_sku_ids():
    r = plan([line("1", seller_sku="SKU-C"), line("2", seller_sku="SKU-B"),
              line("3", seller_sku="SKU-A")])  # fmt: skip
    got = sorted(rows_of(r.purchase_lines), key=lambda g: int(g["order_line_no"]))
    assert [[g["order_line_no"], g["source_item_id"], g["source_sku_id"]] for g in got] == [
        ["1", "554456348334", None],
        ["2", "718293045561", "5219384756012"],
        ["3", "718293045561", "5219384756013"],
    ]
    numbers = dict(zip(r.order_lines["order_line_id"].to_pylist(),
                       r.order_lines["order_line_no"].to_pylist(), strict=True))  # fmt: skip
    assert numbers == {"1": "1", "2": "3", "3": "2"}


def test_one_purchase_per_order_per_country_and_marketplace():
    r = plan([line("1", "O1"), line("2", "O2"), line("3", "O1", country="TH"),
              line("O1:SKU-A", "O1", marketplace="shopee", status="ready_to_ship")])  # fmt: skip
    keys = sorted(zip(*(r.purchases[k].to_pylist() for k in ("marketplace", "country", "order_number")), strict=True))  # fmt: skip
    assert keys == [("lazada", "MY", "O1"), ("lazada", "MY", "O2"), ("lazada", "TH", "O1"),
                    ("shopee", "MY", "O1")]  # fmt: skip
    assert len(set(r.purchases["outer_purchase_id"].to_pylist())) == 4


def test_only_purchasable_statuses_are_ordered_and_skips_are_counted():
    r = plan([line("1", status="pending"), line("2", status="canceled"),
              line("3", status="shipped"), line("4", status="ready_to_ship")])  # fmt: skip
    assert r.dispositions() == {"1": "purchasable", "2": "skipped_status", "3": "skipped_status",
                                "4": "purchasable"}  # fmt: skip
    assert r.purchases["units"].to_pylist() == [2]


def test_statuses_are_per_marketplace_with_their_defaults():
    rows = [
        line("1", "L1", status="pending"),
        line("S1:SKU-A", "S1", marketplace="shopee", status="ready_to_ship"),
        line("S2:SKU-A", "S2", marketplace="shopee", status="shipped"),
        line("T1:SKU-A", "T1", marketplace="tiktok", status="awaiting_shipment"),
        line("T2:SKU-A", "T2", marketplace="tiktok", status="awaiting_collection"),
        line("T3:SKU-A", "T3", marketplace="tiktok", status="to_ship"),
    ]
    assert plan(rows).dispositions() == {
        "1": "purchasable", "S1:SKU-A": "purchasable", "S2:SKU-A": "skipped_status",
        "T1:SKU-A": "purchasable", "T2:SKU-A": "skipped_status", "T3:SKU-A": "skipped_status",
    }  # fmt: skip
    chosen = plan(rows, statuses="tiktok:awaiting_collection,tiktok:Awaiting shipment")
    assert chosen.dispositions()["T2:SKU-A"] == "purchasable"
    assert chosen.dispositions()["T3:SKU-A"] == "skipped_status"
    assert chosen.dispositions()["1"] == "purchasable"  # Lazada keeps its defaults


def test_identical_copies_count_once_newest_wins():
    older = line("1", status="pending", updated="2026-11-25 11:00", source_file="day1.csv")
    newer = line("1", status="shipped", updated="2026-11-26 09:00", source_file="day2.csv")
    r = plan([newer, older, line("2")])
    got = {(row["order_line_id"], row["source_file"]): row["disposition"]
           for row in rows_of(r.order_lines)}  # fmt: skip
    assert got[("1", "day2.csv")] == "skipped_status"  # shipped since day 1
    assert got[("1", "day1.csv")] == "duplicate"
    assert r.purchases["units"].to_pylist() == [1]


def test_same_line_with_different_content_rejects_every_copy_and_holds_the_order():
    changed = line("1", paid="12.00", unit_price=Decimal("10.00"))  # only the paid price differs
    r = plan([line("1", paid="10.00"), changed, line("2")])
    assert r.rule_rejects["reason_code"].to_pylist() == ["DUPLICATE_CONFLICT"] * 2
    assert set(r.rule_rejects["column"].to_pylist()) == {"paid_price"}
    assert r.dispositions() == {"2": "held"}
    assert r.purchases.num_rows == 0


def test_a_shopee_line_whose_quantity_changed_is_a_conflict():
    a = line("O1:SKU-A", "O1", marketplace="shopee", status="ready_to_ship", quantity=1)
    b = dict(a, quantity=2, source_file="later.csv")
    r = plan([a, b])
    assert set(r.rule_rejects["column"].to_pylist()) == {"quantity"}


def test_window_is_half_open_on_the_shop_clock():
    rows = [line("1", "O1", local="2026-11-25 00:00"), line("2", "O2", local="2026-11-25 23:59"),
            line("3", "O3", local="2026-11-26 00:00"),
            line("4", "O4", country="TH", local="2026-11-25 00:30")]  # fmt: skip
    r = plan(rows, since="2026-11-25", until="2026-11-26")
    assert r.dispositions() == {"1": "purchasable", "2": "purchasable", "3": "outside_window",
                                "4": "purchasable"}  # fmt: skip


def test_window_with_an_offset_is_one_instant_for_every_shop():
    # 2026-11-25T00:00+08:00 = 2026-11-24T16:00Z; a TH order at 23:30 local on the 24th is 16:30Z
    rows = [line("1", "O1", country="TH", local="2026-11-24 23:30"),
            line("2", "O2", country="MY", local="2026-11-24 23:30")]  # fmt: skip
    assert plan(rows, since="2026-11-25T00:00+08:00").dispositions() == {
        "1": "purchasable", "2": "outside_window"}  # fmt: skip


def test_window_takes_whole_orders_by_their_first_line():
    rows = [line("1", "O1", local="2026-11-24 23:59"), line("2", "O1", local="2026-11-25 00:01")]
    assert plan(rows, since="2026-11-25").dispositions() == {
        "1": "outside_window", "2": "outside_window"}  # fmt: skip


def test_unmapped_and_unapproved_skus_are_rejected_and_their_orders_held():
    rows = [line("1", "O1", "NOPE"), line("2", "O1", "SKU-A"), line("3", "O2", "SKU-PEND"),
            line("4", "O3", "SKU-A")]  # fmt: skip
    r = plan(rows)
    assert r.reasons() == {"1": "UNMAPPED_SKU", "3": "SKU_NOT_APPROVED"}
    assert r.dispositions() == {"2": "held", "4": "purchasable"}
    assert r.purchases["order_number"].to_pylist() == ["O3"]


def test_sku_map_is_per_country_and_marketplace():
    r = plan([line("1", seller_sku="SKU-B", country="TH"),
              line("O:SKU-B", "O", "SKU-B", marketplace="shopee", status="ready_to_ship")])  # fmt: skip
    assert r.reasons() == {"1": "UNMAPPED_SKU", "O:SKU-B": "UNMAPPED_SKU"}


def test_platform_sku_id_is_the_fallback_key():
    sku_map = sku_map_table([map_row("OLD-NAME", platform_sku_id="15298395971",
                                     marketplace="tiktok")])  # fmt: skip
    r = plan([line("O:15298395971", "O", "RENAMED", marketplace="tiktok",
                   status="awaiting_shipment", platform_sku_id="15298395971")], sku_map)  # fmt: skip
    assert r.rule_rejects.num_rows == 0
    assert r.purchase_lines["source_item_id"].to_pylist() == ["718293045561"]


def test_an_order_is_held_by_its_own_rejected_row_only():
    """An order is (marketplace, country, order number): a rejected row of MY order O1 holds
    it, not TH order O1 nor Shopee's order O1; a row rejected before its country was known
    holds that order number in every country of its marketplace."""
    rows = [line("1", "O1"), line("2", "O1", country="TH"),
            line("O1:SKU-A", "O1", marketplace="shopee", status="ready_to_ship"),
            line("3", "O2"), line("4", "O2", country="TH")]  # fmt: skip
    r = plan(rows, read_rejects=[reject("O1", country="MY"), reject("O2", country=None)])
    assert r.dispositions() == {"1": "held", "2": "purchasable", "O1:SKU-A": "purchasable",
                                "3": "held", "4": "held"}  # fmt: skip


def test_purchasable_line_without_receiver_address_is_rejected():
    r = plan([line("1", receiver_address=None), line("2", "O2")])
    assert r.reasons() == {"1": "MISSING_RECEIVER"}
    assert r.dispositions() == {"2": "purchasable"}


def test_canceled_line_without_address_is_fine():
    r = plan([line("1", status="canceled", receiver_address=None)])
    assert r.rule_rejects.num_rows == 0 and r.dispositions() == {"1": "skipped_status"}


@pytest.mark.parametrize(
    ("field", "other"),
    [("receiver_address", "Unit 9C, 12 Katipunan Avenue"), ("receiver_name", "Someone Else"),
     ("receiver_phone", "60199999999"), ("receiver_country", "Thailand"),
     ("receiver_zip", None)],
)  # fmt: skip
def test_an_order_whose_lines_name_different_receivers_is_rejected(field, other):
    """Today's one silently winning address could send a parcel to the wrong customer."""
    rows = [line("1", "O1"), line("2", "O1", **{field: other}), line("3", "O2")]
    r = plan(rows)
    assert r.reasons() == {"1": "RECEIVER_CONFLICT", "2": "RECEIVER_CONFLICT"}
    assert set(r.rule_rejects["column"].to_pylist()) == {field}
    assert r.purchases["order_number"].to_pylist() == ["O2"]


def test_receivers_of_lines_not_bought_do_not_conflict():
    rows = [line("1", "O1"), line("2", "O1", status="canceled", receiver_address="elsewhere")]
    r = plan(rows)
    assert r.rule_rejects.num_rows == 0 and r.purchases.num_rows == 1


def test_outputs_keep_their_contracts():
    r = plan([line("1"), line("2", "O2", "SKU-C"), line("3", status="canceled")])
    check(PlannedOrderLines, r.order_lines)
    check(Purchases, r.purchases)
    check(PurchaseLines, r.purchase_lines)
    by_id = {row["order_line_id"]: row for row in rows_of(r.order_lines)}
    first = rows_of(r.purchases.filter(r.purchases["order_number"].to_numpy(zero_copy_only=False)
                                       == "100000000000001"))[0]  # fmt: skip
    assert by_id["1"]["outer_purchase_id"] == first["outer_purchase_id"]
    assert by_id["3"]["outer_purchase_id"] is None


def test_nothing_purchasable_gives_empty_typed_tables():
    r = plan([line("1", status="canceled")])
    assert r.purchases.num_rows == 0 and r.purchase_lines.num_rows == 0
    check(Purchases, r.purchases)
    check(PurchaseLines, r.purchase_lines)


def test_planned_purchases_carry_lines_receiver_and_money():
    r = plan([line("1", "O1", "SKU-B"), line("2", "O1", "SKU-A"), line("3", "O1", "SKU-A")])
    (p,) = to_planned_purchases(r.purchases, r.purchase_lines)
    assert isinstance(p, PlannedPurchase)
    assert p.outer_purchase_id == outer_purchase_id("lazada", "MY", "O1")
    assert p.ordered_at == dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    assert p.currency == "MYR" and p.revenue == Decimal("30.00")
    assert p.receiver.country == "Malaysia" and p.receiver.zip == "40000"
    assert [(ln.order_line_no, ln.source_sku_id, ln.quantity) for ln in p.lines] == [
        ("1", "5219384756012", 2),
        ("2", "5219384756013", 1),
    ]
    assert p.lines[0].order_line_ids == ("2", "3")
    assert p.lines[0].revenue == Decimal("20.00")
    assert p.lines[1].source_spec_id == ""


def test_plan_is_the_same_whatever_the_row_order():
    rows = [line(str(i), f"O{i % 3}", ("SKU-A", "SKU-B", "SKU-C")[i % 3]) for i in range(9)]
    a, b = plan(rows), plan(list(reversed(rows)))
    assert sorted(a.purchases["payload_hash"].to_pylist()) == sorted(
        b.purchases["payload_hash"].to_pylist()
    )

"""map_and_group and to_planned_purchases on tiny literal frames."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from schemas.errors import UserError
from schemas.ingest import OrderLines, PurchaseLines, Purchases
from schemas.records import PlannedPurchase, outer_purchase_id
from tests.ingest.conftest import line, lines_frame, map_row, records, sku_map_frame
from transforms.grouping import map_and_group, purchasable_statuses, to_planned_purchases

MAP = sku_map_frame(
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
    ]
)


def group(rows: list[dict], sku_map=MAP, **kw):
    return map_and_group(lines_frame(rows), sku_map, **kw)


def dispositions(result) -> dict[str, str]:
    return dict(
        zip(result.order_lines["order_line_id"], result.order_lines["disposition"], strict=True)
    )


def test_units_of_one_sku_become_one_line_with_summed_quantity():
    r = group(
        [
            line("1", seller_sku="SKU-A"),
            line("2", seller_sku="SKU-A"),
            line("3", seller_sku="SKU-B"),
        ]
    )
    assert len(r.purchases) == 1
    p = r.purchases.iloc[0]
    assert p["outer_purchase_id"] == outer_purchase_id("lazada", "MY", "100000000000001")
    assert (p["n_lines"], p["units"], p["quantity"]) == (2, 3, 3)
    assert p["revenue"] == Decimal("30.00") and p["currency"] == "MYR"
    lines = r.purchase_lines.set_index("order_line_no")
    assert lines.loc["1", "source_sku_id"] == "5219384756012"
    assert lines.loc["1", "quantity"] == 2
    assert list(lines.loc["1", "order_line_ids"]) == ["1", "2"]
    assert lines.loc["2", "source_sku_id"] == "5219384756013"
    assert lines.loc["2", "quantity"] == 1


def test_two_seller_skus_of_one_supplier_sku_merge():
    r = group([line("1", seller_sku="SKU-A"), line("2", seller_sku="SKU-A2")])
    (pl,) = r.purchase_lines.itertuples()
    assert pl.quantity == 2 and pl.seller_sku == "SKU-A,SKU-A2"
    assert list(pl.order_line_ids) == ["1", "2"]


def test_multiplier_scales_quantity_not_units_or_revenue():
    r = group(
        [
            line("1", seller_sku="SKU-2PK", paid="12.50"),
            line("2", seller_sku="SKU-2PK", paid="12.50"),
        ]
    )
    pl = r.purchase_lines.iloc[0]
    assert (pl["units"], pl["quantity"], pl["revenue"]) == (2, 4, Decimal("25.00"))


def test_line_numbers_follow_source_item_and_sku_ids():
    r = group(
        [
            line("1", seller_sku="SKU-C"),
            line("2", seller_sku="SKU-B"),
            line("3", seller_sku="SKU-A"),
        ]
    )
    got = records(r.purchase_lines.sort_values("order_line_no"))
    assert [[g["order_line_no"], g["source_item_id"], g["source_sku_id"]] for g in got] == [
        ["1", "554456348334", None],
        ["2", "718293045561", "5219384756012"],
        ["3", "718293045561", "5219384756013"],
    ]
    ol = r.order_lines.set_index("order_line_id")
    assert ol.loc["3", "order_line_no"] == "2" and ol.loc["1", "order_line_no"] == "1"


def test_one_purchase_per_order_and_per_country():
    r = group([line("1", "O1"), line("2", "O2"), line("3", "O1", country="TH")])
    assert sorted(r.purchases["order_number"] + r.purchases["country"]) == ["O1MY", "O1TH", "O2MY"]
    assert r.purchases["outer_purchase_id"].is_unique


def test_only_purchasable_statuses_are_ordered_and_skips_are_counted():
    r = group([line("1", status="pending"), line("2", status="canceled"),
               line("3", status="shipped"), line("4", status="ready_to_ship")])  # fmt: skip
    assert dispositions(r) == {"1": "purchasable", "2": "skipped_status", "3": "skipped_status",
                               "4": "purchasable"}  # fmt: skip
    assert r.counts["skipped_by_status"] == {"canceled": 1, "shipped": 1}
    assert r.purchases.iloc[0]["units"] == 2


def test_statuses_are_configurable():
    r = group([line("1", status="pending"), line("2", status="packed")], statuses=["packed"])
    assert dispositions(r) == {"1": "skipped_status", "2": "purchasable"}
    assert purchasable_statuses("Pending, Ready to ship") == {"pending", "ready_to_ship"}
    with pytest.raises(UserError, match="unknown status"):
        purchasable_statuses("pendng")


def test_identical_copies_count_once_newest_wins():
    older = line("1", status="pending", updated="2026-11-25 11:00", source_file="day1.csv")
    newer = line("1", status="shipped", updated="2026-11-26 09:00", source_file="day2.csv")
    r = group([newer, older, line("2")])
    ol = r.order_lines.set_index(["order_line_id", "source_file"])
    assert ol.loc[("1", "day2.csv"), "disposition"] == "skipped_status"  # shipped since day 1
    assert ol.loc[("1", "day1.csv"), "disposition"] == "duplicate"
    assert r.purchases.iloc[0]["units"] == 1


def test_same_line_id_with_different_content_rejects_every_copy_and_holds_the_order():
    changed = line("1", paid="12.00", unit_price=Decimal("10.00"))  # only the paid price differs
    r = group([line("1", paid="10.00"), changed, line("2")])
    assert sorted(r.rejects["reason_code"]) == ["DUPLICATE_CONFLICT", "DUPLICATE_CONFLICT"]
    assert set(r.rejects["column"]) == {"paid_price"}
    assert dispositions(r) == {"2": "held"}
    assert r.purchases.empty


def test_window_is_half_open_on_the_shop_clock():
    rows = [line("1", "O1", local="2026-11-25 00:00"), line("2", "O2", local="2026-11-25 23:59"),
            line("3", "O3", local="2026-11-26 00:00"),
            line("4", "O4", country="TH", local="2026-11-25 00:30")]  # fmt: skip
    r = group(rows, since="2026-11-25", until="2026-11-26")
    assert dispositions(r) == {"1": "purchasable", "2": "purchasable", "3": "outside_window",
                               "4": "purchasable"}  # fmt: skip


def test_window_with_an_offset_is_one_instant_for_every_shop():
    # 2026-11-25T00:00+08:00 = 2026-11-24T16:00Z; a TH order at 23:30 local on the 24th is 16:30Z
    rows = [line("1", "O1", country="TH", local="2026-11-24 23:30"),
            line("2", "O2", country="MY", local="2026-11-24 23:30")]  # fmt: skip
    r = group(rows, since="2026-11-25T00:00+08:00")
    assert dispositions(r) == {"1": "purchasable", "2": "outside_window"}


def test_window_takes_whole_orders_by_their_first_line():
    rows = [line("1", "O1", local="2026-11-24 23:59"), line("2", "O1", local="2026-11-25 00:01")]
    r = group(rows, since="2026-11-25")
    assert dispositions(r) == {"1": "outside_window", "2": "outside_window"}


def test_unmapped_and_unapproved_skus_are_rejected_and_their_orders_held():
    rows = [line("1", "O1", "NOPE"), line("2", "O1", "SKU-A"), line("3", "O2", "SKU-PEND"),
            line("4", "O3", "SKU-A")]  # fmt: skip
    r = group(rows)
    codes = dict(zip(r.rejects["order_line_id"], r.rejects["reason_code"], strict=True))
    assert codes == {"1": "UNMAPPED_SKU", "3": "SKU_NOT_APPROVED"}
    assert dispositions(r) == {"2": "held", "4": "purchasable"}
    assert list(r.purchases["order_number"]) == ["O3"]


def test_sku_map_is_per_country():
    r = group([line("1", seller_sku="SKU-B", country="TH")])
    assert list(r.rejects["reason_code"]) == ["UNMAPPED_SKU"]


def test_platform_sku_id_is_the_fallback_key():
    sku_map = sku_map_frame([map_row("OLD-NAME", platform_sku_id="15298395971")])
    r = group([line("1", seller_sku="RENAMED", platform_sku_id="15298395971")], sku_map)
    assert r.rejects.empty
    assert r.purchase_lines.iloc[0]["source_item_id"] == "718293045561"


def test_orders_with_rows_rejected_upstream_are_held():
    r = group([line("1", "O1"), line("2", "O2")], held_orders=["O1"])
    assert dispositions(r) == {"1": "held", "2": "purchasable"}


def test_purchasable_line_without_receiver_address_is_rejected():
    r = group([line("1", receiver_address=None), line("2", "O2")])
    assert list(r.rejects["reason_code"]) == ["MISSING_RECEIVER"]
    assert dispositions(r) == {"2": "purchasable"}


def test_canceled_line_without_address_is_fine():
    r = group([line("1", status="canceled", receiver_address=None)])
    assert r.rejects.empty and dispositions(r) == {"1": "skipped_status"}


def test_outputs_keep_their_contracts():
    r = group([line("1"), line("2", "O2", "SKU-C"), line("3", status="canceled")])
    OrderLines.validate(r.order_lines)
    Purchases.validate(r.purchases)
    PurchaseLines.validate(r.purchase_lines)
    ol = r.order_lines.set_index("order_line_id")
    assert (
        ol.loc["1", "outer_purchase_id"]
        == r.purchases.set_index("order_number").loc["100000000000001", "outer_purchase_id"]
    )
    assert (
        ol.loc["3", "outer_purchase_id"] is None or str(ol.loc["3", "outer_purchase_id"]) == "<NA>"
    )


def test_nothing_purchasable_gives_empty_typed_tables():
    r = group([line("1", status="canceled")])
    assert r.purchases.empty and r.purchase_lines.empty
    Purchases.validate(r.purchases)
    PurchaseLines.validate(r.purchase_lines)


def test_planned_purchases_carry_lines_receiver_and_money():
    r = group([line("1", "O1", "SKU-B"), line("2", "O1", "SKU-A"), line("3", "O1", "SKU-A")])
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
    a = to_planned_purchases(*_tables(group(rows)))
    b = to_planned_purchases(*_tables(group(list(reversed(rows)))))
    assert sorted(p.payload_hash() for p in a) == sorted(p.payload_hash() for p in b)


def _tables(result):
    return result.purchases, result.purchase_lines


def test_two_pass_sort_matches_one_stable_sort_on_every_key():
    """The grouping sort (Arrow on the rest, numpy on marketplace+country) is the plain one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from transforms.grouping import SORT_KEYS, _sort_order

    rng = np.random.default_rng(7)
    n = 3000

    def pick(values: list[str | None]) -> pa.Array:
        return pa.array([values[i] for i in rng.integers(0, len(values), n)], pa.string())

    table = pa.table(
        {
            "marketplace": pick(["lazada", "shopee", "lazad"]),
            "country": pick(["MY", "TH", "SG", "M", "MYS"]),
            "order_number": pick(["1", "10", "2", "100"]),
            "source_item_id": pick(["7", "71", "8"]),
            "source_sku_id": pick(["5", None, "50"]),
            "source_spec_id": pick([None, "ab"]),
            "source_platform": pick(["taobao", "1688"]),
            "seller_sku": pick(["A", "B"]),
            "order_line_id": pick(["9", "90"]),  # few values: many full ties, kept in row order
        }
    )
    plain = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in SORT_KEYS]).to_numpy()
    assert np.array_equal(_sort_order(table), plain)


def _several_orders() -> list[dict]:
    skus = ("SKU-A", "SKU-B", "SKU-C", "SKU-2PK")
    return [line(str(i), f"O{i % 5}", skus[i % 4]) for i in range(20)]


def test_sink_gets_each_table_once_order_lines_first():
    """`purchase-sync plan` writes each table as soon as the sink gets it: order lines first
    (the longest to write), and what the sink gets is what map_and_group returns."""
    seen: list[tuple[str, object]] = []
    result = group(_several_orders(), sink=lambda name, frame: seen.append((name, frame)))
    assert [name for name, _ in seen] == ["order_lines", "purchase_lines", "purchases"]
    got = dict(seen)
    assert got["order_lines"].equals(result.order_lines)
    assert got["purchase_lines"].equals(result.purchase_lines)
    assert got["purchases"].equals(result.purchases)


def test_sink_gets_empty_tables_when_nothing_is_purchasable():
    seen: list[str] = []
    group([line("1", "O1", "SKU-A", status="delivered")], sink=lambda name, _: seen.append(name))
    assert seen == ["order_lines", "purchase_lines", "purchases"]


def test_ids_digested_per_run_of_rows_match_the_sorted_keys(monkeypatch):
    """The ids are digested beside the sort, once per run of rows of one order; orders whose
    rows are not together (O0, O1, ..., O0, ...) and the fallback from the sorted keys (used
    when that result is missing) give the same plan."""
    import transforms.grouping as grouping

    rows = _several_orders()  # 20 rows of 5 orders, interleaved: 20 runs
    by_runs = group(rows)
    monkeypatch.setattr(grouping, "_ids_by_order", lambda lines, rows: None)
    by_sorted_keys = group(rows)
    assert by_runs.purchases.equals(by_sorted_keys.purchases)
    assert by_runs.purchase_lines.equals(by_sorted_keys.purchase_lines)
    assert by_runs.order_lines.equals(by_sorted_keys.order_lines)
    result = by_runs
    assert len(result.purchases) == 5
    assert result.purchases["outer_purchase_id"].tolist() == [
        outer_purchase_id(m, c, o)
        for m, c, o in zip(
            result.purchases["marketplace"],
            result.purchases["country"],
            result.purchases["order_number"],
            strict=True,
        )
    ]
    bought = result.order_lines.dropna(subset=["outer_purchase_id"])
    assert all(
        i == outer_purchase_id("lazada", "MY", o)
        for i, o in zip(bought["outer_purchase_id"], bought["order_number"], strict=True)
    )


@pytest.mark.parametrize(
    ("ids", "unique"),
    [
        (["100000000000001", "100000000000002"], True),
        (["100000000000001", "100000000000001"], False),
        (["7", "07"], True),  # a leading zero: compared as text, not as the number 7
        (["1" * 19, "1" * 19], False),  # too long for int64: compared as text
        (["12A", "12A"], False),
        (["12A", "12B"], True),
    ],
)
def test_duplicate_line_ids_are_found_however_they_are_compared(ids, unique):
    from transforms.grouping import _ids_are_unique

    frame = lines_frame([line(i, f"O{n}") for n, i in enumerate(ids)])
    assert _ids_are_unique(frame) is unique

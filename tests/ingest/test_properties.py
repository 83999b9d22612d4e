"""Invariants that must hold for any input: row conservation, and grouping adds up."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.conftest import Plan, line, lines_table, map_row, reject, sku_map_table
from transforms import lazada, shopee, tiktok
from transforms.formats import match_header
from transforms.inputs import _trim
from transforms.normalise import normalise

MARKETPLACES = ("lazada", "shopee", "tiktok")
SKU_MAP = sku_map_table(
    [
        row
        for m in MARKETPLACES
        for row in (
            map_row("A", "718293045561", "5219384756012", marketplace=m),
            map_row("B", "718293045561", "5219384756013", marketplace=m),
            map_row("B2", "718293045561", "5219384756013", marketplace=m),  # B's supplier SKU
            map_row("C", "554456348334", None, platform="1688",
                    spec="b266e0726506185beaf205cbae88530d", multiplier=3, marketplace=m),
            map_row("P", status="pending", marketplace=m),
            map_row("A", country="TH", marketplace=m),
        )
    ]
)  # fmt: skip
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLANS = settings(PROPERTY, max_examples=25)  # each example runs the rules in DuckDB
LIVE = {"lazada": "pending", "shopee": "ready_to_ship", "tiktok": "awaiting_shipment"}
DEAD = {"lazada": "canceled", "shopee": "cancelled", "tiktok": "in_transit"}

line_spec = st.fixed_dictionaries(
    {
        "id": st.integers(0, 25),  # small range: copies of a line happen
        "marketplace": st.sampled_from(MARKETPLACES),
        "sku": st.sampled_from(["A", "B", "B2", "C", "P", "UNMAPPED"]),
        "live": st.booleans(),
        "quantity": st.integers(1, 3),
        "paid": st.sampled_from(["0.00", "9.90", "10.00", "125000.00"]),
        "day": st.sampled_from(
            ["2026-11-24 23:59", "2026-11-25 00:00", "2026-11-25 18:30", "2026-11-26 00:00"]
        ),
        "updated": st.sampled_from([None, "2026-11-26 08:00", "2026-11-26 09:00"]),
        "address": st.sampled_from(["No. 1 Jalan", "No. 2 Jalan", None]),
    }
)


def build(specs: list[dict]) -> list[dict]:
    """Lines from specs. A line id carries its own order, country and marketplace, as in reality
    (an order's lines may still disagree on the receiver: that is a rule's business)."""
    rows = []
    for s in specs:
        m = MARKETPLACES[s["id"] % 3]
        rows.append(
            line(
                str(s["id"]),
                f"O{s['id'] % 7}",
                s["sku"],
                marketplace=m,
                country="MY" if s["id"] % 2 else "TH",
                status=LIVE[m] if s["live"] else DEAD[m],
                quantity=s["quantity"],
                paid=s["paid"],
                local=s["day"],
                updated=s["updated"],
                receiver_address=s["address"],
            )
        )
    return rows


@PLANS
@given(
    specs=st.lists(line_spec, max_size=40),
    since=st.sampled_from([None, "2026-11-25"]),
    until=st.sampled_from([None, "2026-11-26"]),
    held=st.lists(st.integers(0, 6), max_size=2),
)
def test_row_conservation_and_grouping_add_up(specs, since, until, held):
    rows = build(specs)
    read_rejects = [reject(f"O{o}", marketplace="lazada", country=None, row=1000 + o) for o in held]
    r = Plan(rows, SKU_MAP, since=since, until=until, read_rejects=read_rejects)

    # every line ends exactly once: as an accepted line (any disposition) or a reject
    out_rows = r.order_lines["source_row"].to_pylist() + r.rule_rejects["source_row"].to_pylist()
    assert sorted(out_rows) == sorted(2 + i for i in range(len(rows)))

    bought = [x for x in r.order_lines.to_pylist() if x["disposition"] == "purchasable"]
    purchases, lines = r.purchases.to_pylist(), r.purchase_lines.to_pylist()
    assert sum(p["units"] for p in purchases) == sum(x["quantity"] for x in bought)
    assert sum(ln["units"] for ln in lines) == sum(x["quantity"] for x in bought)
    assert sum(p["quantity"] for p in purchases) == sum(ln["quantity"] for ln in lines)
    assert sum(ln["quantity"] for ln in lines) == sum(x["quantity"] * x["qty_multiplier"]
                                                      for x in bought)  # fmt: skip
    assert sum(p["revenue"] for p in purchases) == sum(
        (x["paid_price"] for x in bought), Decimal("0")
    )

    # each bought line is in exactly one purchase line, under its own purchase
    listed = Counter(i for ln in lines for i in ln["order_line_ids"])
    assert listed == Counter(x["order_line_id"] for x in bought)
    keys = {(ln["outer_purchase_id"], ln["order_line_no"]) for ln in lines}
    assert {(x["outer_purchase_id"], x["order_line_no"]) for x in bought} <= keys
    assert {x["outer_purchase_id"] for x in bought} == {p["outer_purchase_id"] for p in purchases}

    # line numbers are 1..n within each purchase; one purchase per order
    numbers: dict[str, list[int]] = {}
    for ln in lines:
        numbers.setdefault(ln["outer_purchase_id"], []).append(int(ln["order_line_no"]))
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in numbers.values())
    assert len({p["outer_purchase_id"] for p in purchases}) == len(purchases)

    # no purchase for an order that lost a line, held upstream, or names two receivers
    lost = {(x["marketplace"], x["country"], x["order_number"]) for x in r.rule_rejects.to_pylist()}
    bought_orders = {(p["marketplace"], p["country"], p["order_number"]) for p in purchases}
    assert not lost & bought_orders
    assert not {("lazada", o) for o in (f"O{h}" for h in held)} & {
        (m, o) for m, _, o in bought_orders}  # fmt: skip
    for p in purchases:  # the receiver is every bought line's receiver
        addresses = {x["receiver_address"] for x in bought if x["outer_purchase_id"] == p["outer_purchase_id"]}  # fmt: skip
        assert addresses == {p["receiver_address"]}

    # only purchasable statuses are bought
    assert {(x["marketplace"], x["status"]) for x in bought} <= set(LIVE.items())


@PLANS
@given(specs=st.lists(line_spec, min_size=1, max_size=25), seed=st.integers(0, 2**16))
def test_plan_does_not_depend_on_row_order(specs, seed):
    """Reading the same rows in another order (other file order, say) plans the same."""
    rows = [dict(r, source_row=2 + i) for i, r in enumerate(build(specs))]
    shuffled = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
    a = Plan(lines_table(rows, keep_rows=True), SKU_MAP)
    b = Plan(lines_table(shuffled, keep_rows=True), SKU_MAP)
    assert a.purchases.equals(b.purchases)
    assert a.purchase_lines.equals(b.purchase_lines)


cell = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", "=1+1", "-3", "+60 12", "@x", "12,90", "42.90", "2", "0", "31 Feb 2026 10:00",
         "14 Mar 2026 09:12", "2026-03-14 09:12", "14/03/2026 09:12:33", "pending", "To ship",
         "Awaiting shipment", "bogus", "1.5E+14", "212345678911234", "3069252927_MY-15298395971",
         "1_XX-2", "Malaysia", "MY", "Thailand", "สมุทรปราการ/ Samut Prakan"]
    ),
    st.text(max_size=8),
)  # fmt: skip
HEADERS = {  # a few columns of each format, with the cells above thrown at them
    lazada.READER: ["orderItemId", "orderNumber", "sellerSku", "lazadaSku", "createTime",
                    "updateTime", "status", "paidPrice", "unitPrice", "itemName", "shippingName",
                    "shippingAddress", "shippingPhone", "shippingPostCode", "shippingCountry"],
    shopee.READER: ["Order ID", "Order Status", "Order Creation Date", "SKU Reference No.",
                    "Parent SKU Reference No.", "Deal Price", "Quantity", "Receiver Name",
                    "Phone Number", "Country", "Zip Code"],
    tiktok.READER: ["Order ID", "Order Status", "Order Substatus", "SKU ID", "Seller SKU",
                    "Quantity", "SKU Subtotal After Discount", "Created Time", "Recipient",
                    "Phone #", "Country"],
}  # fmt: skip


@PROPERTY
@given(
    reader=st.sampled_from(list(HEADERS)),
    data=st.data(),
    malformed=st.lists(st.integers(100, 200), max_size=3, unique=True),
)
def test_every_row_is_a_line_or_a_reject_whatever_the_cells(reader, data, malformed):
    header = HEADERS[reader]
    rows = data.draw(st.lists(st.fixed_dictionaries({c: cell for c in header}), max_size=25))
    table = _trim(pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in header}))
    numbers = np.arange(2, 2 + len(rows), dtype=np.int64)
    match = match_header(reader.format, header)
    lines, rejects = normalise(
        reader, match, table, numbers, "f.csv", [(n, "x") for n in malformed]
    )
    got = sorted(lines["source_row"].to_pylist() + rejects["source_row"].to_pylist())
    assert got == sorted([*numbers.tolist(), *malformed])
    assert all(r["reason_code"] and r["reason"] for r in rejects.to_pylist())


@PROPERTY
@given(
    cells=st.lists(
        st.one_of(
            st.none(), st.text(alphabet=" \t\x1c\u0085\u00a0\u3000\u2009xé9กง/-", max_size=6)
        ),
        max_size=40,
    )
)
def test_cells_are_trimmed_and_blank_ones_are_null(cells):
    spaces = " \t\x1c\u0085\u00a0\u3000\u2009"
    trimmed = [None if v is None else v.strip(spaces) for v in cells]
    got = _trim(pa.table({"c": pa.array(cells, pa.string())}))["c"].to_pylist()
    assert got == [v or None for v in trimmed]

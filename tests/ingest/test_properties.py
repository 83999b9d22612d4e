"""Invariants that must hold for any input: row conservation, and grouping adds up."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import outer_purchase_id
from tests.ingest.conftest import line, lines_frame, map_row, records, sku_map_frame
from transforms.grouping import map_and_group, purchase_ids, to_planned_purchases
from transforms.inputs import _strip
from transforms.lazada import normalise

SKU_MAP = sku_map_frame(
    [
        map_row("A", "718293045561", "5219384756012"),
        map_row("B", "718293045561", "5219384756013"),
        map_row("B2", "718293045561", "5219384756013"),  # same supplier SKU as B
        map_row(
            "C",
            "554456348334",
            None,
            platform="1688",
            spec="b266e0726506185beaf205cbae88530d",
            multiplier=3,
        ),
        map_row("P", status="pending"),
        map_row("A", country="TH"),
    ]
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

line_spec = st.fixed_dictionaries(
    {
        "id": st.integers(0, 25),  # small range: duplicate line ids happen
        "sku": st.sampled_from(["A", "B", "B2", "C", "P", "UNMAPPED"]),
        "status": st.sampled_from(["pending", "ready_to_ship", "canceled", "shipped"]),
        "paid": st.sampled_from(["0.00", "9.90", "10.00", "125000.00"]),
        "day": st.sampled_from(
            ["2026-11-24 23:59", "2026-11-25 00:00", "2026-11-25 18:30", "2026-11-26 00:00"]
        ),
        "updated": st.sampled_from([None, "2026-11-26 08:00", "2026-11-26 09:00"]),
        "address": st.sampled_from(["No. 1 Jalan", None]),
    }
)


def build(specs: list[dict]) -> list[dict]:
    """Lines from specs. A line id always carries its own order and country, as in reality."""
    rows = []
    for s in specs:
        order = f"O{s['id'] % 7}"
        country = "MY" if s["id"] % 2 else "TH"
        rows.append(
            line(
                str(s["id"]),
                order,
                s["sku"],
                country=country,
                status=s["status"],
                paid=s["paid"],
                local=s["day"],
                updated=s["updated"],
                receiver_address=s["address"],
            )
        )
    return rows


@PROPERTY
@given(
    specs=st.lists(line_spec, max_size=40),
    since=st.sampled_from([None, "2026-11-25"]),
    until=st.sampled_from([None, "2026-11-26"]),
    held=st.lists(st.sampled_from([f"O{i}" for i in range(7)]), max_size=2),
)
def test_row_conservation_and_grouping_add_up(specs, since, until, held):
    rows = build(specs)
    frame = lines_frame(rows)
    r = map_and_group(frame, SKU_MAP, since=since, until=until, held_orders=held)

    # every input row ends exactly once: as an accepted line (any disposition) or a reject
    out_rows = list(r.order_lines["source_row"]) + list(r.rejects["source_row"])
    assert sorted(out_rows) == sorted(frame["source_row"])

    bought = r.order_lines[r.order_lines["disposition"] == "purchasable"]
    assert int(r.purchases["units"].sum()) == len(bought)
    assert int(r.purchase_lines["units"].sum()) == len(bought)
    assert int(r.purchases["quantity"].sum()) == int(r.purchase_lines["quantity"].sum())
    assert int(r.purchase_lines["quantity"].sum()) == int(bought["qty_multiplier"].sum())
    assert sum(Decimal(str(v)) for v in r.purchases["revenue"]) == sum(
        Decimal(str(v)) for v in bought["paid_price"]
    )

    # each purchasable line is in exactly one purchase line, under its own purchase
    listed = Counter(i for ids in r.purchase_lines["order_line_ids"] for i in ids)
    assert listed == Counter(bought["order_line_id"])
    keys = set(
        zip(r.purchase_lines["outer_purchase_id"], r.purchase_lines["order_line_no"], strict=True)
    )
    assert set(zip(bought["outer_purchase_id"], bought["order_line_no"], strict=True)) <= keys
    assert set(bought["outer_purchase_id"]) == set(r.purchases["outer_purchase_id"])

    # line numbers are 1..n within each purchase; one purchase per order
    for _, numbers in r.purchase_lines.groupby("outer_purchase_id")["order_line_no"]:
        assert sorted(int(n) for n in numbers) == list(range(1, len(numbers) + 1))
    assert r.purchases["outer_purchase_id"].is_unique

    # no purchase for an order that lost a row to the rejects or was held upstream
    rejected_orders = set(r.rejects["order_number"]) | set(held)
    assert not rejected_orders & set(r.purchases["order_number"])

    # only purchasable statuses are bought
    assert set(bought["status"]) <= {"pending", "ready_to_ship"}


@PROPERTY
@given(specs=st.lists(line_spec, min_size=1, max_size=25), seed=st.integers(0, 2**16))
def test_plan_does_not_depend_on_row_order(specs, seed):
    """Reading the same rows in another order (other file order, say) plans the same."""
    rows = [dict(r, source_row=2 + i) for i, r in enumerate(build(specs))]
    shuffled = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
    a = map_and_group(lines_frame(rows, keep_rows=True), SKU_MAP)
    b = map_and_group(lines_frame(shuffled, keep_rows=True), SKU_MAP)
    hashes_a = sorted(p.payload_hash() for p in to_planned_purchases(a.purchases, a.purchase_lines))
    hashes_b = sorted(p.payload_hash() for p in to_planned_purchases(b.purchases, b.purchase_lines))
    assert hashes_a == hashes_b


cell = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "=1+1",
            "-3",
            "+60 12",
            "@x",
            "12,90",
            "42.90",
            "31 Feb 2026 10:00",
            "14 Mar 2026 09:12",
            "pending",
            "Ready to ship",
            "bogus",
            "1.5E+14",
            "212345678911234",
            "3069252927_MY-15298395971",
            "1_XX-2",
            "Malaysia",
            "Thailand",
            "สมุทรปราการ/ Samut Prakan",
        ]
    ),
    st.text(max_size=8),
)
COLUMNS = ["orderItemId", "orderNumber", "sellerSku", "lazadaSku", "createTime", "updateTime",
           "status", "paidPrice", "unitPrice", "itemName", "shippingName", "shippingAddress",
           "shippingAddress3", "shippingPhone", "shippingPostCode", "shippingCountry"]  # fmt: skip


@PROPERTY
@given(
    rows=st.lists(st.fixed_dictionaries({c: cell for c in COLUMNS}), max_size=30),
    malformed=st.lists(st.integers(100, 200), max_size=3, unique=True),
)
def test_normalise_conserves_rows_whatever_the_cells(rows, malformed):
    table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS})
    table = pa.table({c: _blank_to_null(table[c]) for c in COLUMNS})
    numbers = np.arange(2, 2 + len(rows), dtype=np.int64)
    lines, rejects = normalise(table, numbers, "f.csv", [(n, "x") for n in malformed])
    got = sorted(lines["source_row"].to_pylist() + rejects["source_row"].to_pylist())
    assert got == sorted([*numbers.tolist(), *malformed])
    for rec in records(rejects.to_pandas()):
        assert rec["reason_code"] and rec["reason"]


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The readers turn blank cells into nulls before normalise sees them."""
    values = [None if v is None or not v.strip() else v.strip() for v in column.to_pylist()]
    return pa.chunked_array([pa.array(values, pa.string())])


@PROPERTY
@given(
    orders=st.lists(
        st.tuples(
            st.sampled_from(["lazada", "Lazada", "shopee", "tiktok"]),
            st.sampled_from(["MY", "sg", "TH"]),
            st.text(alphabet="0123456789ABCxyzé", min_size=1, max_size=20),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_vectorised_purchase_ids_equal_the_shared_function(orders):
    columns = [pa.array(list(c), pa.string()) for c in zip(*orders, strict=True)]
    assert purchase_ids(*columns).to_pylist() == [outer_purchase_id(*o) for o in orders]


def test_purchase_ids_defer_to_the_function_when_it_changes(monkeypatch):
    monkeypatch.setattr("transforms.grouping.outer_purchase_id", lambda m, c, o: f"NEW-{c}-{o}")
    ids = purchase_ids(pa.array(["lazada"] * 3), pa.array(["MY"] * 3), pa.array(["1", "2", "3"]))
    assert ids.to_pylist() == ["NEW-MY-1", "NEW-MY-2", "NEW-MY-3"]


@PROPERTY
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.text(
                alphabet=" \t\x1c\u0085\u00a0\u1680\u2028\u205f\u3000\u2009xé9กง“Ấ/-",
                max_size=6,
            ),
        ),
        max_size=40,
    ),
    cut=st.integers(0, 40),
)
def test_strip_is_trim_then_blank_to_null(cells, cut):
    """The end-byte shortcut in `_strip` never changes what a full trim would give."""
    whole = pa.array(cells, pa.string())  # slices: chunks with a non-zero offset
    column = pa.chunked_array([whole.slice(0, cut), whole.slice(cut)], pa.string())
    spaces = " \t\x1c\u0085\u00a0\u1680\u2028\u205f\u3000\u2009"
    trimmed = [None if v is None else v.strip(spaces) for v in cells]
    assert _strip(column).to_pylist() == [v or None for v in trimmed]


def test_strip_knows_every_character_arrow_trims():
    """`_scan_ends` skips columns whose end bytes cannot be whitespace: its byte tables must
    cover every code point utf8_trim_whitespace removes (checked on this pyarrow)."""
    import pyarrow.compute as pc

    from transforms.inputs import _WS_FIRST, _WS_LAST

    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.binary_length(pc.utf8_trim_whitespace(pa.array([chr(c) for c in points])))
    spaces = [chr(c).encode() for c, n in zip(points, trimmed.to_pylist(), strict=True) if n == 0]
    assert len(spaces) > 20
    for encoded in spaces:
        assert _WS_FIRST[encoded[0]] and _WS_LAST[encoded[-1]], encoded

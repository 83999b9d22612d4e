"""Purchase identity, payload and payload hash: one definition each (schemas.payload)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.payload import from_json, to_json
from schemas.payload import planned_payload_hashes, purchase_ids
from schemas.records import PlannedLine, PlannedPurchase, Receiver, outer_purchase_id
from tests.ingest.conftest import SAMPLES, Plan, line, map_row, sku_map_table
from transforms import ingest, to_planned_purchases

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PURCHASE = PlannedPurchase(
    outer_purchase_id="PS-LAMY-212345678901234-a1f33d51827b",
    marketplace="lazada",
    country="MY",
    order_number="212345678901234",
    ordered_at=dt.datetime(2026, 3, 14, 1, 12, tzinfo=dt.UTC),
    currency="MYR",
    receiver=Receiver(
        "Nur Aisyah Kamal",
        "60123456780",
        "Malaysia",
        "Selangor",
        "Shah Alam",
        "Seksyen 7",
        "No. 12, Jalan Mawar 3/2",
        "40000",
    ),
    lines=(
        PlannedLine(
            "1",
            "taobao",
            "718293045561",
            "5219384756012",
            "",
            2,
            "BAG-TOTE-BLK",
            "Canvas Tote Bag",
            ("212345678911234", "212345678921234"),
            Decimal("85.80"),
        ),
        PlannedLine(
            "2",
            "1688",
            "554456348334",
            "",
            "b266e0726506185beaf205cbae88530d",
            1,
            "TS-RED-M",
            "",
            ("212345678931234",),
            Decimal("19.90"),
        ),
    ),
    revenue=Decimal("105.70"),
)


def sample_run():
    inputs = [str(SAMPLES / p) for p in ("lazada_*.csv", "shopee_*", "tiktok_*")]
    return ingest(inputs, sku_map=SAMPLES / "sku_map.csv")


@pytest.fixture(scope="module")
def samples():
    return sample_run()


def test_the_hash_is_sha256_of_the_documented_canonical_text():
    """A change to what is hashed, or to how the text is written, changes every stored hash
    (the ledger would flag every order as changed): it must be a decision, not an accident."""
    ids = [json.dumps(list(ln.order_line_ids), separators=(",", ":")) for ln in PURCHASE.lines]
    r = PURCHASE.receiver
    text = json.dumps(
        ["purchase-payload-v1", PURCHASE.outer_purchase_id, "lazada", "MY", "212345678901234",
         r.name, r.phone, r.country, r.state, r.city, r.district, r.address, r.zip,
         [[ln.order_line_no, ln.source_platform, ln.source_item_id, ln.source_sku_id,
           ln.source_spec_id, str(ln.quantity), ln.seller_sku, ln.title, i]
          for ln, i in zip(PURCHASE.lines, ids, strict=True)]],
        ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip
    assert PURCHASE.payload_hash() == hashlib.sha256(text.encode()).hexdigest()


def test_on_the_samples_the_column_is_each_purchases_own_hash_and_payload(samples):
    planned = to_planned_purchases(samples.purchases, samples.purchase_lines)
    assert {p.marketplace for p in planned} == {"lazada", "shopee", "tiktok"}
    # the records carry the column's value: recompute each one alone, by the one-row path
    assert samples.purchases["payload_hash"].to_pylist() == [
        planned_payload_hashes([p])[0] for p in planned
    ]
    assert [p.payload_hash() for p in planned] == samples.purchases["payload_hash"].to_pylist()
    payloads = samples.purchases["payload"].to_pylist()
    assert [from_json(text) for text in payloads] == planned
    assert payloads == [to_json(p) for p in planned]  # byte for byte, as the ledger writes it


def test_a_changed_copy_does_not_keep_the_old_hash():
    PURCHASE.payload_hash()
    changed = dataclasses.replace(PURCHASE, order_number="212345678901235")
    assert changed.payload_hash() == planned_payload_hashes([changed])[0] != PURCHASE.payload_hash()


def test_the_hash_ignores_money_and_time_but_not_what_is_sent():
    same = [
        dataclasses.replace(PURCHASE, revenue=Decimal("1.00")),
        dataclasses.replace(PURCHASE, currency="SGD"),
        dataclasses.replace(PURCHASE, ordered_at=dt.datetime(2026, 3, 15, tzinfo=dt.UTC)),
        dataclasses.replace(PURCHASE, lines=tuple(
            dataclasses.replace(ln, revenue=Decimal("0.01")) for ln in PURCHASE.lines)),
        dataclasses.replace(PURCHASE, lines=PURCHASE.lines[::-1]),  # line order is by number
    ]  # fmt: skip
    assert {p.payload_hash() for p in same} == {PURCHASE.payload_hash()}
    first = PURCHASE.lines[0]
    different = [
        dataclasses.replace(PURCHASE, receiver=dataclasses.replace(PURCHASE.receiver, zip="40001")),
        dataclasses.replace(PURCHASE, receiver=dataclasses.replace(PURCHASE.receiver, name="N. A. Kamal")),
        *(dataclasses.replace(PURCHASE, lines=(dataclasses.replace(first, **change), *PURCHASE.lines[1:]))
          for change in ({"quantity": 3}, {"source_sku_id": "5219384756013"}, {"title": "Tote"},
                         {"seller_sku": "BAG-TOTE-GRY"}, {"order_line_ids": ("212345678911234",)},
                         {"source_spec_id": "x"}, {"source_platform": "1688"})),
        dataclasses.replace(PURCHASE, order_number="212345678901235"),
    ]  # fmt: skip
    hashes = {p.payload_hash() for p in different}
    assert PURCHASE.payload_hash() not in hashes and len(hashes) == len(different)


def test_separators_in_values_cannot_make_two_payloads_alike():
    a = dataclasses.replace(
        PURCHASE, receiver=dataclasses.replace(PURCHASE.receiver, state='a","b')
    )
    b = dataclasses.replace(PURCHASE, receiver=dataclasses.replace(PURCHASE.receiver, state="a",
                                                                   city='b","Shah Alam'))  # fmt: skip
    assert a.payload_hash() != b.payload_hash()


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
line_spec = st.fixed_dictionaries(
    {
        "order": st.integers(0, 4),
        "sku": st.sampled_from(["A", "B", "C", "2PK"]),
        "quantity": st.integers(1, 4),
        "paid": st.sampled_from(["0.00", "9.90", "125000.00"]),
        "title": st.one_of(st.none(), text),
        "name": text.filter(lambda s: s.strip() != ""),
        "address": text.filter(lambda s: s.strip() != ""),
        "phone": st.one_of(st.none(), text),
        "marketplace": st.sampled_from(["lazada", "shopee", "tiktok"]),
    }
)
MAP = sku_map_table(
    [
        map_row(sku, item, sku_id, marketplace=m, platform=platform, spec=spec, multiplier=mult)
        for m in ("lazada", "shopee", "tiktok")
        for sku, item, sku_id, platform, spec, mult in (
            ("A", "718293045561", "5219384756012", "taobao", None, 1),
            ("B", "718293045561", "5219384756013", "taobao", None, 1),
            ("C", "554456348334", None, "1688", "b266e0726506185beaf205cbae88530d", 1),
            ("2PK", "612345678901", "4951323355700", "1688", None, 2),
        )
    ]
)
STATUS = {"lazada": "pending", "shopee": "ready_to_ship", "tiktok": "awaiting_shipment"}


@PROPERTY
@given(st.lists(line_spec, min_size=1, max_size=20, unique_by=lambda s: (s["order"], s["sku"])))
def test_vectorised_columns_equal_the_one_row_definition_on_any_purchases(specs):
    """Many purchases at once (the ingest's column) give what each purchase gives alone."""
    rows = []
    for s in specs:  # an order's receiver and marketplace are those of its first line
        head = next(x for x in specs if x["order"] == s["order"])
        rows.append(line(f"L{s['order']}-{s['sku']}", f"O{s['order']}", s["sku"],
                         marketplace=head["marketplace"], status=STATUS[head["marketplace"]],
                         quantity=s["quantity"], paid=s["paid"], item_name=s["title"],
                         receiver_name=head["name"], receiver_address=head["address"],
                         receiver_phone=head["phone"]))  # fmt: skip
    r = Plan(rows, MAP)
    planned = to_planned_purchases(r.purchases, r.purchase_lines)
    assert r.purchases["payload_hash"].to_pylist() == [
        planned_payload_hashes([p])[0] for p in planned
    ]
    assert [from_json(t) for t in r.purchases["payload"].to_pylist()] == planned


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["lazada", "Lazada", "shopee", "tiktok"]),
            st.sampled_from(["MY", "sg", "TH"]),
            st.text(alphabet="0123456789ABCxyzé|", min_size=1, max_size=20),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_outer_purchase_ids_are_unchanged(orders):
    """The id every earlier run used: PS-<MA><CC>-<order>-<sha256("ma|CC|order")[:12]>."""

    def before(marketplace: str, country: str, order_number: str) -> str:
        key = f"{marketplace.lower()}|{country.upper()}|{order_number}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return f"PS-{marketplace[:2].upper()}{country.upper()}-{order_number}-{digest}"

    columns = [pa.array(list(c), pa.string()) for c in zip(*orders, strict=True)]
    assert purchase_ids(*columns).to_pylist() == [before(*o) for o in orders]
    assert [outer_purchase_id(*o) for o in orders] == [before(*o) for o in orders]

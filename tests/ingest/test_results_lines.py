"""results.parquet rows from the ingest's order lines: each marketplace line's own quantity
(x the SKU map's multiplier) and revenue, not the purchase line's totals spread evenly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import Ledger
from purchase_sync.submit.results import results_frame
from tests.ingest.conftest import Plan, line, map_row, sku_map_table
from transforms import to_planned_purchases


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    led.create_schema()
    yield led
    led.close()


@pytest.mark.parametrize("marketplace", ["shopee", "tiktok"])
def test_each_row_has_its_own_lines_quantity_and_revenue(ledger, marketplace):
    # a single and a 2-pack of one supplier SKU, bought 3 and 2 times: one purchase line of
    # 3 x 1 + 2 x 2 = 7 supplier units
    status = {"shopee": "ready_to_ship", "tiktok": "awaiting_shipment"}[marketplace]
    rows = [
        line("O1:ONE", "O1", "ONE", marketplace=marketplace, status=status, quantity=3,
             paid="30.00"),
        line("O1:TWO", "O1", "TWO", marketplace=marketplace, status=status, quantity=2,
             paid="45.50"),
    ]  # fmt: skip
    one = map_row("ONE", marketplace=marketplace)
    two = map_row("TWO", marketplace=marketplace, multiplier=2)
    sku_map = sku_map_table([one, two])
    plan = Plan(rows, sku_map)
    assert plan.purchase_lines["quantity"].to_pylist() == [7]
    purchases = to_planned_purchases(plan.purchases, plan.purchase_lines)

    df = results_frame(ledger, purchases, "r1", order_lines=plan.order_lines)
    got = dict(zip(df["order_line_id"], zip(df["quantity"], df["revenue"], strict=True),
                   strict=True))  # fmt: skip
    assert got == {"O1:ONE": (3, Decimal("30.00")), "O1:TWO": (4, Decimal("45.50"))}

    # without the order lines (records read back from the ledger): the totals, spread evenly
    spread = results_frame(ledger, purchases, "r1")
    assert spread["quantity"].sum() == 7 and sum(spread["revenue"]) == Decimal("75.50")

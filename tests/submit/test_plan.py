"""Pure rules of the submit stage: SKU matching, prices, margin, create body, error states."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ledger import CacheEntry, State
from purchase_sync.submit import SubmitSettings, amount_to_fen
from purchase_sync.submit.plan import (
    FX_RATE_MISSING,
    MARGIN_HELD,
    SKU_NOT_DISTRIBUTABLE,
    SKU_NOT_FOUND,
    Plan,
    Rejected,
    create_request,
    margin_verdict,
    plan_purchase,
)
from purchase_sync.submit.stages import created_outcome, error_outcome
from schemas.errors import UserError
from shanjing import (
    AuthError,
    BusinessError,
    CreateResult,
    HTTPStatusError,
    MalformedResponseError,
    RateLimitedError,
    ReauthorizationRequired,
    TransportError,
)

from .factories import line, purchase

ITEM = CacheEntry(
    "taobao",
    "718293045561",
    "ok",
    "767086926830457449",
    {
        "supplier": "sbx-supplier-001",
        "skus": [
            {
                "sku_id": "5219384756012",
                "spec_id": None,
                "mp_sku_id": "8623797677151",
                "price": 331,
            },
            {"sku_id": "5219384756013", "spec_id": None, "mp_sku_id": None, "price": 6929},
        ],
    },
    0.0,
)
ITEM_1688 = CacheEntry(
    "1688",
    "554456348334",
    "ok",
    "818719165406988882",
    {
        "supplier": "s3",
        "skus": [
            {
                "sku_id": "4951323355633",
                "spec_id": "b266e0726506185beaf205cbae88530d",
                "mp_sku_id": "7689757684789",
                "price": 1067,
            }
        ],
    },
    0.0,
)
ITEMS = {("taobao", "718293045561"): ITEM, ("1688", "554456348334"): ITEM_1688}


def _plan(p) -> Plan:
    out = plan_purchase(p, ITEMS)
    assert isinstance(out, Plan)
    return out


def test_lines_are_priced_on_the_supplier_side_in_fen() -> None:
    p = purchase(
        "1",
        (
            line(1, quantity=3, revenue="99.90"),
            line(2, "554456348334", "", platform="1688", spec="b266e0726506185beaf205cbae88530d"),
        ),
    )
    plan = _plan(p)
    assert [(q.mp_sku_id, q.unit_price_fen) for q in plan.lines] == [
        ("8623797677151", 331),
        ("7689757684789", 1067),
    ]
    assert plan.amount_fen == 3 * 331 + 1067


@pytest.mark.parametrize(
    ("ln", "code"),
    [
        (line(1, sku="5219384756013"), SKU_NOT_DISTRIBUTABLE),
        (line(1, sku="999"), SKU_NOT_FOUND),
    ],
)
def test_undistributable_or_unknown_skus_are_rejected(ln, code) -> None:
    out = plan_purchase(purchase("1", (ln,)), ITEMS)
    assert isinstance(out, Rejected) and out.code == code


def test_item_not_in_pool_rejects_and_unresolved_item_defers() -> None:
    items = {("taobao", "1"): CacheEntry("taobao", "1", "ITEM_NOT_IN_POOL", None, {}, 0.0)}
    out = plan_purchase(purchase("1", (line(1, "1", "2"),)), items)
    assert isinstance(out, Rejected) and out.code == "ITEM_NOT_IN_POOL"
    assert plan_purchase(purchase("1", (line(1, "3", "4"),)), items) is None


def test_margin_hold_uses_fx_and_the_margin_setting() -> None:
    # cost 3 x 3.31 = 9.93 CNY; revenue 6.00 MYR x 1.55 = 9.30 CNY
    plan = _plan(purchase("1", (line(1, quantity=3, revenue="6.00"),)))
    held = margin_verdict(plan, SubmitSettings())
    assert held is not None and held.code == MARGIN_HELD and "9.93 CNY" in held.message
    assert margin_verdict(plan, SubmitSettings(max_cost_over_revenue="0.10")) is None
    assert margin_verdict(plan, SubmitSettings(max_cost_over_revenue=None)) is None
    eur = dataclasses.replace(plan, purchase=dataclasses.replace(plan.purchase, currency="EUR"))
    assert margin_verdict(eur, SubmitSettings()).code == FX_RATE_MISSING


def test_create_body_carries_marketplace_identity_and_supplier_prices() -> None:
    p = purchase("212345678901234", (line(1, quantity=2, revenue="80.00"),))
    body = create_request(_plan(p), SubmitSettings()).to_body()
    assert body["outer_purchase_id"] == p.outer_purchase_id
    assert body["seller_order_number"] == "212345678901234"
    assert body["order_source"] == "lazada"
    assert body["purchase_amount"] == 662
    assert body["receiver"]["name"] == "Siti Test"
    assert body["warehouse_address_info"]["city"] == "广州市"
    lines = json.loads(body["order_line_list"])
    assert lines == [
        {
            "itemId": 767086926830457449,
            "skuId": 8623797677151,
            "productId": 718293045561,
            "orderLineNo": "1",
            "quantity": "2",
            "price": 331,
            "currency": "CNY",
            "title": "item 718293045561",
        }
    ]
    assert '"itemId":767086926830457449' in body["order_line_list"]  # digit-exact
    wh = create_request(_plan(p), SubmitSettings(receiver_mode="warehouse")).to_body()
    assert wh["receiver"] == wh["warehouse_address_info"]


def test_settings_parse_amounts_exactly_and_load_toml(tmp_path, monkeypatch) -> None:
    assert amount_to_fen("5000.00") == 500000
    assert amount_to_fen("0.1") == 10
    with pytest.raises(UserError):
        amount_to_fen("1.005")
    assert SubmitSettings(max_amount="5000.00").max_amount_fen == 500000
    cfg = tmp_path / "ps.toml"
    cfg.write_text(
        '[submit]\nmax_concurrency = 16\nmax_amount = "1234.56"\nmax_cost_over_revenue = 0.15\n'
        'fx_to_cny = { myr = 1.6 }\n[submit.warehouse]\nname = "WH"\ncity = "深圳市"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PURCHASE_SYNC_CONFIG", str(cfg))
    s = SubmitSettings.load(max_concurrency=8)
    assert s.max_concurrency == 8 and s.max_amount_fen == 123456
    assert s.max_cost_over_revenue == Decimal("0.15")
    assert s.fx_to_cny["MYR"] == Decimal("1.6") and s.fx_to_cny["SGD"] == Decimal("5.40")
    assert s.warehouse.city == "深圳市" and s.warehouse.name == "WH"
    cfg.write_text("[submit]\nmax_concurency = 1\n", encoding="utf-8")
    with pytest.raises(UserError, match="max_concurency"):
        SubmitSettings.load()


@pytest.mark.parametrize(
    ("exc", "state"),
    [
        (BusinessError("create", "r", "no stock", code="SKU_UNAVAILABLE"), State.FAILED),
        (RateLimitedError("create", "r", "429", retry_after=1.0), State.PLANNED),
        (AuthError("create", "r", "rejected"), State.PLANNED),
        (ReauthorizationRequired("create", "r"), State.PLANNED),
        (TransportError("create", "r", "refused", possibly_received=False), State.PLANNED),
        (TransportError("create", "r", "reset", possibly_received=True), State.UNKNOWN),
        (MalformedResponseError("create", "r", "not json"), State.UNKNOWN),
        (HTTPStatusError("create", "r", "502", status_code=502, retryable=False), State.UNKNOWN),
        (TimeoutError(), State.UNKNOWN),
        (RuntimeError("bug"), State.UNKNOWN),
    ],
)
def test_failed_create_states(exc, state) -> None:
    """Only proof that nothing was processed may put a purchase back to planned."""
    out = error_outcome(_plan(purchase("1")), exc)
    assert out.state is state
    if state is State.FAILED:
        assert out.error_code == "SKU_UNAVAILABLE"


def test_partial_answer_is_flagged() -> None:
    p = purchase("1", (line(1), line(2, "554456348334", "4951323355633", platform="1688")))
    plan = _plan(p)
    result = CreateResult.model_validate(
        {
            "outerPurchaseId": p.outer_purchase_id,
            "paymentUrl": "https://pay",
            "orderList": [
                {
                    "purchaseId": 3560000000000000123,
                    "supplierNick": "s1",
                    "orderLineList": [
                        {
                            "itemId": "767086926830457449",
                            "skuId": 8623797677151,
                            "subPurchaseOrderId": 2912066688476065752,
                            "estimateAmount": 331,
                        }
                    ],
                }
            ],
        }
    )
    out = created_outcome(plan, result)
    assert out.state is State.CREATED and out.error_code == "PARTIAL"
    assert out.purchase_ids == ("3560000000000000123",)
    first = out.lines[0]
    assert (first.order_line_no, first.sub_purchase_order_id) == ("1", "2912066688476065752")
    assert out.lines[1].sub_purchase_order_id is None


def test_the_documented_toml_example_loads(tmp_path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "submit.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = tmp_path / "submit.toml"
    cfg.write_text(example, encoding="utf-8")
    s = SubmitSettings.load(cfg)
    assert s.max_amount_fen == 500000 and s.receiver_mode == "warehouse"
    assert s.fx_to_cny["MYR"] == Decimal("1.52") and s.warehouse.name == "Example Forwarder GZ"
    assert SubmitSettings(max_cost_over_revenue="off").max_cost_over_revenue is None

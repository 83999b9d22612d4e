"""Response parsing tolerates both key spellings; requests come out digit-for-digit exact."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shanjing.models import (
    Address,
    CreatedLine,
    CreateOrderRequest,
    CreateResult,
    OrderLine,
    OrderQueryPage,
    Product,
    RenderItem,
    RenderResult,
    TokenInfo,
    parse_bool,
    snake_key,
)

BIG_MP = "600068435000185140"  # > 2^53
BIG_SKU = 2912066688476065752  # 19 digits, > 2^53
PRODUCT_CAMEL = {
    "itemId": 718293045561,
    "mpId": BIG_MP,
    "title": "t",
    "shopName": "shop",
    "userNick": "nick",
    "price": 2300,
    "quantity": 120,
    "status": "normal",
    "picUrls": ["https://x"],
    "skuList": [
        {
            "skuId": 5219384756012,
            "specId": None,
            "mpSkuId": BIG_SKU,
            "price": 2300,
            "quantity": 40,
            "status": "normal",
            "properties": [{"propId": 1627207, "propName": "颜色分类", "valueId": 28320}],
        }
    ],
}
PRODUCT_SNAKE = {
    "item_id": 718293045561,
    "mp_id": BIG_MP,
    "title": "t",
    "shop_name": "shop",
    "user_nick": "nick",
    "price": 2300,
    "quantity": 120,
    "status": "normal",
    "pic_urls": ["https://x"],
    "sku_list": [
        {
            "sku_id": 5219384756012,
            "spec_id": None,
            "mp_skuId": BIG_SKU,  # the upstream's own odd spelling
            "price": 2300,
            "quantity": 40,
            "status": "normal",
            "properties": [{"prop_id": 1627207, "prop_name": "颜色分类", "value_id": 28320}],
        }
    ],
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("mpSkuId", "mp_sku_id"),
        ("mp_skuId", "mp_sku_id"),
        ("mp_sku_id", "mp_sku_id"),
        ("user_Id", "user_id"),
        ("render_item_List", "render_item_list"),
        ("subPurchaseOrderId", "sub_purchase_order_id"),
        ("success", "success"),
    ],
)
def test_snake_key(key: str, expected: str) -> None:
    assert snake_key(key) == expected


def test_product_parses_identically_from_both_key_styles() -> None:
    camel, snake = Product.model_validate(PRODUCT_CAMEL), Product.model_validate(PRODUCT_SNAKE)
    assert camel.model_dump() == snake.model_dump()
    assert camel.mp_id == BIG_MP
    assert camel.item_id == "718293045561"
    assert camel.skus[0].mp_sku_id == str(BIG_SKU)
    assert camel.skus[0].properties[0].prop_id == "1627207"
    assert camel.pic_urls == ["https://x"]  # type: ignore[attr-defined]  # unknown field kept


def test_float_ids_and_float_money_are_refused() -> None:
    with pytest.raises(ValidationError, match="float"):
        Product.model_validate({**PRODUCT_CAMEL, "mpId": 6.000684350001851e17})
    with pytest.raises(ValidationError, match="float"):
        Product.model_validate({**PRODUCT_CAMEL, "price": 23.0})


def test_money_given_as_digit_string_becomes_int_fen() -> None:
    page = OrderQueryPage.model_validate(
        {"resultsTotal": 1, "purchaseOrders": [{"purchaseId": 1, "purchaseAmount": "4600"}]}
    )
    assert page.orders[0].purchase_amount == 4600


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("true", True), ("false", False), ("False", False)]
)
def test_parse_bool_accepts_strings(value: object, expected: bool) -> None:
    assert parse_bool(value) is expected


def test_parse_bool_refuses_other_text() -> None:
    with pytest.raises(ValueError):
        parse_bool("yes")


def test_render_result_flattens_groups_and_total() -> None:
    data = {
        "renderItemList": [
            {
                "nick": "s1",
                "sellerId": 22,
                "deliveryFee": 600,
                "orderFee": {"amount": 4600, "currency": "CNY"},
                "itemPriceInfos": [
                    {"itemId": int(BIG_MP), "skuId": BIG_SKU, "quantity": 2},
                ],
            }
        ],
        "unavailableSkuList": [{"item_id": 1, "sku_id": 2, "reason": "r", "error_code": "X"}],
        "totalRealPayPrice": {"amount": 4800, "currency": "CNY"},
    }
    result = RenderResult.model_validate(data)
    assert result.total_amount == 4800 and result.currency == "CNY"
    assert result.groups[0].items[0].mp_id == BIG_MP
    assert result.groups[0].items[0].mp_sku_id == str(BIG_SKU)
    assert result.groups[0].seller_id == "22"
    assert result.unavailable[0].mp_sku_id == "2" and result.unavailable[0].error_code == "X"


def test_create_result_from_snake_upstream_shape() -> None:
    data = {
        "outer_purchase_id": "PS-1",
        "payment_url": "https://pay",
        "order_list": [
            {
                "purchase_id": 3560000000000000123,
                "supplier_nick": "s",
                "order_line_list": [
                    {
                        "order_line_no": "1",
                        "item_id": BIG_MP,
                        "sku_id": BIG_SKU,
                        "sub_purchase_order_id": BIG_SKU + 1,
                    },
                ],
            }
        ],
    }
    result = CreateResult.model_validate(data)
    assert result.orders[0].purchase_id == "3560000000000000123"
    line = result.orders[0].lines[0]
    assert (line.mp_id, line.mp_sku_id, line.sub_purchase_order_id) == (
        BIG_MP,
        str(BIG_SKU),
        str(BIG_SKU + 1),
    )


def _request(**changes: object) -> CreateOrderRequest:
    fields: dict[str, object] = {
        "outer_purchase_id": "PS-1",
        "purchase_amount": 4600,
        "seller_order_number": "212345678901234",
        "order_source": "lazada",
        "lines": [
            OrderLine(
                mp_id=BIG_MP,
                mp_sku_id=str(BIG_SKU),
                product_id="718293045561",
                order_line_no="1",
                quantity=2,
                price=2300,
                title="测试商品",
            )
        ],
        "receiver": Address(name="Ali", phone="0123", country="Malaysia", address="Jalan 1"),
    }
    fields.update(changes)
    return CreateOrderRequest(**fields)  # type: ignore[arg-type]


def test_create_body_embeds_the_line_list_as_a_string_with_exact_digits() -> None:
    body = _request().to_body()
    text = body["order_line_list"]
    assert isinstance(text, str)
    assert f'"itemId":{BIG_MP}' in text and f'"skuId":{BIG_SKU}' in text
    assert '"orderLineNo":"1"' in text and '"quantity":"2"' in text
    assert "测试商品" in text  # not \u-escaped, as in the documented example
    (line,) = json.loads(text)
    assert line["itemId"] == int(BIG_MP) and line["productId"] == 718293045561
    assert body["receiver"]["mobile_phone"] == "" and "warehouse_address_info" not in body


def test_create_request_refuses_duplicate_line_numbers_and_non_digit_ids() -> None:
    line = _request().lines[0]
    with pytest.raises(ValidationError, match="unique"):
        _request(lines=[line, line])
    with pytest.raises(ValidationError, match="digits"):
        OrderLine(mp_id="6e17", mp_sku_id="1", order_line_no="1", quantity=1, price=1)
    with pytest.raises(ValidationError):
        _request(extra_field=1)


def test_address_repr_masks_personal_fields() -> None:
    address = Address(
        name="Siti Aminah",
        phone="0123456789",
        country="Malaysia",
        city="Ipoh",
        address="12 Jalan Bunga",
    )
    text = repr(address) + str(address)
    for secret in ("Siti Aminah", "0123456789", "12 Jalan Bunga"):
        assert secret not in text
    assert "Ipoh" in text
    assert address.to_wire()["name"] == "Siti Aminah"


def test_token_info_repr_hides_tokens_and_storage_round_trips() -> None:
    info = TokenInfo(
        access_token="A-SECRET", refresh_token="R-SECRET", access_expires_at="2030-01-01T00:00:00"
    )
    assert "SECRET" not in repr(info) and "SECRET" not in str(info)
    again = TokenInfo.from_storage(info.to_storage())
    assert again == info
    assert info.access_expires_at is not None and info.access_expires_at.tzinfo is not None


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=0, max_value=2**64 - 1))
def test_ids_round_trip_digit_for_digit(mp: int, sku: int) -> None:
    wire = json.dumps([RenderItem(mp_id=str(mp), mp_sku_id=str(sku), quantity=1).to_wire()])
    assert f'"itemId": {mp}' in wire and f'"skuId": {sku}' in wire
    back = CreatedLine.model_validate(json.loads(json.dumps({"itemId": mp, "skuId": sku})))
    assert (back.mp_id, back.mp_sku_id) == (str(mp), str(sku))

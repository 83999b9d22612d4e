"""Typed requests and responses of the Shanjing API (the order query's are `shanjing.purchases`).

Responses normalise their keys and keep exact ids (`shanjing.wire`). Request models build the
wire bodies, including the JSON-string-inside-JSON arrays (`order_line_list`,
`render_item_List`) whose `itemId`/`skuId`/`productId` must be bare integers written digit for
digit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from shanjing.purchases import (
    LogisticOrder,
    OrderQueryPage,
    PurchaseOrder,
    SubPurchaseOrder,
)
from shanjing.redaction import mask
from shanjing.wire import (
    Count,
    DigitId,
    Fen,
    Id,
    OptText,
    RequestModel,
    Text,
    WireModel,
    parse_bool,
    snake_key,
)

__all__ = [
    "Address",
    "CreateOrderRequest",
    "CreateResult",
    "CreatedLine",
    "CreatedOrder",
    "LogisticOrder",
    "Money",
    "OrderLine",
    "OrderQueryPage",
    "Product",
    "ProductSku",
    "PurchaseOrder",
    "RenderGroup",
    "RenderItem",
    "RenderPriceInfo",
    "RenderResult",
    "SkuProperty",
    "SubPurchaseOrder",
    "TokenInfo",
    "UnavailableSku",
    "embedded_json",
    "parse_bool",
    "snake_key",
]


# --- product/get -----------------------------------------------------------------------------


class SkuProperty(WireModel):
    prop_id: OptText = None
    prop_name: Text = ""
    value_id: OptText = None
    value_name: Text = ""


class ProductSku(WireModel):
    """One SKU of a product. `mp_sku_id` is None when the SKU is not distributable."""

    sku_id: Id
    spec_id: OptText = None
    mp_sku_id: Id | None = None
    price: Fen | None = None
    promotion_price: Fen | None = None
    quantity: Count = 0
    status: Text = ""
    properties: list[SkuProperty] = Field(default_factory=list)


class Product(WireModel):
    """The collision (`product/get`) answer: `item_id` is the original id, `mp_id` the pool id."""

    wire_renames: ClassVar[dict[str, str]] = {"sku_list": "skus"}

    item_id: Id
    mp_id: Id | None = None
    title: Text = ""
    shop_name: Text = ""
    user_nick: Text = ""
    price: Fen | None = None
    promotion_price: Fen | None = None
    quantity: Count = 0
    status: Text = ""
    skus: list[ProductSku] = Field(default_factory=list)


# --- addresses -------------------------------------------------------------------------------

ADDRESS_WIRE_KEYS = (
    "name",
    "phone",
    "mobile_phone",
    "country",
    "state",
    "city",
    "district",
    "address",
    "zip",
)
_ADDRESS_PII = frozenset({"name", "phone", "mobile_phone", "address"})


class Address(WireModel):
    """A receiver or warehouse address. Its repr masks personal fields (it ends up in logs)."""

    name: Text = ""
    phone: Text = ""
    mobile_phone: Text = ""
    country: Text = ""
    state: Text = ""
    city: Text = ""
    district: Text = ""
    address: Text = ""
    zip: Text = ""

    def to_wire(self) -> dict[str, str]:
        """The nested JSON object the API expects (snake_case keys, as in Shanjing's examples)."""
        return {key: getattr(self, key) for key in ADDRESS_WIRE_KEYS}

    def __repr_args__(self) -> Any:
        for key in ADDRESS_WIRE_KEYS:
            value = getattr(self, key)
            yield key, mask(value) if key in _ADDRESS_PII else value


# --- render ----------------------------------------------------------------------------------


class RenderItem(RequestModel):
    """One SKU to pre-price: pool ids from `product/get`."""

    mp_id: DigitId
    mp_sku_id: DigitId
    quantity: int = Field(gt=0)

    def to_wire(self) -> dict[str, Any]:
        return {
            "itemId": int(self.mp_id),
            "skuId": int(self.mp_sku_id),
            "quantity": str(self.quantity),
        }


class Money(WireModel):
    amount: Fen | None = None
    currency: Text = ""


class RenderPriceInfo(WireModel):
    wire_renames: ClassVar[dict[str, str]] = {"item_id": "mp_id", "sku_id": "mp_sku_id"}

    mp_id: Id | None = None
    mp_sku_id: Id | None = None
    quantity: Count = 0
    origin_price: Money | None = None
    discount_price: Money | None = None


class RenderGroup(WireModel):
    """One supplier's share of a render: its fees and item prices."""

    wire_renames: ClassVar[dict[str, str]] = {"item_price_infos": "items"}

    nick: Text = ""
    seller_id: OptText = None
    currency_code: Text = ""
    delivery_fee: Fen | None = None
    order_fee: Money | None = None
    mainland_shipping_fee: Money | None = None
    items: list[RenderPriceInfo] = Field(default_factory=list)


class UnavailableSku(WireModel):
    wire_renames: ClassVar[dict[str, str]] = {"item_id": "mp_id", "sku_id": "mp_sku_id"}

    mp_id: Id | None = None
    mp_sku_id: Id | None = None
    reason: Text = ""
    error_code: OptText = None
    error_msg: OptText = None


class RenderResult(WireModel):
    """Prices per supplier group, the SKUs that cannot be bought, and the total to pay."""

    wire_renames: ClassVar[dict[str, str]] = {
        "render_item_list": "groups",
        "unavailable_sku_list": "unavailable",
    }

    groups: list[RenderGroup] = Field(default_factory=list)
    unavailable: list[UnavailableSku] = Field(default_factory=list)
    total_amount: Fen | None = None
    currency: OptText = None

    @classmethod
    def _reshape(cls, data: dict[str, Any]) -> dict[str, Any]:
        total = data.get("total_real_pay_price")
        if isinstance(total, dict):
            data.setdefault("total_amount", total.get("amount"))
            data.setdefault("currency", total.get("currency"))
        return data


# --- create ----------------------------------------------------------------------------------


class OrderLine(RequestModel):
    """One line of a create: pool ids, our line number, and the unit price in fen."""

    mp_id: DigitId
    mp_sku_id: DigitId
    product_id: DigitId | None = None
    order_line_no: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    price: Fen
    currency: str = "CNY"
    title: str = ""
    remark: str = ""

    def to_wire(self) -> dict[str, Any]:
        line: dict[str, Any] = {"itemId": int(self.mp_id), "skuId": int(self.mp_sku_id)}
        if self.product_id is not None:
            line["productId"] = int(self.product_id)
        line.update(
            orderLineNo=self.order_line_no,
            quantity=str(self.quantity),
            price=self.price,
            currency=self.currency,
            title=self.title,
        )
        if self.remark:
            line["orderRemark"] = self.remark
        return line


def embedded_json(items: list[dict[str, Any]]) -> str:
    """A JSON array as a string inside the JSON body; Python ints stay exact, digit for digit."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


class CreateOrderRequest(RequestModel):
    """One purchase to create. `outer_purchase_id` is the idempotency key of the ledger."""

    outer_purchase_id: str = Field(min_length=1)
    purchase_amount: Fen = Field(ge=0)
    seller_order_number: str
    order_source: str
    lines: list[OrderLine] = Field(min_length=1)
    receiver: Address
    warehouse: Address | None = None
    support_partial_success: bool = False
    order_remark: str = ""

    @field_validator("lines")
    @classmethod
    def _unique_line_numbers(cls, lines: list[OrderLine]) -> list[OrderLine]:
        numbers = [line.order_line_no for line in lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("order_line_no must be unique within a purchase")
        return lines

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "outer_purchase_id": self.outer_purchase_id,
            "purchase_amount": self.purchase_amount,
            "seller_order_number": self.seller_order_number,
            "order_source": self.order_source,
            "order_line_list": embedded_json([line.to_wire() for line in self.lines]),
            "receiver": self.receiver.to_wire(),
        }
        if self.warehouse is not None:
            body["warehouse_address_info"] = self.warehouse.to_wire()
        body.update(
            support_partial_success=self.support_partial_success,
            need_supply_chain_service=False,
            need_sys_retry=False,
            order_remark=self.order_remark,
        )
        return body


class CreatedLine(WireModel):
    wire_renames: ClassVar[dict[str, str]] = {"item_id": "mp_id", "sku_id": "mp_sku_id"}

    order_line_no: OptText = None
    mp_id: Id | None = None
    mp_sku_id: Id | None = None
    quantity: Count = 0
    estimate_amount: Fen | None = None
    estimate_currency: OptText = None
    sub_purchase_order_id: Id | None = None


class CreatedOrder(WireModel):
    """One supplier's purchase order created from (part of) our purchase."""

    wire_renames: ClassVar[dict[str, str]] = {"order_line_list": "lines"}

    purchase_id: Id
    supplier_nick: Text = ""
    source_market: OptText = None
    estimate_amount: Fen | None = None
    estimate_currency: OptText = None
    lines: list[CreatedLine] = Field(default_factory=list)


class CreateResult(WireModel):
    wire_renames: ClassVar[dict[str, str]] = {"order_list": "orders"}

    outer_purchase_id: OptText = None
    payment_url: OptText = None
    orders: list[CreatedOrder] = Field(default_factory=list)


# --- tokens ----------------------------------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class TokenInfo(BaseModel):
    """The token pair and when each expires (None = unknown). Its repr never shows a token."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    refresh_token: SecretStr
    access_expires_at: Annotated[datetime | None, AfterValidator(_aware)] = None
    refresh_expires_at: Annotated[datetime | None, AfterValidator(_aware)] = None

    def to_storage(self) -> dict[str, str | None]:
        """The plain dict a token store persists (this is where the secrets are revealed)."""
        return {
            "access_token": self.access_token.get_secret_value(),
            "refresh_token": self.refresh_token.get_secret_value(),
            "access_expires_at": _iso(self.access_expires_at),
            "refresh_expires_at": _iso(self.refresh_expires_at),
        }

    @classmethod
    def from_storage(cls, data: dict[str, Any]) -> TokenInfo:
        return cls(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            access_expires_at=data.get("access_expires_at"),
            refresh_expires_at=data.get("refresh_expires_at"),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

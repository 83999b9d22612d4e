"""Turn a planned purchase plus the resolved supplier items into a priced create request.

Pure functions (no I/O), so the rules that decide what is sent and for how much are tested on
their own: SKU matching, supplier-side prices in integer fen, the margin hold, the create body.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ledger import CacheEntry
from schemas.records import PlannedLine, PlannedPurchase
from shanjing import Address, CreateOrderRequest, OrderLine, Product

from .settings import SubmitSettings

OK = "ok"
# Codes this stage writes (the API's own codes, e.g. SKU_UNAVAILABLE, pass through unchanged).
ITEM_NOT_IN_POOL = "ITEM_NOT_IN_POOL"
ITEM_NOT_FOUND = "ITEM_NOT_FOUND"
SKU_NOT_FOUND = "SKU_NOT_FOUND"
SKU_NOT_DISTRIBUTABLE = "SKU_NOT_DISTRIBUTABLE"
NO_PRICE = "NO_SUPPLIER_PRICE"
MARGIN_HELD = "MARGIN_HELD"
FX_RATE_MISSING = "FX_RATE_MISSING"
PARTIAL = "PARTIAL"
DUPLICATE_REMOTE = "DUPLICATE_REMOTE"

#: Business codes of product/get that are facts about the item, cached like a success.
CACHEABLE_ITEM_CODES = frozenset({ITEM_NOT_IN_POOL, ITEM_NOT_FOUND})


def source_market(platform: str) -> str | None:
    """`item_source_market` of product/get: 1688 is CBU_MARKET, Taobao/Tmall is the default."""
    return "CBU_MARKET" if platform.strip().lower() == "1688" else None


def item_key(line: PlannedLine) -> tuple[str, str]:
    return (line.source_platform.strip().lower(), line.source_item_id)


def cache_data(product: Product) -> dict[str, Any]:
    """What the cache keeps of a product/get answer: enough to price and address every SKU."""
    return {
        "title": product.title,
        "supplier": product.user_nick or product.shop_name,
        "skus": [
            {
                "sku_id": s.sku_id,
                "spec_id": s.spec_id,
                "mp_sku_id": s.mp_sku_id,
                # the price the supplier charges now: the promotion price when there is one
                "price": s.promotion_price if s.promotion_price is not None else s.price,
                "status": s.status,
                "quantity": s.quantity,
            }
            for s in product.skus
        ],
    }


@dataclass(frozen=True, slots=True)
class LineQuote:
    """One purchase line priced on the supplier side."""

    line: PlannedLine
    mp_id: str
    mp_sku_id: str
    unit_price_fen: int
    supplier: str

    @property
    def amount_fen(self) -> int:
        return self.unit_price_fen * self.line.quantity


@dataclass(frozen=True, slots=True)
class Plan:
    """A purchase ready to send: pool ids and supplier prices for every line."""

    purchase: PlannedPurchase
    payload_hash: str
    lines: tuple[LineQuote, ...]
    amount_fen: int  # purchase_amount: line totals, or render's total when pre-priced

    @property
    def outer_purchase_id(self) -> str:
        return self.purchase.outer_purchase_id


@dataclass(frozen=True, slots=True)
class Rejected:
    """A purchase that must not be sent, and why."""

    code: str
    message: str


def plan_purchase(
    p: PlannedPurchase, items: dict[tuple[str, str], CacheEntry], payload_hash: str | None = None
) -> Plan | Rejected | None:
    """Match every line to a distributable pool SKU; None when an item was not resolved."""
    quotes: list[LineQuote] = []
    for ln in p.lines:
        entry = items.get(item_key(ln))
        if entry is None:
            return None
        if entry.status != OK or not entry.mp_id:
            code = entry.status if entry.status != OK else ITEM_NOT_IN_POOL
            return Rejected(
                code,
                f"line {ln.order_line_no}: {ln.source_platform} item {ln.source_item_id}: "
                f"{_item_reason(code)}",
            )
        sku = match_sku(ln, entry.data.get("skus", []))
        if sku is None:
            wanted = ln.source_sku_id or ln.source_spec_id or "(none given)"
            return Rejected(
                SKU_NOT_FOUND,
                f"line {ln.order_line_no}: item {ln.source_item_id} has no SKU {wanted}",
            )
        if not sku.get("mp_sku_id"):
            return Rejected(
                SKU_NOT_DISTRIBUTABLE,
                f"line {ln.order_line_no}: SKU {sku['sku_id']} of item {ln.source_item_id} has no "
                "mpSkuId (not distributable)",
            )
        if sku.get("price") is None:
            return Rejected(NO_PRICE, f"line {ln.order_line_no}: SKU {sku['sku_id']} has no price")
        quotes.append(
            LineQuote(
                line=ln,
                mp_id=str(entry.mp_id),
                mp_sku_id=str(sku["mp_sku_id"]),
                unit_price_fen=int(sku["price"]),
                supplier=str(entry.data.get("supplier") or ""),
            )
        )
    return Plan(
        purchase=p,
        payload_hash=payload_hash or p.payload_hash(),
        lines=tuple(quotes),
        amount_fen=sum(q.amount_fen for q in quotes),
    )


def _item_reason(code: str) -> str:
    return {
        ITEM_NOT_IN_POOL: "not in the distribution pool",
        ITEM_NOT_FOUND: "not found by the API",
    }.get(code, f"rejected by product/get ({code})")


def match_sku(ln: PlannedLine, skus: list[dict[str, Any]]) -> dict[str, Any] | None:
    if ln.source_sku_id:
        for s in skus:
            if str(s.get("sku_id")) == ln.source_sku_id:
                return s
    if ln.source_spec_id:
        for s in skus:
            if s.get("spec_id") and str(s["spec_id"]) == ln.source_spec_id:
                return s
    if not ln.source_sku_id and not ln.source_spec_id and len(skus) == 1:
        return skus[0]  # a single-SKU item needs no SKU id
    return None


def with_render_prices(plan: Plan, unit_prices: dict[str, int], total_fen: int | None) -> Plan:
    """The plan re-priced by render: line unit prices by order_line_no, and its total."""
    lines = tuple(
        replace(q, unit_price_fen=unit_prices.get(q.line.order_line_no, q.unit_price_fen))
        for q in plan.lines
    )
    amount = total_fen if total_fen is not None else sum(q.amount_fen for q in lines)
    return replace(plan, lines=lines, amount_fen=amount)


def margin_verdict(plan: Plan, settings: SubmitSettings) -> Rejected | None:
    """Hold a purchase whose supplier cost exceeds its revenue by more than the set margin.

    cost_cny = purchase_amount / 100; revenue_cny = revenue x fx[currency]; held when
    cost_cny > revenue_cny x (1 + max_cost_over_revenue). No rate for the currency holds it too:
    a purchase whose margin cannot be computed is not sent on trust.
    """
    margin = settings.max_cost_over_revenue
    if margin is None:
        return None
    p = plan.purchase
    rate = settings.fx_to_cny.get(p.currency.upper())
    if rate is None:
        return Rejected(
            FX_RATE_MISSING,
            f"no fx_to_cny rate for {p.currency}: cannot check the margin, not sent",
        )
    cost = Decimal(plan.amount_fen) / 100
    revenue_cny = p.revenue * rate
    limit = revenue_cny * (1 + margin)
    if cost > limit:
        return Rejected(
            MARGIN_HELD,
            f"supplier cost {cost:.2f} CNY exceeds revenue {p.revenue} {p.currency} "
            f"(= {revenue_cny:.2f} CNY) by more than {margin * 100:.0f}%: held, not sent",
        )
    return None


def warehouse_address(settings: SubmitSettings) -> Address:
    """The forwarder's China warehouse (`warehouse_address_info` of every create)."""
    return Address(**settings.warehouse.model_dump())


def to_address(settings: SubmitSettings, p: PlannedPurchase) -> Address:
    """The receiver: the end customer, or the forwarder's warehouse (`receiver_mode`)."""
    if settings.receiver_mode == "warehouse":
        return warehouse_address(settings)
    r = p.receiver
    return Address(
        name=r.name,
        phone=r.phone,
        mobile_phone=r.phone,
        country=r.country,
        state=r.state,
        city=r.city,
        district=r.district,
        address=r.address,
        zip=r.zip,
    )


def create_request(
    plan: Plan, settings: SubmitSettings, warehouse: Address | None = None
) -> CreateOrderRequest:
    """The create body: supplier-side prices, marketplace identity, warehouse from settings
    (`warehouse` may pass the Address built once for a whole batch)."""
    p = plan.purchase
    warehouse = warehouse or warehouse_address(settings)
    return CreateOrderRequest(
        outer_purchase_id=p.outer_purchase_id,
        purchase_amount=plan.amount_fen,
        seller_order_number=p.order_number,
        order_source=p.marketplace,
        lines=[
            OrderLine(
                mp_id=q.mp_id,
                mp_sku_id=q.mp_sku_id,
                product_id=q.line.source_item_id if q.line.source_item_id.isdigit() else None,
                order_line_no=q.line.order_line_no,
                quantity=q.line.quantity,
                price=q.unit_price_fen,
                currency="CNY",
                title=q.line.title[:200],
            )
            for q in plan.lines
        ],
        receiver=warehouse if settings.receiver_mode == "warehouse" else to_address(settings, p),
        warehouse=warehouse,
        support_partial_success=settings.support_partial_success,
    )

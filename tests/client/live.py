"""Helpers for client tests over real HTTP against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sandbox.server import SandboxHandle
from sandbox.testing import AsyncSandboxControl
from shanjing import (
    Address,
    CreateOrderRequest,
    OrderLine,
    Product,
    ShanjingClient,
    StaticTokenStore,
    TokenManager,
)

TB_ITEM, CBU_ITEM = "718293045561", "554456348334"
RECEIVER = Address(
    name="Siti Aminah",
    phone="60123456789",
    country="Malaysia",
    state="Perak",
    city="Ipoh",
    address="12 Jalan Bunga",
    zip="30000",
)
WAREHOUSE = Address(
    name="仓库",
    mobile_phone="15432456575",
    country="中国",
    state="浙江省",
    city="杭州市",
    district="余杭区",
    address="小王新村",
)


@asynccontextmanager
async def connect(sbx: SandboxHandle, **kwargs: Any) -> AsyncIterator[ShanjingClient]:
    tokens = TokenManager(StaticTokenStore(sbx.access_token, sbx.refresh_token))
    async with ShanjingClient(sbx.base_url, tokens, **kwargs) as client:
        yield client


@asynccontextmanager
async def control(sbx: SandboxHandle) -> AsyncIterator[AsyncSandboxControl]:
    ctl = AsyncSandboxControl(sbx.base_url)
    try:
        yield ctl
    finally:
        await ctl.aclose()


def order_for(
    product: Product, outer: str, quantity: int = 1, n_skus: int = 1
) -> CreateOrderRequest:
    lines = [
        OrderLine(
            mp_id=product.mp_id,
            mp_sku_id=sku.mp_sku_id,
            product_id=product.item_id,
            order_line_no=str(no),
            quantity=quantity,
            price=sku.price,
            title=product.title,
        )
        for no, sku in enumerate(product.skus[:n_skus], start=1)
    ]
    amount = sum(line.price * line.quantity for line in lines)
    return CreateOrderRequest(
        outer_purchase_id=outer,
        purchase_amount=amount,
        seller_order_number="212345678901234",
        order_source="lazada",
        lines=lines,
        receiver=RECEIVER,
        warehouse=WAREHOUSE,
    )


async def heal_after_first_retry(
    sbx: SandboxHandle, client: ShanjingClient, **restore: Any
) -> None:
    """Let the first attempt fail, then heal the sandbox before the backoff ends."""
    async with control(sbx) as ctl:
        while client.stats.retries == 0:
            await asyncio.sleep(0.002)
        await ctl.set_config(**restore)

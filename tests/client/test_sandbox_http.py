"""The client over real HTTP against the sandbox: every endpoint, both key styles, big ids,
token refresh under load, and each injected fault surfacing as the right error class."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from sandbox.catalog import TB, get_catalog
from sandbox.server import SandboxHandle
from shanjing import (
    BusinessError,
    CreateOrderRequest,
    HTTPStatusError,
    OrderLine,
    ReauthorizationRequired,
    RenderItem,
    ShanjingClient,
    ShanjingError,
    StaticTokenStore,
    TokenInfo,
    TokenManager,
    TransportError,
)

from .conftest import assert_no_secret, error_texts
from .live import (
    CBU_ITEM,
    RECEIVER,
    TB_ITEM,
    WAREHOUSE,
    connect,
    control,
    heal_after_first_retry,
    order_for,
)


class RecordingStore(StaticTokenStore):
    """Remembers every pair the client obtained, so a test can look for all of them."""

    writable = True

    def __init__(self, access: str, refresh: str) -> None:
        super().__init__(access, refresh)
        self.saved: list[TokenInfo] = []

    def save(self, tokens: TokenInfo) -> None:
        self.saved.append(tokens)
        super().save(tokens)


def sandbox_secrets(sbx: SandboxHandle) -> tuple[str, ...]:
    return (sbx.access_token, sbx.refresh_token)


def big_id_skus() -> list[tuple[str, str, str]]:
    """(item_id, sku_id, mp_sku_id) of in-pool, orderable catalog SKUs whose mpSkuId > 2^53."""
    catalog, found = get_catalog(), []
    for i in range(400):
        item = catalog.product(800_000_000_000 + i, TB)
        if item is None or not item.in_pool:
            continue
        for sku in item.skus:
            if (
                sku.mp_sku_id
                and sku.mp_sku_id > 2**53
                and sku.status == "normal"
                and sku.stock > 10
            ):
                found.append((str(item.item_id), str(sku.sku_id), str(sku.mp_sku_id)))
    assert len(found) >= 3
    return found


@pytest.mark.parametrize(
    ("key_style", "success_as_string"), [("camel", False), ("snake", False), ("snake", True)]
)
async def test_every_endpoint(sbx: SandboxHandle, key_style: str, success_as_string: bool) -> None:
    sbx.control.set_config(key_style=key_style, success_as_string=success_as_string)
    async with connect(sbx) as client:
        tb = await client.get_product(TB_ITEM)
        cbu = await client.get_product(CBU_ITEM, source_market="CBU_MARKET")
        assert tb.mp_id and tb.skus[0].mp_sku_id and tb.title
        assert cbu.skus[0].spec_id == "b266e0726506185beaf205cbae88530d"
        assert cbu.skus[0].properties and cbu.skus[0].properties[0].prop_name

        items = [
            RenderItem(mp_id=tb.mp_id, mp_sku_id=tb.skus[0].mp_sku_id, quantity=2),
            RenderItem(mp_id=cbu.mp_id, mp_sku_id=cbu.skus[0].mp_sku_id, quantity=1),
        ]
        render = await client.render_order(items, RECEIVER, WAREHOUSE)
        assert len(render.groups) == 2 and not render.unavailable
        assert render.total_amount is not None and render.total_amount > 0

        created = await client.create_order(
            order_for(tb, f"PS-{key_style}-{success_as_string}", 2, 2)
        )
        (order,) = created.orders
        assert {line.order_line_no for line in order.lines} == {"1", "2"}
        assert created.payment_url

        (found,) = await client.find_by_outer_id(created.outer_purchase_id or "")
        assert found.purchase_id == order.purchase_id and found.status == "WAIT_BUYER_P"
        assert {(s.mp_id, s.mp_sku_id) for s in found.sub_orders} == {
            (tb.mp_id, sku.mp_sku_id) for sku in tb.skus[:2]
        }

        first_sub = order.lines[0].sub_purchase_order_id
        await client.cancel_order(order.purchase_id, [first_sub or ""], reason="测试取消")
        sbx.control.advance_clock(5)  # the cancel is asynchronous
        page = await client.query_orders(purchase_ids=[order.purchase_id])
        subs = {s.sub_purchase_order_id: s for s in page.orders[0].sub_orders}
        assert (
            subs[first_sub].status == "TRADE_CLOSED" and subs[first_sub].close_reason == "测试取消"
        )
        await client.cancel_order(order.purchase_id)
        sbx.control.advance_clock(5)
        closed = await client.query_orders(
            outer_purchase_id=created.outer_purchase_id, status="TRADE_CLOSED"
        )
        assert closed.total == 1
    assert client.stats.calls == {"product": 2, "render": 1, "create": 1, "query": 3, "cancel": 2}


async def test_big_ids_round_trip_digit_for_digit(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        for n, (item_id, sku_id, mp_sku_id) in enumerate(big_id_skus()[:3]):
            product = await client.get_product(item_id)
            sku = next(s for s in product.skus if s.sku_id == sku_id)
            assert sku.mp_sku_id == mp_sku_id and int(product.mp_id or 0) > 2**53
            req = order_for(product.model_copy(update={"skus": [sku]}), f"PS-big-{n}")
            assert f'"skuId":{mp_sku_id}' in req.to_body()["order_line_list"]
            created = await client.create_order(req)
            (order,) = created.orders
            stored = sbx.control.orders(f"PS-big-{n}")
            assert [o["purchase_id"] for o in stored] == [order.purchase_id]
            assert stored[0]["lines"][0]["sku_id"] == mp_sku_id
            assert stored[0]["lines"][0]["item_id"] == product.mp_id
            assert (
                stored[0]["lines"][0]["sub_purchase_order_id"]
                == order.lines[0].sub_purchase_order_id
            )
            (queried,) = await client.find_by_outer_id(f"PS-big-{n}")
            assert queried.purchase_id == order.purchase_id
            assert queried.sub_orders[0].mp_sku_id == mp_sku_id
            assert (
                queried.sub_orders[0].sub_purchase_order_id == order.lines[0].sub_purchase_order_id
            )


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ("product_missing", "ITEM_NOT_FOUND"),
        ("product_not_in_pool", "ITEM_NOT_IN_POOL"),
        ("create_delisted", "SKU_UNAVAILABLE"),
        ("cancel_unknown", "PURCHASE_NOT_FOUND"),
    ],
)
async def test_business_rejections(sbx: SandboxHandle, call: str, code: str) -> None:
    async with connect(sbx) as client:
        with pytest.raises(BusinessError) as info:
            if call == "product_missing":
                await client.get_product("999999999999")
            elif call == "product_not_in_pool":
                await client.get_product("700000000001")
            elif call == "create_delisted":
                await client.create_order(
                    order_for(await client.get_product("700000000004"), "PS-x")
                )
            else:
                await client.cancel_order("3560000000000000123")
    assert info.value.code == code and info.value.request_id
    assert client.stats.retries == 0


async def test_render_reports_unavailable_skus_inside_a_success(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        ok = await client.get_product(TB_ITEM)
        empty = await client.get_product("700000000003")  # stock 0
        render = await client.render_order(
            [
                RenderItem(mp_id=ok.mp_id, mp_sku_id=ok.skus[0].mp_sku_id, quantity=1),
                RenderItem(mp_id=empty.mp_id, mp_sku_id=empty.skus[0].mp_sku_id, quantity=1),
            ],
            RECEIVER,
        )
    assert [u.mp_sku_id for u in render.unavailable] == [empty.skus[0].mp_sku_id]


# --- tokens ----------------------------------------------------------------------------------


async def test_token_expiry_mid_run_refreshes_once_for_50_concurrent_calls(
    sbx: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sbx.control.set_config(latency_ms=20)
    async with connect(sbx) as client, control(sbx) as ctl:

        async def worker() -> int:
            done = 0
            for _ in range(4):
                await client.get_product(TB_ITEM)
                done += 1
            return done

        tasks = [asyncio.create_task(worker()) for _ in range(50)]
        while client.stats.requests["product"] < 50:  # the first wave is in flight
            await asyncio.sleep(0.002)
        await ctl.expire_token()
        results = await asyncio.gather(*tasks)
        stats = await ctl.stats()
    assert results == [4] * 50
    assert stats["refreshes"] == 1 and client.stats.refreshes == 1
    assert stats["auth_failures"] >= 1 and stats["refresh_failures"] == 0
    assert_no_secret(*(r.getMessage() for r in caplog.records), secrets=sandbox_secrets(sbx))


async def test_expired_refresh_token_requires_reauthorization(sbx: SandboxHandle) -> None:
    sbx.control.expire_token(refresh=True)
    async with connect(sbx) as client:
        with pytest.raises(ReauthorizationRequired) as info:
            await client.get_product(TB_ITEM)
    assert "IllegalRefreshToken" in str(info.value) and "re-authorize" in str(info.value)
    assert_no_secret(*error_texts(info.value), secrets=sandbox_secrets(sbx))


# --- faults ----------------------------------------------------------------------------------


async def test_429_is_retried_honouring_retry_after_then_succeeds(sbx: SandboxHandle) -> None:
    sbx.control.set_config(rate_429=0.3, retry_after_s=0.05)
    async with connect(sbx, max_retries=10) as client:
        products = [await client.get_product(TB_ITEM) for _ in range(30)]
        product = products[0]
        created = [await client.create_order(order_for(product, f"PS-429-{i}")) for i in range(10)]
    stats = sbx.control.stats()
    assert client.stats.rate_limited == stats["rate_limited"] >= 1
    assert client.stats.retries == client.stats.rate_limited
    assert len(created) == 10 and stats["creates_committed"] == 10  # a 429 never duplicates
    assert stats["duplicate_outer_ids"] == 0


async def test_5xx_on_get_and_render_is_retried(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        sbx.control.set_config(error_5xx_rate=1.0)
        task = asyncio.create_task(client.get_product(TB_ITEM))
        await heal_after_first_retry(sbx, client, error_5xx_rate=0.0)
        product = await task
    assert product.mp_id and client.stats.retries >= 1
    assert sum(v for k, v in client.stats.http_status.items() if k >= 500) >= 1


async def test_5xx_on_create_is_raised_without_retry(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.set_config(error_5xx_rate=1.0)
        with pytest.raises(HTTPStatusError) as info:
            await client.create_order(order_for(product, "PS-5xx"))
    assert info.value.status_code in (500, 502, 503) and not info.value.retryable
    assert client.stats.requests["create"] == 1 and sbx.control.stats()["creates_committed"] == 0


async def test_reset_on_get_is_retried_and_on_create_is_raised(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.set_config(reset_rate=1.0)
        with pytest.raises(TransportError) as info:
            await client.create_order(order_for(product, "PS-reset"))
        assert info.value.possibly_received is True  # a reset may follow a processed request
        assert client.stats.requests["create"] == 1
        task = asyncio.create_task(client.get_product(TB_ITEM))
        await heal_after_first_retry(sbx, client, reset_rate=0.0)
        assert (await task).mp_id == product.mp_id


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_lost_response_on_create_is_possibly_received_and_the_order_exists(
    sbx: SandboxHandle, transport: str
) -> None:
    async with connect(sbx, transport=transport) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.set_config(lose_response_rate=1.0)
        with pytest.raises(TransportError) as info:
            await client.create_order(order_for(product, f"PS-lost-{transport}"))
        sbx.control.set_config(lose_response_rate=0.0)
        (found,) = await client.find_by_outer_id(f"PS-lost-{transport}")
    err = info.value
    assert err.possibly_received is True and client.stats.requests["create"] == 1
    assert len(sbx.control.orders(f"PS-lost-{transport}")) == 1 and found.purchase_id
    if transport == "aiohttp":  # the measured trap: it looks like a connect timeout
        assert "ConnectTimeout <- ServerDisconnectedError" in err.message


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_closed_port_is_proven_not_received(transport: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    tokens = TokenManager(StaticTokenStore("a", "r"))
    async with ShanjingClient(f"http://127.0.0.1:{port}", tokens, transport=transport) as client:
        product_args = {
            "mp_id": "1",
            "mp_sku_id": "2",
            "order_line_no": "1",
            "quantity": 1,
            "price": 1,
        }
        req = CreateOrderRequest(
            outer_purchase_id="PS-refused",
            purchase_amount=1,
            seller_order_number="1",
            order_source="lazada",
            lines=[OrderLine(**product_args)],
            receiver=RECEIVER,
        )
        with pytest.raises(TransportError) as info:
            await client.create_order(req)
    assert info.value.possibly_received is False and client.stats.requests["create"] == 1


async def test_no_token_in_any_error_or_log_under_faults(
    sbx: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ShanjingError] = []
    store = RecordingStore(sbx.access_token, sbx.refresh_token)
    async with ShanjingClient(sbx.base_url, TokenManager(store), max_retries=1) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.expire_token()  # forces a refresh: the refresh URL carries a token
        await client.get_product(TB_ITEM)
        for fault in ("reset_rate", "lose_response_rate", "error_5xx_rate"):
            sbx.control.set_config(**{fault: 1.0, "fault_endpoints": ["create", "refresh"]})
            for attempt in (
                client.create_order(order_for(product, f"PS-{fault}")),
                client.refresh_token(),
            ):
                try:
                    await attempt
                except ShanjingError as exc:
                    errors.append(exc)
            sbx.control.set_config(**{fault: 0.0})
        sbx.control.expire_token(refresh=True)
        try:
            await client.refresh_token()
        except ShanjingError as exc:
            errors.append(exc)
    assert len(errors) == 7
    assert store.saved  # every pair the client obtained; none may leak
    secrets = sandbox_secrets(sbx) + tuple(
        t.get_secret_value()
        for pair in store.saved
        for t in (pair.access_token, pair.refresh_token)
    )
    texts = [t for e in errors for t in error_texts(e)] + [r.getMessage() for r in caplog.records]
    assert_no_secret(*texts, secrets=secrets)
    assert_no_secret(*texts, secrets=("Siti Aminah", "60123456789", "12 Jalan Bunga"))

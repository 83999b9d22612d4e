"""The client over httpx.MockTransport: requests on the wire, retry rules, auth, no leaks."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shanjing import (
    Address,
    AuthError,
    BusinessError,
    CreateOrderRequest,
    GatewayError,
    HTTPStatusError,
    IncompleteLookupError,
    MalformedResponseError,
    OrderLine,
    RateLimitedError,
    ReauthorizationRequired,
    RenderItem,
    ShanjingError,
    StaticTokenStore,
    TokenManager,
    TransportError,
)
from shanjing.endpoints import ENDPOINTS

from .conftest import (
    ACCESS,
    NEW_ACCESS,
    REFRESH,
    assert_no_secret,
    bearer,
    envelope,
    error_texts,
    failure,
    refresh_answer,
)

BIG_MP = "600068435000185140"
BIG_SKU = "2912066688476065752"
PRODUCT = {
    "itemId": 718293045561,
    "mpId": BIG_MP,
    "skuList": [{"skuId": 1, "mpSkuId": int(BIG_SKU)}],
}
CREATED = {
    "outerPurchaseId": "PS-1",
    "paymentUrl": "https://pay",
    "orderList": [
        {
            "purchaseId": 3560000000000000123,
            "orderLineList": [
                {
                    "orderLineNo": "1",
                    "itemId": BIG_MP,
                    "skuId": int(BIG_SKU),
                    "subPurchaseOrderId": 2912066688476065753,
                },
            ],
        }
    ],
}
RECEIVER = Address(name="Siti", phone="0123", country="Malaysia", address="Jalan 1")


def create_request(outer: str = "PS-1") -> CreateOrderRequest:
    return CreateOrderRequest(
        outer_purchase_id=outer,
        purchase_amount=4600,
        seller_order_number="1",
        order_source="lazada",
        lines=[
            OrderLine(mp_id=BIG_MP, mp_sku_id=BIG_SKU, order_line_no="1", quantity=2, price=2300)
        ],
        receiver=RECEIVER,
    )


def path(name: str) -> str:
    return ENDPOINTS[name]


async def test_get_product_sends_bearer_and_params_and_parses(make_client) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(PRODUCT), headers={"X-Request-Id": "r1"})

    async with make_client(handler) as client:
        product = await client.get_product("718293045561", source_market="CBU_MARKET")
    (request,) = seen
    assert request.url.path == path("product")
    assert dict(request.url.params) == {
        "item_id": "718293045561",
        "item_source_market": "CBU_MARKET",
    }
    assert bearer(request) == ACCESS
    assert product.mp_id == BIG_MP and product.skus[0].mp_sku_id == BIG_SKU
    assert client.stats.snapshot()["calls"] == {"product": 1}
    json.dumps(client.stats.snapshot())


async def test_business_error_carries_code_and_request_id(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"success": "false", "errorCode": "ITEM_NOT_FOUND", "errorMsg": "no item"}
        return httpx.Response(200, json=body, headers={"X-Request-Id": "abc123"})

    async with make_client(handler) as client:
        with pytest.raises(BusinessError) as info:
            await client.get_product("1")
    err = info.value
    assert (err.code, err.request_id, err.endpoint) == ("ITEM_NOT_FOUND", "abc123", "product")
    assert "ITEM_NOT_FOUND" in str(err) and "abc123" in str(err)
    assert client.stats.requests["product"] == 1  # never retried


async def test_without_server_request_id_the_client_id_is_used(make_client) -> None:
    sent_ids: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_ids.append(request.headers["x-client-request-id"])
        return httpx.Response(200, json=failure("ITEM_NOT_IN_POOL"))

    async with make_client(handler) as client:
        with pytest.raises(BusinessError) as info:
            await client.get_product("1")
    assert info.value.request_id == sent_ids[0] and len(sent_ids[0]) == 32


async def test_render_body_has_exact_ids_in_the_embedded_string(make_client) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json=envelope({"renderItemList": [], "unavailableSkuList": []}))

    async with make_client(handler) as client:
        await client.render_order(
            [RenderItem(mp_id=BIG_MP, mp_sku_id=BIG_SKU, quantity=3)], RECEIVER, warehouse=RECEIVER
        )
    body = json.loads(bodies[0])
    assert body["need_supplychain_service"] is False
    assert body["render_item_List"] == f'[{{"itemId":{BIG_MP},"skuId":{BIG_SKU},"quantity":"3"}}]'
    assert body["receiver_address"]["country"] == "Malaysia" and "warehouse_address" in body


async def test_create_body_and_result(make_client) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json=envelope(CREATED))

    async with make_client(handler) as client:
        result = await client.create_order(create_request())
    assert f'\\"itemId\\":{BIG_MP}'.encode() in bodies[0]  # digits inside the JSON string
    body = json.loads(bodies[0])
    assert body["outer_purchase_id"] == "PS-1" and body["purchase_amount"] == 4600
    assert result.orders[0].purchase_id == "3560000000000000123"
    assert result.orders[0].lines[0].sub_purchase_order_id == "2912066688476065753"


@pytest.mark.parametrize(
    ("inner", "error", "code"),
    [
        ({"errorCode": "SKU_UNAVAILABLE", "errorMessage": "nothing created"}, BusinessError, None),
        ({"errorCode": "PARTIAL", "errorMessage": "nothing created"}, GatewayError, None),
        ({"errorMessage": "nothing created"}, GatewayError, "UNKNOWN"),
    ],
)
async def test_create_with_data_success_false_and_no_orders(
    make_client, inner: dict, error: type, code: str | None
) -> None:
    """Only a documented rejection proves nothing was created; any other inner failure is
    unknown (GatewayError), like the same code in the outer envelope."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"success": False, **inner}))

    async with make_client(handler) as client:
        with pytest.raises(error, match="nothing created") as info:
            await client.create_order(create_request())
    assert info.value.code == (code or inner["errorCode"])
    assert client.stats.requests["create"] == 1


async def test_cancel_and_query_wire_format(make_client) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == path("cancel"):
            return httpx.Response(200, json={"success": True, "errorCode": None})
        return httpx.Response(200, json=envelope({"resultsTotal": 0, "purchaseOrders": []}))

    async with make_client(handler) as client:
        await client.cancel_order("3560000000000000123", ["2912066688476065752"], reason="r")
        await client.query_orders(
            purchase_ids=["3560000000000000123"],
            status="WAIT_BUYER_P",
            modify_time_start=1,
            modify_time_end=2,
        )
    cancel = json.loads(seen[0].content)
    assert cancel == {
        "purchase_id": "3560000000000000123",
        "sub_purchase_orderId_list": ["2912066688476065752"],
        "cancel_reason": "r",
        "cancel_remark": "",
    }
    params = dict(seen[1].url.params)
    assert params["purchase_ids"] == "[3560000000000000123]"
    assert (params["status"], params["modify_time_start"], params["modify_time_end"]) == (
        "WAIT_BUYER_P",
        "1",
        "2",
    )


def _paged(orders: list[dict], total: int | None = None, short: int | None = None):
    """A query handler paging over `orders` (optionally without total, or with a short page 1)."""

    def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page_no"]), int(request.url.params["page_size"])
        chunk = orders[(page - 1) * size : page * size]
        if short is not None and page == 1:
            chunk = chunk[:short]
        data: dict = {"purchaseOrders": chunk, "pageNo": page, "pageSize": size}
        if total is not None:
            data["resultsTotal"] = total
        return httpx.Response(200, json=envelope(data))

    return handler


async def test_find_by_outer_id_reads_every_page(make_client) -> None:
    orders = [{"purchaseId": 1000 + i, "outerPurchaseId": "PS-9"} for i in range(120)]
    async with make_client(_paged(orders, total=120)) as client:
        found = await client.find_by_outer_id("PS-9")
    assert [o.purchase_id for o in found] == [str(1000 + i) for i in range(120)]
    assert client.stats.requests["query"] == 3


async def test_find_by_outer_id_absent_only_from_a_complete_empty_answer(make_client) -> None:
    async with make_client(_paged([], total=0)) as client:
        assert await client.find_by_outer_id("PS-9") == []


@pytest.mark.parametrize(
    ("orders", "total", "short", "reason"),
    [
        # the server ignored the filter: another outer id, or none at all
        ([{"purchaseId": 1, "outerPurchaseId": "PS-other"}], 1, None, "FILTER_IGNORED"),
        ([{"purchaseId": 1}], 1, None, "FILTER_IGNORED"),
        # no total: absence cannot be told from a truncated answer
        ([], None, None, "NO_TOTAL"),
        ([{"purchaseId": 1, "outerPurchaseId": "PS-9"}], None, None, "NO_TOTAL"),
        # a short page while the total says more remain
        ([{"purchaseId": i, "outerPurchaseId": "PS-9"} for i in range(60)], 60, 30, "SHORT_PAGE"),
        # the pages end before the total is reached
        ([{"purchaseId": 1, "outerPurchaseId": "PS-9"}], 3, None, "SHORT_PAGE"),
        ([], 2, None, "SHORT_PAGE"),
    ],
)
async def test_find_by_outer_id_raises_on_an_answer_it_cannot_trust(
    make_client, orders: list, total: int | None, short: int | None, reason: str
) -> None:
    async with make_client(_paged(orders, total=total, short=short)) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.find_by_outer_id("PS-9")
    assert info.value.reason == reason and info.value.endpoint == "query"
    assert info.value.request_id and "PS-9" in str(info.value)


async def test_find_by_outer_id_raises_at_the_page_cap(make_client) -> None:
    orders = [{"purchaseId": i, "outerPurchaseId": "PS-9"} for i in range(150)]
    async with make_client(_paged(orders, total=150)) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.find_by_outer_id("PS-9", max_pages=2)
    assert info.value.reason == "PAGE_CAP" and client.stats.requests["query"] == 2


async def test_find_by_outer_id_raises_when_the_total_moves_while_paging(make_client) -> None:
    orders = [{"purchaseId": i, "outerPurchaseId": "PS-9"} for i in range(60)]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _paged(orders, total=60 + len(calls))(request)

    async with make_client(handler) as client:
        with pytest.raises(IncompleteLookupError, match="moved") as info:
            await client.find_by_outer_id("PS-9")
    assert info.value.reason == "SHORT_PAGE"


# --- retries ---------------------------------------------------------------------------------


async def test_429_is_retried_after_retry_after_and_pauses_the_whole_client(make_client) -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[str, float]] = []
    limited = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append((request.url.path, loop.time()))
        if len(arrivals) == 1:
            limited.set()
            return httpx.Response(
                429, headers={"Retry-After": "0.3"}, json=failure("TooManyRequests")
            )
        return httpx.Response(
            200, json=envelope(CREATED if "create" in request.url.path else PRODUCT)
        )

    async with make_client(handler, rate_limit=1000.0) as client:
        first = asyncio.create_task(client.create_order(create_request()))
        await limited.wait()
        second = await client.get_product("1")  # a different call, sent after the 429
        result = await first
    assert result.orders and second.mp_id == BIG_MP
    t_429 = arrivals[0][1]
    assert all(t >= t_429 + 0.3 for _, t in arrivals[1:])  # nobody sent before Retry-After
    assert client.stats.rate_limited == 1 and client.stats.retries == 1
    assert client.stats.requests["create"] == 2  # a 429 create is safe to resend
    assert client._limiter is not None and client._limiter.current_rate() < 1000.0


async def test_429_exhausting_retries_raises_rate_limited(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "0"})

    async with make_client(handler, max_retries=2) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get_product("1")
    assert info.value.retry_after == 0.0 and info.value.status_code == 429
    assert client.stats.requests["product"] == 3


async def test_5xx_on_get_is_retried(make_client) -> None:
    statuses = iter([503, 500, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status == 200:
            return httpx.Response(200, json=envelope(PRODUCT))
        return httpx.Response(status, text="<html>busy</html>")

    async with make_client(handler) as client:
        assert (await client.get_product("1")).mp_id == BIG_MP
    assert client.stats.retries == 2 and client.stats.http_status[503] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_on_create_is_raised_without_retry(make_client, status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="boom", headers={"X-Request-Id": "rid5"})

    async with make_client(handler) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.create_order(create_request())
    assert info.value.status_code == status and not info.value.retryable
    assert info.value.request_id == "rid5"
    assert client.stats.requests["create"] == 1 and client.stats.retries == 0


async def test_transport_error_on_create_is_raised_at_once_as_possibly_received(
    make_client,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer")

    async with make_client(handler) as client:
        with pytest.raises(TransportError) as info:
            await client.create_order(create_request())
        assert info.value.possibly_received is True
        assert client.stats.requests["create"] == 1


async def test_refused_connection_on_create_is_not_received_and_not_retried(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async with make_client(handler) as client:
        with pytest.raises(TransportError) as info:
            await client.cancel_order("1")
    assert info.value.possibly_received is False
    assert client.stats.requests["cancel"] == 1


async def test_transport_errors_on_get_are_retried_until_the_budget(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    async with make_client(handler, max_retries=2) as client:
        with pytest.raises(TransportError):
            await client.query_orders(outer_purchase_id="PS-1")
    assert client.stats.requests["query"] == 3 and client.stats.transport_errors == 3


async def test_non_json_200_on_create_is_malformed_and_possibly_received(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>gateway</html>")

    async with make_client(handler) as client:
        with pytest.raises(MalformedResponseError) as info:
            await client.create_order(create_request())
    assert info.value.possibly_received and isinstance(info.value, TransportError)


async def test_deadline_bounds_a_hanging_call(make_client) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=envelope(CREATED))

    async with make_client(handler, deadline=0.2) as client:
        with pytest.raises(TransportError, match="deadline") as info:
            await client.create_order(create_request())
    assert info.value.possibly_received is True


# --- auth ------------------------------------------------------------------------------------


class FakeAuthServer:
    """Accepts one current access token; the refresh rotates the pair."""

    def __init__(self, refresh_ok: bool = True) -> None:
        self.access, self.refresh = ACCESS, REFRESH
        self.refresh_ok = refresh_ok
        self.refreshes = 0
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == path("refresh"):
            await asyncio.sleep(0.01)
            if not self.refresh_ok or request.url.params.get("refresh_token") != self.refresh:
                return httpx.Response(
                    200, json={"error_code": "IllegalRefreshToken", "access_token": None}
                )
            self.refreshes += 1
            self.access, self.refresh = f"{NEW_ACCESS}-{self.refreshes}", f"R-NEW-{self.refreshes}"
            return httpx.Response(200, json=refresh_answer(self.access, self.refresh))
        if bearer(request) != self.access:
            return httpx.Response(
                200,
                json=failure(
                    "IllegalAccessToken", "The specified access token is invalid or expired"
                ),
            )
        if request.url.path == path("create"):
            return httpx.Response(200, json=envelope(CREATED))
        return httpx.Response(200, json=envelope(PRODUCT))


async def test_expired_token_is_refreshed_once_for_many_concurrent_calls(make_client) -> None:
    server = FakeAuthServer()
    server.access = "something-else"  # the configured token is already expired server-side
    async with make_client(server) as client:
        results = await asyncio.gather(*(client.get_product(str(i)) for i in range(50)))
    assert len(results) == 50 and server.refreshes == 1
    assert client.stats.refreshes == 1 and client.tokens.refresh_count == 1


async def test_create_rejected_for_its_token_is_refreshed_and_sent_once_more(make_client) -> None:
    server = FakeAuthServer()
    server.access = "rotated-elsewhere"
    async with make_client(server) as client:
        result = await client.create_order(create_request())
    assert result.orders and client.stats.requests["create"] == 2
    refresh_call = next(r for r in server.requests if r.url.path == path("refresh"))
    assert refresh_call.url.params["refresh_token"] == REFRESH and bearer(refresh_call) == ACCESS


@pytest.mark.parametrize("status", [401, 403])
async def test_http_401_403_count_as_auth_rejections(make_client, status: int) -> None:
    server = FakeAuthServer()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != path("refresh") and bearer(request) == ACCESS:
            return httpx.Response(status)
        return await server(request)

    async with make_client(handler) as client:
        assert (await client.get_product("1")).mp_id == BIG_MP
    assert server.refreshes == 1


async def test_rejection_after_a_refresh_is_an_auth_error(make_client) -> None:
    server = FakeAuthServer()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == path("refresh"):
            return await server(request)
        return httpx.Response(200, json=failure("IllegalAccessToken"))

    async with make_client(handler) as client:
        with pytest.raises(AuthError) as info:
            await client.get_product("1")
    assert not isinstance(info.value, ReauthorizationRequired)
    assert server.refreshes == 1


async def test_dead_refresh_token_requires_reauthorization(make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server = FakeAuthServer(refresh_ok=False)
    server.access = "expired"
    async with make_client(server) as client:
        with pytest.raises(ReauthorizationRequired, match="SHANJING_ACCESS_TOKEN") as info:
            await client.create_order(create_request())
    assert "IllegalRefreshToken" in str(info.value)
    assert client.stats.requests["create"] == 1
    assert_no_secret(*error_texts(info.value), *(r.getMessage() for r in caplog.records))


async def test_refresh_happens_before_the_call_when_expiry_is_near(make_client) -> None:
    server = FakeAuthServer()
    soon = datetime.now(UTC) + timedelta(seconds=5)
    tokens = TokenManager(StaticTokenStore(ACCESS, REFRESH, access_expires_at=soon), 60)
    async with make_client(server, tokens=tokens) as client:
        await client.get_product("1")
    assert [r.url.path for r in server.requests] == [path("refresh"), path("product")]
    assert client.stats.auth_rejections == 0
    new_tokens, _ = await tokens.current()
    assert new_tokens.access_expires_at is not None
    assert new_tokens.refresh_expires_at is not None  # from the string "2592000"


async def test_refresh_token_method_forces_a_refresh(make_client) -> None:
    server = FakeAuthServer()
    async with make_client(server) as client:
        await client.refresh_token()
        await client.get_product("1")
    assert server.refreshes == 1 and bearer(server.requests[-1]) == server.access


async def test_a_failing_refresh_reports_the_call_as_not_sent(make_client) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == path("refresh"):
            raise httpx.ReadError("reset during refresh")
        return httpx.Response(200, json=failure("IllegalAccessToken"))

    async with make_client(handler, max_retries=1) as client:
        with pytest.raises(TransportError) as info:
            await client.create_order(create_request())
    assert info.value.endpoint == "create" and info.value.possibly_received is False
    assert_no_secret(*error_texts(info.value))


# --- secrets ---------------------------------------------------------------------------------


async def test_no_token_in_errors_or_logs(make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # includes httpx's own request log lines
    calls = {"n": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if request.url.path == path("refresh"):
            raise httpx.ConnectTimeout(f"Connection timeout to host {request.url}")
        return httpx.Response(200, json=failure("IllegalAccessToken"))

    errors: list[BaseException] = []
    async with make_client(handler, max_retries=1) as client:
        for call in (
            client.get_product("1"),
            client.create_order(create_request()),
            client.refresh_token(),
        ):
            try:
                await call
            except ShanjingError as exc:
                errors.append(exc)
    assert len(errors) == 3
    texts = [t for e in errors for t in error_texts(e)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(client), repr(client.tokens), repr(client.tokens.store)]
    assert_no_secret(*texts)
    assert any("refresh_token=***" in t for t in texts)  # the URL is there, redacted


def test_errors_pickle_with_their_attributes() -> None:
    samples: list[ShanjingError] = [
        TransportError("create", "r", "m", possibly_received=True),
        HTTPStatusError("create", "r", "m", status_code=502, retryable=False),
        RateLimitedError("create", None, "m", retry_after=1.5),
        BusinessError("create", "r", "m", code="SKU_UNAVAILABLE"),
        GatewayError("create", "r", "m", code="SYSTEM_BUSY"),
        IncompleteLookupError("query", "r", "m", reason="NO_TOTAL"),
        ReauthorizationRequired("refresh", "r"),
        MalformedResponseError("query", "r", "m"),
    ]
    for err in samples:
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err) and vars(again) == vars(err)

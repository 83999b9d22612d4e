"""What a `success=false` answer means: a documented rejection (nothing done, BusinessError) or
anything else (GatewayError: retried where a resend is safe, raised at once on create/cancel)."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import sandbox
from shanjing import BusinessError, GatewayError, RenderItem
from shanjing.endpoints import REJECTIONS, RESEND_SAFE, is_rejection

from .conftest import envelope, failure
from .test_client_mock import BIG_MP, BIG_SKU, PRODUCT, RECEIVER, create_request

GATEWAY_ANSWERS = [
    failure("isp.service-timeout", "ISP服务超时"),
    failure("SYSTEM_BUSY", "系统繁忙"),
    failure("SERVICE_TIMEOUT", "服务处理超时"),
    failure("NEVER_DOCUMENTED", "?"),
    {"success": False},  # no code at all
    {"code": "isv.service-unavailable", "message": "service unavailable"},  # upstream shape
]


async def _call(client, endpoint: str):  # type: ignore[no-untyped-def]
    if endpoint == "product":
        return await client.get_product("718293045561")
    if endpoint == "render":
        items = [RenderItem(mp_id=BIG_MP, mp_sku_id=BIG_SKU, quantity=1)]
        return await client.render_order(items, RECEIVER)
    if endpoint == "query":
        return await client.query_orders(outer_purchase_id="PS-1")
    if endpoint == "create":
        return await client.create_order(create_request())
    return await client.cancel_order("3560000000000000123")


SUCCESS = {
    "product": envelope(PRODUCT),
    "render": envelope({"renderItemList": []}),
    "query": envelope({"resultsTotal": 0, "purchaseOrders": []}),
}


@pytest.mark.parametrize("answer", GATEWAY_ANSWERS)
@pytest.mark.parametrize("endpoint", ["product", "render", "query"])
async def test_gateway_envelope_is_retried_where_a_resend_is_safe(
    make_client, endpoint: str, answer: dict
) -> None:
    answers = [answer, answer, SUCCESS[endpoint]]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers.pop(0))

    async with make_client(handler) as client:
        await _call(client, endpoint)
    assert client.stats.requests[endpoint] == 3 and client.stats.retries == 2
    assert client.stats.gateway_errors == 2 and client.stats.business_errors == 0


async def test_gateway_envelope_retries_end_with_the_gateway_error(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=failure("SYSTEM_BUSY", "系统繁忙"))

    async with make_client(handler, max_retries=2) as client:
        with pytest.raises(GatewayError) as info:
            await client.get_product("1")
    assert (info.value.code, info.value.message) == ("SYSTEM_BUSY", "系统繁忙")
    assert client.stats.requests["product"] == 3


@pytest.mark.parametrize("answer", GATEWAY_ANSWERS)
@pytest.mark.parametrize("endpoint", ["create", "cancel"])
async def test_gateway_envelope_on_create_and_cancel_is_raised_at_once(
    make_client, endpoint: str, answer: dict
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer, headers={"X-Request-Id": "gw1"})

    async with make_client(handler) as client:
        with pytest.raises(GatewayError) as info:
            await _call(client, endpoint)
    assert not isinstance(info.value, BusinessError)
    assert info.value.request_id == "gw1" and info.value.code
    assert client.stats.requests[endpoint] == 1 and client.stats.retries == 0


@pytest.mark.parametrize(
    ("endpoint", "code"),
    [(e, c) for e in ("product", "render", "query", "create", "cancel") for c in REJECTIONS[e]],
)
async def test_documented_rejections_are_business_errors_never_retried(
    make_client, endpoint: str, code: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=failure(code, "refused"))

    async with make_client(handler) as client:
        with pytest.raises(BusinessError) as info:
            await _call(client, endpoint)
    assert info.value.code == code and client.stats.requests[endpoint] == 1
    assert client.stats.business_errors == 1 and client.stats.gateway_errors == 0


def test_a_rejection_of_one_endpoint_is_not_one_of_another() -> None:
    assert is_rejection("cancel", "PURCHASE_NOT_FOUND")
    assert not is_rejection("create", "PURCHASE_NOT_FOUND")
    assert not is_rejection("create", "SYSTEM_BUSY") and not is_rejection("refresh", "X")
    assert set(REJECTIONS) == RESEND_SAFE - {"refresh"} | {"create", "cancel"}


def _sandbox_rejection_codes() -> dict[str, set[str]]:
    """module of sandbox/ -> the codes its `Rejection(...)` calls use."""
    found: dict[str, set[str]] = {}
    for path in Path(sandbox.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Rejection"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.setdefault(path.stem, set()).add(node.args[0].value)
    return found


def test_every_sandbox_rejection_code_is_classified_as_a_rejection() -> None:
    codes = _sandbox_rejection_codes()
    assert codes, "the scan found no Rejection(...) in sandbox/"
    every = set().union(*REJECTIONS.values())
    unclassified = {m: c - every for m, c in codes.items() if c - every}
    assert not unclassified
    # the order endpoints' own codes belong to their endpoints
    assert codes["orders"] <= REJECTIONS["create"] | REJECTIONS["cancel"]
    assert codes["products"] <= REJECTIONS["product"] | REJECTIONS["render"]
    assert codes["query"] <= REJECTIONS["query"]

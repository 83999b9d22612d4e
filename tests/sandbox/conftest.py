"""One in-thread sandbox for the area, reset (orders, counters, tokens, options) before each test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxHandle
from sandbox.testing import SandboxControl, sandbox_fixture

PREFIX = "/rest/taobao-global"
RECEIVER = {
    "name": "Siti Test",
    "phone": "60123456789",
    "mobile_phone": "60123456789",
    "country": "Malaysia",
    "state": "Selangor",
    "city": "Petaling Jaya",
    "district": "SS2",
    "address": "1 Jalan Test",
    "zip": "47300",
}

sandbox_server = sandbox_fixture(scope="session")


class Api:
    """A thin httpx wrapper over the sandbox's API paths (the real client is tested elsewhere)."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self.token = handle.access_token
        self.http = httpx.Client(base_url=handle.base_url + PREFIX, timeout=30)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self._auth())

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers=self._auth())

    def product(self, item_id: int | str, cbu: bool = False) -> dict[str, Any]:
        params: dict[str, Any] = {"item_id": str(item_id)}
        if cbu:
            params["item_source_market"] = "CBU_MARKET"
        return self.get("/product/get", **params).json()

    def mp_ids(self, item_id: int, cbu: bool = False) -> tuple[int, list[int]]:
        """(mpId, [mpSkuId...]) of a pool item."""
        data = self.product(item_id, cbu)["data"]
        return int(data["mpId"]), [s["mpSkuId"] for s in data["skuList"]]

    def create(self, outer: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        body = create_body(outer, lines, **extra)
        return self.post("/purchase/order/create", body).json()

    def query(self, **params: Any) -> dict[str, Any]:
        return self.get("/purchase/orders/query", **params).json()


def line(mp_id: int, mp_sku: int, no: str, qty: int | str = "1", **extra: Any) -> dict[str, Any]:
    return {"itemId": mp_id, "skuId": mp_sku, "orderLineNo": no, "quantity": qty, **extra}


def create_body(outer: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "outer_purchase_id": outer,
        "purchase_amount": 0,
        "seller_order_number": "212345678901234",
        "order_source": "lazada",
        "order_line_list": json.dumps(lines),
        "receiver": dict(RECEIVER),
        "support_partial_success": False,
        "need_supply_chain_service": False,
        "need_sys_retry": False,
    }
    body.update(extra)
    return body


@pytest.fixture
def control(sandbox_server: SandboxHandle) -> SandboxControl:
    sandbox_server.control.reset(config=True)
    return sandbox_server.control


@pytest.fixture
def api(sandbox_server: SandboxHandle, control: SandboxControl) -> Iterator[Api]:
    with Api(sandbox_server) as client:
        yield client


@pytest.fixture(scope="session")
def shared_api(sandbox_server: SandboxHandle) -> Iterator[Api]:
    """For read-only tests (no reset), e.g. hypothesis tests that cannot use function fixtures."""
    with Api(sandbox_server) as client:
        yield client

"""Each injected fault is observable, counted, and does (or does not) do the work as documented."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sandbox.testing import AsyncSandboxControl, SandboxControl
from tests.sandbox.conftest import PREFIX, Api, create_body, line


@pytest.fixture
def lines(api: Api) -> list[dict[str, Any]]:
    mp, skus = api.mp_ids(652876415053)
    return [line(mp, skus[0], "1")]


def test_429_has_retry_after_and_creates_nothing(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(rate_429=1.0, retry_after_s=3)
    resp = api.post("/purchase/order/create", create_body("PS-429", lines))
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "3"
    assert resp.json()["errorCode"] == "TooManyRequests"
    assert control.orders() == []
    stats = control.stats()
    assert stats["rate_limited"] == 1 and stats["responses_by_status"]["429"] == 1


def test_5xx_creates_nothing(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(error_5xx_rate=1.0)
    statuses = {
        api.post("/purchase/order/create", create_body("PS-5", lines)).status_code
        for _ in range(12)
    }
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert control.orders() == []
    assert control.stats()["errors_5xx"] == 12


def test_reset_drops_the_connection_and_creates_nothing(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(reset_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/purchase/order/create", create_body("PS-RST", lines))
    assert control.orders() == []
    assert control.stats()["resets"] == 1


def test_lost_response_commits_the_order_first(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(lose_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/purchase/order/create", create_body("PS-LOST", lines))
    stored = control.orders("PS-LOST")
    assert len(stored) == 1 and stored[0]["status"] == "WAIT_BUYER_P"
    stats = control.stats()
    assert stats["lost_responses"] == 1 and stats["creates_committed"] == 1
    control.set_config(lose_response_rate=0.0)
    # the client's way back: find it by outer_purchase_id
    found = api.query(outer_purchase_id="PS-LOST")["data"]["purchaseOrders"]
    assert [str(o["purchaseId"]) for o in found] == [stored[0]["purchase_id"]]


def test_faults_only_hit_the_chosen_endpoints(
    api: Api, control: SandboxControl, lines: list[dict[str, Any]]
) -> None:
    control.set_config(rate_429=1.0, fault_endpoints=["create"])
    assert api.product(652876415053)["success"] is True
    assert api.post("/purchase/order/create", create_body("PS-F", lines)).status_code == 429
    refreshed = api.get("/auth/token/refresh", refresh_token=api.handle.refresh_token)
    assert refreshed.status_code == 200  # refresh is not a fault endpoint by default either


def test_fault_decisions_are_reproducible_from_the_seed(api: Api, control: SandboxControl) -> None:
    def run() -> list[int]:
        control.reset()
        control.set_config(rate_429=0.3, error_5xx_rate=0.3, seed=11)
        return [api.get("/purchase/orders/query").status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {200, 429} <= set(first) and set(first) & {500, 502, 503}
    control.reset()
    control.set_config(rate_429=0.3, error_5xx_rate=0.3, seed=12)
    assert [api.get("/purchase/orders/query").status_code for _ in range(30)] != first


async def test_inflight_cap_answers_429(sandbox_server, control: SandboxControl) -> None:  # type: ignore[no-untyped-def]
    control.set_config(max_inflight=2, latency_ms=600)
    headers = {"Authorization": f"Bearer {sandbox_server.access_token}"}
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(
        base_url=sandbox_server.base_url + PREFIX, headers=headers, limits=limits
    ) as http:
        responses = await asyncio.gather(*(http.get("/purchase/orders/query") for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert all("Retry-After" in r.headers for r in responses if r.status_code == 429)
    ctl = AsyncSandboxControl(sandbox_server.base_url)
    stats = await ctl.stats()
    await ctl.aclose()
    assert stats["max_inflight_seen"] == 2 and stats["rate_limited_inflight"] == 4
    assert stats["inflight"] == 0


def test_runtime_config_is_validated(control: SandboxControl) -> None:
    with pytest.raises(ValueError, match="rate_429"):
        control.set_config(rate_429=2)
    with pytest.raises(ValueError, match="no_such_option"):
        control.set_config(no_such_option=1)
    with pytest.raises(ValueError, match="start-up"):
        control.set_config(db_path="/tmp/x.sqlite")
    with pytest.raises(ValueError, match="fault_endpoints"):
        control.set_config(fault_endpoints=["pay"])
    effective = control.set_config(latency_ms=1.5, key_style="snake")
    assert effective["latency_ms"] == 1.5 and effective["key_style"] == "snake"
    assert "access_token" not in effective and "refresh_token" not in effective
    assert control.config() == effective


def test_counters_and_reset(api: Api, control: SandboxControl, lines: list[dict[str, Any]]) -> None:
    api.product(652876415053)
    api.create("PS-COUNT", lines)
    api.create("PS-COUNT-BAD", [])
    stats = control.stats()
    assert stats["requests"] == {"product": 2, "create": 2}  # the fixture resolved one product
    assert stats["requests_total"] == 4 and stats["responses_by_status"] == {"200": 4}
    assert stats["business_rejections"] == 1 and stats["orders_stored"] == 1
    control.reset()
    cleared = control.stats()
    assert cleared["requests_total"] == 0 and cleared["orders_stored"] == 0
    assert control.orders() == []

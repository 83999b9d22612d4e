"""The client against the sandbox's upstream faults (issue 9), over real HTTP: error envelopes,
late commits, and order queries whose answers cannot be trusted."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.server import SandboxHandle
from shanjing import GatewayError, HTTPStatusError, IncompleteLookupError

from .live import TB_ITEM, connect, heal_after_first_retry, order_for


async def test_error_envelope_on_create_is_a_gateway_error_and_nothing_was_done(
    sbx: SandboxHandle,
) -> None:
    async with connect(sbx) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.set_config(error_envelope_rate=1.0)
        with pytest.raises(GatewayError) as info:
            await client.create_order(order_for(product, "PS-env"))
    assert info.value.code and info.value.request_id
    assert client.stats.requests["create"] == 1 and client.stats.gateway_errors == 1
    assert sbx.control.orders("PS-env") == []


async def test_error_envelope_after_commit_is_a_gateway_error_and_the_order_exists(
    sbx: SandboxHandle,
) -> None:
    async with connect(sbx) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.set_config(error_envelope_after_commit_rate=1.0, success_as_string=True)
        with pytest.raises(GatewayError):
            await client.create_order(order_for(product, "PS-after"))
        (found,) = await client.find_by_outer_id("PS-after")
    assert client.stats.requests["create"] == 1
    assert [o["purchase_id"] for o in sbx.control.orders("PS-after")] == [found.purchase_id]


async def test_error_envelope_on_a_read_is_retried(sbx: SandboxHandle) -> None:
    async with connect(sbx) as client:
        sbx.control.set_config(error_envelope_rate=1.0)
        task = asyncio.create_task(client.get_product(TB_ITEM))
        await heal_after_first_retry(sbx, client, error_envelope_rate=0.0)
        product = await task
    assert product.mp_id and client.stats.gateway_errors >= 1 and client.stats.retries >= 1


async def test_late_commit_looks_absent_until_it_lands(sbx: SandboxHandle) -> None:
    """The hazard the ledger must wait out: a 504, a complete lookup that finds nothing, and then
    the order after all."""
    async with connect(sbx) as client:
        product = await client.get_product(TB_ITEM)
        sbx.control.set_config(late_commit_rate=1.0, late_commit_s=0.5)
        with pytest.raises(HTTPStatusError) as info:
            await client.create_order(order_for(product, "PS-late"))
        assert info.value.status_code == 504 and not info.value.retryable
        assert await client.find_by_outer_id("PS-late") == []
        while sbx.control.stats()["late_commits_done"] == 0:
            await asyncio.sleep(0.05)
        (found,) = await client.find_by_outer_id("PS-late")
    assert found.outer_purchase_id == "PS-late" and client.stats.requests["create"] == 1


async def _create_many(sbx: SandboxHandle, outers: list[str]) -> None:
    async with connect(sbx) as client:
        product = await client.get_product(TB_ITEM)
        for outer in outers:
            await client.create_order(order_for(product, outer))


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("query_ignore_filter_rate", "FILTER_IGNORED"),
        ("query_no_total_rate", "NO_TOTAL"),
    ],
)
async def test_untrustworthy_lookup_raises(sbx: SandboxHandle, fault: str, reason: str) -> None:
    await _create_many(sbx, ["PS-mine", "PS-other"])
    sbx.control.set_config(**{fault: 1.0})
    async with connect(sbx) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.find_by_outer_id("PS-mine")
        sbx.control.set_config(**{fault: 0.0})
        (found,) = await client.find_by_outer_id("PS-mine")
    assert info.value.reason == reason and found.outer_purchase_id == "PS-mine"


async def test_short_page_makes_the_lookup_fail(sbx: SandboxHandle) -> None:
    await _create_many(sbx, ["PS-many"] * 51)  # 51 orders: the first page of 50 is full
    sbx.control.set_config(query_short_page_rate=1.0)
    async with connect(sbx) as client:
        with pytest.raises(IncompleteLookupError) as info:
            await client.find_by_outer_id("PS-many")
        sbx.control.set_config(query_short_page_rate=0.0)
        found = await client.find_by_outer_id("PS-many")
    assert info.value.reason == "SHORT_PAGE" and len(found) == 51

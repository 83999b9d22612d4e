"""Helpers for tests in any area: start a sandbox, and drive its `/_sandbox/*` control endpoints.

    from sandbox.testing import sandbox_server

    with sandbox_server(latency_ms=5, rate_429=0.1) as sbx:
        client = MyClient(sbx.base_url, sbx.access_token, sbx.refresh_token)
        ...
        assert sbx.control.stats()["creates_committed"] == 3

or, in a conftest.py, `sandbox = sandbox_fixture(scope="session")`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from sandbox.config import SandboxConfig
from sandbox.server import SandboxHandle, start_in_thread, start_subprocess


@contextlib.contextmanager
def sandbox_server(*, subprocess: bool = False, **config: Any) -> Iterator[SandboxHandle]:
    """A sandbox for the duration of a `with` block (thread by default, or a child process)."""
    cfg = SandboxConfig(**config)
    handle = start_subprocess(cfg) if subprocess else start_in_thread(cfg)
    try:
        yield handle
    finally:
        handle.stop()


def sandbox_fixture(
    scope: str = "session", *, subprocess: bool = False, **config: Any
) -> Callable[..., Any]:
    """A pytest fixture yielding a SandboxHandle, e.g. `sandbox = sandbox_fixture()` in a conftest.

    For a shared server with a clean slate per test, layer a function-scoped fixture on it that
    calls `handle.control.reset(config=True)` (orders, counters, tokens and options restored).
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _sandbox() -> Iterator[SandboxHandle]:
        with sandbox_server(subprocess=subprocess, **config) as handle:
            yield handle

    return _sandbox


class SandboxControl:
    """Sync client for the control endpoints (no auth: they are sandbox-only)."""

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def _get(self, path: str, **params: Any) -> Any:
        resp = self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        resp.raise_for_status()
        return resp.json()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self._http.post(path, json=body or {})
        if resp.status_code == 400:
            raise ValueError(resp.json().get("error", resp.text))
        resp.raise_for_status()
        return resp.json()

    def health(self) -> bool:
        return bool(self._get("/_sandbox/health").get("ok"))

    def stats(self) -> dict[str, Any]:
        return self._get("/_sandbox/stats")

    def orders(
        self, outer_purchase_id: str | None = None, *, lines: bool = True
    ) -> list[dict[str, Any]]:
        """Stored purchase orders (ids as strings), optionally for one outer_purchase_id.

        `lines=False` leaves the lines out: enough for duplicate checks, and several times
        lighter for tens of thousands of orders.
        """
        return self._get(
            "/_sandbox/orders", outer_purchase_id=outer_purchase_id, lines=None if lines else "0"
        )

    def catalog_item(self, item_id: str | int, market: str = "TB") -> dict[str, Any]:
        """One catalog item with its mp ids (market "TB" or "CBU")."""
        return self._get("/_sandbox/catalog", item_id=str(item_id), market=market)

    def config(self) -> dict[str, Any]:
        return self._get("/_sandbox/config")

    def set_config(self, **options: Any) -> dict[str, Any]:
        """Change options at run time; returns the effective config. ValueError if refused."""
        return self._post("/_sandbox/config", options)

    def expire_token(self, refresh: bool = False) -> None:
        """Expire every access token now (and the refresh token too with `refresh=True`)."""
        self._post("/_sandbox/tokens/expire", {"refresh": refresh})

    def reset(self, config: bool = False) -> None:
        """Clear orders and counters, restore the initial tokens (and the config if asked)."""
        self._post("/_sandbox/reset", {"config": config})

    def clock(self) -> dict[str, Any]:
        """The sandbox's clock: `now_ms` (epoch ms) and `offset_s` ahead of real time."""
        return self._get("/_sandbox/clock")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the clock forward; every status change due by then happens (ValueError if < 0)."""
        return self._post("/_sandbox/clock", {"advance_s": seconds})

    def set_clock_offset(self, seconds: float) -> dict[str, Any]:
        """Put the clock `seconds` ahead of real time (never back: ValueError)."""
        return self._post("/_sandbox/clock", {"offset_s": seconds})

    def pay(self, purchase_ids: list[str]) -> list[str]:
        """Pay purchases awaiting payment (all or none: ValueError); returns the ids paid."""
        return self._post("/_sandbox/pay", {"purchase_ids": list(purchase_ids)})["paid"]

    def set_refund_status(self, sub_purchase_order_id: str, refund_status: int) -> None:
        """Set a sub-order's `refundStatus` (upstream codes: 0, 10, 20, 30, 100, -10, -20)."""
        self._post(
            "/_sandbox/refund",
            {"sub_purchase_order_id": sub_purchase_order_id, "refund_status": refund_status},
        )

    def close(self) -> None:
        self._http.close()


class AsyncSandboxControl:
    """The same control client for async tests."""

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def _get(self, path: str, **params: Any) -> Any:
        resp = await self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        resp.raise_for_status()
        return resp.json()

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = await self._http.post(path, json=body or {})
        if resp.status_code == 400:
            raise ValueError(resp.json().get("error", resp.text))
        resp.raise_for_status()
        return resp.json()

    async def stats(self) -> dict[str, Any]:
        return await self._get("/_sandbox/stats")

    async def orders(
        self, outer_purchase_id: str | None = None, *, lines: bool = True
    ) -> list[dict[str, Any]]:
        return await self._get(
            "/_sandbox/orders", outer_purchase_id=outer_purchase_id, lines=None if lines else "0"
        )

    async def set_config(self, **options: Any) -> dict[str, Any]:
        return await self._post("/_sandbox/config", options)

    async def expire_token(self, refresh: bool = False) -> None:
        await self._post("/_sandbox/tokens/expire", {"refresh": refresh})

    async def reset(self, config: bool = False) -> None:
        await self._post("/_sandbox/reset", {"config": config})

    async def clock(self) -> dict[str, Any]:
        return await self._get("/_sandbox/clock")

    async def advance_clock(self, seconds: float) -> dict[str, Any]:
        return await self._post("/_sandbox/clock", {"advance_s": seconds})

    async def set_clock_offset(self, seconds: float) -> dict[str, Any]:
        return await self._post("/_sandbox/clock", {"offset_s": seconds})

    async def pay(self, purchase_ids: list[str]) -> list[str]:
        return (await self._post("/_sandbox/pay", {"purchase_ids": list(purchase_ids)}))["paid"]

    async def set_refund_status(self, sub_purchase_order_id: str, refund_status: int) -> None:
        await self._post(
            "/_sandbox/refund",
            {"sub_purchase_order_id": sub_purchase_order_id, "refund_status": refund_status},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

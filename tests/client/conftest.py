"""Client test helpers: a MockTransport-backed client, secrets that must never leak, a sandbox."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.server import SandboxHandle, start_in_thread
from shanjing import ShanjingClient, StaticTokenStore, TokenManager

ACCESS = "ACCESS-SECRET-7f3a9c"
REFRESH = "REFRESH-SECRET-51d2e8"
NEW_ACCESS = "ACCESS-SECRET-NEW-0b44"
NEW_REFRESH = "REFRESH-SECRET-NEW-93aa"
SECRETS = (ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH)


def envelope(data: Any = None, **extra: Any) -> dict[str, Any]:
    return {"success": True, "errorCode": None, "errorMsg": None, "data": data, **extra}


def failure(code: str, msg: str = "refused") -> dict[str, Any]:
    return {"success": False, "errorCode": code, "errorMsg": msg, "data": None}


def refresh_answer(access: str = NEW_ACCESS, refresh: str = NEW_REFRESH) -> dict[str, Any]:
    return {
        "expires_in": 3600,
        "access_token": access,
        "refresh_token": refresh,
        "refresh_expires_in": "2592000",
        "error_code": None,
    }


def bearer(request: httpx.Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ")


def assert_no_secret(*texts: str, secrets: tuple[str, ...] = SECRETS) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


def error_texts(exc: BaseException) -> list[str]:
    """Everything an error could show: str, repr, and the full chained traceback."""
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


Handler = Callable[[httpx.Request], Any]


@pytest.fixture
def make_client() -> Iterator[Callable[..., ShanjingClient]]:
    """Build clients over httpx.MockTransport; `tokens` defaults to the static test pair."""
    made: list[ShanjingClient] = []

    def make(handler: Handler, tokens: TokenManager | None = None, **kwargs: Any) -> ShanjingClient:
        manager = tokens or TokenManager(StaticTokenStore(ACCESS, REFRESH))
        client = ShanjingClient(
            "http://api.test", manager, transport=httpx.MockTransport(handler), **kwargs
        )
        made.append(client)
        return client

    yield make


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[SandboxHandle]:
    """One in-thread sandbox for the client tests that talk real HTTP."""
    handle = start_in_thread(SandboxConfig())
    yield handle
    handle.stop()


@pytest.fixture
def sbx(sandbox_session: SandboxHandle) -> SandboxHandle:
    """The shared sandbox with orders, counters, tokens, clock and options reset for this test."""
    sandbox_session.control.reset(config=True)
    return sandbox_session

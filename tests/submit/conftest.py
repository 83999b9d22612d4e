"""Ledger fixtures for SQLite (a temp file) and PostgreSQL (a private schema per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/ledger.sqlite"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def ledger(ledger_url) -> Iterator[Ledger]:
    led = Ledger(ledger_url)
    led.create_schema()
    yield led
    led.close()


# -- the sandbox, over real HTTP ------------------------------------------------------------------


def make_client(handle, **kwargs):
    from shanjing import ShanjingClient, StaticTokenStore, TokenManager

    kwargs.setdefault("timeout", 5.0)
    return ShanjingClient(
        handle.base_url,
        TokenManager(StaticTokenStore(handle.access_token, handle.refresh_token)),
        **kwargs,
    )


def orders_per_outer_id(handle) -> dict[str, set[int]]:
    """outer_purchase_id -> the distinct creates (create_no) the sandbox stored for it."""
    out: dict[str, set[int]] = {}
    for o in handle.control.orders():
        out.setdefault(o["outer_purchase_id"], set()).add(o["create_no"])
    return out

"""The follow stage against the sandbox over real HTTP, with a SQLite ledger per test.

Purchases are created by the real submit stage, so the ledger rows (purchase ids, sub-order ids,
payloads) are exactly what production would hold.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger
from purchase_sync.follow import FollowSettings, FollowStore
from purchase_sync.submit import SubmitSettings, run_submit
from shanjing import ShanjingClient, StaticTokenStore, TokenManager


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/ledger.sqlite"


@pytest.fixture
def ledger(db_url) -> Iterator[Ledger]:
    led = Ledger(db_url)
    led.create_schema()
    yield led
    led.close()


@pytest.fixture
def store(db_url, ledger) -> Iterator[FollowStore]:
    st = FollowStore(db_url)
    st.create_schema()
    yield st
    st.close()


def make_client(handle, **kwargs) -> ShanjingClient:
    kwargs.setdefault("timeout", 5.0)
    return ShanjingClient(
        handle.base_url,
        TokenManager(StaticTokenStore(handle.access_token, handle.refresh_token)),
        **kwargs,
    )


def sandbox_clock(handle):
    """The supplier's "now" (the sandbox clock may run ahead of this machine's)."""
    return lambda: int(handle.control.clock()["now_ms"])


async def create(handle, ledger: Ledger, purchases, run_id: str = "create") -> None:
    async with make_client(handle) as client:
        rep = await run_submit(
            purchases,
            client=client,
            ledger=ledger,
            settings=SubmitSettings(reconcile_grace_s=0.0, max_cost_over_revenue=None),
            run_id=run_id,
        )
    assert rep.created == len(purchases), rep


FAST = FollowSettings(cancel_grace_s=0.0, window_lag_s=0.0)

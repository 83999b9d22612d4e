"""The follow tables beside a PostgreSQL ledger: one database, the ledger only read."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger import Ledger
from purchase_sync.follow import FollowStore, run_follow
from purchase_sync.follow.ledger_view import created_purchases
from tests.submit.factories import many

from .conftest import FAST, create, make_client, sandbox_clock
from .helpers import cancel_all, export_lines

pytestmark = pytest.mark.postgres


async def test_shared_postgres_ledger_sync_and_cancel_once(sbx, pg_url, tmp_path) -> None:
    ledger = Ledger(pg_url)
    ledger.create_schema()
    store = FollowStore(pg_url)
    try:
        ps = many(4)
        await create(sbx, ledger, ps)
        lines = export_lines(ps, cancel_all(ps[:1]))
        results = []
        for _ in range(2):  # the rerun sends nothing new
            async with make_client(sbx) as client:
                results.append(
                    await run_follow(
                        client, store, FAST, ledger_engine=store.engine, out=tmp_path,
                        order_lines=lines, clock_ms=sandbox_clock(sbx),
                    )
                )  # fmt: skip
        first, rerun = results
        assert first.sync.observed == 4 and first.cancel.outcomes == {"accepted": 1}
        assert rerun.sync.mode == "window" and rerun.cancel.already_requested == 1
        assert sbx.control.stats()["requests"]["cancel"] == 1
        names = set(sa.inspect(store.engine).get_table_names())
        assert {"follow_purchases", "follow_cancels", "ledger_purchases"} <= names
        # the ledger rows are as the submit stage left them
        assert len(created_purchases(ledger.engine)) == 4
    finally:
        store.close()
        ledger.close()

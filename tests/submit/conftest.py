"""Ledger fixtures for SQLite (a temp file) and PostgreSQL (a private schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ledger import Ledger

PG_URL = os.environ.get(
    "PURCHASE_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_reachable() -> bool:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


_PG_OK: bool | None = None


def pg_available() -> bool:
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = _pg_reachable()
    return _PG_OK


def require_pg() -> None:
    """Skip when PostgreSQL is down, except in CI where the PostgreSQL tests must run."""
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable at {PG_URL} and CI is set")
        pytest.skip("PostgreSQL unreachable (set CI=1 to make this a failure)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    require_pg()
    schema = f"t_submit_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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


@pytest.fixture(scope="session")
def sandbox_session():
    from sandbox.testing import sandbox_server

    with sandbox_server(latency_ms=2) as handle:
        yield handle


@pytest.fixture
def sbx(sandbox_session):
    """The shared sandbox with orders, counters, tokens and options reset for this test."""
    sandbox_session.control.reset(config=True)
    yield sandbox_session
    sandbox_session.control.reset(config=True)


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

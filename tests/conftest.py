"""Suite-wide settings, and the fixtures more than one area uses: a PostgreSQL schema per test
(`pg_url`) and one sandbox over real HTTP for the submit and follow tests (`sbx`). Area fixtures
live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

# Prefect's temporary server prints telemetry tracebacks without this (see design.md).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# The default ledger lives in the user's data directory: tests never touch the real one.
if "PURCHASE_SYNC_DATA_DIR" not in os.environ:
    import tempfile

    os.environ["PURCHASE_SYNC_DATA_DIR"] = tempfile.mkdtemp(prefix="purchase-sync-test-data-")

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
    schema = f"t_test_{uuid.uuid4().hex[:10]}"
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

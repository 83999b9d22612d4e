"""Token stores and the one-refresh-per-generation rule."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import UTC, datetime, timedelta

import pytest

from schemas.errors import UserError
from shanjing import (
    FileTokenStore,
    ReauthorizationRequired,
    StaticTokenStore,
    TokenInfo,
    TokenManager,
)
from shanjing.auth import TokenStore

from .conftest import ACCESS, REFRESH, assert_no_secret, error_texts


def _pair(access: str = ACCESS, refresh: str = REFRESH, **kw: object) -> TokenInfo:
    return TokenInfo(access_token=access, refresh_token=refresh, **kw)  # type: ignore[arg-type]


def test_stores_satisfy_the_protocol(tmp_path) -> None:
    assert isinstance(StaticTokenStore(ACCESS, REFRESH), TokenStore)
    assert isinstance(FileTokenStore(tmp_path / "t.json"), TokenStore)
    assert not StaticTokenStore(ACCESS, REFRESH).writable
    assert FileTokenStore(tmp_path / "t.json").writable


def test_file_store_round_trip_is_private_and_atomic(tmp_path) -> None:
    path = tmp_path / "sub" / "tokens.json"
    store = FileTokenStore(path)
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    store.save(_pair(access_expires_at=expires))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]  # no temp file left
    loaded = store.load()
    assert loaded.access_token.get_secret_value() == ACCESS
    assert loaded.access_expires_at == expires
    store.save(_pair("A2", "R2"))
    assert json.loads(path.read_text())["refresh_token"] == "R2"
    assert_no_secret(repr(store))


def test_file_store_missing_or_corrupt_asks_for_reauthorization(tmp_path) -> None:
    with pytest.raises(ReauthorizationRequired, match="does not exist"):
        FileTokenStore(tmp_path / "none.json").load()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"access_token": ACCESS}))  # refresh token missing
    with pytest.raises(ReauthorizationRequired) as info:
        FileTokenStore(bad).load()
    assert_no_secret(*error_texts(info.value))
    assert isinstance(info.value, UserError)  # the CLI prints it as one line


def test_static_store_from_env() -> None:
    store = StaticTokenStore.from_env(
        {"SHANJING_ACCESS_TOKEN": ACCESS, "SHANJING_REFRESH_TOKEN": REFRESH}
    )
    assert store.load().refresh_token.get_secret_value() == REFRESH
    with pytest.raises(ReauthorizationRequired, match="SHANJING_ACCESS_TOKEN"):
        StaticTokenStore.from_env({"SHANJING_ACCESS_TOKEN": ACCESS})


async def test_concurrent_failures_of_one_generation_refresh_once() -> None:
    manager = TokenManager(StaticTokenStore(ACCESS, REFRESH))
    calls = 0

    async def refresher(old: TokenInfo) -> TokenInfo:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return _pair("A2", "R2")

    _, generation = await manager.current()
    results = await asyncio.gather(
        *(manager.refresh_if_current(generation, refresher) for _ in range(20))
    )
    assert calls == 1
    assert {tokens.access_token.get_secret_value() for tokens, _ in results} == {"A2"}
    assert manager.generation == generation + 1


async def test_refresh_is_saved_when_the_store_is_writable(tmp_path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save(_pair())
    manager = TokenManager(store)

    async def refresher(old: TokenInfo) -> TokenInfo:
        return _pair("A2", "R2")

    _, generation = await manager.current()
    await manager.refresh_if_current(generation, refresher)
    assert store.load().refresh_token.get_secret_value() == "R2"


async def test_proactive_refresh_only_when_expiry_is_known_and_near() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    later = datetime.now(UTC) + timedelta(hours=1)
    manager = TokenManager(StaticTokenStore(ACCESS, REFRESH, access_expires_at=soon), 60)
    assert manager.needs_refresh(manager.store.load())
    assert not manager.needs_refresh(_pair(access_expires_at=later))
    assert not manager.needs_refresh(_pair())  # unknown expiry: wait for a rejection


async def test_known_expired_refresh_token_fails_without_a_call() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    manager = TokenManager(StaticTokenStore(ACCESS, REFRESH, refresh_expires_at=past))

    async def refresher(old: TokenInfo) -> TokenInfo:
        raise AssertionError("must not be called")

    with pytest.raises(ReauthorizationRequired, match="re-authorize"):
        await manager.refresh_if_current(0, refresher)

"""The Prefect Secret token store, against a stand-in for the Secret block (no Prefect server)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from shanjing import ReauthorizationRequired, TokenInfo
from shanjing.prefect_store import PrefectSecretTokenStore

from .conftest import ACCESS, REFRESH, assert_no_secret, error_texts


class FakeSecret:
    """Mimics prefect.blocks.system.Secret: load/save by name, `get()` parses JSON text."""

    blocks: ClassVar[dict[str, Any]] = {}
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def __init__(self, value: Any) -> None:
        self.value = value

    @classmethod
    def load(cls, name: str, **kwargs: Any) -> FakeSecret:
        cls.calls.append(("load", kwargs))
        if name not in cls.blocks:
            raise ValueError(f"Unable to find block document named {name}")
        return cls(cls.blocks[name])

    def save(self, name: str, overwrite: bool = False, **kwargs: Any) -> None:
        self.calls.append(("save", {"overwrite": overwrite, **kwargs}))
        self.blocks[name] = self.value

    def get(self) -> Any:
        try:
            return json.loads(self.value)
        except (TypeError, ValueError):
            return self.value


@pytest.fixture
def fake_secret(monkeypatch: pytest.MonkeyPatch) -> type[FakeSecret]:
    import prefect.blocks.system

    FakeSecret.blocks, FakeSecret.calls = {}, []
    monkeypatch.setattr(prefect.blocks.system, "Secret", FakeSecret)
    return FakeSecret


def test_save_then_load_round_trips_synchronously(fake_secret: type[FakeSecret]) -> None:
    store = PrefectSecretTokenStore("shanjing-tokens")
    pair = TokenInfo(access_token=ACCESS, refresh_token=REFRESH)
    store.save(pair)
    assert json.loads(fake_secret.blocks["shanjing-tokens"])["refresh_token"] == REFRESH
    assert store.load() == pair
    assert fake_secret.calls == [
        ("save", {"overwrite": True, "_sync": True}),
        ("load", {"_sync": True}),  # forced sync: the manager calls stores from a thread
    ]
    assert store.writable and "SECRET" not in repr(store)


def test_missing_or_unusable_block_asks_for_reauthorization(fake_secret: type[FakeSecret]) -> None:
    with pytest.raises(ReauthorizationRequired, match="not found"):
        PrefectSecretTokenStore("absent").load()
    fake_secret.blocks["partial"] = json.dumps({"access_token": ACCESS})
    with pytest.raises(ReauthorizationRequired, match="does not hold a token pair") as info:
        PrefectSecretTokenStore("partial").load()
    assert_no_secret(*error_texts(info.value))

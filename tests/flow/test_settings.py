"""Configuration: no silent default for the paid API, exact money, masking decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from purchase_sync import settings
from purchase_sync.artifacts import personal_kind, reject_rows
from schemas.errors import UserError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        settings.ENV_BASE_URL,
        settings.ENV_ACCESS_TOKEN,
        settings.ENV_REFRESH_TOKEN,
        settings.ENV_TOKEN_BLOCK,
        settings.ENV_LEDGER_URL,
    ):
        monkeypatch.delenv(name, raising=False)


def test_live_api_needs_an_explicit_address() -> None:
    with pytest.raises(UserError, match="SHANJING_BASE_URL is not set"):
        settings.api_connection()


def test_live_api_needs_tokens_and_never_shows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_BASE_URL, "https://api.example.invalid")
    with pytest.raises(UserError, match="no API token"):
        settings.api_connection()
    monkeypatch.setenv(settings.ENV_ACCESS_TOKEN, "secret-access-value")
    monkeypatch.setenv(settings.ENV_REFRESH_TOKEN, "secret-refresh-value")
    conn = settings.api_connection()
    assert conn.base_url == "https://api.example.invalid"
    assert conn.tokens.load().access_token.get_secret_value() == "secret-access-value"
    assert "secret" not in repr(conn) and "secret" not in repr(conn.tokens)


def test_sandbox_uses_its_public_tokens_not_the_live_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_ACCESS_TOKEN, "live-token")
    conn = settings.api_connection("http://127.0.0.1:9", sandbox=True)
    assert conn.source == "sandbox"
    assert conn.tokens.load().access_token.get_secret_value() == "sandbox-access-token"


def test_ledger_url_default_creates_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(settings.ENV_LEDGER_URL, raising=False)
    monkeypatch.setenv(settings.ENV_DATA_DIR, str(tmp_path / "d"))
    assert settings.ledger_url() == f"sqlite:///{tmp_path / 'd' / 'ledger.sqlite'}"
    assert (tmp_path / "d").is_dir()
    monkeypatch.setenv(settings.ENV_LEDGER_URL, "postgresql+psycopg://u@h/db")
    assert settings.ledger_url() == "postgresql+psycopg://u@h/db"
    assert settings.ledger_url("sqlite:///x/l.sqlite") == "sqlite:///x/l.sqlite"


def test_default_ledger_does_not_move_with_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point 6: started from another folder, the run finds the same ledger."""
    monkeypatch.delenv(settings.ENV_LEDGER_URL, raising=False)
    monkeypatch.delenv(settings.ENV_DATA_DIR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = settings.ledger_url()
    monkeypatch.chdir(tmp_path / "b")
    assert (
        settings.ledger_url()
        == first
        == f"sqlite:///{tmp_path / 'xdg' / 'purchase-sync' / 'ledger.sqlite'}"
    )
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert settings.data_dir() == tmp_path / "home" / ".local" / "share" / "purchase-sync"


def test_unknown_time_zone_is_a_user_error() -> None:
    assert settings.timezone("UTC").key == "UTC"
    with pytest.raises(UserError, match="time zone"):
        settings.timezone("Mars/Olympus")


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("shippingPhone", "phone"),
        ("billingAddr", "address"),
        ("customerName", "name"),
        ("Receiver Mobile", "phone"),
        ("itemName", None),
        ("sellerSku", None),
    ],
)
def test_personal_columns(column: str, kind: str | None) -> None:
    assert personal_kind(column) == kind


def test_reject_rows_mask_personal_values_only() -> None:
    rows = reject_rows(
        [
            {"source_file": "/in/lazada.csv", "column": "shippingPhone", "value": "60123456780"},
            {"source_file": "/in/lazada.csv", "column": "unitPrice", "value": "abc"},
        ]
    )
    assert rows[0]["value"] == "60*******80" and rows[0]["source_file"] == "lazada.csv"
    assert rows[1]["value"] == "abc"


def test_a_sandbox_run_never_uses_the_real_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders the emulator 'created' must not mark purchases created in the real ledger."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(settings.ENV_LEDGER_URL, "postgresql+psycopg://u@h/real")
    assert settings.ledger_url() == "postgresql+psycopg://u@h/real"
    sandbox_url = settings.ledger_url(sandbox=True)
    assert sandbox_url == f"sqlite:///{tmp_path / settings.SANDBOX_LEDGER}"
    assert settings.ledger_url("sqlite:///x.sqlite", sandbox=True) == "sqlite:///x.sqlite"

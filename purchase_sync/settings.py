"""Where a run's configuration comes from: flow parameters, the environment, Secret blocks, TOML.

Precedence, highest first: an explicit flow parameter / command-line option, then the
environment, then the `[submit]` table of the TOML file named by `PURCHASE_SYNC_CONFIG` (read by
`purchase_sync.submit.SubmitSettings.load`), then code defaults. Anything
that spends money (the API's address, its tokens) has no default outside the sandbox: a missing
setting is a one-line `UserError`, never a guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

import ledger as _ledger
from schemas.errors import UserError

if TYPE_CHECKING:
    from shanjing import TokenStore

ENV_BASE_URL = "SHANJING_BASE_URL"
ENV_ACCESS_TOKEN = "SHANJING_ACCESS_TOKEN"
ENV_REFRESH_TOKEN = "SHANJING_REFRESH_TOKEN"
ENV_LEDGER_URL = "PURCHASE_SYNC_LEDGER_URL"
ENV_TOKEN_BLOCK = "PURCHASE_SYNC_TOKEN_BLOCK"
ENV_API_BUDGET = "PURCHASE_SYNC_API_BUDGET"
ENV_TIMEZONE = "PURCHASE_SYNC_TIMEZONE"
ENV_DATA_DIR = "PURCHASE_SYNC_DATA_DIR"

DEFAULT_TIMEZONE = "Asia/Kuala_Lumpur"  # Lazada MY shop-local time; nightly windows follow it

Reprocess = _ledger.Reprocess  # the ledger's: where the three ways are implemented


class Limits(BaseModel):
    """Throughput and safety rails of one run (a form in the Prefect UI).

    Unset fields fall back to the TOML config, then to the submit stage's defaults.
    """

    max_concurrency: int | None = Field(
        None, ge=1, le=1024, description="purchase requests in flight at once"
    )
    rate_limit: float | None = Field(None, gt=0, description="API requests per second for this run")
    max_purchases: int | None = Field(
        None, ge=0, description="refuse to create more purchases than this in one run"
    )
    max_amount: Decimal | None = Field(
        None, ge=0, description="refuse to create more than this many CNY in one run (e.g. 5000.00)"
    )
    max_cancels: int | None = Field(
        None, ge=0, description="send at most this many cancel requests in one run"
    )
    allow_mass_cancel: bool = Field(
        False,
        description="allow cancels of more than the guarded share of a run's purchases "
        "(a malformed export must not cancel everything)",
    )
    api_budget: str | None = Field(
        None,
        description=(
            "name of a Prefect global concurrency limit (with slot decay) holding the API's "
            f"request budget shared by every worker; default ${ENV_API_BUDGET}"
        ),
    )


def env(name: str) -> str | None:
    """An environment variable, with empty strings treated as unset."""
    value = os.environ.get(name, "").strip()
    return value or None


def data_dir() -> Path:
    """Where the default ledger lives, whatever the working directory:
    `$PURCHASE_SYNC_DATA_DIR`, else `$XDG_DATA_HOME/purchase-sync`, else
    `~/.local/share/purchase-sync`. A ledger that moves with the working directory is a lost
    ledger, and a lost ledger sends everything again."""
    explicit = env(ENV_DATA_DIR)
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = env("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return (base / "purchase-sync").absolute()


def default_ledger_url() -> str:
    return f"sqlite:///{data_dir() / 'ledger.sqlite'}"


# A sandbox run's ledger: beside the emulator's order store (`cmd_run.SANDBOX_DB`), never the
# real one. Purchases the emulator "created" must not count as created in the real ledger, or
# a later real run would skip them, and the emulator's orders and their ledger move together.
SANDBOX_LEDGER = "data/sandbox-ledger.sqlite"


def ledger_url(explicit: str | None = None, *, sandbox: bool = False) -> str:
    """The ledger's SQLAlchemy URL: `explicit`, else for a sandbox run `SANDBOX_LEDGER` (the
    environment's real ledger is never used by the emulator), else `$PURCHASE_SYNC_LEDGER_URL`,
    else a SQLite file in `data_dir()`. For a SQLite file, its directory is created."""
    if explicit:
        url = explicit
    elif sandbox:
        url = f"sqlite:///{Path(SANDBOX_LEDGER).absolute()}"
    else:
        url = env(ENV_LEDGER_URL) or default_ledger_url()
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        path = Path(url[len(prefix) :].split("?", 1)[0])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the ledger directory {path.parent}: {exc}") from None
    return url


def api_budget(explicit: str | None) -> str | None:
    """The global concurrency limit that rations API calls across workers, if any."""
    return explicit or env(ENV_API_BUDGET)


def timezone(name: str | None = None) -> ZoneInfo:
    """The shop's time zone, which decides what "yesterday" means for a nightly run."""
    key = name or env(ENV_TIMEZONE) or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {key!r} (use an IANA name, e.g. Asia/Kuala_Lumpur)"
        ) from None


@dataclass(frozen=True)
class ApiConnection:
    """Where the API is and where its tokens live. The repr never shows a token."""

    base_url: str
    tokens: TokenStore
    source: str  # "sandbox", "secret-block:<name>", "environment"

    def __repr__(self) -> str:
        return f"ApiConnection({self.base_url!r}, tokens from {self.source})"


def api_connection(base_url: str | None = None, *, sandbox: bool = False) -> ApiConnection:
    """Resolve the API address and token store, or refuse with a one-line reason.

    Without the sandbox, `SHANJING_BASE_URL` (or an explicit URL) is required: there is no
    silent default for an API that spends money. Tokens come from the Secret block named by
    `PURCHASE_SYNC_TOKEN_BLOCK` when set (refreshed tokens are written back to it), else from
    `SHANJING_ACCESS_TOKEN`/`SHANJING_REFRESH_TOKEN`.
    """
    from shanjing import StaticTokenStore

    if sandbox:
        if not base_url:
            raise UserError("the sandbox run has no API address (start the sandbox first)")
        from sandbox.config import DEFAULT_ACCESS_TOKEN, DEFAULT_REFRESH_TOKEN

        return ApiConnection(
            base_url, StaticTokenStore(DEFAULT_ACCESS_TOKEN, DEFAULT_REFRESH_TOKEN), "sandbox"
        )
    url = base_url or env(ENV_BASE_URL)
    if not url:
        raise UserError(
            f"{ENV_BASE_URL} is not set: set it to the Shanjing API address, or use --sandbox"
        )
    if not url.startswith(("http://", "https://")):
        raise UserError(f"{ENV_BASE_URL} must start with http:// or https://")
    block = env(ENV_TOKEN_BLOCK)
    if block:
        return ApiConnection(url, secret_token_store(block), f"secret-block:{block}")
    if not env(ENV_ACCESS_TOKEN):
        raise UserError(
            f"no API token: set {ENV_ACCESS_TOKEN} and {ENV_REFRESH_TOKEN}, or "
            f"{ENV_TOKEN_BLOCK} to a Prefect Secret block holding both"
        )
    return ApiConnection(url, StaticTokenStore.from_env(), "environment")


def secret_token_store(block_name: str) -> TokenStore:
    """A token store backed by a Prefect Secret block (JSON holding the token pair)."""
    from shanjing.prefect_store import PrefectSecretTokenStore

    return PrefectSecretTokenStore(block_name)

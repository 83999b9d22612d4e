"""Settings of the submit stage: throughput, safety rails, FX, the forwarder's warehouse.

A seller keeps the slow-changing ones (warehouse address, FX rates, margin rule) in a TOML file,
`[submit]` table, named by `PURCHASE_SYNC_CONFIG` or given explicitly; a run's options override
them. Money is Decimal or integer fen, never float.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger import Reprocess
from purchase_sync.settings import env
from schemas.errors import UserError

ENV_CONFIG = "PURCHASE_SYNC_CONFIG"

# Placeholders, NOT market rates: a seller must set their own (docs/submit.md).
DEFAULT_FX_TO_CNY: dict[str, Decimal] = {
    "CNY": Decimal("1"),
    "MYR": Decimal("1.55"),
    "SGD": Decimal("5.40"),
    "PHP": Decimal("0.125"),
    "THB": Decimal("0.20"),
    "VND": Decimal("0.00028"),
    "IDR": Decimal("0.00045"),
}


class WarehouseAddress(BaseModel):
    """The forwarder's China warehouse that suppliers ship to (keys as the API's addresses).

    The default is a documented placeholder in Guangzhou: a real seller sets their forwarder's.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "PLACEHOLDER Forwarder Warehouse"
    phone: str = "020-00000000"
    mobile_phone: str = "13800000000"
    country: str = "中国"
    state: str = "广东省"
    city: str = "广州市"
    district: str = "白云区"
    address: str = "PLACEHOLDER 仓库路 1 号 (set [submit.warehouse] in your config)"
    zip: str = "510000"


def amount_to_fen(amount: Decimal | str | int) -> int:
    """A CNY amount ("5000.00") as integer fen, exactly; fractions of a fen are refused."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise UserError(f"amount {amount!r} is not a number (e.g. 5000.00)") from None
    fen = value * 100
    if not value.is_finite() or value < 0 or fen != fen.to_integral_value():
        raise UserError(
            f"amount {amount} must be a non-negative CNY amount with at most 2 decimals"
        )
    return int(fen)


class SubmitSettings(BaseModel):
    """Everything the submit stage needs besides its inputs, client and ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrency: int = Field(64, ge=1, le=1024, description="creates in flight at once")
    rate_limit: float | None = Field(
        None, gt=0, description="requests/s (applied by the client: pass it to ShanjingClient)"
    )
    max_purchases: int | None = Field(None, ge=0, description="creates sent per run, at most")
    max_amount_fen: int | None = Field(
        None, ge=0, description="CNY fen sent per run, at most (or give max_amount in CNY)"
    )
    max_cost_over_revenue: Decimal | None = Field(
        Decimal("0.0"),
        description="hold a purchase when cost_cny > revenue_cny x (1 + this); None disables",
    )
    fx_to_cny: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_FX_TO_CNY))
    receiver_mode: Literal["customer", "warehouse"] = "customer"
    warehouse: WarehouseAddress = Field(default_factory=WarehouseAddress)
    reprocess: Reprocess = "missing"
    dry_run: bool = False
    pre_price: bool = False
    support_partial_success: bool = False
    lease_s: float = Field(
        30.0, gt=0, description="claim lease, renewed by a heartbeat while sends are in flight"
    )
    heartbeat_s: float = Field(
        5.0, ge=0, description="lease renewal interval (0: none; the lease must cover a send)"
    )
    resolve_ttl_s: float = Field(86_400.0, ge=0, description="resolution cache lifetime")
    resolve_concurrency: int = Field(32, ge=1, le=1024)
    claim_batch: int = Field(
        64, ge=1, le=2000, description="purchases per claim transaction (claimed ahead of sends)"
    )
    max_passes: int = Field(
        3, ge=1, description="send passes per run (unknowns reconciled between)"
    )
    reconcile_grace_s: float = Field(
        300.0,
        ge=0,
        description="a purchase in doubt is looked up, and resent if absent, only this long "
        "after its last possible send start plus the client deadline: the bound on how late "
        "the API may commit a create it did not answer",
    )
    api_timeout_s: float = Field(30.0, gt=0, description="per HTTP request to the API, seconds")
    api_deadline_s: float | None = Field(
        None,
        gt=0,
        description="per API call with its retries (default 4 x api_timeout_s); stored with each "
        "claim, it bounds when an unanswered create may still land",
    )
    owed_max_age_days: float = Field(
        7.0,
        ge=0,
        description="a nightly run also sends purchases of earlier windows the ledger still "
        "owes, registered at most this many days ago",
    )

    @model_validator(mode="before")
    @classmethod
    def _max_amount_in_cny(cls, data: Any) -> Any:
        """Accept `max_amount` in CNY ("5000.00") as the readable form of `max_amount_fen`."""
        if isinstance(data, dict) and "max_amount" in data:
            data = dict(data)
            amount = data.pop("max_amount")
            if amount is not None:
                if data.get("max_amount_fen") is not None:
                    raise ValueError("give max_amount (CNY) or max_amount_fen, not both")
                data["max_amount_fen"] = amount_to_fen(amount)
        return data

    @field_validator("fx_to_cny", mode="before")
    @classmethod
    def _fx_as_decimal(cls, value: Any) -> Any:
        """TOML floats would lose digits: read every rate through its text."""
        if isinstance(value, dict):
            merged = dict(DEFAULT_FX_TO_CNY)
            for k, v in value.items():
                merged[str(k).upper()] = Decimal(str(v))
            return merged
        return value

    @field_validator("max_cost_over_revenue", mode="before")
    @classmethod
    def _margin_as_decimal(cls, value: Any) -> Any:
        """A Decimal through its text; "off" (TOML has no null) disables the rule."""
        if value is None or str(value).strip().lower() in ("off", "none"):
            return None
        return Decimal(str(value))

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> SubmitSettings:
        """Settings from the `[submit]` table of a TOML file (path, else `$PURCHASE_SYNC_CONFIG`,
        else none), with `overrides` (None values ignored) on top."""
        data: dict[str, Any] = {}
        chosen = path or env(ENV_CONFIG)
        if chosen:
            try:
                with open(chosen, "rb") as fh:
                    raw = tomllib.load(fh)
            except OSError as exc:
                raise UserError(f"cannot read config {chosen}: {exc.strerror}") from None
            except tomllib.TOMLDecodeError as exc:
                raise UserError(f"config {chosen} is not valid TOML: {exc}") from None
            section = raw.get("submit", raw)
            if not isinstance(section, dict):
                raise UserError(f"config {chosen}: [submit] must be a table")
            data.update(section)
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise UserError(f"bad submit settings: {exc}") from None

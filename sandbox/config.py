"""Typed options of the sandbox: latency, faults, key style, tokens, storage.

One pydantic model, so the command line, `POST /_sandbox/config` and the embedding helpers all
validate the same way and a typo in an option name fails loudly instead of being ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Endpoint names used in `fault_endpoints`, the stats counters and the docs.
ENDPOINTS: tuple[str, ...] = ("refresh", "product", "render", "create", "cancel", "query")
#: Endpoints that do business (faults apply to these by default; `refresh` is auth plumbing).
BUSINESS_ENDPOINTS: tuple[str, ...] = ("product", "render", "create", "cancel", "query")

DEFAULT_ACCESS_TOKEN = "sandbox-access-token"
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token"

#: Options that only make sense at start-up; `POST /_sandbox/config` refuses to change them.
STARTUP_ONLY: frozenset[str] = frozenset({"db_path", "access_token", "refresh_token"})


class SandboxConfig(BaseModel):
    """Everything that shapes the emulator's behaviour. Rates are probabilities per request."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    latency_ms: float = Field(0.0, ge=0, description="added (non-blocking) latency per request")
    jitter_ms: float = Field(0.0, ge=0, description="extra uniform random latency in [0, jitter]")
    error_5xx_rate: float = Field(0.0, ge=0, le=1, description="answer 500/502/503, nothing done")
    rate_429: float = Field(0.0, ge=0, le=1, description="answer 429 + Retry-After, nothing done")
    retry_after_s: float = Field(1.0, ge=0, description="Retry-After value of every 429")
    reset_rate: float = Field(0.0, ge=0, le=1, description="reset the connection, nothing done")
    lose_response_rate: float = Field(
        0.0, ge=0, le=1, description="do the work (commit), then drop the connection"
    )
    late_commit_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="create/cancel: validated, answered 504, committed late_commit_s after arrival",
    )
    late_commit_s: float = Field(
        2.0, ge=0, description="delay of a late commit from the request's arrival (real seconds)"
    )
    error_envelope_rate: float = Field(
        0.0, ge=0, le=1, description="HTTP 200 success=false with a gateway code, nothing done"
    )
    error_envelope_after_commit_rate: float = Field(
        0.0, ge=0, le=1, description="create/cancel: commit, then the same gateway envelope"
    )
    query_ignore_filter_rate: float = Field(
        0.0, ge=0, le=1, description="the order query ignores its filters (pages over all orders)"
    )
    query_short_page_rate: float = Field(
        0.0, ge=0, le=1, description="a full query page comes back short (total stays right)"
    )
    query_no_total_rate: float = Field(
        0.0, ge=0, le=1, description="the order query leaves resultsTotal out"
    )
    query_lag_s: float = Field(
        0.0, ge=0, description="a change shows in the order query this long after its commit"
    )
    auto_close_s: float = Field(
        86_400.0, gt=0, description="unpaid orders close this long after creation (sim. clock)"
    )
    ship_delay_s: float = Field(
        86_400.0, ge=0, description="a paid order ships this long after payment (sim. clock)"
    )
    cancel_delay_s: float = Field(
        5.0, ge=0, description="an accepted cancel takes effect this much later (sim. clock)"
    )
    building_s: float = Field(
        0.0, ge=0, description="a new order shows BULIDING this long first (0: never)"
    )
    max_inflight: int | None = Field(
        None, ge=1, description="in-flight cap on /rest requests; above it: 429 (None = no cap)"
    )
    token_ttl_s: float = Field(3600.0, ge=0, description="access-token lifetime")
    refresh_ttl_s: float = Field(2_592_000.0, ge=0, description="refresh-token lifetime")
    key_style: Literal["camel", "snake"] = "camel"
    success_as_string: bool = False
    dedupe_outer_id: bool = Field(
        False, description="replay the first create's result for a repeated outer_purchase_id"
    )
    seed: int = 7
    db_path: str | None = Field(None, description="SQLite file; None = a temp file per instance")
    access_token: str = DEFAULT_ACCESS_TOKEN
    refresh_token: str = DEFAULT_REFRESH_TOKEN
    fault_endpoints: tuple[str, ...] = BUSINESS_ENDPOINTS

    @field_validator("fault_endpoints", mode="before")
    @classmethod
    def _endpoints(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        names = tuple(value)  # type: ignore[arg-type]
        unknown = sorted(set(names) - set(ENDPOINTS))
        if unknown:
            raise ValueError(f"unknown endpoint(s) {unknown}; known: {list(ENDPOINTS)}")
        return names

    def draws_extra_faults(self) -> bool:
        """Whether any fault beyond the original six is on (they draw from a second RNG)."""
        return any(
            rate > 0
            for rate in (
                self.late_commit_rate,
                self.error_envelope_rate,
                self.error_envelope_after_commit_rate,
                self.query_ignore_filter_rate,
                self.query_short_page_rate,
                self.query_no_total_rate,
            )
        )

    def public_dict(self) -> dict[str, object]:
        """The config as JSON-able data, token values left out (they never leave the process)."""
        data = self.model_dump(exclude={"access_token", "refresh_token"})
        data["fault_endpoints"] = list(self.fault_endpoints)
        return data

"""Command-line options of the sandbox, shared by `purchase-sync sandbox` and `python -m sandbox`.

Every option defaults to "not given", so `config_from_args` only overrides what was typed and the
defaults live in one place (`SandboxConfig`).
"""

from __future__ import annotations

import argparse

from sandbox.config import ENDPOINTS, SandboxConfig

# flag -> (config field, type, help)
_OPTIONS: tuple[tuple[str, str, type, str], ...] = (
    ("--latency-ms", "latency_ms", float, "added latency per request, ms"),
    ("--jitter-ms", "jitter_ms", float, "extra random latency in [0, J] ms"),
    ("--error-5xx-rate", "error_5xx_rate", float, "probability of a 500/502/503 (nothing done)"),
    ("--rate-429", "rate_429", float, "probability of a 429 with Retry-After (nothing done)"),
    ("--retry-after", "retry_after_s", float, "Retry-After seconds on 429/503"),
    ("--reset-rate", "reset_rate", float, "probability of a connection reset (nothing done)"),
    (
        "--lose-response-rate",
        "lose_response_rate",
        float,
        "probability that the work is committed, then the connection dropped",
    ),
    (
        "--late-commit-rate",
        "late_commit_rate",
        float,
        "probability that a create/cancel is answered 504 and committed later",
    ),
    ("--late-commit-delay", "late_commit_s", float, "seconds from arrival to a late commit"),
    (
        "--error-envelope-rate",
        "error_envelope_rate",
        float,
        "probability of HTTP 200 success=false with a gateway code (nothing done)",
    ),
    (
        "--error-envelope-after-commit-rate",
        "error_envelope_after_commit_rate",
        float,
        "probability that a create/cancel is committed, then answered with a gateway code",
    ),
    (
        "--query-ignore-filter-rate",
        "query_ignore_filter_rate",
        float,
        "probability that the order query ignores its filters",
    ),
    (
        "--query-short-page-rate",
        "query_short_page_rate",
        float,
        "probability that a full query page comes back short",
    ),
    (
        "--query-no-total-rate",
        "query_no_total_rate",
        float,
        "probability that the order query leaves resultsTotal out",
    ),
    ("--query-lag", "query_lag_s", float, "seconds before a change shows in the order query"),
    ("--auto-close", "auto_close_s", float, "unpaid orders close after S simulated seconds"),
    ("--ship-delay", "ship_delay_s", float, "paid orders ship after S simulated seconds"),
    ("--cancel-delay", "cancel_delay_s", float, "an accepted cancel applies after S seconds"),
    ("--building", "building_s", float, "new orders show BULIDING for S seconds first"),
    ("--max-inflight", "max_inflight", int, "in-flight cap; above it: 429 (default: none)"),
    ("--token-ttl", "token_ttl_s", float, "access-token lifetime, s"),
    ("--refresh-ttl", "refresh_ttl_s", float, "refresh-token lifetime, s"),
    ("--seed", "seed", int, "seed of the fault RNG"),
    ("--db", "db_path", str, "SQLite file of the order store (default: a temp file)"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the latency, fault, style and storage options to `parser`."""
    defaults = SandboxConfig()
    g = parser.add_argument_group("sandbox behaviour")
    for flag, field, type_, help_ in _OPTIONS:
        metavar = "FILE" if type_ is str else ("N" if type_ is int else "X")
        g.add_argument(
            flag,
            dest=f"sandbox_{field}",
            type=type_,
            default=None,
            metavar=metavar,
            help=f"{help_} (default: {getattr(defaults, field)})",
        )
    g.add_argument(
        "--key-style",
        dest="sandbox_key_style",
        choices=["camel", "snake"],
        default=None,
        help="response key spelling (default: camel)",
    )
    g.add_argument(
        "--success-as-string",
        dest="sandbox_success_as_string",
        action="store_true",
        default=None,
        help='send "success": "true"/"false" instead of booleans',
    )
    g.add_argument(
        "--dedupe-outer-id",
        dest="sandbox_dedupe_outer_id",
        action="store_true",
        default=None,
        help="replay the first result for a repeated outer_purchase_id (default: off)",
    )
    g.add_argument(
        "--fault-endpoints",
        dest="sandbox_fault_endpoints",
        default=None,
        metavar="LIST",
        help=f"comma-separated endpoints faults apply to, of {','.join(ENDPOINTS)} "
        f"(default: {','.join(defaults.fault_endpoints)})",
    )


def config_from_args(ns: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig for the options given on the command line (others keep defaults)."""
    values = {
        name[len("sandbox_") :]: value
        for name, value in vars(ns).items()
        if name.startswith("sandbox_") and value is not None
    }
    return SandboxConfig(**values)

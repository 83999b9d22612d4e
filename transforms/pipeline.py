"""The ingest: exports -> order lines -> purchases, the one path `purchase-sync plan` and the
Prefect flow both run.

    read every file (transforms.readers)  ->  the rules (transforms.rules)
        ->  group-by (transforms.grouping)  ->  Ingested (Arrow tables + summary)

No network. Row conservation is checked, not assumed: rows in = rows accepted + rows rejected.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from schemas.contracts import OrderLines, Rejects
from schemas.errors import UserError
from schemas.marketplaces import DISPOSITIONS
from schemas.types import check, conform
from transforms import rules
from transforms.grouping import group
from transforms.inputs import expand_inputs
from transforms.readers import FileReport, read_file
from transforms.skumap import load_sku_map
from transforms.statuses import Statuses, describe, purchasable_statuses
from transforms.window import Window, as_window

DEFAULT_SKU_MAP_NAME = "sku_map.csv"
StatusOption = str | Iterable[str] | Mapping[str, Iterable[str]] | None


@dataclass
class Ingested:
    """What the ingest hands on: Arrow tables, each checked against its contract.

    - `order_lines`: every accepted line with its disposition (`PlannedOrderLines`);
    - `purchases`: one row per purchase, with `payload_hash` and `payload` (`Purchases`);
    - `purchase_lines`: one row per supplier SKU of a purchase (`PurchaseLines`);
    - `rejects`: one row per refused input row, reading and rules alike (`Rejects`).
    """

    order_lines: pa.Table
    purchases: pa.Table
    purchase_lines: pa.Table
    rejects: pa.Table
    summary: dict = field(default_factory=dict)
    files: list[FileReport] = field(default_factory=list)
    rows_in: int = 0


def ingest(
    inputs: Sequence[str | Path],
    *,
    sku_map: str | Path | pa.Table | None = None,
    since: str | Window | None = None,
    until: str | None = None,
    statuses: StatusOption = None,
) -> Ingested:
    """Read, check, decide and group. `sku_map` defaults to sku_map.csv next to the first input;
    `statuses` is the `--statuses` option (transforms.statuses)."""
    started = time.perf_counter()
    window = as_window(since, until)
    wanted = purchasable_statuses(statuses)
    files = expand_inputs(inputs)
    map_path = None
    if not isinstance(sku_map, pa.Table):
        map_path = Path(sku_map) if sku_map is not None else default_sku_map(files[0])
        sku_map = load_sku_map(map_path)
    marks = {"sku_map": time.perf_counter()}

    parts = [read_file(path) for path in files]
    reports = [report for report, _, _ in parts]
    if not any(report.error is None for report in reports):
        problems = "; ".join(f"{r.path}: {r.error}" for r in reports)
        raise UserError(f"no usable input file ({problems})")
    lines = conform(pa.concat_tables([p for _, p, _ in parts if p is not None]), OrderLines)
    read_rejects = pa.concat_tables([r for _, _, r in parts])
    marks["read"] = time.perf_counter()

    order_lines, purchases, purchase_lines, rejects = decide_and_group(
        lines, read_rejects, sku_map, window=window, statuses=wanted
    )
    marks["rules_and_group"] = time.perf_counter()
    result = Ingested(order_lines, purchases, purchase_lines, rejects, files=reports,
                      rows_in=sum(r.rows for r in reports))  # fmt: skip
    result.summary = summarise(result, window, wanted, sku_map, map_path)
    previous = started
    result.summary["stage_seconds"] = {}
    for stage, mark in marks.items():
        result.summary["stage_seconds"][stage] = round(mark - previous, 3)
        previous = mark
    result.summary["duration_s"] = round(time.perf_counter() - started, 3)
    return result


def decide_and_group(
    lines: pa.Table,
    read_rejects: pa.Table,
    sku_map: pa.Table,
    *,
    window: Window | None = None,
    statuses: Statuses | None = None,
) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """Canonical order lines -> (order lines with dispositions, purchases, purchase lines, every
    reject: `read_rejects` then the rules'). `read_rejects` hold the orders they name."""
    with duckdb.connect() as db:
        db.execute("SET enable_progress_bar = false")
        rules.load(db, lines, read_rejects, sku_map, statuses or purchasable_statuses(None))
        rule_rejects = rules.decide(db, window or Window())
        order_lines, purchases, purchase_lines = group(db, lines)
    rejects = check(Rejects, conform(pa.concat_tables([read_rejects, rule_rejects]), Rejects))
    return order_lines, purchases, purchase_lines, rejects


def default_sku_map(first_input: Path) -> Path:
    """sku_map.csv next to the first input; a UserError when there is none."""
    candidate = first_input.parent / DEFAULT_SKU_MAP_NAME
    if not candidate.is_file():
        raise UserError(
            f"no --sku-map given and no {DEFAULT_SKU_MAP_NAME} next to {first_input}; "
            "pass --sku-map FILE"
        )
    return candidate


def _counts(values: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """value -> count, most frequent first (ties by value)."""
    pairs = [(str(v["values"]), int(v["counts"])) for v in pc.value_counts(values).to_pylist()]
    return dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))


def _revenue_by_currency(purchases: pa.Table) -> dict[str, str]:
    totals = purchases.group_by("currency").aggregate([("revenue", "sum")]).sort_by("currency")
    return {row["currency"]: str(row["revenue_sum"]) for row in totals.to_pylist()}


def summarise(result: Ingested, window: Window, wanted, sku_map: pa.Table, map_path) -> dict:
    """summary.json's ingest part: the interface's keys and what a person needs to check."""
    lines, purchases = result.order_lines, result.purchases
    accepted, rejected = lines.num_rows, result.rejects.num_rows
    by_disposition = {name: 0 for name in DISPOSITIONS} | _counts(lines["disposition"])
    skipped = lines.filter(pc.equal(lines["disposition"], "skipped_status"))
    rejected_by_file = _counts(result.rejects["source_file"])
    return {
        "command": "plan",
        "rows_in": result.rows_in,
        "rows_accepted": accepted,
        "rows_rejected": rejected,
        "row_conservation": {
            "holds": result.rows_in == accepted + rejected,
            "rule": "rows_in == rows_accepted + rows_rejected",
        },
        "purchases_planned": purchases.num_rows,
        "purchase_lines_planned": result.purchase_lines.num_rows,
        "units_planned": pc.sum(purchases["units"]).as_py() or 0,
        "quantity_planned": pc.sum(purchases["quantity"]).as_py() or 0,
        "revenue_by_currency": _revenue_by_currency(purchases),
        "purchases_created": 0,
        "purchases_already_created": 0,
        "purchases_failed": 0,
        "purchases_unknown": 0,
        "api_calls": {},
        "dry_run": True,  # plan never creates anything
        "sandbox": False,
        "duration_s": None,
        "lines_by_disposition": by_disposition,
        "lines_by_marketplace": _counts(lines["marketplace"]),
        "skipped_by_status": _counts(
            pc.binary_join_element_wise(skipped["marketplace"], skipped["status"], ":")
        ),
        "rejected_by_reason": _counts(result.rejects["reason_code"]),
        "window": window.describe(),
        "purchasable_statuses": describe(wanted),
        "sku_map": {
            "path": str(map_path) if map_path else None,
            "rows": sku_map.num_rows,
            "approved": pc.sum(pc.equal(sku_map["status"], "approved")).as_py() or 0,
        },
        "files": [
            {
                "path": r.path,
                "format": r.format,
                "marketplace": r.marketplace,
                "header": r.header,
                "rows": r.rows,
                "rejected": rejected_by_file.get(r.path, 0),
                "error": r.error,
            }
            for r in result.files
        ],
    }

"""The ingest stages composed: read exports, load the SKU map, group, write the plan.

`read_exports`, `load_sku_map`, `map_and_group` and `to_planned_purchases` are the stage
boundaries the Prefect flow runs as separate tasks; `plan` composes them for `purchase-sync plan`.
Row conservation is checked, not assumed: rows in = rows accepted + rows rejected.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa_
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.errors import UserError
from schemas.ingest import TEXT, LazadaExport, OrderLines, Rejects
from schemas.records import PlannedPurchase
from transforms.concurrency import with_responsive_gil
from transforms.frames import to_frame
from transforms.grouping import map_and_group, purchasable_statuses, to_planned_purchases
from transforms.inputs import (
    FileError,
    TextTable,
    expand_inputs,
    file_kind,
    read_selected,
    read_text,
)
from transforms.lazada import REQUIRED, match_header, normalise, reject_table
from transforms.skumap import load_sku_map
from transforms.window import Window, parse_window

DEFAULT_SKU_MAP_NAME = "sku_map.csv"
PARALLEL_MIN_ROWS = 200_000  # below this, a second thread costs more than it saves


@dataclass(frozen=True)
class FileReport:
    """What happened to one input file."""

    path: str
    format: str  # "csv" | "xlsx" | "parquet" | "" when unreadable
    header: str  # "current" | "legacy" | ""
    rows: int  # data rows found (0 when unreadable)
    rejected: int  # rows rejected while reading
    error: str | None = None  # why the file was unreadable or rejected whole


@dataclass
class ReadResult:
    order_lines: pd.DataFrame
    rejects: pd.DataFrame
    rows_in: int
    files: list[FileReport]


@dataclass
class PlanResult:
    order_lines: pd.DataFrame
    purchases: pd.DataFrame
    purchase_lines: pd.DataFrame
    rejects: pd.DataFrame
    summary: dict = field(default_factory=dict)

    @cached_property
    def planned(self) -> list[PlannedPurchase]:
        """The purchases as hand-off records, built on first use (one object per purchase)."""
        return to_planned_purchases(self.purchases, self.purchase_lines)


# --- read ----------------------------------------------------------------------------------------


@with_responsive_gil
def read_exports(inputs: Sequence[str | Path]) -> ReadResult:
    """Read every file named or matched, as text; normalise, validate once per file, quarantine.

    A file that cannot be read, or lacks a required column, is reported and the others go on;
    if no file at all is usable, that is a UserError.
    """
    return _read_files(expand_inputs(inputs))


# One file's reading: its report, its lines (None when unusable) and its rejects.
_FilePart = tuple[FileReport, pd.DataFrame | None, pa.Table]


def _read_files(files: list[Path]) -> ReadResult:
    return _combine([_read_one(path) for path in files])


def _combine(parts: list[_FilePart]) -> ReadResult:
    reports = [report for report, _, _ in parts]
    lines = [file_lines for _, file_lines, _ in parts if file_lines is not None]
    usable = [r for r in reports if r.error is None]
    if not usable:
        problems = "; ".join(f"{r.path}: {r.error}" for r in reports)
        raise UserError(f"no usable input file ({problems})")
    order_lines = pd.concat(lines, ignore_index=True) if len(lines) > 1 else lines[0]
    reject_frame = to_frame(pa.concat_tables([file_rejects for _, _, file_rejects in parts]))
    return ReadResult(order_lines, reject_frame, sum(r.rows for r in reports), reports)


def _check_parts(parts: list[_FilePart]) -> tuple[list[_FilePart], bool]:
    """pandera on each file's lines (for parts read with `check=False`); (the parts with rows
    that break the contract moved to the rejects, whether any row did)."""
    checked, moved = [], False
    for report, file_lines, rejects in parts:
        if file_lines is not None:
            file_lines, schema_rejects = _validate_lines(file_lines, report.path)
            if schema_rejects is not None:
                moved = True
                rejects = pa.concat_tables([rejects, schema_rejects])
                report = replace(report, rejected=rejects.num_rows)
        checked.append((report, file_lines, rejects))
    return checked, moved


def _read_one(path: Path, check: bool = True) -> _FilePart:
    """Read, normalise and (with `check`) validate one file; see `_check_parts`."""
    source = str(path)
    try:
        kind = file_kind(path)
        matched = []

        def select(header: list[str]) -> list[str] | None:
            matched.append(match := match_header(header))
            return None if match.missing or match.duplicated else list(match.columns.values())

        header, text = read_selected(path, select)
        match = matched[0]
        if text is None:
            return _reject_file(path, kind, match, header)
    except FileError as exc:
        return FileReport(source, "", "", 0, 0, str(exc)), None, reject_table([])
    table = pa.table({canon: text.table[raw] for canon, raw in match.columns.items()})
    try:
        LazadaExport.validate(to_frame(table))  # the file-level gate: columns, all text
    except pa_.errors.SchemaError as exc:  # pragma: no cover - read_text only yields text
        raise AssertionError(f"{source}: raw frame is not all text: {exc}") from exc
    lines_table, rejects = _normalise_in_halves(table, text, source, match.columns)
    del table
    lines = to_frame(lines_table)
    rows = len(text.rows) + len(text.malformed)
    part = (FileReport(source, kind, match.style, rows, rejects.num_rows), lines, rejects)
    return _check_parts([part])[0][0] if check else part


def _normalise_in_halves(
    table: pa.Table, text: TextTable, source: str, headers: dict[str, str]
) -> tuple[pa.Table, pa.Table]:
    """normalise() on two halves of a big file at once: Arrow kernels release the GIL.

    Every rule is row-wise, so the halves give exactly what one call would.
    """
    n = table.num_rows
    if n < PARALLEL_MIN_ROWS:
        return normalise(table, text.rows, source, text.malformed, headers)
    half = n // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(
            normalise, table.slice(0, half), text.rows[:half], source, text.malformed, headers
        )
        second = pool.submit(normalise, table.slice(half), text.rows[half:], source, (), headers)
        parts = [first.result(), second.result()]
    return (
        pa.concat_tables([p[0] for p in parts]),
        pa.concat_tables([p[1] for p in parts]),
    )


def _reject_file(
    path: Path, kind: str, match, header: list[str]
) -> tuple[FileReport, None, pa.Table]:
    """Every row of a file without a required column goes to the rejects, naming the column."""
    if match.missing:
        code, names = "MISSING_COLUMN", match.missing
        reason = f"the file has no {' / '.join(names)} column (headers are matched by name)"
    else:
        code, names = "DUPLICATE_COLUMN", match.duplicated
        reason = f"more than one header maps to {', '.join(names)}"
    probe = [match.columns[c] for c in ("orderItemId", "orderNumber") if c in match.columns]
    if not probe:  # else any known column, else (not one known) the file's own first column
        probe = [next(iter(match.columns.values()))] if match.columns else header[:1]
    try:
        text = read_text(path, probe)
    except FileError as exc:
        return FileReport(str(path), kind, match.style, 0, 0, str(exc)), None, reject_table([])
    n = text.table.num_rows
    raw = {canon: raw for canon, raw in match.columns.items() if raw in text.table.column_names}

    def ids(name: str) -> pa.Array:
        if name in raw:
            return text.table[raw[name]].combine_chunks()
        return pa.nulls(n, pa.string())

    part = {
        "source_file": [str(path)] * n,
        "source_row": text.rows,
        "order_line_id": ids("orderItemId"),
        "order_number": ids("orderNumber"),
        "reason_code": [code] * n,
        "reason": [reason] * n,
        "column": [", ".join(names)] * n,
        "value": pa.nulls(n, pa.string()),
    }
    rejects = reject_table([part]) if n else reject_table([])
    error = f"{code}: {reason}"
    return FileReport(str(path), kind, match.style, n, n, error), None, rejects


def _validate_lines(lines: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pa.Table | None]:
    """pandera once per file; rows that break the contract go to the rejects, not the plan."""
    try:
        OrderLines.validate(lines, lazy=True)
        return lines, None
    except pa_.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        bad_index = cases["index"].dropna()
        if len(bad_index) < len(cases):  # a column-level failure: a bug, not bad data
            raise AssertionError(f"{source}: order lines break their schema: {exc}") from exc
    bad = np.unique(bad_index.astype(np.int64).to_numpy())
    first = cases.dropna(subset=["index"]).drop_duplicates("index").set_index("index")
    part = {
        "source_file": [source] * len(bad),
        "source_row": lines["source_row"].to_numpy()[bad],
        "order_line_id": pa.array(lines["order_line_id"].iloc[bad].array),
        "order_number": pa.array(lines["order_number"].iloc[bad].array),
        "reason_code": ["SCHEMA_VIOLATION"] * len(bad),
        "reason": [f"breaks OrderLines check {first.loc[i, 'check']}" for i in bad],
        "column": [str(first.loc[i, "column"]) for i in bad],
        "value": [None] * len(bad),
    }
    keep = np.ones(len(lines), bool)
    keep[bad] = False
    return lines.iloc[keep].reset_index(drop=True), reject_table([part])


# --- plan ----------------------------------------------------------------------------------------


@with_responsive_gil
def plan(
    inputs: Sequence[str | Path],
    sku_map: str | Path | pd.DataFrame | None,
    *,
    since: str | None = None,
    until: str | None = None,
    statuses: Iterable[str] | str | None = None,
    writer: PlanWriter | None = None,
) -> PlanResult:
    """Everything `purchase-sync plan` does short of writing files. No network.

    With a `writer`, each table is handed to it as soon as it is final (the caller then calls
    `writer.finish`): writing overlaps planning.
    """
    started = time.perf_counter()
    window = parse_window(since, until)
    wanted = purchasable_statuses(statuses)
    files = expand_inputs(inputs)
    map_path: Path | None = None
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(_warm_up)  # beside the CSV parser, which runs in C++ without the GIL
        if not isinstance(sku_map, pd.DataFrame):  # load it beside the exports: a second core
            map_path = Path(sku_map) if sku_map is not None else default_sku_map(files[0])
            if not map_path.is_file():
                raise UserError(f"SKU map {str(map_path)!r} does not exist")
            pending_map = pool.submit(load_sku_map, map_path)
        parts = [_read_one(path, check=False) for path in files]
        read = _combine(parts)
        marks = {"read_exports": time.perf_counter()}
        if map_path is not None:
            sku_map = pending_map.result()
        marks["sku_map_wait"] = time.perf_counter()
        # pandera checks the lines on the worker while they are mapped and grouped: a row
        # that breaks the contract (none should: normalise enforces it) means grouping again
        # without it. Nothing reaches the writer before the check is done.
        checking = pool.submit(_check_parts, parts)

        def checked() -> None:
            if checking.result()[1]:
                raise _Recheck

        def sink(name: str, frame: pd.DataFrame) -> None:
            checked()
            if writer is not None:
                writer.submit(name, frame)

        try:
            group = _map_and_group(read, sku_map, window, wanted, sink)
            checked()
        except _Recheck:
            read = _combine(checking.result()[0])
            group = _map_and_group(read, sku_map, window, wanted, writer and writer.submit)
    marks["map_and_group"] = time.perf_counter()
    rejects = pd.concat([read.rejects, group.rejects], ignore_index=True)
    Rejects.validate(rejects)
    if writer is not None:
        writer.submit("rejects", rejects)
    summary = _summary(read, group, rejects, window, wanted, sku_map, map_path)
    marks["summary"] = time.perf_counter()
    summary["duration_s"] = round(marks["summary"] - started, 3)
    previous = started
    summary["stage_seconds"] = {}  # where the time went (the benchmark prints it)
    for stage, mark in marks.items():
        summary["stage_seconds"][stage] = round(mark - previous, 3)
        previous = mark
    return PlanResult(group.order_lines, group.purchases, group.purchase_lines, rejects, summary)


class _Recheck(Exception):  # control flow, never escapes plan()
    """pandera moved rows to the rejects: the speculative grouping is thrown away."""


def _map_and_group(read: ReadResult, sku_map, window, wanted, sink):
    return map_and_group(
        read.order_lines,
        sku_map,
        since=window,
        statuses=wanted,
        held_orders=read.rejects["order_number"],
        sink=sink,
    )


def _warm_up() -> None:
    """Pay pandera's lazy first-use imports (~0.2 s: its backends pull in hypothesis) early.

    Best effort and side-effect free: validating an empty raw frame registers the backends that
    the real validation of each file would otherwise import on the critical path.
    """
    with contextlib.suppress(Exception):  # a warm-up must never fail the run
        LazadaExport.validate(pd.DataFrame({c: pd.Series([], dtype=TEXT) for c in REQUIRED}))


def default_sku_map(first_input: Path) -> Path:
    """sku_map.csv next to the first input; a UserError when there is none."""
    candidate = first_input.parent / DEFAULT_SKU_MAP_NAME
    if not candidate.is_file():
        raise UserError(
            f"no --sku-map given and no {DEFAULT_SKU_MAP_NAME} next to {first_input}; "
            "pass --sku-map FILE"
        )
    return candidate


def _summary(read, group, rejects, window: Window, wanted, sku_map, map_path) -> dict:
    accepted = len(group.order_lines)
    rejected = len(rejects)
    counts = group.counts
    rejected_by_file = rejects["source_file"].astype(str).value_counts()
    by_reason = rejects["reason_code"].astype(str).value_counts()
    return {
        "command": "plan",
        "rows_in": read.rows_in,
        "rows_accepted": accepted,
        "rows_rejected": rejected,
        "row_conservation": {
            "holds": read.rows_in == accepted + rejected,
            "rule": "rows_in == rows_accepted + rows_rejected",
        },
        "purchases_planned": counts["purchases"],
        "purchase_lines_planned": counts["purchase_lines"],
        "units_planned": counts["units_planned"],
        "quantity_planned": counts["quantity_planned"],
        "revenue_by_currency": counts["revenue_by_currency"],
        "purchases_created": 0,
        "purchases_already_created": 0,
        "purchases_failed": 0,
        "purchases_unknown": 0,
        "api_calls": {},
        "dry_run": True,  # plan never creates anything
        "sandbox": False,
        "duration_s": None,
        "lines_by_disposition": counts["lines_by_disposition"],
        "skipped_by_status": counts["skipped_by_status"],
        "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "window": window.describe(),
        "purchasable_statuses": sorted(wanted),
        "sku_map": {
            "path": str(map_path) if map_path else None,
            "rows": len(sku_map),
            "approved": int((sku_map["status"] == "approved").sum()),
        },
        "files": [
            {
                "path": r.path,
                "format": r.format,
                "header": r.header,
                "rows": r.rows,
                "rejected": int(rejected_by_file.get(r.path, 0)),
                "error": r.error,
            }
            for r in read.files
        ],
    }


# --- write ---------------------------------------------------------------------------------------

TABLES = ("order_lines", "purchases", "purchase_lines", "rejects")


class PlanWriter:
    """Writes the plan's tables while the plan is still being made, then puts them in place.

    `submit(name, frame)` starts encoding a table as soon as it is final, on one of two threads
    (Parquet encoding releases the GIL), into a temporary file beside its target: `plan` hands
    over the order lines, the longest file to write, before it builds the purchase tables.
    `finish` waits for them, writes summary.json and only then renames every file into place, so
    a run that fails half way leaves the previous outputs as they were and no temporary file.
    Use it as a context manager: leaving the block without `finish` discards what was written.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="plan-writer")
        self._pending: dict[str, Future[Path]] = {}

    def __enter__(self) -> PlanWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def path(self, name: str) -> Path:
        return self.out / ("summary.json" if name == "summary" else f"{name}.parquet")

    def submit(self, name: str, frame: pd.DataFrame) -> None:
        if name not in TABLES or name in self._pending:
            raise ValueError(f"unexpected or repeated table {name!r}")
        self._pending[name] = self._pool.submit(self._encode, name, frame)

    def _encode(self, name: str, frame: pd.DataFrame) -> Path:
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
        tmp = _temp_beside(self.path(name))
        try:
            # The order lines' added columns are dictionary arrays (transforms.grouping
            # _annotate); without the stored Arrow schema they read back as plain strings,
            # like every other text column of the outputs.
            pq.write_table(
                table,
                tmp,
                compression="snappy",
                write_statistics=False,
                store_schema=name != "order_lines",
            )
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def finish(self, summary: dict, *, started: float | None = None) -> dict[str, Path]:
        """Wait for the tables, write the summary, move everything into place; the paths.

        `started` (a `time.perf_counter()` value): summary.json's `duration_s` then counts the
        writing too, as the command's wall time; `stage_seconds.write` is the writing that was
        left to wait for once the plan was made.
        """
        missing = [name for name in TABLES if name not in self._pending]
        if missing:
            raise ValueError(f"tables never submitted: {', '.join(missing)}")
        waiting = time.perf_counter()
        temps = {name: self._pending[name].result() for name in TABLES}
        if started is not None:
            summary["duration_s"] = round(time.perf_counter() - started, 3)
            summary.setdefault("stage_seconds", {})["write"] = round(
                time.perf_counter() - waiting, 3
            )
        text = json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n"
        temps["summary"] = _temp_beside(self.path("summary"))
        temps["summary"].write_text(text, encoding="utf-8")
        paths = {}
        for name, tmp in temps.items():
            os.replace(tmp, self.path(name))
            paths[name] = self.path(name)
        self._pending.clear()
        return paths

    def close(self) -> None:
        """Stop and remove whatever was written and not moved into place by `finish`."""
        for future in self._pending.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        for future in self._pending.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().unlink(missing_ok=True)
        self._pending.clear()


def write_plan(
    result: PlanResult, out_dir: str | Path, *, started: float | None = None
) -> dict[str, Path]:
    """Write a finished plan's tables and summary (each file appears whole, or not at all)."""
    with PlanWriter(out_dir) as writer:
        for name in TABLES:
            writer.submit(name, getattr(result, name))
        return writer.finish(result.summary, started=started)


def _temp_beside(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(tmp)

"""`purchase-sync plan`'s files: the ingest's tables as Parquet, and summary.json.

Each file is written to a temporary file beside its target; all are renamed into place once
every one is written, so a run that fails half way leaves the previous outputs as they were
and no temporary file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.pipeline import Ingested

TABLES = ("order_lines", "purchases", "purchase_lines", "rejects")
NOT_WRITTEN = {"purchases": ("payload",)}  # the JSON repeats the row and its lines: tables only


def write_plan(
    result: Ingested, out_dir: str | Path, *, started: float | None = None
) -> dict[str, Path]:
    """Write the tables and the summary; the paths. `started` (a `time.perf_counter()` value)
    makes summary.json's `duration_s` the command's wall time, writing included."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name in TABLES:
            table: pa.Table = getattr(result, name)
            table = table.drop_columns(list(NOT_WRITTEN.get(name, ())))
            temps[name] = _temp_beside(out / f"{name}.parquet")
            pq.write_table(table, temps[name], compression="snappy")
        summary = result.summary
        if started is not None:
            summary["duration_s"] = round(time.perf_counter() - started, 3)
        temps["summary"] = _temp_beside(out / "summary.json")
        text = json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n"
        temps["summary"].write_text(text, encoding="utf-8")
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    paths = {}
    for name, tmp in temps.items():
        target = out / ("summary.json" if name == "summary" else f"{name}.parquet")
        os.replace(tmp, target)
        paths[name] = target
    return paths


def _temp_beside(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(tmp)

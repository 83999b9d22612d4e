"""Ingest benchmark: `purchase-sync plan` on a large export vs a raw Arrow read of the same file.

    python -m benchmarks ingest               # 1,000,000 rows of each marketplace (cached)
    python -m benchmarks ingest --rows 200000 --repeat 3 --marketplaces lazada

For each marketplace's export (Lazada: 77 columns, one row per unit; Shopee: English header;
TikTok Shop: TH layout with its description row; generated once by `synthetic`), both sides
run in fresh subprocesses, interleaved, `--repeat` times (best and median are printed: this
shared 2-core VM's speed drifts by +-30% between runs):
- raw: `pyarrow.csv.read_csv` of the whole file, every column as a string;
- plan: the real command (`python -m purchase_sync.cli plan ... --out tmp`), whose own timer
  (summary.json `duration_s`: plan + writing the outputs, imports excluded) is compared with the
  raw read's, and whose process wall time (imports and interpreter start included) is compared
  with the raw process's.
Peak RSS of each child is its own VmHWM (/proc/self/status) read just before it exits: unlike
ru_maxrss, it does not count the parent's pages the child held between fork and exec.
Targets: plan <= 3x the raw read; plan's peak RSS <= 3x the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.gen_exports import default_path, generate

ROOT = Path(__file__).resolve().parents[1]
TIME_TARGET = 3.0
RSS_TARGET = 3.0

RAW_READ = """
import json, sys, time
import pyarrow as pa, pyarrow.csv as pacsv
path = sys.argv[1]
with open(path, encoding="utf-8-sig") as fh:
    names = fh.readline().rstrip("\\n").split(",")
t0 = time.perf_counter()
table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
    column_types={n: pa.string() for n in names}))
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": table.num_rows}))
"""
# Runs a script (path ending .py) or a module (as `python -m` would), then reports the
# process's peak RSS on stderr.
LAUNCH = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    if sys.argv[0].endswith(".py"):
        runpy.run_path(sys.argv[0], run_name="__main__")
    else:
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as fh:
        hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM"))
    sys.stderr.write(f"\\nVmHWM_KB={hwm}\\n")
"""


def _run(
    argv: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of one child run through LAUNCH, in `cwd`, with
    `env` added to this process's environment."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCH, *argv],
        capture_output=True,
        cwd=cwd,
        env=child_env,
        check=False,
    )
    wall = time.perf_counter() - start
    err = proc.stderr.decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}): {err[-2000:]}")
    hwm = int(err.rsplit("VmHWM_KB=", 1)[1].split()[0])
    return wall, hwm * 1024, proc.stdout.decode()


def raw_read(csv_path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        script = Path(tmp) / "raw_read.py"
        script.write_text(RAW_READ)
        wall, rss, out = _run([str(script), str(csv_path)])
    return {**json.loads(out), "wall": wall, "rss": rss}


def plan_command(csv_path: Path, map_path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as out_dir:
        argv = ["purchase_sync.cli", "plan", str(csv_path), "--sku-map", str(map_path),
                "--out", out_dir]  # fmt: skip
        wall, rss, _ = _run(argv)
        summary = json.loads((Path(out_dir) / "summary.json").read_text())
    return {"seconds": summary["duration_s"], "wall": wall, "rss": rss, "summary": summary}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--marketplaces", default="lazada,shopee,tiktok")
    args = parser.parse_args(argv or [])
    for marketplace in args.marketplaces.split(","):
        bench(marketplace.strip(), args.rows, args.seed, args.repeat)


def bench(marketplace: str, rows: int, seed: int, repeat: int) -> None:
    started = time.perf_counter()
    path = default_path(rows, seed, marketplace)
    csv_path, map_path = generate(rows, path, seed=seed, marketplace=marketplace)
    size = csv_path.stat().st_size
    print(f"\n{marketplace}: {csv_path.name}, {rows:,} rows, {size / 1e6:,.0f} MB "
          f"(ready in {time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip

    raws, plans = [], []
    for i in range(repeat):
        raws.append(raw_read(csv_path))
        plans.append(plan_command(csv_path, map_path))
        print(f"  run {i + 1}: raw read {raws[-1]['seconds']:.2f} s, "
              f"plan {plans[-1]['seconds']:.2f} s, "
              f"ratio {plans[-1]['seconds'] / raws[-1]['seconds']:.2f}x, "
              f"peak RSS {plans[-1]['rss'] / size:.2f}x the file", flush=True)  # fmt: skip
    raw = min(r["seconds"] for r in raws)
    best = min(plans, key=lambda r: r["seconds"])
    s = best["summary"]
    ratio = best["seconds"] / raw
    median = statistics.median(
        p["seconds"] / r["seconds"] for p, r in zip(plans, raws, strict=True)
    )
    wall = min(p["wall"] for p in plans) / min(r["wall"] for r in raws)
    peak = max(p["rss"] for p in plans)
    rss_ratio = peak / size
    print(f"  raw pyarrow read (every column as text): best {raw:.2f} s, "
          f"median {statistics.median(r['seconds'] for r in raws):.2f} s")  # fmt: skip
    print(f"  plan (read, check, decide, group, write): best {best['seconds']:.2f} s, "
          f"median {statistics.median(p['seconds'] for p in plans):.2f} s; "
          f"{s['rows_in']:,} rows -> {s['purchases_planned']:,} purchases")  # fmt: skip
    stages = ", ".join(f"{k} {v:.2f}" for k, v in s.get("stage_seconds", {}).items())
    print(f"  stages of the best run (s): {stages}")
    print(f"  plan / raw read: best {ratio:.2f}x, median of the per-run ratios {median:.2f}x "
          f"(target <= {TIME_TARGET:.0f}x: {'met' if median <= TIME_TARGET else 'NOT met'})")  # fmt: skip
    print(f"  process wall time (imports included): {wall:.2f}x")
    print(f"  peak RSS / file size: {rss_ratio:.2f}x ({peak / 1e6:,.0f} MB; target <= "
          f"{RSS_TARGET:.0f}x: {'met' if rss_ratio <= RSS_TARGET else 'NOT met'})")  # fmt: skip

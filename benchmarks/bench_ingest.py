"""Ingest benchmark: `purchase-sync plan` on a large export vs a raw Arrow read of the same file.

    python -m benchmarks ingest               # 1,000,000 rows (generated once, then cached)
    python -m benchmarks.bench_ingest --rows 200000

Both sides run in fresh subprocesses, interleaved, best of `--repeat` (the median of the
per-run ratios is printed too: this shared 2-core VM's speed drifts by +-30% between runs):
- raw: `pyarrow.csv.read_csv` of the whole file, every column as a string;
- plan: the real command (`python -m purchase_sync.cli plan ... --out tmp`), whose own timer
  (summary.json `duration_s`: plan + writing the outputs, imports excluded) is compared with the
  raw read's, and whose process wall time (imports and interpreter start included) is compared
  with the raw process's.
Peak RSS of each child is its own VmHWM (/proc/self/status) read just before it exits: unlike
ru_maxrss, it does not count the parent's pages the child held between fork and exec.
Targets: plan <= 3x the raw read; plan's peak RSS <= 3x the CSV's size.
"""

from __future__ import annotations

import argparse
import json
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


def _run(argv: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of one child run through LAUNCH."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCH, *argv], capture_output=True, cwd=ROOT, check=False
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
    args = parser.parse_args(argv or [])

    started = time.perf_counter()
    csv_path, map_path = generate(args.rows, default_path(args.rows, args.seed), seed=args.seed)
    size = csv_path.stat().st_size
    print(f"export: {csv_path.name}, {args.rows:,} rows, {size / 1e6:,.0f} MB "
          f"(ready in {time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip

    raws, plans = [], []
    for i in range(args.repeat):
        raws.append(raw_read(csv_path))
        plans.append(plan_command(csv_path, map_path))
        print(f"  run {i + 1}: raw read {raws[-1]['seconds']:.2f} s, "
              f"plan {plans[-1]['seconds']:.2f} s, "
              f"ratio {plans[-1]['seconds'] / raws[-1]['seconds']:.2f}x", flush=True)  # fmt: skip
    raw = min(raws, key=lambda r: r["seconds"])
    best = min(plans, key=lambda r: r["seconds"])
    raw_wall = min(r["wall"] for r in raws)
    plan_wall = min(p["wall"] for p in plans)
    peak = max(p["rss"] for p in plans)
    s = best["summary"]

    ratio = best["seconds"] / raw["seconds"]
    paired = [p["seconds"] / r["seconds"] for p, r in zip(plans, raws, strict=True)]
    median = statistics.median(paired)
    rss_ratio = peak / size
    print(f"raw pyarrow read (77 columns as text): {raw['seconds']:.2f} s "
          f"(process {raw_wall:.2f} s, peak RSS {raw['rss'] / 1e6:,.0f} MB)")  # fmt: skip
    print(f"plan (read+validate+map+group+write):  {best['seconds']:.2f} s "
          f"(process {plan_wall:.2f} s incl. interpreter and imports)")  # fmt: skip
    print(f"  rows {s['rows_in']:,} -> {s['purchases_planned']:,} purchases, "
          f"{s['rows_rejected']:,} rejects")  # fmt: skip
    stages = ", ".join(f"{k} {v:.2f}" for k, v in s.get("stage_seconds", {}).items())
    print(f"  stages (s): {stages}")
    print(f"plan / raw read:           {ratio:.2f}x  (target <= {TIME_TARGET:.0f}x) "
          f"{'ok' if ratio <= TIME_TARGET else 'OVER'}")  # fmt: skip
    print(f"  median of the per-run ratios (each run's raw read and plan back to back): "
          f"{median:.2f}x")  # fmt: skip
    print(f"plan / raw read, process:  {plan_wall / raw_wall:.2f}x")
    print(f"plan peak RSS / CSV size:  {rss_ratio:.2f}x  ({peak / 1e6:,.0f} MB; target <= "
          f"{RSS_TARGET:.0f}x) {'ok' if rss_ratio <= RSS_TARGET else 'OVER'}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])

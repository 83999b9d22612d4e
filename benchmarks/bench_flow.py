"""Flow benchmark: `purchase-sync run --max-purchases 0` on a large export vs the raw read.

    python -m benchmarks flow                  # 1,000,000 rows of each marketplace (cached)
    python -m benchmarks flow --rows 200000 --marketplaces lazada --repeat 1

What sellers run every night, measured as issue 10 asks: a Prefect server already up (started
once here, before anything is timed; `PREFECT_API_URL` points the runs at it) and the sandbox
answering at once (`--sandbox`: in the command's own process, no latency). For each
marketplace's export (`benchmarks.gen_exports`, the files `bench_ingest` uses):

- raw: `pyarrow.csv.read_csv` of the whole file, every column as a string (bench_ingest's),
  best of three before each run;
- run: the real command in a fresh process on a fresh ledger (read, group, register, resolve,
  then send nothing: `--max-purchases 0`), timed by the process's wall time (what a person
  waits for: imports, sandbox start, the flow, its results and report) and, for reference, by
  the flow's own clock (summary.json `duration_s`, which stops before the results are written);
- rerun: the same command, same window, same ledger (every purchase is known already).

Each run prints where its time went: the flow's tasks as the Prefect server recorded them, and
the submit stage's own ledger time. Peak RSS is each child's VmHWM. Targets (issue 10): run
<= 6x the raw read; peak RSS <= 3x the file. The ledger and submit side are being rewritten
(bulk registration from the purchases table); rerun this after that merge.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from benchmarks.bench_ingest import _run, raw_read
from benchmarks.gen_exports import default_path, generate

TIME_TARGET = 6.0
RSS_TARGET = 3.0


@contextmanager
def prefect_server(home: Path):
    """A Prefect server of its own (its own PREFECT_HOME and database), up before any timing."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Prefect server did not start")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def task_seconds(api_url: str, flow_run_id: str) -> list[tuple[str, float]]:
    """(task name, seconds) of a flow run's tasks, as the server recorded them, in start order."""
    import asyncio

    os.environ["PREFECT_API_URL"] = api_url
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list:
        async with get_client() as client:
            flt = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            return await client.read_task_runs(flow_run_filter=flt)

    runs = [r for r in asyncio.run(read()) if r.start_time and r.end_time]
    runs.sort(key=lambda r: r.start_time)
    return [(r.name.rsplit("-", 1)[0], (r.end_time - r.start_time).total_seconds()) for r in runs]


def flow_run(csv_path: Path, map_path: Path, work: Path, api_url: str, label: str) -> dict:
    """One `purchase-sync run --sandbox --max-purchases 0` in a fresh process, in `work` (its
    ledger, sandbox database and outputs persist there between a run and its rerun)."""
    argv = ["purchase_sync.cli", "run", str(csv_path), "--sku-map", str(map_path), "--sandbox",
            "--max-purchases", "0", "--out", str(work / "out"), "--no-progress",
            "--ledger-url", f"sqlite:///{work / 'ledger.sqlite'}"]  # fmt: skip
    env = {"PREFECT_API_URL": api_url, "PREFECT_HOME": str(work / "prefect-home"),
           "PURCHASE_SYNC_CONFIG": "", "PURCHASE_SYNC_PROGRESS": "0"}  # fmt: skip
    wall, rss, _ = _run(argv, cwd=work, env=env)
    summary = json.loads((work / "out" / "summary.json").read_text())
    tasks = task_seconds(api_url, summary["run_id"])
    return {"label": label, "seconds": summary["duration_s"], "wall": wall, "rss": rss,
            "summary": summary, "tasks": tasks}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks flow", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="run + rerun pairs per export")
    parser.add_argument("--marketplaces", default="lazada,shopee,tiktok")
    args = parser.parse_args(argv or [])
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp:
        t0 = time.perf_counter()
        with prefect_server(Path(tmp) / "server") as api_url:
            print(f"Prefect server up in {time.perf_counter() - t0:.1f} s (not timed below)")
            for marketplace in args.marketplaces.split(","):
                bench(marketplace.strip(), args, Path(tmp), api_url)


def bench(marketplace: str, args: argparse.Namespace, tmp: Path, api_url: str) -> None:
    csv_path, map_path = generate(
        args.rows, default_path(args.rows, args.seed, marketplace), seed=args.seed,
        marketplace=marketplace,
    )  # fmt: skip
    size = csv_path.stat().st_size
    print(f"\n{marketplace}: {csv_path.name}, {args.rows:,} rows, {size / 1e6:,.0f} MB", flush=True)
    raws, firsts, reruns = [], [], []
    for i in range(args.repeat):
        work = tmp / f"{marketplace}-{i}"
        work.mkdir()
        raws.append(min((raw_read(csv_path) for _ in range(3)), key=lambda r: r["seconds"]))
        firsts.append(flow_run(csv_path, map_path, work, api_url, "run"))
        reruns.append(flow_run(csv_path, map_path, work, api_url, "rerun"))
        for r in (firsts[-1], reruns[-1]):
            s = r["summary"]
            print(f"  {r['label']} {i + 1}: command {r['wall']:.1f} s (flow clock {r['seconds']:.1f} s), "
                  f"raw read {raws[-1]['seconds']:.2f} s -> {r['wall'] / raws[-1]['seconds']:.1f}x; "
                  f"peak RSS {r['rss'] / size:.2f}x the file; {s['purchases_planned']:,} purchases, "
                  f"registered {_registered(s)}", flush=True)  # fmt: skip
            stages = ", ".join(f"{name} {sec:.1f}" for name, sec in r["tasks"])
            submit = s.get("submit", {})
            ledger = (f"; submit: ledger {submit['ledger_s']:.1f} s of {submit['total_s']:.1f} s"
                      if submit.get("total_s") else "")  # fmt: skip
            print(f"    tasks (s): {stages}{ledger}", flush=True)
    raw = statistics.median(r["seconds"] for r in raws)
    for label, runs in (("run", firsts), ("rerun", reruns)):
        ratio = statistics.median(r["wall"] / w["seconds"] for r, w in zip(runs, raws, strict=True))
        peak = max(r["rss"] for r in runs) / size
        print(f"  {label}: median {statistics.median(r['wall'] for r in runs):.1f} s vs raw "
              f"read {raw:.2f} s: {ratio:.1f}x (target <= {TIME_TARGET:.0f}x: "
              f"{'met' if ratio <= TIME_TARGET else 'NOT met'}); peak RSS {peak:.2f}x the file "
              f"(target <= {RSS_TARGET:.0f}x: {'met' if peak <= RSS_TARGET else 'NOT met'})")  # fmt: skip


def _registered(summary: dict) -> str:
    counts = summary.get("submit", {}).get("registered", {})
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "nothing"


if __name__ == "__main__":
    main(sys.argv[1:])

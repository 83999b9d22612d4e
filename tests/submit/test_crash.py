"""Exactly once across processes: SIGKILLed submit workers, and two workers at once.

The workers are real subprocesses (`python -m purchase_sync.submit.worker`) talking HTTP to the
sandbox; the sandbox's own order store is the judge.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger, State
from purchase_sync.submit.worker import write_purchases

from .conftest import orders_per_outer_id
from .factories import line, many, purchase


def _worker_cmd(sbx, ledger_url: str, jsonl: Path, run_id: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "purchase_sync.submit.worker",
        "--ledger-url",
        ledger_url,
        "--purchases",
        str(jsonl),
        "--base-url",
        sbx.base_url,
        "--run-id",
        run_id,
        *extra,
    ]


def _env(sbx) -> dict[str, str]:
    env = dict(os.environ)
    env.update(sbx.env())
    env.pop("PURCHASE_SYNC_CONFIG", None)
    return env


def _check_exactly_once(sbx, good, bad) -> None:
    per_id = orders_per_outer_id(sbx)
    missing = {p.outer_purchase_id for p in good} - set(per_id)
    duplicated = {k for k, creates in per_id.items() if len(creates) > 1}
    assert not missing, f"{len(missing)} purchase(s) never created"
    assert not duplicated, f"{len(duplicated)} purchase(s) created more than once"
    assert not {p.outer_purchase_id for p in bad} & set(per_id)
    assert sbx.control.stats()["duplicate_outer_ids"] == 0


ALL_FAULTS = {
    "latency_ms": 20,
    "error_5xx_rate": 0.05,
    "rate_429": 0.05,
    "retry_after_s": 0.05,
    "reset_rate": 0.03,
    "lose_response_rate": 0.05,
    "late_commit_rate": 0.08,
    "late_commit_s": 1.0,
    "error_envelope_rate": 0.03,
    "error_envelope_after_commit_rate": 0.05,
    "query_ignore_filter_rate": 0.1,
    "query_short_page_rate": 0.1,
    "query_no_total_rate": 0.1,
    "query_lag_s": 0.5,
}
NO_FAULTS = {k: 0 for k in ALL_FAULTS if k not in ("latency_ms", "late_commit_s")} | {
    "latency_ms": 2
}
# Shrunk timings, same rules: the grace covers the late commit (1 s) plus the query lag (0.5 s).
QUICK = (
    "--max-concurrency", "4", "--claim-batch", "6", "--lease-s", "2", "--heartbeat-s", "0.5",
    "--timeout", "1", "--deadline", "2", "--reconcile-grace-s", "2",
)  # fmt: skip


def _progress(led: Ledger) -> int:
    counts = led.counts()
    return counts["created"] + counts["unknown"] + counts["failed"]


def _wait_for_progress(proc, led: Ledger, target: int, timeout_s: float = 90.0) -> bool:
    """Poll the ledger until `target` purchases have an outcome (or the worker ended); True when
    the worker is still running, to be killed. Driven by progress, not by a timer, so a slow
    start on a loaded machine only makes the round longer."""
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if _progress(led) >= target:
            return True
        time.sleep(0.05)
    return proc.poll() is None


def test_sigkill_at_random_points_then_one_clean_run(sbx, sqlite_url, tmp_path) -> None:
    """Rounds of a worker SIGKILLed after a random amount of progress while the sandbox injects
    every fault it has (late commits, envelopes after commit, lying queries included); then one
    clean run settles everything: 0 duplicates, 0 missing, exit 0, and the ledger agrees with
    the sandbox's own order store."""
    good = many(160)
    bad = [purchase("nip", (line(1, "700000000001", "7000000000011"),))]
    jsonl = tmp_path / "purchases.jsonl"
    write_purchases(good + bad, jsonl)
    led = Ledger(sqlite_url)
    led.create_schema()
    sbx.control.set_config(**ALL_FAULTS)
    rng = random.Random(20260301)
    killed = 0
    for k in range(8):
        proc = subprocess.Popen(
            _worker_cmd(sbx, sqlite_url, jsonl, f"crash-{k % 3}", *QUICK),
            env=_env(sbx),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        target = _progress(led) + rng.randint(1, 12)
        if _wait_for_progress(proc, led, target):
            proc.kill()  # SIGKILL: no cleanup, leases and buffered outcomes left behind
            killed += 1
        proc.wait()
    assert killed >= 4  # the rounds really crashed mid-run
    stats = sbx.control.stats()
    assert stats["late_commits"] + stats["error_envelopes_after_commit"] > 0
    sbx.control.set_config(**NO_FAULTS)
    done = subprocess.run(
        _worker_cmd(sbx, sqlite_url, jsonl, "clean", *QUICK),
        env=_env(sbx),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["unknown"] == 0
    assert last["final_states"]["created"] == len(good)
    assert last["final_states"]["failed"] == len(bad)
    _check_exactly_once(sbx, good, bad)
    # The ledger agrees with the store: what exists is `created`, and nothing else is.
    stored = set(orders_per_outer_id(sbx))
    rows = led.results_rows([p.outer_purchase_id for p in good + bad])
    assert {i for i, r in rows.items() if r.state is State.CREATED} == stored
    led.close()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_workers_at_once_never_duplicate(backend, sbx, tmp_path, request) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    good = many(300)
    bad = [purchase("nomp", (line(1, "700000000002", "7000000000021"),))]
    jsonl = tmp_path / "purchases.jsonl"
    write_purchases(good + bad, jsonl)
    Ledger(url).create_schema()
    sbx.control.set_config(latency_ms=10)
    procs = [
        subprocess.Popen(
            _worker_cmd(
                sbx, url, jsonl, f"w{i}", "--max-concurrency", "16", "--claim-batch", "16",
                "--report", str(tmp_path / f"w{i}.json"),
            ),
            env=_env(sbx),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    reports = [json.loads((tmp_path / f"w{i}.json").read_text()) for i in range(2)]
    assert sum(r["creates_sent"] for r in reports) == len(good)
    _check_exactly_once(sbx, good, bad)

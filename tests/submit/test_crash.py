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

from ledger import Ledger
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


def test_sigkill_at_random_points_then_one_clean_run(sbx, sqlite_url, tmp_path) -> None:
    """16 rounds of a worker SIGKILLed at a random moment while the sandbox injects 5xx, 429,
    resets and "commit then lose the response"; then a clean restart of each run id."""
    good = many(200)
    bad = [purchase("nip", (line(1, "700000000001", "7000000000011"),))]
    jsonl = tmp_path / "purchases.jsonl"
    write_purchases(good + bad, jsonl)
    Ledger(sqlite_url).create_schema()
    sbx.control.set_config(
        latency_ms=20,
        error_5xx_rate=0.05,
        rate_429=0.05,
        retry_after_s=0.05,
        reset_rate=0.03,
        lose_response_rate=0.08,
    )
    common = (
        "--max-concurrency", "4", "--claim-batch", "6", "--lease-s", "12",
        "--timeout", "1", "--deadline", "4", "--reconcile-grace-s", "0.3",
    )  # fmt: skip
    rng = random.Random(20260301)
    run_ids = ["crash-0", "crash-1", "crash-2"]
    killed = 0
    for k in range(16):
        proc = subprocess.Popen(
            _worker_cmd(sbx, sqlite_url, jsonl, run_ids[k % 3], *common),
            env=_env(sbx),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=rng.uniform(0.6, 2.6))
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL: no cleanup, leases and buffered outcomes left behind
            proc.wait()
            killed += 1
    assert killed >= 5  # the rounds really crashed mid-run
    stats = sbx.control.stats()
    assert stats["lost_responses"] + stats["resets"] + stats["errors_5xx"] > 0
    sbx.control.set_config(
        error_5xx_rate=0, rate_429=0, reset_rate=0, lose_response_rate=0, latency_ms=2
    )
    # A restarted run id takes over its own submitting rows at once (no lease wait).
    for run_id in run_ids:
        done = subprocess.run(
            _worker_cmd(sbx, sqlite_url, jsonl, run_id, *common),
            env=_env(sbx),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["final_states"]["created"] == len(good)
    assert last["final_states"]["failed"] == len(bad)
    _check_exactly_once(sbx, good, bad)


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

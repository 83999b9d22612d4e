"""Embedding forms, the command line, and durability across a crash of the server process."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.options import add_arguments, config_from_args
from sandbox.server import READY_PREFIX, start_subprocess
from sandbox.testing import sandbox_server
from tests.sandbox.conftest import Api, line


def test_options_map_onto_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    ns = parser.parse_args(
        [
            "--latency-ms",
            "50",
            "--jitter-ms",
            "5",
            "--error-5xx-rate",
            "0.1",
            "--rate-429",
            "0.2",
            "--retry-after",
            "2",
            "--reset-rate",
            "0.01",
            "--lose-response-rate",
            "0.02",
            "--late-commit-rate",
            "0.03",
            "--late-commit-delay",
            "4.5",
            "--error-envelope-rate",
            "0.04",
            "--error-envelope-after-commit-rate",
            "0.05",
            "--query-ignore-filter-rate",
            "0.06",
            "--query-short-page-rate",
            "0.07",
            "--query-no-total-rate",
            "0.08",
            "--query-lag",
            "1.5",
            "--auto-close",
            "3600",
            "--ship-delay",
            "600",
            "--cancel-delay",
            "2",
            "--building",
            "1",
            "--max-inflight",
            "32",
            "--token-ttl",
            "60",
            "--key-style",
            "snake",
            "--success-as-string",
            "--dedupe-outer-id",
            "--seed",
            "3",
            "--db",
            "/tmp/o.sqlite",
            "--fault-endpoints",
            "create,query",
        ]
    )
    cfg = config_from_args(ns)
    assert cfg == SandboxConfig(
        latency_ms=50,
        jitter_ms=5,
        error_5xx_rate=0.1,
        rate_429=0.2,
        retry_after_s=2,
        reset_rate=0.01,
        lose_response_rate=0.02,
        late_commit_rate=0.03,
        late_commit_s=4.5,
        error_envelope_rate=0.04,
        error_envelope_after_commit_rate=0.05,
        query_ignore_filter_rate=0.06,
        query_short_page_rate=0.07,
        query_no_total_rate=0.08,
        query_lag_s=1.5,
        auto_close_s=3600,
        ship_delay_s=600,
        cancel_delay_s=2,
        building_s=1,
        max_inflight=32,
        token_ttl_s=60,
        key_style="snake",
        success_as_string=True,
        dedupe_outer_id=True,
        seed=3,
        db_path="/tmp/o.sqlite",
        fault_endpoints=("create", "query"),
    )
    assert config_from_args(parser.parse_args([])) == SandboxConfig()


def test_orders_survive_a_killed_server_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A create answered before the crash is on disk: commit happens before the response."""
    db = str(tmp_path / "orders.sqlite")
    handle = start_subprocess(SandboxConfig(db_path=db))
    assert handle.pid is not None and handle.pid != os.getpid()
    with Api(handle) as api:
        mp, skus = api.mp_ids(718293045561)
        pids = [
            api.create(f"PS-K{n}", [line(mp, skus[0], "1")])["data"]["orderList"][0]["purchaseId"]
            for n in range(5)
        ]
    handle.kill()  # SIGKILL: no shutdown hook runs
    assert handle.process is not None and handle.process.returncode == -signal.SIGKILL
    with start_subprocess(SandboxConfig(db_path=db)) as again:
        stored = again.control.orders()
        assert sorted(int(o["purchase_id"]) for o in stored) == sorted(pids)


def test_sandbox_server_helper_in_a_subprocess() -> None:
    with sandbox_server(subprocess=True, key_style="snake") as handle:
        assert handle.control.health()
        with Api(handle) as api:
            body = api.product(718293045561)
        assert "error_code" in body and "sku_list" in body["data"]
        proc = handle.process
    assert proc is not None and proc.returncode == 0  # SIGTERM -> clean shutdown
    with pytest.raises(httpx.TransportError):
        httpx.get(handle.base_url + "/_sandbox/health", timeout=2)


def test_handle_env_names_the_client_settings() -> None:
    with sandbox_server() as handle:
        env = handle.env()
        assert env["SHANJING_BASE_URL"] == handle.base_url
        assert env["SHANJING_ACCESS_TOKEN"] == "sandbox-access-token"
        assert set(env) == {"SHANJING_BASE_URL", "SHANJING_ACCESS_TOKEN", "SHANJING_REFRESH_TOKEN"}


def test_cli_serves_until_interrupted() -> None:
    cmd = [sys.executable, "-m", "purchase_sync.cli", "sandbox", "--port", "0", "--latency-ms", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(READY_PREFIX), first
        url = first[len(READY_PREFIX) :].strip()
        assert httpx.get(url + "/_sandbox/health", timeout=5).json() == {"ok": True}
        assert httpx.get(url + "/_sandbox/config", timeout=5).json()["latency_ms"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    with proc.stdout, proc.stderr:  # type: ignore[union-attr]
        out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == 0, err
    assert "SHANJING_ACCESS_TOKEN=sandbox-access-token" in out
    assert "Traceback" not in err


def test_cli_refuses_a_bad_option_in_one_line() -> None:
    cmd = [sys.executable, "-m", "purchase_sync.cli", "sandbox", "--port", "0", "--rate-429", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("purchase-sync: bad sandbox option: rate_429")
    assert "Traceback" not in proc.stderr


def test_custom_tokens_are_never_printed() -> None:
    secret = "custom-token-not-for-stdout"
    cmd = [sys.executable, "-m", "sandbox", "--port", "0", "--config-stdin"]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(
        SandboxConfig(access_token=secret, refresh_token=secret + "-r").model_dump_json() + "\n"
    )
    proc.stdin.close()
    lines = [proc.stdout.readline() for _ in range(5)]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    with proc.stdout, proc.stderr:  # type: ignore[union-attr]
        text = "".join(lines) + proc.stdout.read() + proc.stderr.read()  # type: ignore[union-attr]
    assert lines[0].startswith(READY_PREFIX)
    assert secret not in text and "not shown" in text

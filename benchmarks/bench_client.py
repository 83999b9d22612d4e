"""Creates/s of the Shanjing client against the sandbox, versus the Little's-law bound.

The sandbox runs in a child process with 50 ms latency per request. For each concurrency C the
client (httpx-aiohttp transport) and a plain-httpx client (the baseline) each keep C creates in
flight for a fixed time; the report prints req/s and the ratio to the bound C / latency.
Creates are the expensive path (validation, SQLite commit, per-supplier split on the server;
body building and response validation on the client). Target: >= 0.8 of the bound at C=64.

    python -m benchmarks client [--duration 3] [--concurrency 16,64,128] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.catalog import TB_BASE_ITEM
from sandbox.config import SandboxConfig
from sandbox.server import start_subprocess
from shanjing import (
    Address,
    CreateOrderRequest,
    OrderLine,
    ShanjingClient,
    ShanjingError,
    StaticTokenStore,
    TokenManager,
)

RECEIVER = Address(name="Bench", phone="0", country="Malaysia", city="Ipoh", address="1 Jalan")


@dataclass
class Run:
    transport: str
    concurrency: int
    done: int
    failed: int
    seconds: float
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.done / self.seconds


def _client(base_url: str, access: str, refresh: str, transport: str, c: int) -> ShanjingClient:
    tokens = TokenManager(StaticTokenStore(access, refresh))
    return ShanjingClient(base_url, tokens, transport=transport, max_connections=c)  # type: ignore[arg-type]


async def _resolve(base_url: str, access: str, refresh: str, items: int) -> list[OrderLine]:
    """A pool of orderable lines from generated catalog items (through the client itself)."""
    async with _client(base_url, access, refresh, "aiohttp", 32) as client:
        products = await asyncio.gather(
            *(client.get_product(str(TB_BASE_ITEM + i)) for i in range(items) if i % 50 != 49)
        )
    return [
        OrderLine(
            mp_id=p.mp_id, mp_sku_id=s.mp_sku_id, order_line_no="1", quantity=1, price=s.price
        )
        for p in products
        for s in p.skus
        if p.mp_id and s.mp_sku_id and s.price is not None
    ]


def _request(pool: list[OrderLine], tag: str, n: int) -> CreateOrderRequest:
    line = pool[(n * 7) % len(pool)]
    return CreateOrderRequest(
        outer_purchase_id=f"BENCH-{tag}-{n:07d}",
        purchase_amount=line.price,
        seller_order_number=str(n),
        order_source="lazada",
        lines=[line],
        receiver=RECEIVER,
    )


async def _measure(
    base_url: str,
    access: str,
    refresh: str,
    pool: list[OrderLine],
    transport: str,
    c: int,
    duration: float,
    server_pid: int | None,
) -> Run:
    tag = f"{transport}-{c}"
    counter = iter(range(10**9))
    done = failed = 0
    async with _client(base_url, access, refresh, transport, c) as client:
        # Warm-up: open the C connections before timing.
        await asyncio.gather(
            *(client.create_order(_request(pool, tag, next(counter))) for _ in range(c))
        )
        end = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal done, failed
            while time.perf_counter() < end:
                try:
                    await client.create_order(_request(pool, tag, next(counter)))
                    done += 1
                except ShanjingError:
                    failed += 1

        t0, cpu0, srv0 = time.perf_counter(), time.process_time(), _cpu_of(server_pid)
        await asyncio.gather(*(worker() for _ in range(c)))
        seconds = time.perf_counter() - t0
        cpu, srv1 = time.process_time() - cpu0, _cpu_of(server_pid)
    server = srv1 - srv0 if srv0 is not None and srv1 is not None else None
    return Run(transport, c, done, failed, seconds, cpu, server)


def _cpu_of(pid: int | None) -> float | None:
    """CPU seconds used so far by process `pid` (Linux /proc), to tell who is the bottleneck."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _ms(seconds: float | None, n: int) -> str:
    return f"{seconds / n * 1000:.2f}" if seconds is not None and n else "n/a"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks client", description=__doc__)
    parser.add_argument("--duration", type=float, default=3.0, help="timed seconds per run")
    parser.add_argument("--concurrency", default="16,64,128")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--transports", default="aiohttp,httpx")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    transports = args.transports.split(",")
    latency = args.latency_ms / 1000

    sandbox = start_subprocess(SandboxConfig(latency_ms=args.latency_ms))
    try:
        access, refresh, url = sandbox.access_token, sandbox.refresh_token, sandbox.base_url
        pool = asyncio.run(_resolve(url, access, refresh, 60))
        print(
            f"sandbox latency {args.latency_ms:g} ms, {len(pool)} SKUs, {args.duration:g} s per run"
        )
        print(
            f"{'C':>5} {'transport':>9} {'creates':>8} {'req/s':>8} {'bound':>7} {'ratio':>6} {'failed':>6}"
            f" {'client ms/create':>18} {'sandbox ms/create':>19}"
        )
        runs: list[Run] = []
        for c in levels:
            for transport in transports:
                run = asyncio.run(
                    _measure(url, access, refresh, pool, transport, c, args.duration, sandbox.pid)
                )
                runs.append(run)
                bound = c / latency
                print(
                    f"{c:>5} {transport:>9} {run.done:>8} {run.rate:>8.0f} {bound:>7.0f} "
                    f"{run.rate / bound:>6.2f} {run.failed:>6} "
                    f"{_ms(run.client_cpu_s, run.done):>18} {_ms(run.server_cpu_s, run.done):>19}",
                    flush=True,
                )
        stats = sandbox.control.stats()
        sent = sum(r.done + r.concurrency for r in runs)  # timed + warm-up creates
        print(
            f"sandbox: {stats['creates_committed']} creates committed (client counted {sent}), "
            f"{stats['duplicate_outer_ids']} duplicate outer ids, max in-flight "
            f"{stats['max_inflight_seen']}"
        )
        for c in levels:
            by = {r.transport: r for r in runs if r.concurrency == c}
            if "aiohttp" in by and "httpx" in by:
                print(
                    f"C={c}: aiohttp transport / plain httpx = {by['aiohttp'].rate / by['httpx'].rate:.1f}x"
                )
        print(
            f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
            "(client and sandbox need one core each; other load lowers the ratios)"
        )
    finally:
        sandbox.stop()

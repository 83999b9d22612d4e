"""`python -m sandbox.loadgen`: how many creates/s a plain aiohttp client gets from the sandbox.

Starts the sandbox in a child process (so it does not share the client's GIL), resolves a pool of
generated items through `product/get`, then sends N creates at concurrency C and prints the rate
against the Little's-law bound C / latency. Also checks that every create was stored exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import aiohttp

from sandbox.app import PATHS, PREFIX
from sandbox.catalog import TB_BASE_ITEM
from sandbox.config import SandboxConfig
from sandbox.server import start_in_thread, start_subprocess


async def _run(base_url: str, token: str, creates: int, concurrency: int, items: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, headers=headers, connector=connector) as http:
        pool: list[tuple[int, int]] = []

        async def resolve(i: int) -> None:
            async with http.get(
                PREFIX + PATHS["product"][1], params={"item_id": str(TB_BASE_ITEM + i)}
            ) as resp:
                data = (await resp.json())["data"]
            pool.extend((int(data["mpId"]), s["mpSkuId"]) for s in data["skuList"])

        # items with i % 50 == 49 are not in the distribution pool
        await asyncio.gather(*(resolve(i) for i in range(items) if i % 50 != 49))
        pool.sort()
        receiver = {"name": "Load Gen", "address": "1 Jalan Test", "country": "Malaysia"}
        failures = 0
        todo = iter(range(creates))

        async def one(n: int) -> None:
            nonlocal failures
            picks = [pool[(n * 7 + k * 13) % len(pool)] for k in range(1 + n % 3)]
            lines = [
                {"itemId": mp, "skuId": sku, "orderLineNo": str(k + 1), "quantity": "1"}
                for k, (mp, sku) in enumerate(dict.fromkeys(picks))
            ]
            body = {
                "outer_purchase_id": f"LOAD-{n:07d}",
                "purchase_amount": 0,
                "order_line_list": json.dumps(lines),
                "receiver": receiver,
            }
            async with http.post(PREFIX + PATHS["create"][1], json=body) as resp:
                ok = resp.status == 200 and (await resp.json())["success"] is True
            failures += not ok

        async def worker() -> None:
            for n in todo:
                await one(n)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        if failures:
            raise SystemExit(f"{failures} creates failed")
        return creates / elapsed


def _cpu_s(pid: int | None) -> float | None:
    """User+system CPU seconds of a child process (Linux), to report cost per create."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sandbox.loadgen", description=__doc__)
    p.add_argument("--creates", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--items", type=int, default=300, help="generated items to order from")
    p.add_argument("--in-thread", action="store_true", help="server in this process (shares GIL)")
    p.add_argument("--url", help="use this running sandbox (started with the same latency)")
    args = p.parse_args(argv)
    if args.url:
        rate = asyncio.run(
            _run(args.url, SandboxConfig().access_token, args.creates, args.concurrency, args.items)
        )
        print(f"{rate:,.0f} creates/s")
        return 0
    config = SandboxConfig(latency_ms=args.latency_ms)
    start = start_in_thread if args.in_thread else start_subprocess
    with start(config) as sbx:
        cpu0, srv0 = time.process_time(), _cpu_s(sbx.pid)
        rate = asyncio.run(
            _run(sbx.base_url, sbx.access_token, args.creates, args.concurrency, args.items)
        )
        cpu1, srv1 = time.process_time(), _cpu_s(sbx.pid)
        stats = sbx.control.stats()
    bound = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    where = "same process" if args.in_thread else "subprocess"
    print(
        f"creates: {args.creates} at C={args.concurrency}, latency {args.latency_ms:g} ms "
        f"(server in {where}): {rate:,.0f} creates/s = {rate / bound:.2f} of the "
        f"{bound:,.0f}/s bound"
    )
    per = 1000 / args.creates
    srv = f", server {(srv1 - srv0) * per:.2f}" if srv0 is not None and srv1 is not None else ""
    print(
        f"CPU ms per create (resolve phase included): this process {(cpu1 - cpu0) * per:.2f}{srv}"
    )
    print(
        f"stored: {stats['creates_committed']} creates, {stats['purchase_orders_committed']} "
        f"supplier orders, duplicate outer ids: {stats['duplicate_outer_ids']}"
    )
    ok = stats["creates_committed"] == args.creates and stats["duplicate_outer_ids"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

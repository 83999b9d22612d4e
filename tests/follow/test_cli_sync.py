"""`purchase-sync sync` end to end: a real export read by the ingest, the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from ledger import Ledger
from purchase_sync import cli
from purchase_sync.follow.ledger_view import created_purchases
from transforms import ingest, to_planned_purchases

from .conftest import create

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
EXPORT = SAMPLES / "lazada_orders_2026-11-26.csv"
SKU_MAP = SAMPLES / "sku_map.csv"


def _cancel_order_in_copy(order_number: str, dest: Path) -> int:
    """A later export: the same file with every line of one order now `canceled`."""
    with EXPORT.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    changed = 0
    for row in rows:
        if row["orderNumber"] == order_number:
            row["status"], changed = "canceled", changed + 1
    with dest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return changed


def test_sync_command_dry_run_then_cancel(sbx, tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite"
    planned = to_planned_purchases(*_tables())[:6]
    ledger = Ledger(url)
    ledger.create_schema()
    asyncio.run(create(sbx, ledger, planned))
    target = planned[0]
    assert created_purchases(ledger.engine)[target.outer_purchase_id].purchase_ids
    ledger.close()
    later = tmp_path / "lazada_later.csv"
    assert _cancel_order_in_copy(target.order_number, later) >= 1
    for key, value in sbx.env().items():
        monkeypatch.setenv(key, value)
    args = ["sync", "--cancel-from", str(later), "--sku-map", str(SKU_MAP)]
    args += ["--ledger-url", url, "--out", str(tmp_path / "out")]

    assert cli.main([*args, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert f"would cancel {target.outer_purchase_id}" in printed
    assert "to PAY" in printed.strip().splitlines()[-1]  # six unpaid purchases, due in a day
    assert sbx.control.stats()["requests"].get("cancel", 0) == 0

    assert cli.main(args) == 0
    capsys.readouterr()
    n_remote = len(created_purchases_at(url)[target.outer_purchase_id].purchase_ids)
    assert sbx.control.stats()["requests"]["cancel"] == n_remote
    cancels = (tmp_path / "out/follow/cancels.csv").read_text()
    assert cancels.count(target.outer_purchase_id) == n_remote and "accepted" in cancels


def created_purchases_at(url: str):
    ledger = Ledger(url)
    try:
        return created_purchases(ledger.engine)
    finally:
        ledger.close()


def _tables():
    result = ingest([EXPORT], sku_map=SKU_MAP)
    return result.purchases, result.purchase_lines

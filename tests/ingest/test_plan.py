"""`purchase-sync plan` and `ingest()` end to end on the samples and test files."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from purchase_sync.cli import main as cli
from schemas.errors import UserError
from tests.ingest.conftest import DATA, SAMPLES
from transforms import ingest, to_planned_purchases, write_plan

SAMPLE_MAP = SAMPLES / "sku_map.csv"
LAZADA_CSV = str(SAMPLES / "lazada_orders_2026-11-26.csv")
LAZADA_XLSX = str(SAMPLES / "lazada_orders_2026-11-26.xlsx")
ALL = [LAZADA_CSV, str(SAMPLES / "shopee_*"), str(SAMPLES / "tiktok_*")]
INTERFACE_KEYS = {
    "rows_in", "rows_accepted", "rows_rejected", "purchases_planned", "purchases_created",
    "purchases_already_created", "purchases_failed", "purchases_unknown", "api_calls", "dry_run",
    "sandbox", "duration_s",
}  # fmt: skip


@pytest.fixture(scope="module")
def everything():
    return ingest(ALL, sku_map=SAMPLE_MAP)


def test_the_sample_shop_on_three_marketplaces_adds_up(everything):
    s = everything.summary
    assert set(s) >= INTERFACE_KEYS
    assert s["row_conservation"]["holds"]
    assert s["rows_in"] == s["rows_accepted"] + s["rows_rejected"]
    assert {f["marketplace"] for f in s["files"]} == {"lazada", "shopee", "tiktok"}
    assert {f["header"] for f in s["files"]} >= {"current", "en", "th", "vi", "zh"}
    assert all(f["error"] is None for f in s["files"])
    for f in s["files"]:  # conservation per file too
        accepted = sum(
            1 for p in everything.order_lines["source_file"].to_pylist() if p == f["path"]
        )
        assert f["rows"] == accepted + f["rejected"]
    assert set(s["rejected_by_reason"]) >= {
        "BAD_DATE", "BAD_PRICE", "UNKNOWN_STATUS", "FORMULA_INJECTION", "BAD_ID", "MISSING_VALUE",
        "DUPLICATE_CONFLICT", "UNMAPPED_SKU", "SKU_NOT_APPROVED", "BAD_QUANTITY",
        "RECEIVER_CONFLICT"}  # fmt: skip
    purchases = everything.purchases
    assert set(purchases["marketplace"].to_pylist()) == {"lazada", "shopee", "tiktok"}
    assert set(purchases["country"].to_pylist()) == {"MY", "SG", "PH", "TH", "VN", "ID"}
    assert s["purchases_planned"] == purchases.num_rows > 100
    prefixes = {i[:5] for i in purchases["outer_purchase_id"].to_pylist()}
    assert prefixes == {"PS-LA", "PS-SH", "PS-TI"}
    assert s["purchases_created"] == 0 and s["dry_run"] is True


def test_overlapping_xlsx_adds_rows_but_not_purchases():
    csv_only = ingest([LAZADA_CSV], sku_map=SAMPLE_MAP)
    both = ingest([LAZADA_CSV, LAZADA_XLSX], sku_map=SAMPLE_MAP)
    assert both.summary["rows_in"] > csv_only.summary["rows_in"]
    assert both.summary["lines_by_disposition"]["duplicate"] > 0
    assert both.purchases["payload_hash"].equals(csv_only.purchases["payload_hash"])


def test_overlapping_days_use_the_newest_status():
    result = ingest([str(DATA / "lazada_overlap_day1.csv"), str(DATA / "lazada_overlap_day2.csv")],
                    sku_map=DATA / "sku_map.csv")  # fmt: skip
    got = set(zip(result.order_lines["order_line_id"].to_pylist(),
                  result.order_lines["disposition"].to_pylist(), strict=True))  # fmt: skip
    assert ("212345678911234", "skipped_status") in got  # shipped on day 2
    assert ("212345678911234", "duplicate") in got
    lines = result.purchase_lines.to_pylist()
    assert [ln["units"] for ln in lines if ln["seller_sku"] == "BAG-TOTE-GRY"] == [1]


def test_window_selects_by_shop_day():
    result = ingest([str(DATA / "lazada_current.csv")], sku_map=DATA / "sku_map.csv",
                    since="2026-03-15", until="2026-03-16")  # fmt: skip
    assert set(result.purchases["order_number"].to_pylist()) == {"300000000100003",
                                                                 "300000000100004"}  # fmt: skip
    assert result.summary["window"]["since"] == "2026-03-15T00:00:00"


def test_default_sku_map_is_looked_for_next_to_the_first_input(tmp_path):
    shutil.copy(DATA / "lazada_current.csv", tmp_path / "export.csv")
    with pytest.raises(UserError, match=r"sku_map\.csv"):
        ingest([str(tmp_path / "export.csv")])
    shutil.copy(DATA / "sku_map.csv", tmp_path / "sku_map.csv")
    assert ingest([str(tmp_path / "export.csv")]).summary["sku_map"]["rows"] == 37


def test_planned_records_for_the_current_submit_stage():
    result = ingest([str(DATA / "lazada_current.csv")], sku_map=DATA / "sku_map.csv")
    planned = to_planned_purchases(result.purchases, result.purchase_lines)
    assert len(planned) == result.purchases.num_rows
    cap = next(p for p in planned if p.country == "SG")
    assert cap.lines[0].quantity == 2 and cap.lines[0].source_spec_id.startswith("2ba3")
    assert cap.receiver.city == "Singapore"


def test_write_plan_writes_each_file_atomically(tmp_path, everything):
    paths = write_plan(everything, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"order_lines.parquet", "purchases.parquet",
        "purchase_lines.parquet", "rejects.parquet", "summary.json"}  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values()
    )  # no temp file left behind
    rejects = pq.read_table(paths["rejects"])
    assert rejects.column_names == ["source_file", "source_row", "order_line_id", "order_number",
                                    "reason_code", "reason", "column", "value", "marketplace",
                                    "country"]  # fmt: skip
    purchases = pq.read_table(paths["purchases"])
    assert "payload_hash" in purchases.column_names and "payload" not in purchases.column_names
    for name in ("order_lines", "purchases", "purchase_lines", "rejects"):
        schema = pq.read_schema(paths[name])
        assert not [f.name for f in schema if pa.types.is_floating(f.type)]
        for f in schema:
            if f.name.endswith(("_id", "_number", "_ids")):
                assert "string" in str(f.type), (name, f.name, f.type)
    assert json.loads(paths["summary"].read_text())["rows_in"] == everything.rows_in


def test_a_failed_write_leaves_the_previous_outputs(tmp_path, everything, monkeypatch):
    out = tmp_path / "out"
    first = write_plan(everything, out)
    before = {name: path.read_bytes() for name, path in first.items()}
    import transforms.output as output

    real = output.pq.write_table
    calls = []

    def fail_on_the_third(table, where, **kw):
        calls.append(where)
        if len(calls) == 3:
            raise OSError("disk full")
        real(table, where, **kw)

    monkeypatch.setattr(output.pq, "write_table", fail_on_the_third)
    with pytest.raises(OSError, match="disk full"):
        write_plan(everything, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in first.values())
    assert {name: path.read_bytes() for name, path in first.items()} == before


def test_cli_plan_prints_a_summary_and_writes_outputs(tmp_path, capsys):
    code = cli(["plan", *ALL, "--sku-map", str(SAMPLE_MAP), "--out", str(tmp_path),
                "--statuses", "pending,ready_to_ship,shopee:To ship,tiktok:awaiting_shipment"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "rows in" in out and "purchases" in out and "wrote" in out
    assert "lazada" in out and "shopee" in out and "tiktok" in out
    assert "Nur Aisyah" not in out  # no personal data on the terminal
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["duration_s"] > 0
    assert summary["purchasable_statuses"] == {
        "lazada": ["pending", "ready_to_ship"], "shopee": ["ready_to_ship"],
        "tiktok": ["awaiting_shipment"]}  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "nothing-here-*.csv"], "no input file matches"),
        (["plan", LAZADA_CSV, "--sku-map", str(DATA / "sku_map_conflict.csv")], "conflicting"),
        (["plan", LAZADA_CSV, "--sku-map", str(SAMPLE_MAP), "--since", "someday"], "--since"),
        (["plan", LAZADA_CSV, "--sku-map", str(SAMPLE_MAP), "--statuses", "pendng"], "unknown status"),
        (["plan", LAZADA_CSV, "--sku-map", str(SAMPLE_MAP), "--statuses", "ebay:x"], "unknown marketplace"),
        (["plan", str(DATA / "lazada_missing_column.csv"), "--sku-map", str(SAMPLE_MAP)], "sellerSku"),
    ],
)  # fmt: skip
def test_cli_fatal_problems_exit_2_with_one_line(argv, message, tmp_path, capsys):
    code = cli([*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_file_with_a_conflicting_duplicate_and_an_unapproved_sku():
    conflict = ingest([str(DATA / "lazada_duplicate_conflict.csv")], sku_map=DATA / "sku_map.csv")
    assert conflict.summary["rejected_by_reason"] == {"DUPLICATE_CONFLICT": 2}
    assert set(conflict.rejects["column"].to_pylist()) == {"paid_price"}
    current = ingest([str(DATA / "lazada_current.csv")], sku_map=DATA / "sku_map.csv")
    (reject,) = current.rejects.to_pylist()
    assert (reject["reason_code"], reject["value"]) == ("SKU_NOT_APPROVED", "pending")
    assert reject["order_line_id"] == "300000000120001"  # LAMP-DESK-WHT, pending in the map


def test_one_run_mixes_marketplaces_countries_and_file_types():
    names = ["lazada_current.xlsx", "shopee_en.xlsx", "shopee_th_cp874.csv", "tiktok_th.csv",
             "tiktok_my.xlsx", "lazada_legacy_semicolon.csv"]  # fmt: skip
    result = ingest([str(DATA / n) for n in names], sku_map=DATA / "sku_map.csv")
    s = result.summary
    assert s["row_conservation"]["holds"]
    assert s["lines_by_marketplace"] == {"lazada": 23, "shopee": 10, "tiktok": 10}
    by_market = {}
    for p in result.purchases.to_pylist():
        by_market.setdefault(p["marketplace"], set()).add(p["country"])
    assert by_market == {"lazada": {"MY", "SG", "TH", "ID"}, "shopee": {"MY", "TH"},
                         "tiktok": {"MY", "TH"}}  # fmt: skip
    shopee_cap = [ln for ln in result.purchase_lines.to_pylist()
                  if ln["marketplace"] == "shopee" and ln["seller_sku"] == "CAP-BSB-2PK"]  # fmt: skip
    assert [(ln["units"], ln["quantity"]) for ln in shopee_cap] == [(3, 6), (3, 6)]

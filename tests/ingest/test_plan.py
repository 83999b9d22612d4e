"""plan / write_plan / `purchase-sync plan` end to end on the samples and test files."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from purchase_sync.cli import main as cli
from schemas.errors import UserError
from schemas.records import PlannedPurchase
from tests.ingest.conftest import DATA, SAMPLES
from transforms import PlanWriter, plan, write_plan

SAMPLE_CSV = str(SAMPLES / "lazada_orders_2026-11-26.csv")
SAMPLE_XLSX = str(SAMPLES / "lazada_orders_2026-11-26.xlsx")
SAMPLE_MAP = str(SAMPLES / "sku_map.csv")
INTERFACE_KEYS = {
    "rows_in", "rows_accepted", "rows_rejected", "purchases_planned", "purchases_created",
    "purchases_already_created", "purchases_failed", "purchases_unknown", "api_calls", "dry_run",
    "sandbox", "duration_s",
}  # fmt: skip


def test_sample_plan_adds_up():
    result = plan([SAMPLE_CSV], SAMPLE_MAP)
    s = result.summary
    assert set(s) >= INTERFACE_KEYS
    assert s["row_conservation"]["holds"]
    assert s["rows_in"] == s["rows_accepted"] + s["rows_rejected"] == 180
    assert s["purchases_planned"] == len(result.purchases) > 0
    assert s["purchases_created"] == 0 and s["dry_run"] is True
    assert set(s["rejected_by_reason"]) >= {"BAD_DATE", "BAD_PRICE", "UNKNOWN_STATUS",
        "FORMULA_INJECTION", "BAD_ID", "MISSING_VALUE", "DUPLICATE_CONFLICT", "UNMAPPED_SKU",
        "SKU_NOT_APPROVED"}  # fmt: skip
    assert set(result.purchases["country"]) == {"MY", "SG", "PH", "TH", "VN", "ID"}
    assert s["skipped_by_status"]["canceled"] > 0
    assert (result.purchases["units"] > 1).any()  # multi-unit orders


def test_overlapping_xlsx_adds_rows_but_not_purchases():
    csv_only = plan([SAMPLE_CSV], SAMPLE_MAP)
    both = plan([SAMPLE_CSV, SAMPLE_XLSX], SAMPLE_MAP)
    assert both.summary["rows_in"] > csv_only.summary["rows_in"]
    assert both.summary["lines_by_disposition"]["duplicate"] > 0
    assert sorted(p.payload_hash() for p in both.planned) == sorted(
        p.payload_hash() for p in csv_only.planned
    )


def test_overlapping_days_use_the_newest_status():
    result = plan([str(DATA / "lazada_overlap_day1.csv"), str(DATA / "lazada_overlap_day2.csv")],
                  str(DATA / "sku_map.csv"))  # fmt: skip
    lines = result.order_lines.set_index(["order_line_id", "disposition"]).sort_index()
    assert ("212345678911234", "skipped_status") in lines.index  # shipped on day 2
    assert ("212345678911234", "duplicate") in lines.index
    bag = result.purchase_lines[result.purchase_lines["seller_sku"] == "BAG-TOTE-GRY"]
    assert list(bag["units"]) == [1]


def test_window_selects_by_shop_day():
    result = plan([str(DATA / "lazada_current.csv")], str(DATA / "sku_map.csv"),
                  since="2026-03-15", until="2026-03-16")  # fmt: skip
    assert set(result.purchases["order_number"]) == {"300000000100003", "300000000100004"}
    assert result.summary["window"]["since"] == "2026-03-15T00:00:00"


def test_default_sku_map_is_looked_for_next_to_the_first_input(tmp_path):
    shutil.copy(DATA / "lazada_current.csv", tmp_path / "export.csv")
    with pytest.raises(UserError, match=r"sku_map\.csv"):
        plan([str(tmp_path / "export.csv")], None)
    shutil.copy(DATA / "sku_map.csv", tmp_path / "sku_map.csv")
    assert plan([str(tmp_path / "export.csv")], None).summary["sku_map"]["rows"] == 13


def test_planned_records_are_built_on_demand():
    result = plan([str(DATA / "lazada_current.csv")], str(DATA / "sku_map.csv"))
    planned = result.planned
    assert all(isinstance(p, PlannedPurchase) for p in planned)
    assert len(planned) == len(result.purchases)
    cap = next(p for p in planned if p.country == "SG")
    assert cap.lines[0].quantity == 2 and cap.lines[0].source_spec_id.startswith("2ba3")
    assert cap.receiver.city == "Singapore"


def test_write_plan_writes_each_file_atomically(tmp_path):
    result = plan([SAMPLE_CSV], SAMPLE_MAP)
    paths = write_plan(result, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"order_lines.parquet", "purchases.parquet",
        "purchase_lines.parquet", "rejects.parquet", "summary.json"}  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values()
    )  # no temp file left behind
    rejects = pq.read_table(paths["rejects"])
    assert rejects.column_names == ["source_file", "source_row", "order_line_id", "order_number",
                                    "reason_code", "reason", "column", "value"]  # fmt: skip
    for name in ("order_lines", "purchases", "purchase_lines", "rejects"):
        schema = pq.read_schema(paths[name])
        assert not [f.name for f in schema if "double" in str(f.type) or "float" in str(f.type)]
        for f in schema:
            if f.name.endswith(("_id", "_number", "_ids")) and f.name != "source_row":
                assert "string" in str(f.type), (name, f.name, f.type)
    summary = json.loads(paths["summary"].read_text())
    assert summary["rows_in"] == 180


def test_cli_plan_prints_a_summary_and_writes_outputs(tmp_path, capsys):
    code = cli(["plan", SAMPLE_CSV, "--sku-map", SAMPLE_MAP, "--out", str(tmp_path),
                "--statuses", "pending,ready_to_ship"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "180 rows in" in out and "purchases" in out and "wrote" in out
    assert "Nur Aisyah" not in out  # no personal data on the terminal
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["duration_s"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "nothing-here-*.csv"], "no input file matches"),
        (["plan", SAMPLE_CSV, "--sku-map", str(DATA / "sku_map_conflict.csv")], "conflicting"),
        (["plan", SAMPLE_CSV, "--sku-map", SAMPLE_MAP, "--since", "someday"], "--since"),
        (["plan", SAMPLE_CSV, "--sku-map", SAMPLE_MAP, "--statuses", "pendng"], "unknown status"),
        (["plan", str(DATA / "lazada_missing_column.csv"), "--sku-map", SAMPLE_MAP], "sellerSku"),
    ],
)
def test_cli_fatal_problems_exit_2_with_one_line(argv, message, tmp_path, capsys):
    code = cli([*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_file_with_a_conflicting_duplicate_and_an_unapproved_sku():
    conflict = plan([str(DATA / "lazada_duplicate_conflict.csv")], str(DATA / "sku_map.csv"))
    assert conflict.summary["rejected_by_reason"] == {"DUPLICATE_CONFLICT": 2}
    assert set(conflict.rejects["column"]) == {"paid_price"}
    current = plan([str(DATA / "lazada_current.csv")], str(DATA / "sku_map.csv"))
    (reject,) = current.rejects.to_dict("records")
    assert (reject["reason_code"], reject["value"]) == ("SKU_NOT_APPROVED", "pending")
    assert reject["order_line_id"] == "300000000120001"  # LAMP-DESK-WHT, pending in the map


def test_plan_writer_puts_files_in_place_only_when_finished(tmp_path):
    """Tables are written while the plan is made, into temporary files: a run that fails half
    way leaves the previous outputs as they were and no temporary file behind."""
    out = tmp_path / "out"
    first = write_plan(plan([SAMPLE_CSV], SAMPLE_MAP), out)
    before = {name: path.read_bytes() for name, path in first.items()}

    with pytest.raises(RuntimeError, match="half way"), PlanWriter(out) as writer:
        result = plan([SAMPLE_XLSX], SAMPLE_MAP, writer=writer)  # hands over its tables
        assert writer._pending  # the writing had started
        raise RuntimeError("half way")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in first.values())
    assert {name: path.read_bytes() for name, path in first.items()} == before

    with PlanWriter(out) as writer:
        result = plan([SAMPLE_XLSX], SAMPLE_MAP, writer=writer)
        paths = writer.finish(result.summary)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    assert json.loads(paths["summary"].read_text())["files"][0]["format"] == "xlsx"
    assert pq.read_table(paths["purchases"]).num_rows == len(result.purchases)


def test_plan_writer_refuses_a_missing_or_repeated_table(tmp_path):
    result = plan([SAMPLE_CSV], SAMPLE_MAP)
    with PlanWriter(tmp_path) as writer:
        writer.submit("purchases", result.purchases)
        with pytest.raises(ValueError, match="repeated"):
            writer.submit("purchases", result.purchases)
        with pytest.raises(ValueError, match="never submitted"):
            writer.finish(result.summary)
    assert list(tmp_path.iterdir()) == []


def test_rows_pandera_rejects_are_not_planned_though_grouping_started_before_the_check(
    tmp_path, monkeypatch
):
    """plan() maps and groups while pandera checks the lines; when the check moves a row to
    the rejects, that grouping is thrown away before anything is written, and the plan is
    the one of the checked lines (as read_exports + map_and_group give it)."""
    import importlib

    import pyarrow as pa

    plan_module = importlib.import_module("transforms.plan")
    from transforms import map_and_group, read_exports

    real = plan_module._validate_lines

    def strict(lines, source):  # a contract that refuses the first row of every file
        good, rejects = real(lines, source)
        part = {
            "source_file": [source],
            "source_row": good["source_row"].to_numpy()[:1],
            "order_line_id": pa.array(good["order_line_id"].iloc[:1].array),
            "order_number": pa.array(good["order_number"].iloc[:1].array),
            "reason_code": ["SCHEMA_VIOLATION"],
            "reason": ["breaks OrderLines check test"],
            "column": ["order_line_id"],
            "value": [None],
        }
        extra = plan_module.reject_table([part])
        rejects = extra if rejects is None else pa.concat_tables([rejects, extra])
        return good.iloc[1:].reset_index(drop=True), rejects

    monkeypatch.setattr(plan_module, "_validate_lines", strict)
    runs = []
    grouping = plan_module._map_and_group
    monkeypatch.setattr(
        plan_module, "_map_and_group", lambda *a: runs.append(a[0].order_lines) or grouping(*a)
    )
    with PlanWriter(tmp_path) as writer:
        result = plan([SAMPLE_CSV], SAMPLE_MAP, writer=writer)
        paths = writer.finish(result.summary)

    read = read_exports([SAMPLE_CSV])
    assert "SCHEMA_VIOLATION" in set(read.rejects["reason_code"])
    expected = map_and_group(
        read.order_lines,
        plan_module.load_sku_map(SAMPLE_MAP),
        held_orders=read.rejects["order_number"],
    )
    assert [len(lines) for lines in runs] == [174, 173]  # speculative, then the checked lines
    assert result.summary["rejected_by_reason"]["SCHEMA_VIOLATION"] == 1
    assert result.summary["row_conservation"]["holds"]
    assert result.purchases.equals(expected.purchases)
    assert result.order_lines.equals(expected.order_lines)
    written = pq.read_table(paths["order_lines"])
    assert written.num_rows == len(expected.order_lines)
    first_order = read.rejects.loc[read.rejects["reason_code"] == "SCHEMA_VIOLATION"]
    assert not set(first_order["order_number"]) & set(result.purchases["order_number"])

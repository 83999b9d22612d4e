"""Reading the files in tests/data: every Lazada format, every bad-input kind (one file at a
time, before the rules), and what a run does with unusable files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import pytest

from schemas.contracts import OrderLines, Rejects
from schemas.errors import UserError
from schemas.types import check
from tests.ingest.conftest import DATA, line, lines_table
from transforms import ingest
from transforms.inputs import expand_inputs
from transforms.readers import FileReport, check_lines, read_file


@dataclass
class Read:
    order_lines: pa.Table
    rejects: pa.Table
    rows_in: int
    files: list[FileReport]


def read_paths(*paths) -> Read:
    parts = [read_file(p) for p in paths]
    lines = [p for _, p, _ in parts if p is not None]
    return Read(
        pa.concat_tables(lines) if lines else None,
        pa.concat_tables([r for _, _, r in parts]),
        sum(r.rows for r, _, _ in parts),
        [r for r, _, _ in parts],
    )


def read(*names: str) -> Read:
    return read_paths(*(DATA / n for n in names))


def column(table: pa.Table, name: str) -> list:
    return table[name].to_pylist()


def records(table: pa.Table) -> list[dict]:
    return table.to_pylist()


BASE_IDS = [
    "212345678911234", "212345678921234", "212345678931234", "598765432119876", "871234560112345",
    "871234560122345", "300000000110001", "300000000120001", "300000000130001", "300000000130002",
    "300000000130003", "300000000140001",
]  # fmt: skip


def assert_text_contract(result: Read) -> None:
    """Conservation, the contracts, and no float anywhere an id could hide."""
    assert result.rows_in == result.order_lines.num_rows + result.rejects.num_rows
    check(OrderLines, result.order_lines)
    check(Rejects, result.rejects)
    assert [f.name for f in result.order_lines.schema if pa.types.is_floating(f.type)] == []


@pytest.mark.parametrize(
    ("name", "fmt", "header"),
    [
        ("lazada_current.csv", "csv", "current"),
        ("lazada_current_bom_crlf.csv", "csv", "current"),
        ("lazada_76_columns_shuffled.csv", "csv", "current"),
        ("lazada_legacy_semicolon.csv", "csv", "legacy"),
        ("lazada_current.xlsx", "xlsx", "current"),
        ("lazada_current.parquet", "parquet", "current"),
        ("lazada_legacy_numbers.parquet", "parquet", "legacy"),
    ],
)
def test_every_format_gives_the_same_order_lines(name, fmt, header):
    result = read(name)
    assert_text_contract(result)
    (report,) = result.files
    assert (report.format, report.marketplace, report.header, report.rows, report.error) == (
        fmt, "lazada", header, 12, None)  # fmt: skip
    lines = result.order_lines
    assert column(lines, "order_line_id") == BASE_IDS
    assert column(lines, "order_number")[:3] == ["212345678901234"] * 3
    assert column(lines, "receiver_phone")[:4] == ["60123456780"] * 3 + ["639171234567"]
    assert column(lines, "receiver_zip")[-1] == "01000"  # Perlis, zero restored for the xlsx
    assert column(lines, "paid_price")[0] == Decimal("42.90")
    assert column(lines, "country") == ["MY"] * 3 + [
        "PH",
        "TH",
        "TH",
        "SG",
        "VN",
        "ID",
        "ID",
        "ID",
        "MY",
    ]
    assert column(lines, "status").count("pending") == 7


def test_legacy_file_rows_are_numbered_like_a_spreadsheet():
    result = read("lazada_legacy_semicolon.csv")
    assert column(result.order_lines, "source_row") == list(range(2, 14))


def test_oldest_legacy_variant_with_item_id():
    result = read("lazada_legacy_item_id.csv")
    assert_text_contract(result)
    assert column(result.order_lines, "order_line_id") == BASE_IDS[:4]


def test_xlsx_numbers_come_back_as_exact_text():
    lines = read("lazada_current.xlsx").order_lines
    assert column(lines, "order_line_id")[0] == "212345678911234"  # a number in the sheet
    assert column(lines, "receiver_phone")[8] == "6281234567890"


def test_xlsx_formula_text_is_rejected_and_real_formulas_are_never_evaluated():
    result = read("lazada_formula.xlsx")
    assert_text_contract(result)
    (reject,) = records(result.rejects)
    assert (reject["source_row"], reject["reason_code"], reject["column"]) == (
        3,
        "FORMULA_INJECTION",
        "shippingName",
    )
    assert reject["value"].startswith("=") and "evil" not in reject["value"]
    item = {r["source_row"]: r["item_name"] for r in records(result.order_lines)}[4]
    assert item == "cached text"  # the stored result, not EVALUATED


def test_bad_rows_each_get_a_reason_and_good_rows_go_on():
    result = read("lazada_bad_rows.csv")
    assert_text_contract(result)
    got = {r["source_row"]: r["reason_code"] for r in records(result.rejects)}
    assert got == {
        5: "BAD_DATE",
        6: "BAD_PRICE",
        7: "UNKNOWN_STATUS",
        8: "FORMULA_INJECTION",
        9: "FIELD_TOO_LONG",
        10: "MISSING_VALUE",
        11: "BAD_ID",
        12: "BAD_PRICE",
        13: "UNKNOWN_COUNTRY",
        14: "COUNTRY_MISMATCH",
        15: "FIELD_TOO_LONG",
        16: "BAD_DATE",
        17: "BAD_PRICE",
        18: "FORMULA_INJECTION",
    }
    assert column(result.order_lines, "source_row") == [2, 3, 4, 19]
    long_value = {r["source_row"]: r["value"] for r in records(result.rejects)}[9]
    assert len(long_value) == 200  # a 5000-character cell is not copied whole


def test_missing_required_column_rejects_that_file_and_others_go_on():
    result = read("lazada_missing_column.csv", "lazada_current.csv")
    assert_text_contract(result)
    bad, good = result.files
    assert "sellerSku" in bad.error and good.error is None
    rejects = [
        r for r in records(result.rejects) if r["source_file"].endswith("missing_column.csv")
    ]
    assert len(rejects) == 4
    assert {r["reason_code"] for r in rejects} == {"MISSING_COLUMN"}
    assert {r["column"] for r in rejects} == {"sellerSku"}
    assert rejects[0]["order_number"] == "212345678901234"
    assert rejects[0]["marketplace"] == "lazada"
    assert result.order_lines.num_rows == 12


def test_a_run_with_only_an_unusable_file_is_fatal():
    with pytest.raises(UserError, match="sellerSku"):
        ingest([str(DATA / "lazada_missing_column.csv")], sku_map=DATA / "sku_map.csv")


def test_two_headers_for_one_column_rejects_the_file():
    result = read("lazada_duplicate_header.csv", "lazada_current.csv")
    assert set(column(result.rejects, "reason_code")) == {"DUPLICATE_COLUMN"}


def test_a_file_of_no_known_format_is_rejected_whole(tmp_path):
    other = tmp_path / "orders.csv"
    other.write_text("id,name\n1,a\n2,b\n")
    result = read_paths(other)
    assert result.files[0].error.startswith("UNKNOWN_FORMAT")
    assert column(result.rejects, "reason_code") == ["UNKNOWN_FORMAT"] * 2
    assert column(result.rejects, "source_row") == [2, 3]


def test_unreadable_file_is_reported_and_alone_is_fatal(tmp_path):
    result = read("lazada_not_utf8.csv", "lazada_current.csv")
    assert "UTF-8" in result.files[0].error and result.files[0].rows == 0
    assert result.rows_in == 12
    with pytest.raises(UserError, match="UTF-8"):
        ingest([str(DATA / "lazada_not_utf8.csv")], sku_map=DATA / "sku_map.csv")
    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UserError, match="cannot read"):
        ingest([corrupt], sku_map=DATA / "sku_map.csv")


def test_malformed_csv_row_is_rejected_and_line_breaks_in_cells_survive():
    result = read("lazada_malformed.csv")
    assert_text_contract(result)
    assert records(result.rejects)[0]["reason_code"] == "MALFORMED_ROW"
    assert records(result.rejects)[0]["source_row"] == 3
    address = {r["source_row"]: r["receiver_address"] for r in records(result.order_lines)}
    assert address[4] == "Unit 4B,\n88 Kamuning Road"
    assert sorted(address) == [2, 4, 5]


def test_globs_and_repeats_expand_once_in_order(tmp_path):
    for name in ("lazada_overlap_day2.csv", "lazada_overlap_day1.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    files = expand_inputs([str(tmp_path / "lazada_*.csv"), tmp_path / "lazada_overlap_day1.csv"])
    assert [f.name for f in files] == ["lazada_overlap_day1.csv", "lazada_overlap_day2.csv"]
    result = ingest([str(tmp_path / "*.csv")], sku_map=DATA / "sku_map.csv")
    assert result.rows_in == 8 and len(result.files) == 2


def test_glob_matching_nothing_is_fatal(tmp_path):
    with pytest.raises(UserError, match="no input file matches"):
        ingest([str(DATA / "lazada_current.csv"), str(tmp_path / "*.csv")], sku_map=DATA / "sku_map.csv")  # fmt: skip


def test_overlapping_exports_keep_every_row_for_the_rules():
    result = read("lazada_overlap_day1.csv", "lazada_overlap_day2.csv")
    ids = column(result.order_lines, "order_line_id")
    assert ids.count("212345678911234") == 2  # one copy is kept by keep_newest_copy, not here


def test_lines_breaking_the_contract_become_schema_rejects():
    table = lines_table([line("1"), line("2", currency="THB"), line("3", status="weird")])
    kept, rejects = check_lines(table, "f.csv")
    assert column(kept, "order_line_id") == ["1"]
    got = {r["order_line_id"]: r for r in rejects.to_pylist()}
    assert set(got) == {"2", "3"}
    assert {r["reason_code"] for r in got.values()} == {"SCHEMA_VIOLATION"}
    assert "currency follows the shop country" in got["2"]["reason"]
    assert "status is one its marketplace uses" in got["3"]["reason"]


def test_an_xlsx_export_is_parsed_once(monkeypatch):
    """calamine parses a whole sheet to give its first row: the header and the rows come from
    one pass, not a header read followed by a second parse of the workbook."""
    import transforms.inputs as inputs

    opened: list[str] = []
    real = inputs._xlsx_rows
    monkeypatch.setattr(inputs, "_xlsx_rows", lambda path: opened.append(path.name) or real(path))
    result = read("lazada_current.xlsx")
    assert opened == ["lazada_current.xlsx"]
    assert result.rows_in > 0 and result.order_lines.num_rows > 0

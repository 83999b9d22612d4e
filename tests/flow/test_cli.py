"""`purchase-sync run`: refuses early and in one line, runs the flow, ends with a summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from benchmarks.gen_exports import generate
from purchase_sync import cli
from purchase_sync.cmd_run import _OneLineUserErrors
from schemas.errors import UserError


@pytest.fixture
def no_api_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHANJING_BASE_URL", "SHANJING_ACCESS_TOKEN", "SHANJING_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # the command sets these with setdefault; pin them so they are restored after the test
    monkeypatch.setenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def test_live_run_without_api_address_is_refused_in_one_line(
    tmp_path: Path, no_api_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "lazada_1.csv"
    export.write_text("x\n")
    assert cli.main(["run", str(export), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SHANJING_BASE_URL is not set" in err
    assert "Traceback" not in err


def test_inputs_matching_nothing_are_refused_before_prefect_starts(
    tmp_path: Path, no_api_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", str(tmp_path / "nothing_*.csv"), "--sandbox"]) == 2
    assert "no file matches" in capsys.readouterr().err


def _record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, message, (), info)


def test_user_errors_stay_out_of_the_console_but_bugs_do_not() -> None:
    keep = _OneLineUserErrors().filter
    assert not keep(_record("Task run failed", UserError("wrong columns in x.csv")))
    assert not keep(_record("Finished in state Failed('... exception UserError: wrong columns')"))
    assert not keep(_record("Encountered exception: ReauthorizationRequired('re-authorize')"))
    assert keep(_record("Task run failed", RuntimeError("bug")))
    assert keep(_record("Finished in state Failed('... exception KeyError: x')"))


@pytest.mark.usefixtures("prefect_server")
def test_run_twice_with_sandbox_second_creates_nothing(
    tmp_path: Path,
    no_api_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # data/sandbox.sqlite lands here
    monkeypatch.delenv("PURCHASE_SYNC_LEDGER_URL", raising=False)
    monkeypatch.setenv("PURCHASE_SYNC_DATA_DIR", str(tmp_path / "data"))
    export, sku_map = generate(60, tmp_path / "in" / "lazada_60.csv", seed=21)
    argv = [
        "run",
        str(export),
        "--sku-map",
        str(sku_map),
        "--sandbox",
        "--out",
        "out",
        "--no-progress",
    ]

    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    created_first = json.loads((tmp_path / "out" / "summary.json").read_text())["purchases_created"]
    assert "created now" in first and "Results: out/results.parquet" in first
    # A sandbox run keeps its own ledger beside the emulator's orders, never the real one.
    assert (tmp_path / "data" / "sandbox-ledger.sqlite").is_file()
    assert (tmp_path / "data" / "sandbox.sqlite").is_file()
    assert not (tmp_path / "data" / "ledger.sqlite").exists()

    assert cli.main(argv) == 0
    second = capsys.readouterr().out
    assert "nothing new to create" in second

    # Point 6: the ledger is lost (deleted, or a restore without it); earlier results show it.
    for f in (tmp_path / "data").glob("sandbox-ledger.sqlite*"):
        f.unlink()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is empty but" in err[0] and "--rebuild-ledger" in err[0]
    # Told to rebuild: every purchase is looked up first, none is created again.
    assert cli.main([*argv, "--rebuild-ledger"]) == 0
    capsys.readouterr()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["submit"]["creates_sent"] == 0
    assert summary["submit"]["reconciled_found"] == created_first > 0
    assert summary["ledger_url"].endswith("data/sandbox-ledger.sqlite")


@pytest.mark.usefixtures("prefect_server")
def test_fatal_input_error_exits_2_with_one_line(
    tmp_path: Path,
    no_api_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "lazada_bad.csv"
    bad.write_text("orderNumber,foo\n1,2\n")
    sku_map = tmp_path / "sku_map.csv"
    sku_map.write_text("seller_sku\n")
    code = cli.main(["run", str(bad), "--sku-map", str(sku_map), "--sandbox", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("purchase-sync: ") and "Traceback" not in "\n".join(err)


def test_progress_bar_follows_submit_events(capsys: pytest.CaptureFixture[str]) -> None:
    from purchase_sync import artifacts
    from purchase_sync.cmd_run import _progress_bar

    with _progress_bar(True):
        artifacts.notify("register", done=1, total=1)  # other stages do not draw a bar
        for done in (1, 2, 3):
            artifacts.notify("submit", done=done, total=3, created=done, failed=0, unknown=0)
    err = capsys.readouterr().err
    assert "submitting" in err and "3/3" in err and "created 3" in err
    artifacts.notify("submit", done=1, total=1)  # no listener left: nothing happens


def test_owed_lists_and_sends_what_the_ledger_owes(
    tmp_path: Path,
    no_api_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Point 7: one command lists what the ledger owes, from any window, and sends it."""
    from ledger import Ledger
    from purchase_sync import settings
    from tests.submit.factories import many

    monkeypatch.chdir(tmp_path)  # data/sandbox.sqlite lands here
    monkeypatch.delenv("PURCHASE_SYNC_LEDGER_URL", raising=False)
    monkeypatch.setenv("PURCHASE_SYNC_DATA_DIR", str(tmp_path / "data"))
    # --sandbox: the emulator's own ledger (never the real one)
    led = Ledger(settings.ledger_url(sandbox=True))
    led.create_schema()
    led.register(many(4), "an-earlier-window")
    led.close()

    assert cli.main(["owed", "--sandbox"]) == 1
    listing = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert listing["count"] == listing["by_state"]["planned"] == len(listing["ids"]) == 4

    assert cli.main(["owed", "--send", "--sandbox"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert json.loads(lines[0])["sent"]["created"] == 4
    assert json.loads(lines[-1])["count"] == 0

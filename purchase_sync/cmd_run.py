"""`purchase-sync run` (the flow, once, in this process) and `purchase-sync serve` (its schedules).

The command checks what it can before paying for a Prefect server start (~10 s): inputs that
match no file, a missing API address or token. While the flow submits, it draws a progress bar
on stderr (a terminal only, unless forced), and it ends with a short summary table on stdout.
Prefect's own log lines stay in the run's log (the UI, `prefect flow-run logs`); set
`PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO` to see them here too.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from schemas.errors import UserError

SANDBOX_DB = "data/sandbox.sqlite"
FORCE_PROGRESS_ENV = "PURCHASE_SYNC_PROGRESS"  # "1" draws the bar even when stderr is no TTY


def _quiet_prefect_console() -> None:
    """Prefect settings that must be in the environment before `import prefect`."""
    # The temporary server's telemetry prints `database is locked` tracebacks (design.md).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


def _user_error_names() -> set[str]:
    names, todo = set(), [UserError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


class _OneLineUserErrors(logging.Filter):
    """Keep a user-fixable error out of the console: the command prints it once, in one line.

    Prefect reports a failed task and flow several times (with tracebacks); those records still
    reach the run's log in the Prefect API, only this process's console skips them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, UserError) or getattr(record, "user_error", False):
            return False
        if record.levelno >= logging.ERROR:
            message = record.getMessage()
            return not any(
                f"{name}:" in message or f"{name}(" in message for name in _user_error_names()
            )
        return True


def _install_console_filter() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(_OneLineUserErrors())


def _check_inputs(inputs: list[str]) -> None:
    """Fail before the server starts if an input names nothing at all."""
    for raw in inputs:
        if glob.has_magic(raw):
            if not glob.glob(raw, recursive=True):
                raise UserError(f"no file matches {raw}")
        elif not Path(raw).exists():
            raise UserError(f"input file not found: {raw}")


def _parameters(args: argparse.Namespace, api_base_url: str | None) -> dict[str, Any]:
    from purchase_sync.settings import Limits
    from purchase_sync.submit.settings import amount_to_fen

    if args.max_amount is not None:
        amount_to_fen(args.max_amount)  # refuse a bad amount now, with the option's name
    limits = Limits(
        max_concurrency=args.max_concurrency,
        rate_limit=args.rate_limit,
        max_purchases=args.max_purchases,
        max_amount=args.max_amount,
        max_cancels=args.max_cancels,
        allow_mass_cancel=bool(args.allow_mass_cancel),
    )
    statuses = getattr(args, "statuses", None)
    return {
        "inputs": [str(p) for p in args.inputs],
        "sku_map": args.sku_map,
        "since": args.since,
        "until": args.until,
        "statuses": [s.strip() for s in statuses.split(",") if s.strip()] if statuses else None,
        "dry_run": bool(args.dry_run),
        "reprocess": args.reprocess,
        "limits": limits,
        "out": args.out,
        "ledger_url": args.ledger_url,
        "api_base_url": api_base_url,
        "sandbox": bool(args.sandbox),
        "rebuild_ledger": bool(getattr(args, "rebuild_ledger", False)),
    }


@contextmanager
def _sandbox(enabled: bool) -> Iterator[str | None]:
    """The local API emulator, in this process, keeping its orders across runs on disk."""
    if not enabled:
        yield None
        return
    from sandbox.config import SandboxConfig
    from sandbox.server import start_in_thread

    Path(SANDBOX_DB).parent.mkdir(parents=True, exist_ok=True)
    handle = start_in_thread(SandboxConfig(db_path=SANDBOX_DB))
    try:
        yield handle.base_url
    finally:
        handle.stop()


def _want_progress(args: argparse.Namespace) -> bool:
    if getattr(args, "no_progress", False):
        return False
    return os.environ.get(FORCE_PROGRESS_ENV) == "1" or sys.stderr.isatty()


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[None]:
    """A rich progress bar on stderr fed by the flow's submit progress events."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from purchase_sync import artifacts

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task_id: Any = None

    def on_event(kind: str, data: Mapping[str, Any]) -> None:
        nonlocal task_id
        if kind != "submit":
            return
        if task_id is None:
            progress.start()
            task_id = progress.add_task("submitting", total=data["total"], detail="")
        detail = f"created {data.get('created', 0)}  failed {data.get('failed', 0)}"
        if data.get("unknown"):
            detail += f"  unknown {data['unknown']}"
        progress.update(task_id, completed=data["done"], total=data["total"], detail=detail)

    with artifacts.listening(on_event):
        try:
            yield
        finally:
            if task_id is not None:
                progress.stop()


def summary_table(summary: Mapping[str, Any]) -> Any:
    """The short table printed at the end of `purchase-sync run`."""
    from rich.table import Table

    table = Table(title=summary.get("flow_run_name") or "purchase-sync", title_justify="left")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    rows = [
        ("rows in", "rows_in"),
        ("rows accepted", "rows_accepted"),
        ("rows rejected", "rows_rejected"),
        ("purchases planned", "purchases_planned"),
        ("created now", "purchases_created"),
        ("already created", "purchases_already_created"),
        ("failed", "purchases_failed"),
        ("  of which held (margin)", "purchases_held"),
        ("failed earlier (kept)", "purchases_failed_earlier"),
        ("unknown", "purchases_unknown"),
        ("skipped", "purchases_skipped"),
    ]
    for label, key in rows:
        table.add_row(label, str(summary.get(key, 0)))
    for currency, amount in sorted((summary.get("amounts") or {}).items()):
        table.add_row(f"amount created ({currency})", str(amount))
    calls = summary.get("api_calls") or {}
    table.add_row("API calls", str(sum(int(v) for v in calls.values())))
    table.add_row("duration (s)", f"{float(summary.get('duration_s') or 0):.1f}")
    return table


def _verdict(summary: Mapping[str, Any]) -> str:
    """One sentence for the end of the run, saying plainly when nothing was created."""
    created = int(summary.get("purchases_created") or 0)
    if summary.get("dry_run"):
        return f"dry run: {summary.get('purchases_planned', 0)} purchases would be considered; nothing was sent"
    if created == 0:
        already = int(summary.get("purchases_already_created") or 0)
        tail = f" ({already} already created earlier)" if already else ""
        return f"nothing new to create{tail}"
    return f"created {created} purchases"


def _check_ledger(url: str, out: str, rebuild: bool) -> None:
    """Refuse, before anything starts, an empty ledger beside earlier runs' results."""
    from ledger import Ledger
    from purchase_sync.results import check_ledger_not_lost, earlier_outputs

    if rebuild or earlier_outputs(out) is None:
        return
    ledger = Ledger(url)
    try:
        ledger.create_schema()
        check_ledger_not_lost(ledger.is_empty(), out, rebuild, ledger.display_url)
    finally:
        ledger.close()


def main(args: argparse.Namespace) -> int:
    """Run the flow once; exit 0 when it completed, non-zero with one line when it did not."""
    _quiet_prefect_console()
    _check_inputs(list(args.inputs))
    if args.sku_map and not Path(args.sku_map).exists():
        raise UserError(f"SKU map not found: {args.sku_map}")
    from purchase_sync import settings

    if not args.sandbox:
        settings.api_connection()  # refuse before starting anything
    url = settings.ledger_url(args.ledger_url, sandbox=args.sandbox)
    if not args.dry_run:
        _check_ledger(url, args.out, bool(getattr(args, "rebuild_ledger", False)))

    with _sandbox(args.sandbox) as sandbox_url:
        params = _parameters(args, sandbox_url)
        from flows.sync_flow import purchase_sync

        _install_console_filter()
        with _progress_bar(_want_progress(args)):
            state = asyncio.run(purchase_sync(**params, return_state=True))
    outcome = state.result(raise_on_failure=False)
    if isinstance(outcome, UserError):
        raise outcome
    if isinstance(outcome, BaseException):
        print(f"purchase-sync: run failed: {type(outcome).__name__}: {outcome}", file=sys.stderr)
        return 1
    from rich.console import Console

    summary: Mapping[str, Any] = outcome or {}
    Console().print(summary_table(summary))
    paths = summary.get("outputs") or {}
    print(f"{_verdict(summary)}. Results: {paths.get('results', args.out)}")
    if paths.get("run_dir"):
        print(f"This run's copy: {paths['run_dir']}")
    follow = summary.get("follow") or {}
    if str(follow.get("headline", "")).startswith("ACTION NEEDED"):
        where = (follow.get("outputs") or {}).get("to_pay") or f"{args.out}/follow/"
        print(f"{follow['headline']} (lists: {where})")
    if state.is_failed():
        print(f"purchase-sync: {state.message}", file=sys.stderr)
        return 1
    if summary.get("final_state") == "NEEDS_ATTENTION":
        print(f"purchase-sync: needs attention: {summary.get('message')}", file=sys.stderr)
    return 0


def serve(args: argparse.Namespace) -> int:
    """Serve prefect.yaml's deployments (nightly schedule, backfill on demand) from here.

    One run at a time (`limit=1`): a backfill started while the nightly run works waits for it.
    Needs a Prefect server that outlives this process (`PREFECT_API_URL`); the temporary one
    would take the schedules with it.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect import serve as prefect_serve

    from flows.deployments import runner_deployments

    prefect_serve(*runner_deployments(), limit=1)
    return 0

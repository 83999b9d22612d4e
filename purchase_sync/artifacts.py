"""What a person inspecting a run sees in the Prefect UI, each artifact under a stable key.

Keys are fixed (not per run) so the Artifacts page shows each one's history across runs.
Tables are chunked under Prefect's request-size limit (Cloud refuses bodies over 5 MiB) and
carry no personal data: receivers never appear, and reject values of personal columns are
masked again here, whatever the ingest stage already did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    acreate_link_artifact,
    acreate_markdown_artifact,
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)

PROGRESS_KEY = "purchase-sync-progress"
SUMMARY_KEY = "purchase-sync-summary"
FAILURES_KEY = "purchase-sync-failures"
REJECTS_KEY = "purchase-sync-rejects"
RESULTS_KEY = "purchase-sync-results"

MAX_TABLE_ROWS = 1_000
MAX_TABLE_BYTES = 1 << 20  # 1 MiB of JSON per artifact, far under the 5 MiB request cap

Masker = Callable[[Any, str], str]
Listener = Callable[[str, Mapping[str, Any]], None]

# In-process observers of a run (the command line's progress bar). A flow cannot take a callback
# as a parameter, so the process that runs it registers one here; deployments have none.
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Receive the run's events (`submit` progress, ...) while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def notify(kind: str, **data: Any) -> None:
    """Tell the in-process observers; an observer's failure never breaks the run."""
    for listener in list(_listeners):
        with suppress(Exception):
            listener(kind, data)


def _default_mask(value: Any, kind: str) -> str:
    from transforms.pii import mask_pii

    return mask_pii(value, kind)


def personal_kind(column: str | None) -> str | None:
    """The kind of personal data a column holds (name, phone, address, ...), or None.

    The ingest stage's column list decides first; the name heuristics catch columns it does not
    know (a new export layout), erring on the side of masking.
    """
    if not column:
        return None
    from transforms.pii import PII_COLUMNS

    if column in PII_COLUMNS:
        return PII_COLUMNS[column]
    key = column.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
    for word, kind in (
        ("phone", "phone"),
        ("mobile", "phone"),
        ("addr", "address"),
        ("email", "email"),
        ("postcode", "postcode"),
        ("zip", "postcode"),
        ("registration", "text"),
    ):
        if word in key:
            return kind
    if key.endswith("name") and not key.startswith(("item", "product", "sku", "shop", "seller")):
        return "name"
    return None


def chunk_rows(
    rows: Sequence[Mapping[str, Any]],
    max_rows: int = MAX_TABLE_ROWS,
    max_bytes: int = MAX_TABLE_BYTES,
) -> list[list[Mapping[str, Any]]]:
    """Split rows into chunks of at most `max_rows` rows and about `max_bytes` of JSON each.

    A single row bigger than `max_bytes` still gets a chunk of its own rather than being lost.
    """
    chunks: list[list[Mapping[str, Any]]] = []
    current: list[Mapping[str, Any]] = []
    size = 2
    for row in rows:
        row_size = len(json.dumps(row, default=str, ensure_ascii=False).encode()) + 1
        if current and (len(current) >= max_rows or size + row_size > max_bytes):
            chunks.append(current)
            current, size = [], 2
        current.append(row)
        size += row_size
    if current:
        chunks.append(current)
    return chunks


def _cell(value: Any) -> Any:
    """JSON-safe cell: missing values become None, everything else not a str/int/bool a string."""
    if value is None:
        return None
    try:
        if value != value:  # NaN, pd.NA raise or compare unequal
            return None
    except (TypeError, ValueError):
        return None
    if isinstance(value, (str, bool, int)):
        return value
    return str(value)


def failure_rows(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per purchase left `failed` or `unknown`: what a person must look at.

    Results have one row per order line; a purchase's lines share its status, so the first line
    of each purchase stands for it. No receiver field is carried.
    """
    seen: dict[str, dict[str, Any]] = {}
    for r in results:
        status = _cell(r.get("status"))
        if status not in ("failed", "unknown"):
            continue
        opid = str(r.get("outer_purchase_id"))
        if opid in seen:
            continue
        seen[opid] = {
            "outer_purchase_id": opid,
            "marketplace": _cell(r.get("marketplace")),
            "country": _cell(r.get("country")),
            "order_number": _cell(r.get("order_number")),
            "status": status,
            "error_code": _cell(r.get("error_code")),
            "error_message": _cell(r.get("error_message")),
        }
    return sorted(
        seen.values(), key=lambda row: (row["status"] != "unknown", row["outer_purchase_id"])
    )


def attention_rows(
    owed_ids: Iterable[str], trouble: Iterable[Mapping[str, Any]], listed: set[str]
) -> list[dict[str, Any]]:
    """Rows for the failures table: purchases in trouble (with every remote purchase id), then
    purchases the ledger still owes from any window (by id; their orders may be older)."""
    rows: list[dict[str, Any]] = []
    for t in trouble:
        opid = str(t["outer_purchase_id"])
        if opid in listed:
            continue
        listed.add(opid)
        rows.append(
            {
                "outer_purchase_id": opid,
                "status": "trouble",
                "error_code": _cell(t.get("error_code")),
                "error_message": "remote purchase ids: " + ", ".join(t.get("purchase_ids") or []),
            }
        )
    for opid in owed_ids:
        if opid in listed:
            continue
        listed.add(opid)
        rows.append({"outer_purchase_id": opid, "status": "owed", "error_code": "OWED"})
    return rows


def reject_rows(
    rejects: Iterable[Mapping[str, Any]], mask: Masker | None = None
) -> list[dict[str, Any]]:
    """Rejected input rows for the UI, with personal values masked."""
    mask = mask or _default_mask
    rows = []
    for r in rejects:
        column = _cell(r.get("column"))
        value = _cell(r.get("value"))
        kind = personal_kind(column)
        if kind is not None and value not in (None, ""):
            value = mask(value, kind)
        source = _cell(r.get("source_file"))
        rows.append(
            {
                "source_file": Path(source).name if source else source,
                "source_row": _cell(r.get("source_row")),
                "order_line_id": _cell(r.get("order_line_id")),
                "reason_code": _cell(r.get("reason_code")),
                "reason": _cell(r.get("reason")),
                "column": column,
                "value": value,
            }
        )
    return rows


async def publish_table(key: str, rows: Sequence[Mapping[str, Any]], description: str) -> int:
    """Publish `rows` as one table artifact per chunk; returns the number of artifacts.

    The first chunk takes `key`, the next ones `key-part-2`, ... so every key stays stable
    from run to run. An empty table is still published, so a clean run says so explicitly.
    """
    chunks = chunk_rows(rows) or [[]]
    for i, chunk in enumerate(chunks, start=1):
        part_key = key if i == 1 else f"{key}-part-{i}"
        part_desc = (
            description if len(chunks) == 1 else f"{description} (part {i} of {len(chunks)})"
        )
        await acreate_table_artifact(
            table=[dict(r) for r in chunk], key=part_key, description=part_desc
        )
    return len(chunks)


def _fmt_count(mapping: Mapping[str, Any], limit: int | None = None) -> str:
    items = sorted(mapping.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    if limit is not None:
        items = items[:limit]
    return ", ".join(f"`{k}` {v}" for k, v in items) or "none"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The run report: input rows, purchase outcomes, money, API traffic, time."""
    window = summary.get("window") or {}
    since, until = window.get("since"), window.get("until")
    window_text = (
        f"{since or '…'} → {until or '…'} (until exclusive)" if since or until else "all dates"
    )
    verdict = summary.get("message") or "completed"
    lines = [
        f"# purchase-sync: {summary.get('flow_run_name') or summary.get('run_id')}",
        "",
        f"**{summary.get('final_state', 'COMPLETED')}**: {verdict}",
        "",
        f"Window: {window_text}. Dry run: {'yes' if summary.get('dry_run') else 'no'}. "
        f"Reprocess: `{summary.get('reprocess', 'missing')}`. "
        f"API: {'sandbox' if summary.get('sandbox') else 'live'}.",
        "",
        "| input rows | count |",
        "|---|---:|",
        f"| in | {summary.get('rows_in', 0)} |",
        f"| accepted | {summary.get('rows_accepted', 0)} |",
        f"| rejected | {summary.get('rows_rejected', 0)} |",
        "",
        f"Top reject reasons: {_fmt_count(summary.get('reject_reasons') or {}, limit=5)}.",
        "",
        "| purchases | count |",
        "|---|---:|",
    ]
    for label, key in (
        ("planned", "purchases_planned"),
        ("created now", "purchases_created"),
        ("already created", "purchases_already_created"),
        ("failed", "purchases_failed"),
        ("of which held by the margin rule", "purchases_held"),
        ("failed in earlier runs (kept)", "purchases_failed_earlier"),
        ("unknown", "purchases_unknown"),
        ("skipped", "purchases_skipped"),
    ):
        lines.append(f"| {label} | {summary.get(key, 0)} |")
    amounts = summary.get("amounts") or {}
    lines += ["", "| amount created | currency |", "|---:|---|"]
    lines += [f"| {amount} | {cur} |" for cur, amount in sorted(amounts.items())] or ["| 0 | - |"]
    calls = summary.get("api_calls") or {}
    lines += [
        "",
        f"API calls: {sum(int(v) for v in calls.values())} ({_fmt_count(calls)}); "
        f"429s: {summary.get('api_429s', 0)}; retries: {summary.get('api_retries', 0)}.",
        "",
        f"Duration: {float(summary.get('duration_s') or 0):.1f} s.",
    ]
    if summary.get("results_path"):
        lines += ["", f"Results: `{summary['results_path']}`"]
    return "\n".join(lines) + "\n"


async def publish_summary(summary: Mapping[str, Any]) -> None:
    await acreate_markdown_artifact(
        markdown=summary_markdown(summary),
        key=SUMMARY_KEY,
        description="purchase-sync run summary",
    )


async def publish_results_link(path: Path) -> None:
    """Link to the results file, so a person goes from the run to its data in one click."""
    uri = Path(path).resolve().as_uri()
    await acreate_link_artifact(
        link=uri, link_text=str(path), key=RESULTS_KEY, description="results.parquet of this run"
    )


class ProgressArtifact:
    """A progress artifact kept current while submitting, at most once per `min_interval_s`.

    `update()` is a plain call (safe from a sync progress callback running in the event loop):
    it records the latest figure and lets one background task ship it, so a burst of events
    never turns into a burst of API calls and the submit loop never waits on Prefect.
    """

    def __init__(self, key: str = PROGRESS_KEY, min_interval_s: float = 1.0) -> None:
        self.key = key
        self.min_interval_s = min_interval_s
        self._id: UUID | None = None
        self._latest: tuple[float, str] | None = None
        self._sent: tuple[float, str] | None = None
        self._last_sent_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self.updates_sent = 0

    async def start(self, description: str = "submitting purchases") -> None:
        self._id = await acreate_progress_artifact(0.0, key=self.key, description=description)
        self._sent = (0.0, description)
        self._last_sent_at = time.monotonic()

    def update(self, done: int, total: int, description: str | None = None) -> None:
        percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
        self._latest = (round(percent, 1), description or f"{done} of {total} purchases")
        if self._id is not None and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._ship())

    async def _ship(self) -> None:
        wait = self.min_interval_s - (time.monotonic() - self._last_sent_at)
        if wait > 0:
            await asyncio.sleep(wait)
        await self._send()

    async def _send(self) -> None:
        latest = self._latest
        if self._id is None or latest is None or latest == self._sent:
            return
        await aupdate_progress_artifact(self._id, latest[0], description=latest[1])
        self._sent = latest
        self._last_sent_at = time.monotonic()
        self.updates_sent += 1

    async def finish(self, done: int, total: int, description: str | None = None) -> None:
        """Ship the final figure now (waiting for an update already on its way)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
        self._latest = (round(percent, 1), description or f"{done} of {total} purchases")
        await self._send()

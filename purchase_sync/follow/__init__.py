"""After creation: follow each purchase's remote status, list what needs a person, and cancel
the purchases of lines the customer cancelled (issue 11; docs/operations.md).

- `sync_statuses`: the status sync stage (by ids or by modification window, paged, bounded
  concurrency, the shared API budget);
- `run_follow`: sync -> settle cancels -> cancel from a later export -> attention lists;
- `remote_status_by_outer_id`, `status_mix`: for results.parquet and summary.json;
- `FollowStore`: the follow tables, in the ledger's database (read-only use of the ledger).
"""

from purchase_sync.follow.cancel import (
    CancelItem,
    CancelReport,
    cancelled_lines,
    plan_cancels,
    send_cancels,
    settle_cancels,
)
from purchase_sync.follow.report import (
    ATTENTION_KEY,
    FILES,
    Attention,
    add_remote_status,
    attention,
    attention_markdown,
    combined_status,
    remote_status_by_outer_id,
    status_mix,
)
from purchase_sync.follow.rules import FollowSettings
from purchase_sync.follow.run import FollowResult, run_follow
from purchase_sync.follow.store import FollowStore
from purchase_sync.follow.sync import SyncReport, sync_statuses

__all__ = [
    "ATTENTION_KEY",
    "FILES",
    "Attention",
    "CancelItem",
    "CancelReport",
    "FollowResult",
    "FollowSettings",
    "FollowStore",
    "SyncReport",
    "add_remote_status",
    "attention",
    "attention_markdown",
    "cancelled_lines",
    "combined_status",
    "plan_cancels",
    "remote_status_by_outer_id",
    "run_follow",
    "send_cancels",
    "settle_cancels",
    "status_mix",
    "sync_statuses",
]

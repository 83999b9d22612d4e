"""Suite-wide settings. Area fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os

# Prefect's temporary server prints telemetry tracebacks without this (see design.md).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# The default ledger lives in the user's data directory: tests never touch the real one.
if "PURCHASE_SYNC_DATA_DIR" not in os.environ:
    import tempfile

    os.environ["PURCHASE_SYNC_DATA_DIR"] = tempfile.mkdtemp(prefix="purchase-sync-test-data-")

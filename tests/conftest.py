"""Suite-wide settings. Area fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os

# Prefect's temporary server prints telemetry tracebacks without this (see design.md).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

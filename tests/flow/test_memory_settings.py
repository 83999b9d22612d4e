"""The batch commands keep freed memory (purchase_sync.memory); long-running ones do not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys
from purchase_sync.memory import keep_freed_memory
first = keep_freed_memory()
env = os.environ.get("MIMALLOC_PURGE_DELAY"), os.environ.get("NUMPY_MADVISE_HUGEPAGE")
import pyarrow
second = keep_freed_memory()
print(json.dumps([first, env, second]))
"""


def _probe(env_extra: dict[str, str] | None = None) -> list:
    env = {"PATH": "/usr/bin:/bin", **(env_extra or {})}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_settings_apply_before_pyarrow_loads_and_not_after():
    first, env, second = _probe()
    assert first["mimalloc"] is True and first["numpy"] is True and env == ["-1", "0"]
    assert second["mimalloc"] is False  # too late once pyarrow is loaded: left alone
    assert second["numpy"] is False
    if sys.platform.startswith("linux"):
        assert first["glibc"] is True


def test_a_users_own_setting_wins():
    first, env, _ = _probe({"MIMALLOC_PURGE_DELAY": "10", "NUMPY_MADVISE_HUGEPAGE": "1"})
    assert first["mimalloc"] is False and first["numpy"] is False and env == ["10", "1"]


CALLS: list[str] = []


def fake_handler(args) -> int:
    CALLS.append(args.command)
    return 0


def test_only_batch_commands_change_the_allocator(monkeypatch):
    import purchase_sync.cli as cli

    CALLS.clear()
    monkeypatch.setattr("purchase_sync.memory.keep_freed_memory", lambda: CALLS.append("kept"))
    for command in ("plan", "sandbox"):
        monkeypatch.setitem(cli.HANDLERS, command, f"{__name__}:fake_handler")
    assert cli.main(["plan", "x.csv"]) == 0
    assert cli.main(["sandbox"]) == 0
    assert CALLS == ["kept", "plan", "sandbox"]
    assert {"plan", "run"} == cli.BATCH_COMMANDS

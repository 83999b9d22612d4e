"""A local emulator of the Shanjing API (docs/sandbox.md): the test double and `--sandbox`.

Importing this package is cheap; the server and catalog load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from sandbox.server import SandboxHandle, start_in_thread, start_subprocess

__all__ = ["SandboxConfig", "SandboxHandle", "start_in_thread", "start_subprocess"]


def __getattr__(name: str) -> Any:
    if name in ("SandboxHandle", "start_in_thread", "start_subprocess"):
        from sandbox import server

        return getattr(server, name)
    raise AttributeError(name)

"""Running the sandbox: in the foreground, in a background thread, or in a child process.

The thread form is cheap (tests that only need an API); the subprocess form keeps the server off
the client's GIL (benchmarks) and can be killed outright (crash tests). Both bind port 0 unless
told otherwise, so tests never fight over a fixed port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from sandbox.app import build_app
from sandbox.config import DEFAULT_ACCESS_TOKEN, DEFAULT_REFRESH_TOKEN, SandboxConfig

if TYPE_CHECKING:
    from sandbox.testing import SandboxControl

READY_PREFIX = "sandbox: serving on "
_SHUTDOWN_TIMEOUT_S = 1.0


class SandboxHandle:
    """A running sandbox: where it is, which tokens it starts with, and how to stop it."""

    def __init__(
        self,
        base_url: str,
        config: SandboxConfig,
        stop: Callable[[], None],
        process: subprocess.Popen[str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.config = config
        self.process = process
        self._stop = stop
        self._stopped = False
        self._control: SandboxControl | None = None

    @property
    def access_token(self) -> str:
        """The initial access token (the sandbox's own, not a secret)."""
        return self.config.access_token

    @property
    def refresh_token(self) -> str:
        return self.config.refresh_token

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def control(self) -> SandboxControl:
        """A sync client for the `/_sandbox/*` endpoints."""
        if self._control is None:
            from sandbox.testing import SandboxControl

            self._control = SandboxControl(self.base_url)
        return self._control

    def env(self) -> dict[str, str]:
        """The environment a client needs to talk to this sandbox (see docs/interface.md)."""
        return {
            "SHANJING_BASE_URL": self.base_url,
            "SHANJING_ACCESS_TOKEN": self.access_token,
            "SHANJING_REFRESH_TOKEN": self.refresh_token,
        }

    def stop(self) -> None:
        """Stop gracefully (idempotent)."""
        if not self._stopped:
            self._stopped = True
            if self._control is not None:
                self._control.close()
            self._stop()

    def kill(self) -> None:
        """SIGKILL the child process, as a crash would (subprocess form only)."""
        if self.process is None:
            raise RuntimeError("kill() needs a sandbox started with start_subprocess()")
        self._stopped = True
        if self._control is not None:
            self._control.close()
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxHandle({self.base_url!r}, pid={self.pid})"


async def _start(config: SandboxConfig, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(
        build_app(config),
        access_log=None,  # the refresh URL carries a token; and logging costs throughput
        handle_signals=False,
        shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return runner, f"http://{url_host}:{bound_port}"


def start_in_thread(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> SandboxHandle:
    """Serve from a daemon thread with its own event loop; returns once it accepts connections."""
    config = config or SandboxConfig()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    result: dict[str, object] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            runner, url = loop.run_until_complete(_start(config, host, port))
        except BaseException as exc:
            result["error"] = exc
            ready.set()
            loop.close()
            return
        result["url"] = url
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
    thread.start()
    ready.wait()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    return SandboxHandle(str(result["url"]), config, stop)


def start_subprocess(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout_s: float = 30.0,
) -> SandboxHandle:
    """Run `python -m sandbox` in a child process; returns once `/_sandbox/health` answers.

    The config (tokens included) goes through the child's stdin, not its command line.
    """
    config = config or SandboxConfig()
    cmd = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port), "--config-stdin"]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(config.model_dump_json() + "\n")
    proc.stdin.close()
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: TextIO) -> None:  # keep the pipe drained for the child's whole life
        with stream:
            for line in stream:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    deadline = time.monotonic() + timeout_s
    url = None
    while url is None:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"sandbox subprocess did not start (exit code {proc.returncode})")
        if line.startswith(READY_PREFIX):
            url = line[len(READY_PREFIX) :].strip()
    _wait_healthy(url, deadline)

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    return SandboxHandle(url, config, stop, process=proc)


def _wait_healthy(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url + "/_sandbox/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _announce(url: str, config: SandboxConfig) -> None:
    def shown(value: str, default: str) -> str:
        return value if value == default else "<as configured; not shown>"

    print(READY_PREFIX + url, flush=True)
    print(f"  SHANJING_BASE_URL={url}")
    print(f"  SHANJING_ACCESS_TOKEN={shown(config.access_token, DEFAULT_ACCESS_TOKEN)}")
    print(f"  SHANJING_REFRESH_TOKEN={shown(config.refresh_token, DEFAULT_REFRESH_TOKEN)}")
    where = config.db_path or "a temporary file (removed on exit)"
    print(f"  orders are stored in {where}; Ctrl-C stops.", flush=True)


async def serve_forever(config: SandboxConfig, host: str, port: int) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down cleanly."""
    runner, url = await _start(config, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    _announce(url, config)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run_foreground(config: SandboxConfig, host: str, port: int) -> int:
    """Blocking entry point for the CLI and `python -m sandbox`."""
    asyncio.run(serve_forever(config, host, port))
    return 0

"""Access/refresh tokens: where they are kept and when they are refreshed.

A refresh rotates both tokens (the old refresh token stops working), so a refreshed pair must
reach durable storage or the next process starts with a dead refresh token. `FileTokenStore` and
the Prefect Secret store (`shanjing.prefect_store`) persist it; `StaticTokenStore` (environment)
cannot, and says so in the log when a refresh happens.

`TokenManager` refreshes at most once per token generation: requests that failed with an old
token wait on one asyncio lock and reuse the pair the first of them obtained.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from shanjing.errors import ReauthorizationRequired
from shanjing.models import TokenInfo

__all__ = ["FileTokenStore", "StaticTokenStore", "TokenManager", "TokenStore"]

log = logging.getLogger("shanjing")

#: Called with the current pair; performs the refresh call and returns the new pair.
Refresher = Callable[[TokenInfo], Awaitable[TokenInfo]]


@runtime_checkable
class TokenStore(Protocol):
    """Where the token pair lives between processes."""

    @property
    def writable(self) -> bool:
        """False when a refreshed pair cannot be persisted (it then lives in memory only)."""
        ...

    def load(self) -> TokenInfo: ...

    def save(self, tokens: TokenInfo) -> None: ...


def _tokens_from_mapping(data: Any, source: str) -> TokenInfo:
    """Build a TokenInfo without letting a validation message echo a token back."""
    try:
        if not isinstance(data, Mapping):
            raise TypeError
        return TokenInfo.from_storage(dict(data))
    except (KeyError, TypeError, ValueError, ValidationError):
        raise ReauthorizationRequired(
            "auth",
            None,
            f"no usable token pair in {source}: re-authorize the Shanjing account and set "
            "SHANJING_ACCESS_TOKEN/SHANJING_REFRESH_TOKEN (or write the token store)",
        ) from None


class StaticTokenStore:
    """Tokens given at start-up (settings or environment). Refreshed pairs stay in memory."""

    writable = False

    def __init__(
        self,
        access_token: str,
        refresh_token: str,
        access_expires_at: datetime | None = None,
        refresh_expires_at: datetime | None = None,
    ) -> None:
        self._tokens = _tokens_from_mapping(
            {
                "access_token": access_token,
                "refresh_token": refresh_token,
                "access_expires_at": access_expires_at,
                "refresh_expires_at": refresh_expires_at,
            },
            "the given settings",
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StaticTokenStore:
        """Read SHANJING_ACCESS_TOKEN and SHANJING_REFRESH_TOKEN."""
        env = os.environ if environ is None else environ
        access = env.get("SHANJING_ACCESS_TOKEN", "").strip()
        refresh = env.get("SHANJING_REFRESH_TOKEN", "").strip()
        if not access or not refresh:
            raise ReauthorizationRequired(
                "auth",
                None,
                "SHANJING_ACCESS_TOKEN and SHANJING_REFRESH_TOKEN must both be set "
                "(or use a token file / Prefect Secret block)",
            )
        return cls(access, refresh)

    def load(self) -> TokenInfo:
        return self._tokens

    def save(self, tokens: TokenInfo) -> None:
        self._tokens = tokens

    def __repr__(self) -> str:
        return "StaticTokenStore()"


class FileTokenStore:
    """A JSON file holding the pair, replaced atomically (temp file + rename), mode 0600."""

    writable = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> TokenInfo:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReauthorizationRequired(
                "auth",
                None,
                f"token file {self.path} does not exist: re-authorize the Shanjing account and "
                "write the token pair there (or set SHANJING_ACCESS_TOKEN/SHANJING_REFRESH_TOKEN)",
            ) from None
        except (OSError, ValueError):
            data = None
        return _tokens_from_mapping(data, f"token file {self.path}")

    def save(self, tokens: TokenInfo) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(tokens.to_storage(), indent=2)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


class TokenManager:
    """Holds the current pair, refreshes it once per generation, and persists it if it can."""

    def __init__(self, store: TokenStore, refresh_margin_s: float = 60) -> None:
        self.store = store
        self.refresh_margin_s = refresh_margin_s
        self._tokens: TokenInfo | None = None
        self._generation = 0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.refresh_count = 0

    def _get_lock(self) -> asyncio.Lock:
        # One manager may serve several event loops in turn (one asyncio.run per Prefect task).
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    @property
    def generation(self) -> int:
        """Bumped on every refresh; a request remembers the generation it was sent with."""
        return self._generation

    async def current(self) -> tuple[TokenInfo, int]:
        """The pair to send now, and its generation (loads the store on first use)."""
        if self._tokens is None:
            async with self._get_lock():
                if self._tokens is None:
                    self._tokens = await asyncio.to_thread(self.store.load)
        return self._tokens, self._generation

    def needs_refresh(self, tokens: TokenInfo, now: float | None = None) -> bool:
        """True when the access expiry is known and within the margin."""
        if tokens.access_expires_at is None:
            return False
        now = time.time() if now is None else now
        return tokens.access_expires_at.timestamp() - now <= self.refresh_margin_s

    async def ensure_fresh(self, refresher: Refresher) -> tuple[TokenInfo, int]:
        """Refresh proactively when the access token is about to expire."""
        tokens, generation = await self.current()
        if self.needs_refresh(tokens):
            return await self.refresh_if_current(generation, refresher)
        return tokens, generation

    async def refresh_if_current(
        self, generation: int, refresher: Refresher
    ) -> tuple[TokenInfo, int]:
        """Refresh unless another task already replaced the generation `generation`.

        Many requests failing with the same old token all call this; the first refreshes,
        the others wait on the lock and then find a newer generation.
        """
        async with self._get_lock():
            if self._tokens is None:
                self._tokens = await asyncio.to_thread(self.store.load)
            if self._generation != generation:
                return self._tokens, self._generation
            old = self._tokens
            expiry = old.refresh_expires_at
            if expiry is not None and expiry.timestamp() <= time.time():
                raise ReauthorizationRequired("refresh", None)
            new = await refresher(old)
            self._tokens = new
            self._generation += 1
            self.refresh_count += 1
            if self.store.writable:
                await asyncio.to_thread(self.store.save, new)
                log.info("shanjing tokens refreshed and saved to %r", self.store)
            else:
                log.warning(
                    "shanjing tokens refreshed; %r cannot persist them, so the new pair lives in "
                    "this process only and the configured refresh token is now rotated out. "
                    "Use a token file or Prefect Secret block for unattended runs.",
                    self.store,
                )
            return new, self._generation

    def __repr__(self) -> str:
        return f"TokenManager(store={self.store!r}, generation={self._generation})"

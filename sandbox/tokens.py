"""Access and refresh tokens of the sandbox, and the refresh endpoint.

Token lifetimes run on the real monotonic clock (not the simulated one): they model the API's
auth, which the lifecycle clock does not touch.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.wire import bearer

if TYPE_CHECKING:
    from sandbox.state import SandboxState

AUTH_CODE = "IllegalAccessToken"
AUTH_MSG = "The specified access token is invalid or expired"


class Tokens:
    """Every access token ever issued (expired ones stay known, for refresh) and the refresh one."""

    def __init__(self, config: SandboxConfig) -> None:
        now = time.monotonic()
        self.access: dict[str, float] = {config.access_token: now + config.token_ttl_s}
        self.refresh_token = config.refresh_token
        self.refresh_expiry = now + config.refresh_ttl_s
        self._token_no = 0

    def valid(self, token: str | None) -> bool:
        exp = self.access.get(token) if token else None
        return exp is not None and time.monotonic() < exp

    def expire(self, refresh: bool) -> None:
        for tok in self.access:
            self.access[tok] = 0.0
        if refresh:
            self.refresh_expiry = 0.0

    def rotate(self, config: SandboxConfig) -> tuple[str, str]:
        """A new pair with the lifetimes of the current config; the old refresh token dies."""
        self._token_no += 1
        salt = uuid.uuid4().hex
        access, refresh = f"sbx-at-{self._token_no}-{salt}", f"sbx-rt-{self._token_no}-{salt}"
        now = time.monotonic()
        self.access[access] = now + config.token_ttl_s
        self.refresh_token, self.refresh_expiry = refresh, now + config.refresh_ttl_s
        return access, refresh


def _refresh_failure(code: str, msg: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": msg, "access_token": None}


async def refresh(s: SandboxState, request: web.Request) -> dict[str, Any]:
    """`GET /auth/token/refresh`: rotate both tokens (snake_case keys in every key style)."""
    tokens = s.tokens
    if bearer(request) not in tokens.access:
        s.stats.n["refresh_failures"] += 1
        return _refresh_failure(AUTH_CODE, AUTH_MSG)
    given = request.query.get("refresh_token", "")
    if not given or given != tokens.refresh_token or time.monotonic() >= tokens.refresh_expiry:
        s.stats.n["refresh_failures"] += 1
        return _refresh_failure(
            "IllegalRefreshToken", "The specified refresh token is invalid or expired"
        )
    access, new_refresh = tokens.rotate(s.config)
    s.stats.n["refreshes"] += 1
    return {
        "expires_in": int(s.config.token_ttl_s),
        "access_token": access,
        "refresh_token": new_refresh,
        "refresh_expires_in": str(int(s.config.refresh_ttl_s)),
        "account_id": "sandbox",
        "user_Id": "2200000000001",
        "seller_Id": "2200000000001",
        "short_code": "SBX",
        "account_platform": "taobao",
        "account": "sandbox",
        "error_code": None,
    }

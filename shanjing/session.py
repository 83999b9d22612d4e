"""The machinery under every call: one shared connection pool, safe retries, token refresh,
and the counters a run summary needs (`ClientStats`).

One transport per client, httpx-aiohttp by default (plain httpx collapses above ~32 concurrent
connections: design.md). Retry rules live in `shanjing.retry`; reading an answer's envelope in
`shanjing.envelope`; the endpoints themselves in `shanjing.client`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import ValidationError

from shanjing.auth import TokenManager
from shanjing.endpoints import ENDPOINTS, METHODS, RESEND_SAFE
from shanjing.envelope import AuthRejected, normalised, unwrap
from shanjing.errors import (
    REAUTHORIZE_HINT,
    AuthError,
    BusinessError,
    GatewayError,
    HTTPStatusError,
    MalformedResponseError,
    RateLimitedError,
    ReauthorizationRequired,
    ShanjingError,
    TransportError,
)
from shanjing.models import TokenInfo
from shanjing.redaction import install_log_redaction, redact
from shanjing.retry import (
    AdaptiveRateLimiter,
    RateGate,
    backoff_delay,
    parse_retry_after,
    possibly_received,
)

__all__ = ["ApiSession", "ClientStats"]

log = logging.getLogger("shanjing")


@dataclass
class ClientStats:
    """What the client did, for the run summary (`api_calls`) and for diagnosing a slow run."""

    calls: Counter[str] = field(default_factory=Counter)  # logical calls per endpoint
    requests: Counter[str] = field(default_factory=Counter)  # HTTP requests sent per endpoint
    http_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0  # 429 answers
    retries: int = 0
    refreshes: int = 0
    transport_errors: int = 0
    business_errors: int = 0  # documented rejections (success=false)
    gateway_errors: int = 0  # any other success=false (retried where a resend is safe)
    auth_rejections: int = 0

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-able counters (status codes as strings)."""
        return {
            "calls": dict(self.calls),
            "requests": dict(self.requests),
            "http_status": {str(k): v for k, v in sorted(self.http_status.items())},
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "refreshes": self.refreshes,
            "transport_errors": self.transport_errors,
            "business_errors": self.business_errors,
            "gateway_errors": self.gateway_errors,
            "auth_rejections": self.auth_rejections,
        }


class ApiSession:
    """Sends one logical call with the retry rules of `shanjing.retry` (base of `ShanjingClient`).

    Use as an async context manager (it owns a connection pool). `deadline` bounds one call,
    retries and waits included (default: four times `timeout`). `transport` also accepts an
    `httpx.AsyncBaseTransport` (e.g. `httpx.MockTransport` in tests).
    """

    def __init__(
        self,
        base_url: str,
        tokens: TokenManager,
        *,
        max_connections: int = 128,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        transport: Literal["aiohttp", "httpx"] | httpx.AsyncBaseTransport = "aiohttp",
        max_retries: int = 4,
        rate_limit: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.stats = ClientStats()
        self.max_retries = max_retries
        self.deadline_s = deadline if deadline is not None else 4 * timeout
        self._gate = RateGate()
        self._limiter = AdaptiveRateLimiter(rate_limit) if rate_limit else None
        self._rng = random.Random()
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        http_timeout = httpx.Timeout(timeout, connect=connect_timeout)
        if transport == "aiohttp":
            chosen: httpx.AsyncBaseTransport = AiohttpTransport(limits=limits)
        elif transport == "httpx":
            chosen = httpx.AsyncHTTPTransport(limits=limits)
        elif isinstance(transport, httpx.AsyncBaseTransport):
            chosen = transport
        else:
            raise ValueError(f"unknown transport {transport!r}: use 'aiohttp' or 'httpx'")
        # Requests go straight to the one shared transport (it owns the connection pool): the
        # API needs none of the per-request cookie, redirect and auth machinery of
        # httpx.AsyncClient.send, which cost ~30% of the client's CPU per call.
        self._transport = chosen
        self._timeout = http_timeout.as_dict()
        self._urls = {name: httpx.URL(self.base_url + path) for name, path in ENDPOINTS.items()}
        install_log_redaction()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    async def refresh_token(self) -> None:
        """Refresh the token pair now (and persist it if the store can)."""
        _, generation = await self.tokens.current()
        await self._refresh_for(None, generation)

    # --- machinery ---------------------------------------------------------------------------

    async def _refresh_for(self, endpoint: str | None, generation: int) -> TokenInfo:
        """Refresh on behalf of `endpoint`'s call; refresh failures other than auth ones become
        a TransportError of that call with possibly_received=False (the call was not processed)."""
        try:
            tokens, _ = await self.tokens.refresh_if_current(generation, self._refresh_pair)
        except AuthError:
            raise
        except ShanjingError as exc:
            if endpoint is None:
                raise
            raise _refresh_failed(endpoint, exc) from None
        return tokens

    async def _refresh_pair(self, old: TokenInfo) -> TokenInfo:
        """The refresh call itself (the TokenManager serialises it)."""
        params = {"refresh_token": old.refresh_token.get_secret_value()}
        payload, rid = await self._call("refresh", params=params, bearer=old)
        body = normalised(payload)
        if isinstance(body.get("data"), dict) and "access_token" not in body:
            body = normalised(body["data"])
        code = body.get("error_code")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if code or not isinstance(access, str) or not isinstance(refresh, str):
            answered = f"server answered {code}" if code else "no token pair in the answer"
            raise ReauthorizationRequired("refresh", rid, f"{REAUTHORIZE_HINT} ({answered})")
        now = datetime.now(UTC)
        try:
            tokens = TokenInfo(
                access_token=access,
                refresh_token=refresh,
                access_expires_at=_expiry(now, body.get("expires_in")),
                refresh_expires_at=_expiry(now, body.get("refresh_expires_in")),
            )
        except ValidationError:
            raise MalformedResponseError("refresh", rid, "unreadable token pair") from None
        self.stats.refreshes += 1
        log.info("shanjing access token refreshed [request %s]", rid)
        return tokens

    async def _call(
        self,
        endpoint: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        bearer: TokenInfo | None = None,
    ) -> tuple[Any, str]:
        """One logical call with its retries. Returns (envelope `data`, request id); for the
        refresh call (`bearer` given) the whole body instead, and no refresh-on-auth-failure."""
        self.stats.calls[endpoint] += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        retries = 0
        refreshed = False
        while True:
            if bearer is None:
                try:
                    tokens, generation = await self.tokens.ensure_fresh(self._refresh_pair)
                except AuthError:
                    raise
                except ShanjingError as exc:
                    raise _refresh_failed(endpoint, exc) from None
            else:
                tokens, generation = bearer, -1
            try:
                return await self._attempt(endpoint, params, body, tokens, deadline, bearer)
            except AuthRejected as rejected:
                self.stats.auth_rejections += 1
                if bearer is not None:
                    raise ReauthorizationRequired(
                        endpoint,
                        rejected.request_id,
                        f"{REAUTHORIZE_HINT} (the refresh call was rejected: {rejected.reason})",
                    ) from None
                if refreshed:
                    raise AuthError(
                        endpoint,
                        rejected.request_id,
                        f"access token rejected again after a refresh ({rejected.reason})",
                    ) from None
                refreshed = True
                log.info(
                    "%s: access token rejected (%s) [request %s]; refreshing once",
                    endpoint,
                    rejected.reason,
                    rejected.request_id,
                )
                await self._refresh_for(endpoint, generation)
            except (HTTPStatusError, TransportError, GatewayError) as exc:
                delay = self._retry_delay(endpoint, exc, retries)
                if (
                    delay is None
                    or retries >= self.max_retries
                    or loop.time() + max(delay, self._gate.paused_for) >= deadline
                ):
                    raise
                retries += 1
                self.stats.retries += 1
                log.warning(
                    "%s: %s [request %s]; retry %d/%d in %.2fs",
                    endpoint,
                    exc.message,
                    exc.request_id,
                    retries,
                    self.max_retries,
                    max(delay, self._gate.paused_for),
                )
                await asyncio.sleep(delay)

    def _retry_delay(self, endpoint: str, exc: ShanjingError, retries: int) -> float | None:
        """Seconds before the next attempt, or None when this failure must not be retried."""
        if isinstance(exc, RateLimitedError):
            return 0.0  # the shared gate holds every send until the Retry-After instant
        if endpoint not in RESEND_SAFE:
            return None
        if isinstance(exc, HTTPStatusError) and not exc.retryable:
            return None
        return backoff_delay(retries, rng=self._rng)

    async def _attempt(
        self,
        endpoint: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        tokens: TokenInfo,
        deadline: float,
        bearer: TokenInfo | None,
    ) -> tuple[Any, str]:
        client_rid = uuid.uuid4().hex
        headers = {
            "Accept": "application/json",
            "User-Agent": "purchase-sync/shanjing-client",
            "Authorization": f"Bearer {tokens.access_token.get_secret_value()}",
            "X-Client-Request-Id": client_rid,
        }
        sent = False
        timer = asyncio.timeout_at(deadline)
        try:
            async with timer:
                while True:  # a 429 elsewhere may re-pause the gate while we waited our slot
                    await self._gate.wait()
                    if self._limiter is not None:
                        await self._limiter.acquire()
                    if self._gate.paused_for <= 0:
                        break
                sent = True
                self.stats.requests[endpoint] += 1
                response = await self._send(endpoint, params, body, headers)
        except (httpx.RequestError, aiohttp.ClientError, OSError) as exc:
            self.stats.transport_errors += 1
            if isinstance(exc, TimeoutError) and timer.expired():
                when = "waiting for the answer" if sent else "before the request was sent"
                message = f"overall deadline of {self.deadline_s:g}s exceeded {when}"
                received = sent
            else:
                message = _describe(exc)
                received = sent and possibly_received(exc)
            error = TransportError(endpoint, client_rid, message, possibly_received=received)
            if bearer is not None:  # the refresh URL (in some messages) holds the refresh token
                raise error from None
            raise error from exc
        return self._handle(endpoint, response, client_rid, raw=bearer is not None)

    async def _send(
        self,
        endpoint: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        url = self._urls[endpoint]
        if params:
            url = url.copy_merge_params(params)
        request = httpx.Request(
            METHODS[endpoint],
            url,
            json=body,
            headers=headers,
            extensions={"timeout": self._timeout},
        )
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _handle(
        self, endpoint: str, response: httpx.Response, client_rid: str, *, raw: bool
    ) -> tuple[Any, str]:
        rid = response.headers.get("x-request-id") or client_rid
        status = response.status_code
        self.stats.http_status[status] += 1
        if status == 429:
            self.stats.rate_limited += 1
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            self._gate.pause_for(
                retry_after if retry_after is not None else backoff_delay(0, rng=self._rng)
            )
            if self._limiter is not None:
                self._limiter.backoff()
            raise RateLimitedError(
                endpoint, rid, f"HTTP 429 (Retry-After {retry_after})", retry_after=retry_after
            )
        if status in (401, 403):
            raise AuthRejected(rid, f"HTTP {status}")
        if not 200 <= status < 300:
            raise HTTPStatusError(
                endpoint,
                rid,
                f"HTTP {status} {response.reason_phrase}".rstrip(),
                status_code=status,
                retryable=status >= 500 and endpoint in RESEND_SAFE,
            )
        try:
            payload = json.loads(response.content)
        except ValueError:
            raise MalformedResponseError(
                endpoint, rid, f"HTTP {status} with a body that is not JSON"
            ) from None
        if raw:
            return payload, rid
        try:
            return unwrap(endpoint, rid, payload), rid
        except (BusinessError, GatewayError) as exc:
            self._count_failure(exc)
            raise

    def _count_failure(self, exc: BusinessError | GatewayError) -> None:
        if isinstance(exc, BusinessError):
            self.stats.business_errors += 1
        else:
            self.stats.gateway_errors += 1
        log.debug("%s: %s [request %s]", exc.endpoint, exc, exc.request_id)


def _refresh_failed(endpoint: str, exc: ShanjingError) -> TransportError:
    """A refresh that failed for a non-auth reason, reported as the calling endpoint's error:
    its request was never sent (or was refused for its token), so nothing was processed."""
    return TransportError(
        endpoint,
        exc.request_id,
        f"not sent: the access token needed a refresh and the refresh failed ({exc})",
        possibly_received=False,
    )


def _expiry(now: datetime, seconds: Any) -> datetime | None:
    """Absolute expiry from an `expires_in` that may be an int or a string of seconds."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return None
    if value <= 0 or value != value:
        return None
    return now + timedelta(seconds=value)


def _describe(exc: BaseException) -> str:
    """`ConnectTimeout <- ServerDisconnectedError: Server disconnected`, tokens redacted."""
    names: list[str] = []
    current: BaseException | None = exc
    root = exc
    while current is not None and len(names) < 4:
        names.append(type(current).__name__)
        root = current
        current = current.__cause__
    text = redact(str(root)) or redact(str(exc))
    return f"{' <- '.join(names)}: {text}" if text else " <- ".join(names)

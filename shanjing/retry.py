"""When a failed call may be sent again, how long to wait, and how to slow the whole client down.

Resending is safe only when the first attempt cannot have changed anything remotely:

| failure                                | product/query/render/refresh | create/cancel          |
|----------------------------------------|------------------------------|------------------------|
| 429 (refused before processing)        | retry after Retry-After      | retry after Retry-After|
| auth rejection (token invalid/expired) | refresh once, retry once     | refresh once, retry once |
| 5xx                                    | retry, backoff + jitter      | raise at once          |
| transport error (any)                  | retry, backoff + jitter      | raise at once          |
| documented rejection (BusinessError)   | raise                        | raise                  |
| other success=false (GatewayError)     | retry, backoff + jitter      | raise at once          |

A 429 pauses every new send of the client (`RateGate`) until the Retry-After instant, and halves
the optional shared rate (`AdaptiveRateLimiter`), which then climbs back linearly.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import aiohttp
import httpx

__all__ = [
    "AdaptiveRateLimiter",
    "RateGate",
    "backoff_delay",
    "parse_retry_after",
    "possibly_received",
]


def backoff_delay(
    attempt: int, *, base: float = 0.2, cap: float = 5.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(cap, base * (2**attempt))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class RateGate:
    """A pause shared by every call of one client: after a 429, no new request leaves until the
    Retry-After instant. Waiters are released with a little jitter so they do not stampede."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._resume_at = 0.0

    @property
    def paused_for(self) -> float:
        return max(0.0, self._resume_at - self._clock())

    def pause_for(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, self._clock() + seconds)

    async def wait(self) -> None:
        waited = 0.0
        while (delay := self._resume_at - self._clock()) > 0:
            waited = max(waited, delay)
            await asyncio.sleep(delay)
        if waited:
            await asyncio.sleep(self._rng.uniform(0, min(0.25, waited * 0.1)))


class AdaptiveRateLimiter:
    """Evenly spaced sends at `rate` per second, shared by all calls.

    A 429 halves the current rate (never below `floor`); the rate then climbs back linearly to
    the target over `recovery_s` seconds, so one burst of 429s does not throttle a whole run.
    """

    def __init__(
        self,
        rate: float,
        *,
        recovery_s: float = 30.0,
        floor_fraction: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.target = rate
        self.recovery_s = recovery_s
        self.floor = max(rate * floor_fraction, 0.01)
        self._clock = clock
        self._rate = rate
        self._since = clock()
        self._next_slot = 0.0

    def current_rate(self) -> float:
        elapsed = self._clock() - self._since
        return min(self.target, self._rate + self.target * elapsed / self.recovery_s)

    def backoff(self) -> None:
        self._rate = max(self.floor, self.current_rate() / 2)
        self._since = self._clock()

    def reserve(self) -> float:
        """Book the next send slot; returns how long the caller must sleep before it."""
        now = self._clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.current_rate()
        return slot - now

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


#: aiohttp raises these only from `connector.connect()`, before a byte of the request is written.
_AIOHTTP_NOT_SENT = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.InvalidURL,
)
#: httpcore raises these only while opening the connection (or waiting for one in the pool).
_HTTPX_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def possibly_received(exc: BaseException) -> bool:
    """False only when the exception chain proves the request never left the client.

    The class httpx shows is not enough: the httpx-aiohttp transport maps *every* aiohttp
    connection error to `httpx.ConnectTimeout` (its map picks the first match,
    `ClientConnectionError`), including a server that committed a create and then dropped the
    connection (`ServerDisconnectedError`). So the aiohttp exception underneath decides:
    `ClientConnectorError` (refused, unresolvable, TLS failure while opening) and
    `ConnectionTimeoutError` (connect or pool wait timed out) are raised only while opening a
    connection, before the request is written; any other aiohttp error may follow a sent
    request. With the plain httpx transport (httpcore underneath, no aiohttp in the chain),
    `ConnectError`/`ConnectTimeout`/`PoolTimeout` are likewise raised only while connecting.
    """
    chain = list(_chain(exc))
    if any(isinstance(e, _AIOHTTP_NOT_SENT) for e in chain):
        return False
    if any(isinstance(e, aiohttp.ClientError) for e in chain):
        return True
    return not isinstance(exc, _HTTPX_NOT_SENT)

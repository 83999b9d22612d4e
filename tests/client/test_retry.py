"""Backoff, Retry-After, the shared rate limiter, and which failures prove "never sent"."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey

from shanjing.retry import (
    AdaptiveRateLimiter,
    RateGate,
    backoff_delay,
    parse_retry_after,
    possibly_received,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_parse_retry_after_seconds_date_and_garbage() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-3") == 0.0
    now = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(30.0)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt in range(10):
        ceiling = min(5.0, 0.2 * 2**attempt)
        delay = backoff_delay(attempt, rng=rng)
        assert ceiling / 2 <= delay <= ceiling


def test_rate_limiter_spaces_sends_and_backs_off_then_recovers() -> None:
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(10.0, recovery_s=10.0, clock=clock)
    assert [limiter.reserve() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    limiter.backoff()
    assert limiter.current_rate() == pytest.approx(5.0)
    limiter.backoff()
    assert limiter.current_rate() == pytest.approx(2.5)
    clock.now += 5.0  # recovers target/recovery_s = 1 per second
    assert limiter.current_rate() == pytest.approx(7.5)
    clock.now += 60.0
    assert limiter.current_rate() == pytest.approx(10.0)


def test_rate_limiter_never_drops_below_its_floor() -> None:
    limiter = AdaptiveRateLimiter(100.0, clock=FakeClock())
    for _ in range(50):
        limiter.backoff()
    assert limiter.current_rate() == pytest.approx(limiter.floor) and limiter.floor > 0


def test_gate_pause_only_extends() -> None:
    clock = FakeClock()
    gate = RateGate(clock=clock)
    gate.pause_for(2.0)
    gate.pause_for(1.0)
    assert gate.paused_for == pytest.approx(2.0)
    clock.now += 2.5
    assert gate.paused_for == 0.0


def _mapped(outer: type[httpx.TransportError], cause: BaseException) -> httpx.TransportError:
    """What httpx-aiohttp raises: the httpx class, with the aiohttp exception as its cause."""
    exc = outer(str(cause))
    exc.__cause__ = cause
    return exc


KEY = ConnectionKey("127.0.0.1", 1, False, True, None, None, None, None)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        # The measured trap: a committed create whose connection dropped looks like this.
        (_mapped(httpx.ConnectTimeout, aiohttp.ServerDisconnectedError()), True),
        (_mapped(httpx.ConnectTimeout, aiohttp.ClientOSError(104, "reset")), True),
        (_mapped(httpx.ReadTimeout, aiohttp.SocketTimeoutError("read")), True),
        (_mapped(httpx.ReadError, aiohttp.ClientPayloadError("cut")), True),
        (
            _mapped(
                httpx.ConnectTimeout,
                aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
            ),
            False,
        ),
        (_mapped(httpx.ConnectTimeout, aiohttp.ConnectionTimeoutError("connect")), False),
        # Plain httpx (httpcore underneath): these are raised only while connecting.
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow connect"), False),
        (httpx.PoolTimeout("pool"), False),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (httpx.ReadTimeout("read"), True),
        (httpx.WriteError("write"), True),
    ],
)
def test_possibly_received_follows_the_exception_chain(exc: BaseException, expected: bool) -> None:
    assert possibly_received(exc) is expected

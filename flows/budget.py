"""The API's request budget, shared by every worker through a Prefect global concurrency limit.

Each run already paces itself (the client's own rate limiter); this is the coordination
*between* runs and machines: a nightly run, a backfill and several workers together stay under
the supplier API's rate. Slots are taken per batch of requests, not per request, because every
acquisition is itself a call to the Prefect API. `strict=True`: a missing limit is an error, not
a silent "no limit".
"""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.concurrency.asyncio import rate_limit
from prefect.exceptions import ObjectNotFound

from schemas.errors import UserError


class ApiBudget:
    """An awaitable `budget(n)`: returns once `n` request slots were granted by the limit."""

    def __init__(self, name: str, timeout_s: float | None = 600.0) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._limit: int | None = None
        self.acquisitions = 0
        self.slots = 0

    async def _read_limit(self) -> int:
        async with get_client() as client:
            try:
                gcl = await client.read_global_concurrency_limit_by_name(self.name)
            except ObjectNotFound:
                raise UserError(
                    f"global concurrency limit {self.name!r} does not exist; create it with "
                    f"`prefect gcl create {self.name} --limit N --slot-decay-per-second R`"
                ) from None
        if not gcl.slot_decay_per_second:
            raise UserError(
                f"global concurrency limit {self.name!r} has no slot decay, so it cannot act as "
                f"a rate; set one: `prefect gcl update {self.name} --slot-decay-per-second R`"
            )
        if not gcl.active:
            raise UserError(f"global concurrency limit {self.name!r} is inactive")
        return int(gcl.limit)

    async def __call__(self, n: int) -> None:
        if n <= 0:
            return
        if self._limit is None:
            self._limit = await self._read_limit()
        # A request for more slots than the limit holds would be refused outright: split it.
        while n > 0:
            take = min(n, self._limit)
            await rate_limit(self.name, occupy=take, timeout_seconds=self.timeout_s, strict=True)
            self.acquisitions += 1
            self.slots += take
            n -= take

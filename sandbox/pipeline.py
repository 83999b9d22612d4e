"""The fault pipeline every `/rest/taobao-global/...` request goes through.

In-flight cap (429) -> 429 fault -> [latency window opens] reset fault -> 5xx fault -> error
envelope fault -> auth -> the endpoint -> late-commit fault (504, commit later) or commit ->
error-envelope-after-commit fault -> [window closes] -> lost-response fault.

429s are answered at once, as a gateway would; a reset, a 5xx or an error envelope means nothing
was done; a lost response or an envelope after commit means the work was done (and committed)
first; a late commit means the work is done after the client got its 504. The latency runs from
arrival and includes the work, like a real server's.

Fault decisions come from seeded RNGs drawn the same way for every request, so a sequential run
is reproducible: six numbers from `rng` for the original faults, and seven from `rng_extra` only
while one of the later faults is on (the common path pays nothing for them).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.state import SandboxState
from sandbox.tokens import AUTH_CODE, AUTH_MSG
from sandbox.wire import Rejection, bearer, dumps, failure, restyle

Reply = dict[str, Any]
#: What a mutating handler returns once the request is validated: the work itself, run by the
#: pipeline now, later (late commit) or never (the sandbox stopped first).
Commit = Callable[[], Awaitable[Reply]]
Handler = Callable[[SandboxState, web.Request], Awaitable[Reply | Commit]]

#: `success=false` answers of a gateway in front of the business service: no documented business
#: meaning, and no telling whether the work was done.
GATEWAY_FAILURES: tuple[tuple[str, str], ...] = (
    ("isp.service-timeout", "ISP服务超时"),
    ("SYSTEM_BUSY", "系统繁忙"),
    ("SERVICE_TIMEOUT", "服务处理超时"),
    ("isv.service-unavailable", "服务暂不可用"),
)


@dataclass(frozen=True, slots=True)
class QueryFaults:
    """This request's order-query faults (drawn by the pipeline, applied by the handler)."""

    ignore_filter: bool = False
    short_page: float | None = None  # fraction of a full page to keep
    no_total: bool = False


NO_QUERY_FAULTS = QueryFaults()
QUERY_FAULTS: web.RequestKey[QueryFaults] = web.RequestKey("sandbox_query_faults", QueryFaults)


async def _sleep_until(loop: asyncio.AbstractEventLoop, due: float) -> None:
    delay = due - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)


def _pick(options: tuple[Any, ...], u: float) -> Any:
    return options[min(len(options) - 1, int(u * len(options)))]


class Pipeline:
    """Wraps endpoint handlers in the fault pipeline and answers in the configured key style."""

    def __init__(self, state: SandboxState) -> None:
        self.s = state

    # responses ---------------------------------------------------------------------------------

    def _respond(
        self,
        body: Any,
        rid: str,
        status: int = 200,
        restyled: bool = True,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        cfg = self.s.config
        if restyled and (cfg.key_style == "snake" or cfg.success_as_string):
            body = restyle(body, cfg.key_style == "snake", cfg.success_as_string)
        hdrs = {"X-Request-Id": rid, "Content-Type": "application/json; charset=utf-8"}
        if headers:
            hdrs.update(headers)
        return web.Response(body=dumps(body), status=status, headers=hdrs)

    def _retry_after(self) -> str:
        v = self.s.config.retry_after_s
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    def _too_many(self, rid: str) -> web.Response:
        body = failure("TooManyRequests", "rate limited, retry later")
        return self._respond(body, rid, 429, headers={"Retry-After": self._retry_after()})

    def _server_error(self, rid: str, pick: float) -> web.Response:
        status = _pick((500, 502, 503), pick)
        hdrs = {"X-Request-Id": rid}
        if status == 500:
            return web.Response(text="Internal Server Error", status=500, headers=hdrs)
        if status == 502:
            html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return web.Response(text=html, status=502, content_type="text/html", headers=hdrs)
        hdrs["Retry-After"] = self._retry_after()
        body = dumps(failure("ServiceUnavailable", "service busy"))
        return web.Response(body=body, status=503, content_type="application/json", headers=hdrs)

    @staticmethod
    def _gateway_timeout(rid: str) -> web.Response:
        html = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
        return web.Response(
            text=html, status=504, content_type="text/html", headers={"X-Request-Id": rid}
        )

    @staticmethod
    def _drop(request: web.Request, reset: bool) -> web.Response:
        """Close the connection without a response (RST for a reset, FIN for a lost response)."""
        transport = request.transport
        if transport is not None:
            if reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return web.Response(status=204)  # never sent: the transport is gone

    # late commits ------------------------------------------------------------------------------

    def _commit_late(self, commit: Commit, due: float) -> None:
        """Run `commit` at loop time `due`, unless the sandbox stops (or is reset) first."""
        s = self.s
        s.stats.n["late_commits"] += 1

        async def later() -> None:
            await _sleep_until(asyncio.get_running_loop(), due)
            await commit()
            s.stats.n["late_commits_done"] += 1

        task = asyncio.get_running_loop().create_task(later())
        s.late_commits.add(task)
        task.add_done_callback(s.late_commits.discard)

    # the pipeline ------------------------------------------------------------------------------

    def rest(self, endpoint: str, handler: Handler, auth: bool = True) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            return await self._pipeline(request, endpoint, handler, auth)

        return serve  # type: ignore[return-value]

    async def _pipeline(
        self, request: web.Request, endpoint: str, handler: Handler, auth: bool
    ) -> web.Response:
        s = self.s
        cfg = s.config
        stats = s.stats
        stats.requests[endpoint] += 1
        rid = f"{s.rng_ids.getrandbits(128):032x}"
        if cfg.max_inflight is not None and s.inflight >= cfg.max_inflight:
            stats.n["rate_limited_inflight"] += 1
            stats.statuses[429] += 1
            return self._too_many(rid)
        s.inflight += 1
        stats.max_inflight_seen = max(stats.max_inflight_seen, s.inflight)
        try:
            rnd = s.rng.random
            u429, ureset, u5xx, ulose, upick, ujitter = rnd(), rnd(), rnd(), rnd(), rnd(), rnd()
            extra = s.extra_faults
            if extra:
                rx = s.rng_extra.random
                uenv, ulate, uafter, uignore, ushort, unototal, ucode = (
                    rx(), rx(), rx(), rx(), rx(), rx(), rx(),
                )  # fmt: skip
            faulty = endpoint in cfg.fault_endpoints
            extra = extra and faulty
            if faulty and u429 < cfg.rate_429:
                stats.n["rate_limited"] += 1
                stats.statuses[429] += 1
                return self._too_many(rid)
            # The latency is measured from arrival: the work happens inside it, as on a real
            # server, so a burst of requests does not queue behind one another's CPU time.
            loop = asyncio.get_running_loop()
            arrival = loop.time()
            due = arrival + (cfg.latency_ms + cfg.jitter_ms * ujitter) / 1000
            if faulty and ureset < cfg.reset_rate:
                stats.n["resets"] += 1
                await _sleep_until(loop, due)
                return self._drop(request, reset=True)
            if faulty and u5xx < cfg.error_5xx_rate:
                stats.n["errors_5xx"] += 1
                response = self._server_error(rid, upick)
            elif extra and uenv < cfg.error_envelope_rate:
                stats.n["error_envelopes"] += 1
                response = self._respond(failure(*_pick(GATEWAY_FAILURES, ucode)), rid)
            elif auth and not s.tokens.valid(bearer(request)):
                stats.n["auth_failures"] += 1
                response = self._respond(failure(AUTH_CODE, AUTH_MSG), rid)
            else:
                if extra and endpoint == "query":
                    request[QUERY_FAULTS] = QueryFaults(
                        ignore_filter=uignore < cfg.query_ignore_filter_rate,
                        short_page=ucode if ushort < cfg.query_short_page_rate else None,
                        no_total=unototal < cfg.query_no_total_rate,
                    )
                try:
                    result = await handler(s, request)
                    if callable(result):  # validated work that changes the store
                        if extra and ulate < cfg.late_commit_rate:
                            self._commit_late(result, arrival + cfg.late_commit_s)
                            await _sleep_until(loop, due)
                            stats.statuses[504] += 1
                            return self._gateway_timeout(rid)
                        result = await result()
                        if extra and uafter < cfg.error_envelope_after_commit_rate:
                            stats.n["error_envelopes_after_commit"] += 1
                            result = failure(*_pick(GATEWAY_FAILURES, ucode))
                except Rejection as rej:
                    stats.rejections[rej.code] += 1
                    result = failure(rej.code, rej.msg)
                response = self._respond(result, rid, restyled=endpoint != "refresh")
            await _sleep_until(loop, due)
            if faulty and ulose < cfg.lose_response_rate:
                stats.n["lost_responses"] += 1
                return self._drop(request, reset=False)
            stats.statuses[response.status] += 1
            return response
        finally:
            s.inflight -= 1
